"""Claiming and dispatch: the due rows, taken a batch at a time and handed to send tasks.

Owns the requeue of rows a dead worker left (by its stale heartbeat, else the claim timeout),
the skip reasons (a row no longer useful or no longer the reader's to see is skipped with its
reason, shown in the delivery log), claiming (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: a
conditional UPDATE ... RETURNING) and reminders_dispatch / reminders_claim, which keep claims
at most a batch ahead of the workers.
"""

import contextlib
import datetime
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext, gettext_noop, ngettext

from tracker.events import (
    event_occurrences,
)
from tracker.models import (
    Reminder,
    ReminderPreference,
    WorkerHeartbeat,
)
from tracker.selectors import CLOSED_STATUSES
from tracker.workers import holder_id, stale_holders_cutoff

from .deadlines import (
    DEADLINE_KINDS,
    MILESTONE_DONE,
    MILESTONE_MOVED,
    NO_DEADLINE_REMINDERS,
    NO_LONGER_OVERDUE,
    deadline_skip_reason,
)
from .following import (
    NEWS_KINDS,
    UNSEEN_DIGEST,
    UNSEEN_EVENT,
    UNSEEN_INACTIVE,
    UNSEEN_NEWS,
    UNSEEN_NOT_OWNER,
    UNSEEN_NOT_SECRETARIAT,
    UNSEEN_NOT_SUPERVISOR,
    _deliverable,
    event_follower_ids,
    lead_days_chosen,
    preferences_of,
    reminders_unseen,
)
from .marks import _move
from .planning import commitment_quiet_base, occurrence_passed_at, reminders_plan

logger = logging.getLogger(__name__)
State = Reminder.State
Kind = Reminder.Kind


def reminders_requeue_stuck(*, now: datetime.datetime) -> int:
    """Put back rows a worker claimed or began sending but never finished (it died).

    A row goes back as soon as the worker process holding it (`claimed_by`) has stopped
    beating its heartbeat (tracker.workers), else once it is older than the claim timeout, the
    last resort for rows claimed outside a worker or by a worker that never beat again.
    A `sending` row may have reached the SMTP server just before its worker died: requeueing
    it is the one case where a reader can get a message twice (docs/reminders.md, "Delivery").
    REMINDER_CLAIM_TIMEOUT_SECONDS must exceed EMAIL_TIMEOUT and the longest retry backoff.
    """
    cutoff = now - datetime.timedelta(seconds=settings.REMINDER_CLAIM_TIMEOUT_SECONDS)
    dead = WorkerHeartbeat.objects.filter(beat_at__lt=stale_holders_cutoff(now))
    held = Q(claimed_by__in=dead.values("holder")) | Q(claimed_at__lt=cutoff)
    stuck = Reminder.objects.filter(held, state__in=[State.CLAIMED, State.SENDING])
    requeued = stuck.update(state=State.PENDING, claimed_at=None, claimed_by="")
    # Nothing can be held by a process silent for longer than the claim timeout: forget it.
    WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).delete()
    return requeued


def _later_due(now: datetime.datetime):
    """Another reminder about the same thing to the same person, due later but also by now."""
    same_thing = (
        Q(kind=Kind.EVENT, event=OuterRef("event"), occurrence_date=OuterRef("occurrence_date"))
        | Q(kind=Kind.STALE, commitment=OuterRef("commitment"))
        | Q(
            kind=Kind.MILESTONE,
            milestone=OuterRef("milestone"),
            occurrence_date=OuterRef("occurrence_date"),
        )
        | Q(kind=Kind.DIGEST)
    )
    return Reminder.objects.filter(
        same_thing,
        kind=OuterRef("kind"),
        recipient=OuterRef("recipient"),
        due_at__gt=OuterRef("due_at"),
        due_at__lte=now,
    ).exclude(state=State.SKIPPED)


LATER_REASONS = {
    # Events now name the lead that superseded them (SUPERSEDED_REASON); older rows say this.
    Kind.EVENT: gettext_noop("a later reminder for the same occurrence is due"),
    Kind.STALE: gettext_noop("a later reminder for the same commitment is due"),
    Kind.DIGEST: gettext_noop("a later digest is due"),
}


SUPERSEDED_REASON = "superseded by the %(days)s-day reminder"


def _superseded_reason(row: Reminder) -> str:
    """Why a due row gives way to a later one (`row.later_due`: the due day of the latest
    due by now). Of an event's leads only the nearest to the occurrence is sent, however many
    fell due during a downtime; the log names it."""
    if row.kind in (Kind.EVENT, Kind.MILESTONE):
        return SUPERSEDED_REASON % {"days": (row.occurrence_date - row.later_due).days}
    return LATER_REASONS[row.kind]


@dataclass
class _Batch:
    """What the skip rules need to know about one batch of due rows, fetched once."""

    followers: dict[int, set[int]]
    prefs: dict[int, ReminderPreference]
    unseen: dict[int, str] = field(default_factory=dict)  # reminders_unseen


NEWS_AT_ONCE_NO_MORE = gettext_noop("the recipient reads news in a digest instead")
NEWS_DIGEST_NO_MORE = gettext_noop("the recipient no longer reads news in a digest")


LEAD_NOT_CHOSEN = gettext_noop("the recipient no longer wants a reminder this many days ahead")


# A reason is stored as the skip rules write it, in English (the rows of earlier versions
# too), and translated where the delivery log shows it (skip_reason_text); one missing here
# is shown as stored.
SKIP_REASONS = frozenset(
    {
        gettext_noop("the event no longer falls on this date"),
        gettext_noop("the event has passed"),
        gettext_noop("the recipient no longer follows this event"),
        gettext_noop("the commitment is closed"),
        gettext_noop("a status update was posted since"),
        gettext_noop("the recipient no longer follows this commitment"),
        gettext_noop("the recipient unsubscribed from all reminders"),
        gettext_noop("the recipient no longer reads the digest"),
        gettext_noop("the recipient reads the weekly digest instead"),
        *LATER_REASONS.values(),
        UNSEEN_INACTIVE,
        UNSEEN_EVENT,
        UNSEEN_NOT_SECRETARIAT,
        UNSEEN_NOT_OWNER,
        UNSEEN_DIGEST,
        UNSEEN_NOT_SUPERVISOR,
        MILESTONE_DONE,
        MILESTONE_MOVED,
        NO_DEADLINE_REMINDERS,
        NO_LONGER_OVERDUE,
        NEWS_AT_ONCE_NO_MORE,
        NEWS_DIGEST_NO_MORE,
        LEAD_NOT_CHOSEN,
        *UNSEEN_NEWS,
    }
)


_SUPERSEDED = re.compile(re.escape(SUPERSEDED_REASON).replace(r"%\(days\)s", r"(\d+)") + "$")


def skip_reason_text(reason: str) -> str:
    """A stored skip reason in the active language."""
    superseded = _SUPERSEDED.match(reason)
    if superseded:
        days = int(superseded[1])
        text = ngettext(
            "superseded by the %(days)s-day reminder",
            "superseded by the %(days)s-day reminder",
            days,
        )
        return text % {"days": days}
    return gettext(reason) if reason in SKIP_REASONS else reason


def _event_skip_reason(row: Reminder, batch: _Batch, now: datetime.datetime) -> str:
    date = row.occurrence_date
    # The event's date (or a commitment's target date, its deadline event) may have moved
    # since the row was planned; the new date has rows of its own.
    if not event_occurrences(event=row.event, start=date, end=date):
        return "the event no longer falls on this date"
    if occurrence_passed_at(event=row.event, date=date) <= now:
        return "the event has passed"
    if row.recipient_id not in batch.followers.get(row.event_id, set()):
        return "the recipient no longer follows this event"
    if row.lead_days not in lead_days_chosen(batch.prefs[row.recipient_id], row.event):
        return LEAD_NOT_CHOSEN
    return ""


def _stale_skip_reason(row: Reminder, batch: _Batch) -> str:
    commitment = row.commitment
    if commitment.status in CLOSED_STATUSES or commitment.retired_on is not None:
        return "the commitment is closed"  # a retired one too
    if commitment_quiet_base(commitment) != row.quiet_since:
        return "a status update was posted since"
    if commitment.owner_id != row.recipient_id or not batch.prefs[row.recipient_id].stale_reminders:
        return "the recipient no longer follows this commitment"
    return ""


def _news_skip_reason(row: Reminder, pref: ReminderPreference) -> str:
    """News goes out as the reader wants it now: at once, or in their digest (a notice whose
    email was skipped here is listed in the digest)."""
    if row.kind == Kind.NEWS:
        return "" if pref.notify == "immediate" else NEWS_AT_ONCE_NO_MORE
    return NEWS_DIGEST_NO_MORE if pref.notify == "immediate" else ""


def _skip_reason(row: Reminder, batch: _Batch, now: datetime.datetime) -> str:
    """Why a due row should not be sent any more; empty if it should."""
    if row.pk in batch.unseen:
        return batch.unseen[row.pk]
    pref = batch.prefs[row.recipient_id]
    if not _deliverable(row.recipient, pref):
        return "the recipient unsubscribed from all reminders"
    if row.kind == Kind.EVENT:
        reason = _event_skip_reason(row, batch, now)
    elif row.kind == Kind.STALE:
        reason = _stale_skip_reason(row, batch)
    elif row.kind in DEADLINE_KINDS:
        reason = deadline_skip_reason(row, deadline_pref=pref.deadline_reminders)
    elif row.kind in NEWS_KINDS:
        return _news_skip_reason(row, pref)
    else:
        reason = "" if pref.weekly_digest else "the recipient no longer reads the digest"
    if not reason and row.kind != Kind.DIGEST and pref.weekly_digest:
        reason = "the recipient reads the weekly digest instead"
    if not reason and row.later_due:
        reason = _superseded_reason(row)
    return reason


def _outcomes(decisions: list[tuple[Reminder, str]]) -> tuple[list[int], dict[str, list[int]]]:
    """The ids to claim, and the ids to skip grouped by reason: one UPDATE per group."""
    by_reason = defaultdict(list)
    for row, reason in decisions:
        by_reason[reason].append(row.pk)
    claimed = by_reason.pop("", [])
    return claimed, by_reason


def _claim_unlocked(decisions: list[tuple[Reminder, str]], now: datetime.datetime) -> list[int]:
    """SQLite has no row locks: the condition `state = pending` is what keeps a row from being
    claimed twice, and RETURNING tells this dispatcher which rows it won, in one statement."""
    claimed, skipped = _outcomes(decisions)
    for reason, ids in skipped.items():
        pending = Reminder.objects.filter(pk__in=ids, state=State.PENDING)
        pending.update(state=State.SKIPPED, skip_reason=reason)
    return _move(claimed, from_state=State.PENDING, to_state=State.CLAIMED, now=now)


def _claim_locked(decisions: list[tuple[Reminder, str]], now: datetime.datetime) -> list[int]:
    """The rows are locked by this transaction (skip_locked): one UPDATE per outcome."""
    claimed, skipped = _outcomes(decisions)
    for reason, ids in skipped.items():
        Reminder.objects.filter(pk__in=ids).update(state=State.SKIPPED, skip_reason=reason)
    Reminder.objects.filter(pk__in=claimed).update(
        state=State.CLAIMED, claimed_at=now, claimed_by=holder_id()
    )
    return claimed


def _due_rows(now: datetime.datetime):
    """The due rows, earliest first. In due_at order alone, which the partial index
    reminder_pending_due gives, a batch reads only its own rows; ordered by (due_at, id)
    PostgreSQL sorted every due row for each batch (0.2-0.7 s a batch with 50,000-100,000 due
    at the same instant)."""
    return (
        Reminder.objects.filter(state=State.PENDING, due_at__lte=now)
        # The due day of the latest such row, None if there is none (_superseded_reason).
        .annotate(later_due=Subquery(_later_due(now).order_by("-due_at").values("due_on")[:1]))
        .select_related("recipient", "event", "commitment", "milestone")
        # A deadline row asks whether its commitment is still overdue (deadline_skip_reason).
        .prefetch_related("commitment__milestones")
        .order_by("due_at")
    )


def _locking():
    # SQLite has no row locks; a transaction there would only turn a busy wait into an error.
    if connection.features.has_select_for_update_skip_locked:
        return transaction.atomic()
    return contextlib.nullcontext()


def _claim_batch(*, now: datetime.datetime, limit: int) -> tuple[int, list[int]]:
    """(how many due rows were looked at, the ids claimed among them)."""
    with _locking():
        rows = list(_due_rows(now).select_for_update(skip_locked=True, of=("self",))[:limit])
        batch = _Batch(
            followers=event_follower_ids(event_ids={r.event_id for r in rows if r.event_id}),
            prefs=preferences_of({r.recipient_id for r in rows}),
            unseen=reminders_unseen(rows=rows),
        )
        decisions = [(row, _skip_reason(row, batch, now)) for row in rows]
        if connection.features.has_select_for_update_skip_locked:
            return len(rows), _claim_locked(decisions, now)
        return len(rows), _claim_unlocked(decisions, now)


def reminders_claim_due(*, now: datetime.datetime, limit: int | None = None) -> list[int]:
    """Claim up to `limit` rows due by `now` that are still worth sending; skip the rest with a
    reason. Returns the claimed ids, for send tasks. `now` comes from the caller so that tests
    can dispatch at frozen instants while a real worker sends.
    """
    return _claim_batch(now=now, limit=limit or settings.REMINDER_BATCH_SIZE)[1]


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hand_over(ids: list[int], enqueue: Callable[[list[int]], None]) -> bool:
    """Give claimed ids to send tasks, a chunk per task; False if the broker refused."""
    for chunk in _chunks(ids, settings.REMINDER_SEND_CHUNK_SIZE):
        try:
            enqueue(chunk)
        except Exception:
            # The broker is down: the rows stay claimed and are requeued after the timeout.
            logger.exception("Could not hand reminders %s to a worker", chunk)
            return False
    return True


def reminders_dispatch(
    *,
    now: datetime.datetime,
    enqueue: Callable[[list[int]], None],
    continue_later: Callable[[], None] | None = None,
) -> list[int]:
    """One run of the periodic dispatcher: requeue, plan, then claim (reminders_claim)."""
    reminders_requeue_stuck(now=now)
    reminders_plan(now=now)
    return reminders_claim(now=now, enqueue=enqueue, continue_later=continue_later)


def reminders_claim(
    *,
    now: datetime.datetime,
    enqueue: Callable[[list[int]], None],
    continue_later: Callable[[], None] | None = None,
) -> list[int]:
    """Claim batch after batch, handing each over to send tasks as soon as it is claimed, until
    nothing is due, REMINDER_DISPATCH_SECONDS have passed (the next run goes on from there) or
    REMINDER_BATCH_SIZE claimed rows wait for a worker.

    That last limit keeps the claims just ahead of the workers. A row must be sent within the
    claim timeout of its claim, or the requeue would take it back and it would be claimed and
    handed over again (wasted work): claiming 100,000 rows at once, faster than any worker
    sends, did that. A run that stopped there with rows still due and claimed something calls
    `continue_later`, which queues the next claim (tracker.tasks.claim_reminders) behind the
    chunks just handed over, so it runs as the workers get through them; one that claimed
    nothing leaves it to the run whose rows are waiting, or to the next minute's."""
    limit = settings.REMINDER_BATCH_SIZE
    stop_at = time.monotonic() + settings.REMINDER_DISPATCH_SECONDS
    claimed: list[int] = []
    while Reminder.objects.filter(state=State.CLAIMED).count() < limit:
        looked_at, batch = _claim_batch(now=now, limit=limit)
        claimed += batch
        if not _hand_over(batch, enqueue) or looked_at < limit or time.monotonic() > stop_at:
            return claimed
    if claimed and continue_later is not None:
        try:
            continue_later()
        except Exception:
            # The broker is down: the next minute's dispatcher run goes on from here.
            logger.exception("Could not queue the next claim of due reminders")
    return claimed
