"""How many entries the histories list, kept by PostgreSQL with each write to the status
updates (commitments.selectors.status_update_timeline_count; the API's updates list pages by
it): counting them read every update, a parallel scan of 5,000,000 rows for each first read
after a write.

Triggers, not the services, keep it: every write path is counted, the services' and the
admin's, a bulk import's, a commitment's deletion (its updates go with it), a test database's
flush (TRUNCATE) and a restore. One row per audience, `secretariat` (every entry but the
withdrawals: StatusUpdateQuerySet.shown_in_timeline) and `public` (the public ones of those).
Each statement adds what it changed, once, from its transition tables, so a bulk insert is
one UPDATE. A transaction that writes an update holds the row until it commits; the services
write one commitment per transaction and lock it before its update, so none waits in a cycle.

On SQLite (development and the default tests) there is no kept count: the selector counts, as
it does wherever the row is missing.
"""

from django.db import migrations

TABLE = "commitments_timeline_count"
COUNTED = "amendment <> 'withdrawal'"
PUBLIC = f"{COUNTED} AND visibility = 'public'"

FUNCTION = f"""
CREATE FUNCTION commitments_timeline_count_kept() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    secretariat_change bigint := 0;
    public_change bigint := 0;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE {TABLE} SET entries = 0;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT count(*) FILTER (WHERE {COUNTED}), count(*) FILTER (WHERE {PUBLIC})
            INTO secretariat_change, public_change FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT secretariat_change - count(*) FILTER (WHERE {COUNTED}),
               public_change - count(*) FILTER (WHERE {PUBLIC})
            INTO secretariat_change, public_change FROM old_rows;
    END IF;
    IF secretariat_change <> 0 THEN
        UPDATE {TABLE} SET entries = entries + secretariat_change WHERE audience = 'secretariat';
    END IF;
    IF public_change <> 0 THEN
        UPDATE {TABLE} SET entries = entries + public_change WHERE audience = 'public';
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = {
    "insert": "AFTER INSERT ON commitments_statusupdate REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON commitments_statusupdate "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON commitments_statusupdate REFERENCING OLD TABLE AS old_rows",
    "truncate": "AFTER TRUNCATE ON commitments_statusupdate",
}

CREATE = [
    f"CREATE TABLE {TABLE} (audience varchar(12) PRIMARY KEY, entries bigint NOT NULL)",
    FUNCTION,
    *(
        f"CREATE TRIGGER commitments_timeline_count_{name} {when} "
        "FOR EACH STATEMENT EXECUTE FUNCTION commitments_timeline_count_kept()"
        for name, when in TRIGGERS.items()
    ),
    # Counted once here, under the migration's lock on the table, then kept by the triggers.
    f"""INSERT INTO {TABLE} (audience, entries)
        SELECT 'secretariat', count(*) FILTER (WHERE {COUNTED}) FROM commitments_statusupdate
        UNION ALL
        SELECT 'public', count(*) FILTER (WHERE {PUBLIC}) FROM commitments_statusupdate""",
]

DROP = [
    *(
        f"DROP TRIGGER commitments_timeline_count_{name} ON commitments_statusupdate"
        for name in TRIGGERS
    ),
    "DROP FUNCTION commitments_timeline_count_kept()",
    f"DROP TABLE {TABLE}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        # The table is locked first, so no update is written between the count and the triggers.
        schema_editor.execute("LOCK TABLE commitments_statusupdate IN SHARE ROW EXCLUSIVE MODE")
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("commitments", "0020_dashboard_deadline_list_indexes"),
    ]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
