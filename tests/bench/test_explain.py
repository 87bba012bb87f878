"""The pages' query plans: sequential scans of the large tables are found at any depth of a
plan, other tables' and other scans are not flagged; reads are explained, writes are not."""

import pytest
from django.db import connection

from bench.explain import explain_queries, page_seq_scans, seq_scans

LARGE = ["commitments_statusupdate", "commitments_commitment"]

PLAN = {
    "Node Type": "Limit",
    "Plans": [
        {
            "Node Type": "Hash Join",
            "Plans": [
                {"Node Type": "Seq Scan", "Relation Name": "commitments_theme", "Plan Rows": 9},
                {
                    "Node Type": "Hash",
                    "Plans": [
                        {
                            "Node Type": "Seq Scan",
                            "Relation Name": "commitments_statusupdate",
                            "Plan Rows": 500000,
                        }
                    ],
                },
            ],
        },
        {
            "Node Type": "Nested Loop",
            "Plans": [
                {"Node Type": "Index Scan", "Relation Name": "commitments_commitment"},
                {"Node Type": "Bitmap Heap Scan", "Relation Name": "commitments_statusupdate"},
                {"Node Type": "Index Only Scan", "Relation Name": "commitments_statusupdate"},
            ],
        },
    ],
}


def test_a_seq_scan_of_a_large_table_is_found_deep_in_the_plan():
    assert seq_scans(PLAN, LARGE) == [{"table": "commitments_statusupdate", "rows": 500000}]


def test_index_scans_and_small_tables_are_not_flagged():
    index_only = {"Node Type": "Limit", "Plans": PLAN["Plans"][1:]}
    assert seq_scans(index_only, LARGE) == []
    assert seq_scans(PLAN, ["commitments_commitment"]) == []


def test_a_pages_scans_name_the_query_they_are_in():
    explained = [
        {"sql": "SELECT 1", "plan": {"Node Type": "Result"}},
        {"sql": "SELECT * FROM commitments_statusupdate", "plan": PLAN},
        {"sql": "SELECT broken", "error": "syntax error"},
    ]
    [scan] = page_seq_scans(explained, LARGE)
    assert (scan["query"], scan["table"]) == (2, "commitments_statusupdate")
    assert scan["sql"].startswith("SELECT * FROM")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN (FORMAT JSON)")
@pytest.mark.django_db
def test_reads_are_explained_and_writes_left_alone():
    explained = explain_queries(
        connection,
        [
            "SELECT id FROM commitments_statusupdate WHERE id = 1",
            'UPDATE "django_session" SET "expire_date" = now()',
            "SELECT no_such_column FROM commitments_commitment",
        ],
    )
    assert len(explained) == 2
    assert explained[0]["plan"]["Node Type"] in {"Index Scan", "Index Only Scan", "Seq Scan"}
    assert "no_such_column" in explained[1]["error"]
