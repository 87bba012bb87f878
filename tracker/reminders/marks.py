"""Moving reminder rows between states (claimed, sending, sent) with conditional UPDATEs.

Every move matches only rows still in the state (and stamp) it expects, so a redelivered or
duplicated task sends nothing twice. Moves ride through a lost database connection (a
PostgreSQL restart or crash): they are retried on a new connection for up to
REMINDER_DB_RETRY_SECONDS, and the `sent` marks a crashed server may have lost are made again.
"""

import contextlib
import contextvars
import datetime
import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from tracker.models import (
    Reminder,
)
from tracker.workers import holder_id

logger = logging.getLogger(__name__)
State = Reminder.State


def _move(ids: list[int], *, from_state: str, to_state: str, now: datetime.datetime) -> list[int]:
    """The rows among `ids` still in `from_state` move to `to_state` (`claimed_at` = now, held by
    this process: `claimed_by`), in one conditional UPDATE; returns the ids this call moved
    (RETURNING: PostgreSQL, SQLite 3.35+). Moving to `sending` counts an attempt."""
    if not ids:
        return []
    # Adapted as the ORM does, so that filters on `claimed_at = stamp` match on SQLite.
    stamp = connection.ops.adapt_datetimefield_value(now)
    if to_state == State.SENDING:
        moved = _on_lost_connection(lambda: _start_sending(ids, from_state=from_state, stamp=stamp))
        _marks_since_disk().clear()  # this commit waited for the disk, and so did theirs
        return moved
    marks = ", ".join(["%s"] * len(ids))
    update = (
        f"UPDATE {Reminder._meta.db_table} SET state = %s, claimed_at = %s, claimed_by = %s"  # noqa: S608
        f" WHERE state = %s AND id IN ({marks}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(update, [to_state, stamp, holder_id(), from_state, *ids])
        return sorted(row[0] for row in cursor.fetchall())


def _start_sending(ids: list[int], *, from_state: str, stamp: Any) -> list[int]:
    """from_state -> sending, stamped, counting an attempt. Safe to repeat after a lost
    connection: a row the lost statement had moved already carries this group's own stamp (an
    instant no other group has) and is counted as moved, without a second attempt.

    It waits for the disk (one wait per REMINDER_SEND_GROUP_SIZE messages): a crash of the
    database server cannot undo it, and its commit makes the marks before it durable too."""
    marks = ", ".join(["%s"] * len(ids))
    update = (
        f"UPDATE {Reminder._meta.db_table} SET state = %s, claimed_at = %s, claimed_by = %s,"  # noqa: S608
        " attempts = attempts + CASE WHEN state = %s THEN 1 ELSE 0 END"
        f" WHERE id IN ({marks}) AND (state = %s OR (state = %s AND claimed_at = %s))"
        " RETURNING id"
    )
    sending = State.SENDING
    params = [sending, stamp, holder_id(), from_state, *ids, from_state, sending, stamp]
    with connection.cursor() as cursor:
        cursor.execute(update, params)
        return sorted(row[0] for row in cursor.fetchall())


def _without_disk_wait(statement: str) -> str:
    """`statement` as a transaction of its own that does not wait for its commit to reach the
    disk (PostgreSQL: synchronous_commit off for this transaction only; several statements in
    one query string run as one transaction, and SET LOCAL ends with it).

    Used by a send task to mark each message sent (_mark_sent). The change is in the server
    the moment the statement returns, so a worker that dies right after loses nothing: the
    delivery policy holds. A crash of the PostgreSQL server itself loses the commits of its
    last fraction of a second (at most 3 x wal_writer_delay, 0.6 s by default); the worker
    sees its connection break and marks again the messages it sent since its last commit that
    waited for the disk (_on_lost_connection). Waiting for the disk was, after SMTP itself,
    the largest cost per message. Unchanged on SQLite, and inside a caller's transaction (SET
    LOCAL would last until that one ends)."""
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return f"SET LOCAL synchronous_commit TO OFF; {statement}"
    return statement


def _mark_sent_once(reminder_id: int, stamp: datetime.datetime, *, durable: bool) -> bool:
    """One try. A row already `sent` with this stamp counts: the try before this one was
    committed, and only its answer was lost with the connection."""
    update = (
        f"UPDATE {Reminder._meta.db_table} SET state = %s, sent_at = %s, error = ''"  # noqa: S608
        " WHERE id = %s AND state IN (%s, %s) AND claimed_at = %s"
    )
    adapt = connection.ops.adapt_datetimefield_value
    now, sending, sent = adapt(timezone.now()), State.SENDING, State.SENT
    with connection.cursor() as cursor:
        cursor.execute(
            update if durable else _without_disk_wait(update),
            [sent, now, reminder_id, sending, sent, adapt(stamp)],
        )
        return cursor.rowcount == 1


# The marks this task made since its last commit that waited for the disk (a send task's own,
# reminders_send): a crash of the database server may have lost them, so after a lost
# connection they are made again (_on_lost_connection). None outside a send task.
_undurable_marks: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "reminder_undurable_marks", default=None
)


def _marks_since_disk() -> list[tuple[int, datetime.datetime]]:
    marks = _undurable_marks.get()
    return marks if marks is not None else []


def _remark_after_reconnect() -> None:
    for reminder_id, stamp in _marks_since_disk():
        _mark_sent_once(reminder_id, stamp, durable=True)


def _on_lost_connection(action: Callable[[], Any]) -> Any:
    """Run `action` (a statement safe to repeat); on a lost connection (OperationalError,
    InterfaceError: the server restarted or crashed) close it, wait and try again on a new one,
    backing off up to 2 s, for up to REMINDER_DB_RETRY_SECONDS (a planned restart takes a few
    seconds). The first success on a new connection first makes again the marks the server
    may have lost (_remark_after_reconnect). Inside a transaction nothing is retried: the
    transaction is gone, and its owner must start again."""
    deadline = time.monotonic() + settings.REMINDER_DB_RETRY_SECONDS
    pause, reconnected = 0.2, False
    while True:
        try:
            if reconnected:
                _remark_after_reconnect()
            return action()
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            logger.warning("Database connection lost (%s): trying again in %.1f s", error, pause)
        with contextlib.suppress(DatabaseError):
            connection.close()
        time.sleep(pause)
        pause, reconnected = min(pause * 2, 2.0), True
