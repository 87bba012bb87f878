"""PostgreSQL's plan of a queryset, for the tests that hold a page's reads to their indexes."""

from django.db import connection


def plan_of(queryset) -> str:
    """EXPLAIN with sequential scans turned off: a plan that still reads a table whole means
    no index serves the query as written."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_of_sql(sql: str) -> str:
    """The plan of a query as a request ran it (its parameters in place, as Django's captured
    queries give it on PostgreSQL), sequential scans off as for plan_of."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())
