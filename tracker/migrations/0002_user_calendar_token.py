"""Personal calendar feeds: every user gets a random, unique token.

Added in three steps (nullable, filled one row at a time, then unique) because a callable
default on AddField gives every existing row the same value. The steps live in separate
migrations: PostgreSQL refuses to alter a table that has pending trigger events from an
update in the same transaction.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tracker", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="calendar_token",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
    ]
