"""A GIN index for the commitments table's search in status update narratives, on PostgreSQL.

commitments.selectors._words_in matches a narrative with PostgreSQL's full-text search,
`to_tsvector('english', COALESCE(narrative, '')) @@ websearch_to_tsquery(...)`; the index is on
that very expression, so the search does not read every narrative. Other databases compare
substrings and get no index: SQLite has no GIN. The index is not in the model's Meta (a GinIndex
there would be created on SQLite too), so makemigrations does not see it.
"""

from django.db import migrations

INDEX = "commitments_statusupdate_narrative_search"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON commitments_statusupdate "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(narrative, ''::text)))"
)
DROP = f"DROP INDEX IF EXISTS {INDEX}"


def on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("commitments", "0005_commitment_public_state")]

    operations = [migrations.RunPython(on_postgresql(CREATE), on_postgresql(DROP))]
