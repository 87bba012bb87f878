"""The query plans of each page (issue 16: "query plans stay on indexes"): the SQL a page runs
when it is cold, captured in-process on the benchmark's database, each SELECT's
`EXPLAIN (FORMAT JSON)` kept in the results, and the sequential scans of the large tables
flagged in the printed summary."""

from collections.abc import Iterable, Iterator

# Statements worth a plan: reads. Writes (the session's, a cache-loss record) are not run again.
EXPLAINED = ("SELECT", "WITH")


def plan_nodes(plan: dict) -> Iterator[dict]:
    """Every node of one plan (as EXPLAIN (FORMAT JSON) gives it, a node with "Plans"), the
    top one first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def seq_scans(plan: dict, tables: Iterable[str]) -> list[dict]:
    """The sequential scans of `tables` in a plan, with the rows the planner expects: a page
    that reads a large table whole grows with the data."""
    large = set(tables)
    return [
        {"table": node["Relation Name"], "rows": node.get("Plan Rows")}
        for node in plan_nodes(plan)
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in large
    ]


def page_seq_scans(explained: list[dict], tables: Iterable[str]) -> list[dict]:
    """For one page's explained queries: each query's sequential scans of `tables`, with the
    query's number on the page and the start of its SQL."""
    tables = list(tables)
    found = []
    for number, entry in enumerate(explained, 1):
        for scan in seq_scans(entry.get("plan", {}), tables):
            found.append({**scan, "query": number, "sql": entry["sql"][:160]})
    return found


def explain_queries(connection, statements: Iterable[str]) -> list[dict]:
    """EXPLAIN (FORMAT JSON) of each read among `statements` (SQL as PostgreSQL received it,
    parameters in place); a statement PostgreSQL will not explain keeps its error."""
    explained = []
    for sql in statements:
        if not sql.lstrip().upper().startswith(EXPLAINED):
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                document = cursor.fetchone()[0]
        except Exception as error:  # noqa: BLE001 - a plan we cannot get is reported, not fatal
            explained.append({"sql": sql, "error": str(error).splitlines()[0]})
            continue
        plan = document[0]["Plan"] if isinstance(document, list) else document
        explained.append({"sql": sql, "plan": plan})
    return explained
