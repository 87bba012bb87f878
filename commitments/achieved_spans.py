"""Keeps AchievedSpan, the days each commitment stood achieved per audience, in step with the
history: rewritten for the one commitment a status update, correction or withdrawal touches
(services._status_update_append), and for every commitment after rows written in bulk (a
restore, the bench's data: services.commitments_copies_refresh). Migration 0017 filled it.

A span runs from an update in effect that makes the commitment achieved after one that did not
(or after none) to the next update in effect that does not: the timeline's change points, in
its order (happened_on, recorded_at, id). Two updates of one day, achieved then not, make no
span: the dashboard counts commitments achieved at a day's end.
"""

import functools

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import Lag

from core.compiled import ANY_ID, with_id

from .models import AchievedSpan, StatusUpdate
from .statuses import Status

TIMELINE = (F("happened_on").asc(), F("recorded_at").asc(), F("pk").asc())

# {timeline}: the audience's updates in effect with the status of the update before each.
# The change points are those whose "achieved" differs from the one before; of these, each
# achieved one starts a span that the next change point ends.
SPANS_INSERT_SQL = """
INSERT INTO {table} (commitment_id, audience, started_on, ended_on)
SELECT commitment_id, %s, happened_on, next_on FROM (
    SELECT commitment_id, happened_on, status,
        LEAD(happened_on) OVER (
            PARTITION BY commitment_id ORDER BY happened_on, recorded_at, id
        ) AS next_on
    FROM ({timeline}) AS timeline
    WHERE (status = %s) <> (previous IS NOT NULL AND previous = %s)
) AS changes
WHERE status = %s AND (next_on IS NULL OR next_on > happened_on)
"""


def _audience_updates(audience: str):
    """The updates in effect an audience reads (commitments.selectors: liaisons and visitors
    read the public ones)."""
    updates = StatusUpdate.objects.in_effect()
    if audience == AchievedSpan.Audience.PUBLIC:
        updates = updates.filter(visibility=StatusUpdate.Visibility.PUBLIC)
    return updates


def _spans_insert(*, audience: str, commitment_ids: list[int] | None) -> None:
    if commitment_ids is not None and len(commitment_ids) == 1:
        statement, params = _one_commitment_statement(audience, connection.vendor)
        params = with_id(params, commitment_ids[0])
    else:
        updates = _audience_updates(audience)
        if commitment_ids is not None:
            updates = updates.filter(commitment_id__in=commitment_ids)
        statement, params = _spans_insert_statement(audience, updates)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@functools.cache
def _one_commitment_statement(audience: str, vendor: str) -> tuple[str, tuple]:
    """The INSERT for one commitment (a status update's), written by the ORM once per process
    (core.compiled): compiling its timeline cost more than running it."""
    updates = _audience_updates(audience).filter(commitment_id=ANY_ID)
    statement, params = _spans_insert_statement(audience, updates)
    return statement, tuple(params)


def _spans_insert_statement(audience: str, updates) -> tuple[str, tuple]:
    previous = Window(Lag("status"), partition_by=[F("commitment_id")], order_by=TIMELINE)
    timeline = (
        updates.annotate(previous=previous)
        .order_by()
        .values("commitment_id", "happened_on", "recorded_at", "id", "status", "previous")
    )
    sql, params = timeline.query.sql_with_params()
    achieved = Status.ACHIEVED.value
    statement = SPANS_INSERT_SQL.format(table=AchievedSpan._meta.db_table, timeline=sql)
    return statement, (audience, *params, achieved, achieved, achieved)


def achieved_spans_refresh(*, commitment_ids: list[int] | None = None) -> None:
    """Rewrite the spans of these commitments (of every one with None) from their history:
    three queries whatever their number of updates. Run inside the write's transaction."""
    spans = AchievedSpan.objects.all()
    if commitment_ids is not None:
        spans = spans.filter(commitment_id__in=commitment_ids)
    spans.delete()  # nothing refers to a span and no signal listens: one DELETE
    for audience in AchievedSpan.Audience.values:
        _spans_insert(audience=audience, commitment_ids=commitment_ids)
