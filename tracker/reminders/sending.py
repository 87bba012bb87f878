"""Sending: a chunk of claimed reminders over one SMTP connection, each marked sent once.

Owns reminders_send (the Celery task's body): it holds the chunk for this worker process,
moves a group to `sending`, checks once more what each reader may see, calls SMTP and marks
each row `sent` before the next call; SMTP failures are retried by the task, then marked
failed; a slow group puts its unsent rows back. The row moves themselves are in marks.
"""

import contextlib
import datetime
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import DatabaseError, connection
from django.db.models import F, prefetch_related_objects
from django.utils import timezone

from commitments.models import Commitment
from tracker.models import (
    Reminder,
    User,
)
from tracker.workers import holder_id

from .chunk import _message_cache
from .claiming import _chunks
from .following import UNSEEN_DIGEST, reminders_unseen
from .marks import _mark_sent_once, _marks_since_disk, _move, _on_lost_connection, _undurable_marks
from .messages import ReminderEmail, _digest_left_empty, reminder_message

logger = logging.getLogger(__name__)
State = Reminder.State
Kind = Reminder.Kind


class RemindersNotSent(Exception):
    """An SMTP error put these rows back in `claimed` (the task retries them). `held` lists
    each as (id, stamp): its `claimed_at`, set by the group that tried it; after the last
    retry tracker.tasks fails only rows still in `claimed` with that stamp."""

    def __init__(self, error: str, held: list[tuple[int, datetime.datetime]]):
        super().__init__(error, held)  # args alone rebuild it (pickling)
        self.error, self.held = error, held

    def __str__(self) -> str:
        return self.error


@dataclass
class _Attempt:
    """What one run of a send task did: rows sent, the first SMTP error, the rows it held."""

    sent: int = 0
    error: OSError | None = None
    held: list[tuple[int, datetime.datetime]] = field(default_factory=list)


def _error_text(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _sending_failed(mine, exc: Exception, attempt: _Attempt) -> None:
    """Back to `claimed` for the task's retry (an OSError), or failed at once (anything else);
    `mine` matches the row only while it is still this group's (state and stamp)."""
    if not isinstance(exc, OSError):
        mine.update(state=State.FAILED, error=_error_text(exc))
        return
    attempt.error = attempt.error or exc
    row = mine.first()
    if row and mine.update(state=State.CLAIMED, error=_error_text(exc)):
        attempt.held.append((row.pk, row.claimed_at))


def _send_one(reminder: Reminder, smtp, stamp: datetime.datetime, attempt: _Attempt) -> None:
    """One row sending -> sent around one SMTP call.

    Every UPDATE here is conditional on `state = sending AND claimed_at = stamp`: a row
    requeued (reminders_requeue_stuck) and claimed by someone else is no longer matched, so
    this worker never marks, fails or puts back a row it no longer holds."""
    try:
        _deliver(reminder_message(reminder=reminder), smtp)
    except Exception as exc:
        smtp.close()  # the next message opens a fresh connection
        mine = Reminder.objects.filter(pk=reminder.pk, state=State.SENDING, claimed_at=stamp)
        _sending_failed(mine, exc, attempt)
        return
    attempt.sent += 1
    if not _mark_sent(reminder.pk, stamp):
        # The SMTP call outlived the claim: the in-flight case of the delivery policy.
        logger.warning(
            "Reminder %s was requeued while being sent: it may go out twice", reminder.pk
        )


# A plain address (a dot-atom at a domain of ASCII labels) that Django's sanitize_address
# gives back unchanged; anything else is parsed by it (tests/tracker/test_reminder_addresses.py).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9-]{1,63}"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})*")


def _address(address: str, encoding: str) -> str:
    """sanitize_address(address, encoding), without parsing a plain address: parsing both
    addresses of every message was about a tenth of a send task's CPU."""
    if isinstance(address, str) and _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)


def _deliver(message: EmailMessage, smtp) -> None:
    """message.send() over `smtp`: Django's SMTP backend's own steps (open the connection if
    closed, sanitize the addresses, sendmail the message's bytes), but with _address; the
    same envelope and bytes. Any other backend (tests, files, console) sends it itself."""
    if not isinstance(smtp, SMTPBackend):
        message.connection = smtp
        message.send()
        return
    if not message.recipients():
        return  # what message.send() does: nothing to send
    encoding = message.encoding or settings.DEFAULT_CHARSET
    opened = smtp.open()  # True when it had to (re)connect: after an SMTP error, say
    try:
        smtp.connection.sendmail(
            _address(message.from_email, encoding),
            [_address(recipient, encoding) for recipient in message.recipients()],
            _bytes_to_send(message),
        )
    finally:
        if opened:
            smtp.close()


def _bytes_to_send(message: EmailMessage) -> bytes:
    if isinstance(message, ReminderEmail):
        return message.bytes_to_send()
    return message.message().as_bytes(linesep="\r\n")


def _mark_sent(reminder_id: int, stamp: datetime.datetime) -> bool:
    """sending -> sent if still this group's: one statement, committed at once, per message
    (without waiting for the disk: _without_disk_wait). The message has gone out: a lost
    connection (a PostgreSQL restart) is ridden through, never left to the requeue, which
    would send it again."""
    marked = _on_lost_connection(lambda: _mark_sent_once(reminder_id, stamp, durable=False))
    if marked:
        _marks_since_disk().append((reminder_id, stamp))
    return marked


@contextlib.contextmanager
def _durable_marks():
    """Around a send task: its marks are remembered until a commit waits for the disk, and the
    task ends with one (PostgreSQL: a transaction given an id writes a commit record, and its
    wait for the disk covers every commit before it)."""
    token = _undurable_marks.set([])
    try:
        yield
    finally:
        # Inside a caller's transaction no mark skipped the disk wait (_without_disk_wait).
        if (
            connection.vendor == "postgresql"
            and _marks_since_disk()
            and not connection.in_atomic_block
        ):
            with contextlib.suppress(DatabaseError):
                _on_lost_connection(_commit_to_disk)
        _undurable_marks.reset(token)


def _commit_to_disk() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT txid_current()")
    _marks_since_disk().clear()


def _sending_budget() -> datetime.timedelta:
    """How long a group may stay `sending` before it starts another SMTP call: half the claim
    timeout, so that this call (at most a few EMAIL_TIMEOUTs) ends before the requeue can
    take the group's rows and hand them to another worker."""
    return datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS / 2)


def _send_group(group: list[Reminder], smtp, attempt: _Attempt) -> None:
    """claimed -> sending for the group at once, stamped `claimed_at = stamp`, then each sent
    while the group is younger than _sending_budget(); a slow group puts the rest back."""
    stamp = timezone.now()
    ids = [row.pk for row in group]
    started = set(_move(ids, from_state=State.CLAIMED, to_state=State.SENDING, now=stamp))
    rows = _readers_may_see([row for row in group if row.pk in started], stamp)
    for index, reminder in enumerate(rows):
        if timezone.now() - stamp > _sending_budget():
            _put_back([row.pk for row in rows[index:]], stamp)
            return
        _send_one(reminder, smtp, stamp, attempt)


def _readers_may_see(rows: list[Reminder], stamp: datetime.datetime) -> list[Reminder]:
    """The rows whose reader may still be sent them, checked now, just before their SMTP calls
    (reminders_unseen, and a digest left empty by what its reader may not see); the others are
    skipped with the reason, if still this group's. Each row gets its recipient and commitment
    as they are now: the message is written for the reader as they are when it goes out."""
    rows = _as_they_are_now(rows)
    unseen = reminders_unseen(rows=rows)
    for row in rows:
        if row.kind == Kind.DIGEST and row.pk not in unseen and _digest_left_empty(row):
            unseen[row.pk] = UNSEEN_DIGEST
    by_reason = defaultdict(list)
    for row_id, reason in unseen.items():
        by_reason[reason].append(row_id)
    for reason, ids in by_reason.items():
        mine = Reminder.objects.filter(pk__in=ids, state=State.SENDING, claimed_at=stamp)
        mine.update(state=State.SKIPPED, skip_reason=reason)
    return [row for row in rows if row.pk not in unseen]


def _as_they_are_now(rows: list[Reminder]) -> list[Reminder]:
    """The rows still there (not deleted with their event or commitment), each given its
    recipient and commitment as the database has them now. The recipients are read through
    the rows (a row id on each), not the rows with their recipients: a model object per row
    fewer, half the CPU of this read, the same statement count for event reminders."""
    recipients = User.objects.filter(reminders__pk__in=[row.pk for row in rows])
    fresh = {user.row_id: user for user in recipients.annotate(row_id=F("reminders__pk"))}
    linked = {row.commitment_id for row in rows if row.commitment_id is not None}
    commitments = Commitment.objects.in_bulk(linked) if linked else {}
    now = []
    for row in rows:
        if row.pk in fresh and (row.commitment_id is None or row.commitment_id in commitments):
            row.recipient, row.commitment = fresh[row.pk], commitments.get(row.commitment_id)
            now.append(row)
    return now


def _hold(ids: list[int]) -> None:
    """The chunk's claimed rows are held by this worker process from now on: should it die,
    they go back in the queue once its heartbeat is stale (reminders_requeue_stuck), without
    waiting for the broker to redeliver the task (its visibility timeout) or the claim timeout.
    A duplicate of the task holding them too changes nothing: each row is sent by whichever
    moves it to `sending` first (_move). Rows this process claimed itself (its dispatcher run)
    are held by it already: writing them again would cost a row version each for nothing."""
    holder = holder_id()
    if holder:
        claimed = Reminder.objects.filter(pk__in=ids, state=State.CLAIMED).exclude(
            claimed_by=holder
        )
        _on_lost_connection(lambda: claimed.update(claimed_by=holder))


def _put_back(ids: list[int], stamp: datetime.datetime) -> None:
    """Unsent rows of a slow group back to `claimed`, if still this group's (state and stamp).
    They keep the stamp: reminders_requeue_stuck puts them back in the queue once the claim
    timeout has passed and the next dispatcher run sends them. Nothing else to commit: no
    SMTP call is made for them by this task."""
    mine = Reminder.objects.filter(pk__in=ids, state=State.SENDING, claimed_at=stamp)
    _on_lost_connection(lambda: mine.update(state=State.CLAIMED))
    logger.warning("Sending was slow: reminders %s are left for the next dispatcher run", ids)


def reminders_send(*, reminder_ids: list[int]) -> int:
    """Send a chunk of claimed reminders over one SMTP connection; returns how many went out.

    Rows go claimed -> sending a few at a time (REMINDER_SEND_GROUP_SIZE, one conditional
    UPDATE: of two tasks holding the same ids, one gets each row; it stamps `claimed_at`),
    then each is sent and marked `sent` on its own, a transaction per message that on
    PostgreSQL does not wait for the disk (_without_disk_wait: only a crash of the database
    server, not of the worker, can undo such a mark). A group still sending after half the claim
    timeout (a slow or hanging SMTP server) stops and puts its unsent rows back (_put_back)
    before the requeue could give them to another worker. A worker that dies mid-chunk leaves in
    `sending` only rows of the current group that have not been marked sent: all of them were
    never handed to SMTP except at most the one in flight, so after the claim timeout they go
    out once, that one perhaps twice; the rest of the chunk stays `claimed` for the redelivered
    task. A message that fails is put back and the others are still tried; then
    RemindersNotSent is raised, so the task's retry sends only what is not sent yet, and after
    the last retry tracker.tasks fails the rows this run put back (reminders_mark_failed).
    """
    _hold(reminder_ids)
    # Without their readers and commitments: each group reads them just before sending
    # (_as_they_are_now), and nothing reads them before that.
    rows = list(
        Reminder.objects.filter(pk__in=reminder_ids, state=State.CLAIMED)
        .select_related("event")
        .order_by("pk")
    )
    _share_events(rows)
    attempt = _Attempt()
    with get_connection() as smtp, _message_cache(), _durable_marks():
        for group in _chunks(rows, settings.REMINDER_SEND_GROUP_SIZE):
            _send_group(group, smtp, attempt)
    if attempt.error:
        raise RemindersNotSent(_error_text(attempt.error), attempt.held) from attempt.error
    return attempt.sent


def _share_events(rows: list[Reminder]) -> None:
    """The rows of one event share one Event object, and its commitments (listed by the event
    email) are read once for it: prefetching them through every row built a related manager
    per row, about a tenth of a send task's CPU for a chunk of ten readers an event."""
    events = {}
    for row in rows:
        if row.event_id is not None:
            row.event = events.setdefault(row.event_id, row.event)
    prefetch_related_objects(list(events.values()), "commitments")


def reminders_mark_failed(*, held: list[tuple[int, datetime.datetime]], error: str) -> int:
    """After the last retry: the rows the task's last run put back are failed, with the error,
    for the log; each only if still `claimed` with its stamp. One put back and requeued since,
    then claimed by a newer dispatcher run, belongs to another task, which may send it."""
    by_stamp = defaultdict(list)
    for reminder_id, stamp in held:
        by_stamp[stamp].append(reminder_id)
    return sum(
        Reminder.objects.filter(pk__in=ids, state=State.CLAIMED, claimed_at=stamp).update(
            state=State.FAILED, error=error[:2000]
        )
        for stamp, ids in by_stamp.items()
    )


def reminder_resend(*, reminder: Reminder) -> bool:
    """Put a failed reminder back in the queue; the next dispatcher run sends it.

    Nothing is published to the broker here: a page that resends never waits on Redis.
    """
    return (
        Reminder.objects.filter(pk=reminder.pk, state=State.FAILED).update(
            state=State.PENDING, claimed_at=None
        )
        == 1
    )
