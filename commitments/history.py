"""The record as it stood on a given day, replayed from the append-only status history.

Commitment.status copies the latest update of any visibility, which is right for "now" but not
for "as of 31 December 2025" or for a public report: those are recomputed here from the updates
themselves, in the timeline's order (happened_on, then recorded_at, then pk).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .statuses import Status


class HistoryRow(Protocol):
    commitment_id: int
    happened_on: datetime.date
    status: str
    progress: int


@dataclass(frozen=True)
class State:
    status: str
    progress: int


NOT_STARTED = State(Status.NOT_STARTED.value, 0)


def states_as_of(
    rows: Iterable[HistoryRow], *, as_of: datetime.date | None = None
) -> dict[int, State]:
    """commitment id -> its state by the latest row on or before as_of (rows oldest first)."""
    states: dict[int, State] = {}
    for row in rows:
        if as_of is None or row.happened_on <= as_of:
            states[row.commitment_id] = State(row.status, row.progress)
    return states


def month_ends(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The last day of every month from start's month to end's month; end itself closes it."""
    ends, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        ends.append(min(datetime.date(year, month, 1) - datetime.timedelta(days=1), end))
    return ends


def count_by_month(
    rows: list[HistoryRow], *, start: datetime.date, end: datetime.date, status: str
) -> list[tuple[datetime.date, int]]:
    """How many commitments were in `status` at the end of each month (rows oldest first).

    One sweep over the rows: each month applies the rows up to its last day.
    """
    states: dict[int, str] = {}
    points, index = [], 0
    for month_end in month_ends(start, end):
        while index < len(rows) and rows[index].happened_on <= month_end:
            states[rows[index].commitment_id] = rows[index].status
            index += 1
        points.append((month_end, sum(1 for value in states.values() if value == status)))
    return points
