import secrets

from django.db import migrations


def fill_tokens(apps, schema_editor):
    User = apps.get_model("tracker", "User")
    for user in User.objects.filter(calendar_token__isnull=True).only("pk"):
        User.objects.filter(pk=user.pk).update(calendar_token=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [("tracker", "0002_user_calendar_token")]

    operations = [migrations.RunPython(fill_tokens, migrations.RunPython.noop)]
