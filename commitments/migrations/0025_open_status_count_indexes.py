"""Indexes for counting the commitments table's rows of one status, and of one theme, without
reading the commitments table (issue 16: at ten times the benchmark's data the count of
`?status=in_progress&theme=1` was a parallel sequential scan of 200,000 commitments).

- commitment_open_status and commitment_public_open_status (Commitment.Meta): the open
  commitments of a status, per audience, with their ids, read from the index alone.
- commitment_themes_theme_commitment: a theme's link rows with the commitments' ids, in id
  order. Django indexes the link table on theme_id alone, so a theme's commitments were read
  from the link table's rows; with both columns PostgreSQL merges the two indexes in id order.
  It replaces Django's index on theme_id, its first column (every lookup by theme is served as
  before, and the planner no longer picks the narrower one for a count and reads the rows).
  The link table is Django's own (Commitment.themes), so its indexes are written out here.

The counts that rely on them: commitments.views.CommitmentListView._rows_count and the API's
commitments list (api.views.CommitmentList); tests/commitments/test_count_plans.py holds them to
these indexes.
"""

from django.db import migrations, models

THEME_INDEX = "commitment_themes_theme_commitment"
# The name Django's schema editor gave the link table's index on theme_id (on every database).
DJANGO_THEME_INDEX = "commitments_commitment_themes_theme_id_d6e0ad83"
LINKS = "commitments_commitment_themes"


class Migration(migrations.Migration):
    dependencies = [
        ("commitments", "0024_commitment_title_admin_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="commitment",
            index=models.Index(
                condition=models.Q(("retired_on__isnull", True)),
                fields=["status", "id"],
                name="commitment_open_status",
            ),
        ),
        migrations.AddIndex(
            model_name="commitment",
            index=models.Index(
                condition=models.Q(("retired_on__isnull", True)),
                fields=["public_status", "id"],
                name="commitment_public_open_status",
            ),
        ),
        migrations.RunSQL(
            [
                f"CREATE INDEX {THEME_INDEX} ON {LINKS} (theme_id, commitment_id)",
                f"DROP INDEX {DJANGO_THEME_INDEX}",
            ],
            [
                f"CREATE INDEX {DJANGO_THEME_INDEX} ON {LINKS} (theme_id)",
                f"DROP INDEX {THEME_INDEX}",
            ],
        ),
    ]
