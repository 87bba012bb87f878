"""Reminders: who follows what, planning rows, claiming the due ones, sending each exactly once.

The database decides what is due (healthchecks' `sendalerts` idea). Every minute the dispatcher
(tracker.tasks.dispatch_reminders) does three short steps, each safe to run twice at once:

1. requeue rows a dead worker left in `claimed`/`sending`: as soon as the worker process that
   held them stopped beating its heartbeat (tracker.workers), else after the claim timeout;
2. plan: insert the rows due up to REMINDER_HORIZON_DAYS ahead, from the event rather than from
   a window: every reminder of an occurrence still ahead, however long ago it fell due, and
   back to REMINDER_CATCHUP_DAYS those an outage made useless, to be skipped with a reason
   (`bulk_create(ignore_conflicts=True)`; the unique constraints on Reminder drop repeats);
3. claim the due `pending` rows a batch at a time, skipping with a reason those no longer
   useful, and hand the claimed ids to send tasks in chunks; it keeps claiming until nothing is
   due or REMINDER_DISPATCH_SECONDS have passed, and the next run goes on from there, or until
   a batch's worth of claimed rows wait for a worker: then a claim task queued behind them
   goes on once the workers get there (reminders_claim).

A send task sends its chunk over one SMTP connection. It moves each row `claimed` -> `sending`
with a conditional UPDATE (so two messages for one row send once), calls SMTP, then marks it
`sent`, one row after the other; a group still sending after half the claim timeout puts its
unsent rows back rather than race the requeue. The only message that can go out twice is one
whose SMTP call was in flight when its worker died: its row stays `sending`, is requeued once
the worker's heartbeat is stale and sent again; the rest of the chunk goes out once. A lost
database connection (a PostgreSQL restart or crash) is ridden through by the marks
(_on_lost_connection), which also make again those a crash may have lost: nothing is resent.

An event's email is rendered once per chunk for all its readers in one language, with each
reader's own parts (name, time in their zone, signed links) filled in afterwards.
"""

import contextlib
import contextvars
import datetime
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import SafeMIMEText
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext

from commitments.models import Commitment
from core.roles import user_can_own_commitments
from tracker.events import (
    Occurrence,
    event_ids_visible_to_each,
    event_occurrences,
    occurrences_between,
)
from tracker.models import (
    Event,
    Reminder,
    ReminderPreference,
    ReminderSubscription,
    User,
    WorkerHeartbeat,
)
from tracker.selectors import CLOSED_STATUSES
from tracker.workers import holder_id, stale_holders_cutoff

logger = logging.getLogger(__name__)

State = Reminder.State
Kind = Reminder.Kind
UTC = datetime.UTC
UNSUBSCRIBE_SALT = "tracker.reminders.unsubscribe"
DIGEST_DAYS_AHEAD = 14


# --- time ----------------------------------------------------------------------------------


def reader_zone(name: str) -> ZoneInfo:
    """The reader's zone; an unknown name falls back to UTC rather than stop every reminder."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("Unknown time zone %r: reminders use UTC", name)
        return ZoneInfo("UTC")


def local_due_at(*, day: datetime.date, time_zone: str) -> datetime.datetime:
    """REMINDER_LOCAL_HOUR on `day` in the reader's zone, as UTC (DST shifts it by an hour)."""
    hour = datetime.time(settings.REMINDER_LOCAL_HOUR)
    return datetime.datetime.combine(day, hour, tzinfo=reader_zone(time_zone)).astimezone(UTC)


def occurrence_starts_at(*, event: Event, date: datetime.date) -> datetime.datetime:
    """When an occurrence begins: its start time, or midnight in the event's zone if all day."""
    start = event.start_time or datetime.time(0)
    return datetime.datetime.combine(date, start, tzinfo=ZoneInfo(event.time_zone))


def occurrence_passed_at(*, event: Event, date: datetime.date) -> datetime.datetime:
    """When a reminder for an occurrence stops being useful: a timed event's start, the end of
    an all-day event's day in its zone. (Its start, midnight in Ashgabat, is 09:00 the day
    before in Honolulu: readers far west would never get the day-before reminder.)"""
    if event.start_time is not None:
        return occurrence_starts_at(event=event, date=date)
    next_day = date + datetime.timedelta(days=1)
    return datetime.datetime.combine(next_day, datetime.time(0), tzinfo=ZoneInfo(event.time_zone))


def commitment_quiet_base(commitment: Commitment) -> datetime.date:
    """The day a commitment's quiet period counts from.

    `last_activity_on` is the latest day something *happened* (not when it was recorded): an
    update entered today about 2021 only counts if it is still the newest activity, and then
    the clock restarts from 2021, so the owner keeps being reminded until news is recorded.
    """
    return commitment.last_activity_on or commitment.created_at.astimezone(UTC).date()


def commitment_quiet_days(commitment: Commitment) -> int:
    return commitment.quiet_after_days or settings.TRACKER_QUIET_AFTER_DAYS


# --- who follows what -----------------------------------------------------------------------


def preferences_of(user_ids: Iterable[int]) -> dict[int, ReminderPreference]:
    """Each user's options; users without a row get the defaults (unsaved)."""
    found = {p.user_id: p for p in ReminderPreference.objects.filter(user_id__in=set(user_ids))}
    return {uid: found.get(uid) or ReminderPreference(user_id=uid) for uid in user_ids}


def _pairs(events, *lookups: str) -> Iterable[tuple[int, int]]:
    for lookup in lookups:
        yield from events.filter(**{f"{lookup}__isnull": False}).values_list("pk", lookup)


def event_follower_ids(*, event_ids: Iterable[int]) -> dict[int, set[int]]:
    """Who follows each event, before delivery options (mute, digest) are applied.

    Owners of the commitments an event concerns follow it by default while they are secretariat
    staff; a liaison follows the events concerning their state once subscribed to it (the state
    they have now: a liaison moved to another state no longer follows the old one's); an
    explicit row adds or removes one. Nobody follows an event they may not see now
    (tracker.events.events_visible_to, the rule of its page).
    """
    follows, users = _follows(event_ids)
    visible = event_ids_visible_to_each(users=users.values(), event_ids=follows)
    followers = defaultdict(set)
    for event_id, ids in follows.items():
        followers[event_id] = {u for u in ids if event_id in visible[u]}
    return followers


def _follows(event_ids: Iterable[int]) -> tuple[dict[int, set[int]], dict[int, User]]:
    """event_follower_ids before what the readers may see; with the readers, by pk."""
    events = Event.objects.filter(pk__in=set(event_ids))
    owners = defaultdict(set)
    for event_id, user_id in _pairs(events, "commitments__owner", "deadline_of__owner"):
        owners[event_id].add(user_id)
    followers = defaultdict(set)
    actors = (
        "commitments__lead_actors",
        "commitments__supporting_actors",
        "deadline_of__lead_actors",
        "deadline_of__supporting_actors",
    )
    state_followers = defaultdict(set)
    subscribed = ReminderSubscription.objects.filter(actor__isnull=False, subscribed=True)
    for sub in subscribed.filter(actor=F("user__actor")):
        state_followers[sub.actor_id].add(sub.user_id)
    for event_id, actor_id in _pairs(events, *actors):
        followers[event_id] |= state_followers.get(actor_id, set())
    explicit = list(ReminderSubscription.objects.filter(event__in=events))
    user_ids = set().union(*owners.values(), *followers.values(), (s.user_id for s in explicit))
    users = User.objects.in_bulk(user_ids)
    for event_id, ids in owners.items():
        followers[event_id] |= {u for u in ids if user_can_own_commitments(users[u])}
    for sub in explicit:
        (followers[sub.event_id].add if sub.subscribed else followers[sub.event_id].discard)(
            sub.user_id
        )
    return followers, users


def _deliverable(user: User, preference: ReminderPreference) -> bool:
    return user.is_active and bool(user.email) and not preference.muted


def single_email_reader(user: User, preference: ReminderPreference) -> bool:
    """Gets one email per reminder (not muted, not on the weekly digest)."""
    return _deliverable(user, preference) and not preference.weekly_digest


# --- planning -------------------------------------------------------------------------------


def _window(now: datetime.datetime) -> tuple[datetime.date, datetime.date]:
    """The days whose reminders every run plans: from REMINDER_CATCHUP_DAYS back (how far a late
    run records those an outage made useless) to REMINDER_HORIZON_DAYS ahead. Those still useful
    are planned from further back (_leads_in_window, _back_to_latest_round)."""
    today = now.astimezone(UTC).date()
    first = today - datetime.timedelta(days=settings.REMINDER_CATCHUP_DAYS)
    return first, today + datetime.timedelta(days=settings.REMINDER_HORIZON_DAYS)


def _still_ahead(occurrence: Occurrence, now: datetime.datetime) -> bool:
    # The same test as the claim's "the event has passed" (occurrence_passed_at).
    return occurrence_passed_at(event=occurrence.event, date=occurrence.date) > now


def _leads_in_window(
    *, first: datetime.date, last: datetime.date, now: datetime.datetime
) -> list[tuple]:
    """(occurrence, lead days) pairs to plan: every lead due by `last` of an occurrence still
    ahead at `now`, however long ago it fell due (after downtime the nearest one is sent late
    and the earlier ones are skipped as superseded), and of an occurrence already passed those
    due from `first` on (recorded as skipped: "the event has passed")."""
    events = Event.objects.exclude(lead_times_days=[])
    longest_lead = max((max(e.lead_times_days or [0]) for e in events), default=0)
    # A day before `first`: an all-day occurrence far west of UTC lasts into the next UTC day.
    start = min(first, now.astimezone(UTC).date()) - datetime.timedelta(days=1)
    end = last + datetime.timedelta(days=longest_lead)
    pairs = []
    for occurrence in occurrences_between(start=start, end=end, events=events):
        ahead = _still_ahead(occurrence, now)
        for lead in occurrence.event.lead_times_days or []:
            due_on = occurrence.date - datetime.timedelta(days=lead)
            if due_on <= last and (ahead or first <= due_on):
                pairs.append((occurrence, lead))
    return pairs


def _event_rows(
    *, first: datetime.date, last: datetime.date, now: datetime.datetime
) -> list[Reminder]:
    leads = _leads_in_window(first=first, last=last, now=now)
    # Followers only of the events with a reminder day in the window: usually a handful.
    followers = event_follower_ids(event_ids={o.event.pk for o, _ in leads})
    user_ids = set().union(*followers.values())
    prefs = preferences_of(user_ids)
    readers = {
        u.pk: u for u in User.objects.filter(pk__in=user_ids) if single_email_reader(u, prefs[u.pk])
    }
    return [
        _event_row(occurrence=occurrence, lead=lead, user=readers[user_id])
        for occurrence, lead in leads
        for user_id in followers[occurrence.event.pk]
        if user_id in readers
    ]


def _event_row(*, occurrence: Occurrence, lead: int, user: User) -> Reminder:
    due_on = occurrence.date - datetime.timedelta(days=lead)
    return Reminder(
        kind=Kind.EVENT,
        recipient=user,
        event=occurrence.event,
        occurrence_date=occurrence.date,
        lead_days=lead,
        due_on=due_on,
        due_at=local_due_at(day=due_on, time_zone=user.time_zone),
    )


def stale_due_days(
    *, commitment: Commitment, first: datetime.date, last: datetime.date
) -> list[datetime.date]:
    """The days from `first` to `last` on which a quiet commitment's owner is reminded:
    quiet_after_days after the last activity, then every REMINDER_STALE_REPEAT_DAYS."""
    repeat = settings.REMINDER_STALE_REPEAT_DAYS
    day = commitment_quiet_base(commitment) + datetime.timedelta(
        days=commitment_quiet_days(commitment)
    )
    if day < first:
        day += datetime.timedelta(days=-(-(first - day).days // repeat) * repeat)
    days = []
    while day <= last:
        days.append(day)
        day += datetime.timedelta(days=repeat)
    return days


def _open_owned_commitments():
    return (
        Commitment.objects.exclude(status__in=CLOSED_STATUSES)
        .filter(owner__isnull=False)
        .select_related("owner")
    )


def _stale_rows(*, first: datetime.date, last: datetime.date) -> list[Reminder]:
    commitments = list(_open_owned_commitments())
    prefs = preferences_of({c.owner_id for c in commitments})
    rows = []
    for commitment in commitments:
        owner, pref = commitment.owner, prefs[commitment.owner_id]
        if not (single_email_reader(owner, pref) and pref.stale_reminders):
            continue
        if not user_can_own_commitments(owner):  # a demoted owner: the email has internal state
            continue
        for due_on in stale_due_days(commitment=commitment, first=first, last=last):
            rows.append(
                Reminder(
                    kind=Kind.STALE,
                    recipient=owner,
                    commitment=commitment,
                    quiet_since=commitment_quiet_base(commitment),
                    due_on=due_on,
                    due_at=local_due_at(day=due_on, time_zone=owner.time_zone),
                )
            )
    return rows


def _digest_rows(*, first: datetime.date, last: datetime.date) -> list[Reminder]:
    prefs = ReminderPreference.objects.filter(weekly_digest=True, muted=False)
    readers = [p.user for p in prefs.select_related("user") if _deliverable(p.user, p)]
    days = [
        first + datetime.timedelta(days=n)
        for n in range((last - first).days + 1)
        if (first + datetime.timedelta(days=n)).weekday() == settings.REMINDER_DIGEST_WEEKDAY
    ]
    return [
        Reminder(
            kind=Kind.DIGEST,
            recipient=user,
            due_on=day,
            due_at=local_due_at(day=day, time_zone=user.time_zone),
        )
        for user in readers
        for day in days
    ]


def _back_to_latest_round(
    *, first: datetime.date, now: datetime.datetime, every_days: int
) -> datetime.date:
    """`first`, or earlier if need be to reach the latest round before today of something
    repeating every `every_days` days: however long the downtime, that round still gets a
    row (sent late; the older ones within `first` are skipped as superseded by it)."""
    return min(first, now.astimezone(UTC).date() - datetime.timedelta(days=every_days))


def reminders_plan(*, now: datetime.datetime) -> int:
    """Insert every reminder due in the planning window, and those older ones still useful
    (README, "Catch-up after downtime"); existing ones are left as they are."""
    first, last = _window(now)
    stale_first = _back_to_latest_round(
        first=first, now=now, every_days=settings.REMINDER_STALE_REPEAT_DAYS
    )
    rows = [
        *_event_rows(first=first, last=last, now=now),
        *_stale_rows(first=stale_first, last=last),
        *_digest_rows(first=_back_to_latest_round(first=first, now=now, every_days=7), last=last),
    ]
    # Safe to repeat and to run concurrently: the unique constraints on Reminder drop repeats.
    Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


# --- claiming -------------------------------------------------------------------------------


def reminders_requeue_stuck(*, now: datetime.datetime) -> int:
    """Put back rows a worker claimed or began sending but never finished (it died).

    A row goes back as soon as the worker process holding it (`claimed_by`) has stopped
    beating its heartbeat (tracker.workers), else once it is older than the claim timeout, the
    last resort for rows claimed outside a worker or by a worker that never beat again.
    A `sending` row may have reached the SMTP server just before its worker died: requeueing
    it is the one case where a reader can get a message twice (the README's delivery policy).
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
    if row.kind == Kind.EVENT:
        return SUPERSEDED_REASON % {"days": (row.occurrence_date - row.later_due).days}
    return LATER_REASONS[row.kind]


@dataclass
class _Batch:
    """What the skip rules need to know about one batch of due rows, fetched once."""

    followers: dict[int, set[int]]
    prefs: dict[int, ReminderPreference]
    unseen: dict[int, str] = field(default_factory=dict)  # reminders_unseen


# --- what the reader may see now ------------------------------------------------------------

UNSEEN_INACTIVE = gettext_noop("the recipient's account is inactive")
UNSEEN_EVENT = gettext_noop("the reader may no longer see this event")
UNSEEN_NOT_SECRETARIAT = gettext_noop("the owner is no longer on the secretariat")
UNSEEN_NOT_OWNER = gettext_noop("the recipient no longer follows this commitment")
UNSEEN_DIGEST = gettext_noop("nothing in the digest is left that its reader may see")

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


def reminders_unseen(*, rows: list[Reminder]) -> dict[int, str]:
    """Why a row's reader may not be sent it now, by row id, for the rows they may not.

    Asked when rows are claimed and again just before they are sent (_send_group), on their
    recipient, event and commitment as the database has them then: an event reminder reaches
    only a reader who may open the event's page (tracker.events.events_visible_to), an owner
    reminder only a secretariat owner (core.roles.user_can_own_commitments), nothing an
    inactive account. A digest's contents are filtered when it is written (digest_contents).
    """
    events = [row for row in rows if row.kind == Kind.EVENT]
    visible = event_ids_visible_to_each(
        users=[row.recipient for row in events], event_ids={row.event_id for row in events}
    )
    lost = _owner_follows_lost(events)
    reasons = {row.pk: _unseen_reason(row, visible, lost) for row in rows}
    return {row_id: reason for row_id, reason in reasons.items() if reason}


def _unseen_reason(row: Reminder, visible: dict[int, set[int]], lost: set[int]) -> str:
    user = row.recipient
    if not user.is_active:
        return UNSEEN_INACTIVE
    if row.kind == Kind.EVENT and row.event_id not in visible[user.pk]:
        return UNSEEN_EVENT
    if row.kind == Kind.EVENT and row.pk in lost:
        return UNSEEN_NOT_SECRETARIAT
    if row.kind == Kind.STALE and not user_can_own_commitments(user):
        return UNSEEN_NOT_SECRETARIAT
    if row.kind == Kind.STALE and row.commitment.owner_id != user.pk:
        return UNSEEN_NOT_OWNER
    return ""


def _owner_follows_lost(rows: list[Reminder]) -> set[int]:
    """The event reminders (ids) that reached their reader as the owner of a commitment the
    event concerns, now that the reader is no longer secretariat, unless they follow the event
    otherwise (their state, their own choice). Costs nothing while every reader is secretariat."""
    demoted = [row for row in rows if not user_can_own_commitments(row.recipient)]
    if not demoted:
        return set()
    readers = {row.recipient_id for row in demoted}
    owned_by = Q(commitments__owner__in=readers) | Q(deadline_of__owner__in=readers)
    events = Event.objects.filter(owned_by, pk__in={row.event_id for row in demoted})
    owned = {
        (event_id, owner_id)
        for event_id, *owner_ids in events.values_list(
            "pk", "commitments__owner", "deadline_of__owner"
        )
        for owner_id in owner_ids
    }
    owners = [row for row in demoted if (row.event_id, row.recipient_id) in owned]
    if not owners:
        return set()
    followers = event_follower_ids(event_ids={row.event_id for row in owners})
    return {row.pk for row in owners if row.recipient_id not in followers[row.event_id]}


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
    return ""


def _stale_skip_reason(row: Reminder, batch: _Batch) -> str:
    commitment = row.commitment
    if commitment.status in CLOSED_STATUSES:
        return "the commitment is closed"
    if commitment_quiet_base(commitment) != row.quiet_since:
        return "a status update was posted since"
    if commitment.owner_id != row.recipient_id or not batch.prefs[row.recipient_id].stale_reminders:
        return "the recipient no longer follows this commitment"
    return ""


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
    """The due rows, earliest first. In due_at order alone, which the index on (state, due_at)
    gives, a batch reads only its own rows; ordered by (due_at, id) PostgreSQL sorted every
    due row for each batch (0.2-0.7 s a batch with 50,000-100,000 due at the same instant)."""
    return (
        Reminder.objects.filter(state=State.PENDING, due_at__lte=now)
        # The due day of the latest such row, None if there is none (_superseded_reason).
        .annotate(later_due=Subquery(_later_due(now).order_by("-due_at").values("due_on")[:1]))
        .select_related("recipient", "event", "commitment")
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


# --- sending --------------------------------------------------------------------------------


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
        message = reminder_message(reminder=reminder)
        message.connection = smtp
        message.send()
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


def _mark_sent(reminder_id: int, stamp: datetime.datetime) -> bool:
    """sending -> sent if still this group's: one statement, committed at once, per message
    (without waiting for the disk: _without_disk_wait). The message has gone out: a lost
    connection (a PostgreSQL restart) is ridden through, never left to the requeue, which
    would send it again."""
    marked = _on_lost_connection(lambda: _mark_sent_once(reminder_id, stamp, durable=False))
    if marked:
        _marks_since_disk().append((reminder_id, stamp))
    return marked


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
    fresh = Reminder.objects.select_related("recipient", "commitment").in_bulk([r.pk for r in rows])
    rows = [row for row in rows if row.pk in fresh]  # deleted with its event or commitment
    for row in rows:
        row.recipient, row.commitment = fresh[row.pk].recipient, fresh[row.pk].commitment
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


def _hold(ids: list[int]) -> None:
    """The chunk's claimed rows are held by this worker process from now on: should it die,
    they go back in the queue once its heartbeat is stale (reminders_requeue_stuck), without
    waiting for the broker to redeliver the task (its visibility timeout) or the claim timeout.
    A duplicate of the task holding them too changes nothing: each row is sent by whichever
    moves it to `sending` first (_move)."""
    holder = holder_id()
    if holder:
        claimed = Reminder.objects.filter(pk__in=ids, state=State.CLAIMED)
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
    rows = (
        Reminder.objects.filter(pk__in=reminder_ids, state=State.CLAIMED)
        .select_related("recipient", "event", "commitment")
        .prefetch_related("event__commitments")  # listed by the event email
    )
    attempt = _Attempt()
    with get_connection() as smtp, _message_cache(), _durable_marks():
        for group in _chunks(list(rows.order_by("pk")), settings.REMINDER_SEND_GROUP_SIZE):
            _send_group(group, smtp, attempt)
    if attempt.error:
        raise RemindersNotSent(_error_text(attempt.error), attempt.held) from attempt.error
    return attempt.sent


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


# --- the email ------------------------------------------------------------------------------


def site_url(path: str) -> str:
    return settings.TRACKER_SITE_URL.rstrip("/") + path


def unsubscribe_token(*, user: User, scope: str, object_id: int | None = None) -> str:
    """What signing.dumps(..., salt=UNSUBSCRIBE_SALT) gives, with one signer per chunk of
    sends. (Links sent before asked for compression, which never shortened a payload this
    short, so they were written the same way; signing.loads reads either.)"""
    signer = _shared(("signer",), lambda: signing.TimestampSigner(salt=UNSUBSCRIBE_SALT))
    return signer.sign_object([user.pk, scope, object_id])


def unsubscribe_url(*, user: User, scope: str, object_id: int | None = None) -> str:
    token = unsubscribe_token(user=user, scope=scope, object_id=object_id)
    # The path is reversed once per chunk of sends (a token is never quoted: it is URL-safe).
    start, end = _shared(("unsubscribe_path",), _unsubscribe_path)
    return site_url(f"{start}{token}{end}")


def _unsubscribe_path() -> tuple[str, str]:
    start, _, end = reverse("reminder_unsubscribe", kwargs={"token": "TOKEN"}).rpartition("TOKEN")
    return start, end


# Django's formats, not strftime: day and month names follow the recipient's language.
DAY_FORMAT = "l j E Y"


def _format_instant(instant: datetime.datetime, zone: str) -> str:
    return dateformat.format(instant.astimezone(reader_zone(zone)), f"{DAY_FORMAT}, H:i")


def _event_zone_text(*, event: Event, date: datetime.date) -> str:
    local = dateformat.format(date, DAY_FORMAT)
    if event.start_time:
        local = _format_instant(occurrence_starts_at(event=event, date=date), event.time_zone)
    return f"{local} ({event.time_zone})"


def _reader_zone_text(*, event: Event, date: datetime.date, reader_zone: str) -> str:
    starts = occurrence_starts_at(event=event, date=date)
    return f"{_format_instant(starts, reader_zone)} ({reader_zone})"


def occurrence_dates_text(*, event: Event, date: datetime.date, reader_zone: str) -> dict:
    """The occurrence's date in the event's zone and when that is in the reader's zone."""
    return {
        "event_zone_text": _event_zone_text(event=event, date=date),
        "reader_zone_text": _reader_zone_text(event=event, date=date, reader_zone=reader_zone),
        "all_day": event.start_time is None,
    }


def _occurrence(event: Event, date: datetime.date) -> Occurrence:
    found = event_occurrences(event=event, start=date, end=date)
    return found[0] if found else Occurrence(event, date, None, None)


# Within one chunk of sends, what readers share (an event email's text, rendered once for every
# reader of the same occurrence and lead time in the same language) is worked out once
# (reminders_send); elsewhere nothing is kept.
_shared_parts: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "reminder_shared_parts", default=None
)


@contextlib.contextmanager
def _message_cache():
    token = _shared_parts.set({})
    try:
        yield
    finally:
        _shared_parts.reset(token)


def _shared(key: tuple, compute: Callable[[], Any]) -> Any:
    parts = _shared_parts.get()
    if parts is None:
        return compute()
    if key not in parts:
        parts[key] = compute()
    return parts[key]


@dataclass
class _Parts:
    """An email's parts: `context` is what its templates read, the same for every reader whose
    email has the same `key` (None: this reader's alone); `reader` holds this reader's own
    texts, which the templates print as markers (_marker) filled in after rendering."""

    key: tuple | None
    context: Callable[[], dict]
    reader: dict[str, str]


def _marker(name: str) -> str:
    # NUL cannot occur in PostgreSQL text, nor in form input: no title or name contains one.
    return f"\0{name}\0"


def _reader_today(user: User) -> datetime.date:
    """The reader's own date at the moment of sending: what "today" means in their email."""
    return timezone.now().astimezone(reader_zone(user.time_zone)).date()


def occurrence_reader_day(*, event: Event, date: datetime.date, time_zone: str) -> datetime.date:
    """The day the reader sees the occurrence on: an all-day event's own date; a timed event's
    start in the reader's zone (14:00 on the 11th in New York for 00:00 on the 12th in
    Ashgabat)."""
    if event.start_time is None:
        return date
    return occurrence_starts_at(event=event, date=date).astimezone(reader_zone(time_zone)).date()


def _event_parts(reminder: Reminder) -> _Parts:
    event, user, date = reminder.event, reminder.recipient, reminder.occurrence_date
    language = translation.get_language()
    starts = occurrence_starts_at(event=event, date=date)  # events on one day often share it
    reader_zone_text = _shared(
        ("zone", starts, user.time_zone, language),
        lambda: _reader_zone_text(event=event, date=date, reader_zone=user.time_zone),
    )
    day = occurrence_reader_day(event=event, date=date, time_zone=user.time_zone)
    # "today", "tomorrow", "in 5 days": counted when the email is written, not from the lead
    # time, so a reminder sent late still says when the event is. An all-day occurrence whose
    # date has already ended in a reader's zone far east, but not in the event's, is "today".
    days_away = max((day - _reader_today(user)).days, 0)

    def context() -> dict:
        return {
            "reminder": reminder,
            "occurrence": _occurrence(event, date),
            "day": day,
            "days_away": days_away,
            "event_zone_text": _event_zone_text(event=event, date=date),
            "all_day": event.start_time is None,
            "event_url": site_url(event.get_absolute_url()),
        }

    return _Parts(
        # The text names the day and how far away it is as the reader sees them now: readers
        # share it only if those match (not the lead time: a late 7-day reminder says 4 days).
        key=(Kind.EVENT, event.pk, date, day, days_away, language),
        context=context,
        reader={
            "reader_zone_text": reader_zone_text,
            "unsubscribe_url": unsubscribe_url(user=user, scope="event", object_id=event.pk),
        },
    )


def _stale_parts(reminder: Reminder) -> _Parts:
    commitment, user = reminder.commitment, reminder.recipient
    # Counted to the day it is sent: a nudge sent late after a downtime says how long it is.
    today = max(reminder.due_on, _reader_today(user))
    context = {
        "commitment": commitment,
        "quiet_days": (today - reminder.quiet_since).days,
        "commitment_url": site_url(commitment.get_absolute_url()),
    }
    reader = {"unsubscribe_url": unsubscribe_url(user=user, scope="stale")}
    return _Parts(key=None, context=lambda: context, reader=reader)


def digest_contents(*, user: User, day: datetime.date) -> dict:
    """What a digest due on `day` lists: followed occurrences ahead, owned quiet commitments,
    only what the reader may see now; `left_out` counts what was left out for that reason."""
    end = day + datetime.timedelta(days=DIGEST_DAYS_AHEAD)
    occurrences = occurrences_between(start=day, end=end)
    follows, _ = _follows({o.event.pk for o in occurrences})
    followed = [o for o in occurrences if user.pk in follows.get(o.event.pk, set())]
    visible = event_ids_visible_to_each(users=[user], event_ids={o.event.pk for o in followed})
    upcoming = [
        {
            "occurrence": o,
            **occurrence_dates_text(event=o.event, date=o.date, reader_zone=user.time_zone),
        }
        for o in followed
        if o.event.pk in visible[user.pk]
    ]
    quiet = [
        c
        for c in _open_owned_commitments().filter(owner=user)
        if commitment_quiet_base(c) + datetime.timedelta(days=commitment_quiet_days(c)) <= day
    ]
    # A quiet commitment's entry shows its internal state: only for a secretariat owner.
    shown_quiet = quiet if user_can_own_commitments(user) else []
    left_out = len(followed) - len(upcoming) + len(quiet) - len(shown_quiet)
    return {
        "upcoming": upcoming,
        "quiet": shown_quiet,
        "days_ahead": DIGEST_DAYS_AHEAD,
        "left_out": left_out,
        "day": day,
    }


def _digest_context(reminder: Reminder) -> dict:
    """digest_contents, worked out once per chunk of sends (_readers_may_see, then the email)."""
    # From the day it is sent: a digest sent late after a downtime lists no event already past.
    user = reminder.recipient
    day = max(reminder.due_on, _reader_today(user))
    return _shared(("digest", user.pk, day), lambda: digest_contents(user=user, day=day))


def _digest_left_empty(reminder: Reminder) -> bool:
    """Nothing left to list once what its reader may not see is left out: not worth a message
    (a digest that had nothing to list anyway still goes out, saying so)."""
    context = _digest_context(reminder)
    return context["left_out"] > 0 and not context["upcoming"] and not context["quiet"]


def _digest_parts(reminder: Reminder) -> _Parts:
    user = reminder.recipient
    context = _digest_context(reminder)
    reader = {"unsubscribe_url": unsubscribe_url(user=user, scope="digest")}
    return _Parts(key=None, context=lambda: context, reader=reader)


PARTS = {Kind.EVENT: _event_parts, Kind.STALE: _stale_parts, Kind.DIGEST: _digest_parts}


class _PlainText(SafeMIMEText):
    """Django's one-part text message, written out without the email package's generator.

    Its headers are ASCII already (Django encodes the rest, RFC 2047) and folded where Django
    folds them; its body is ASCII, or UTF-8 kept as surrogate escapes, or quoted-printable, so
    the bytes are the headers, a blank line and the body, with `linesep` ending every line,
    as BytesGenerator writes them but for refolding headers longer than 78 characters (the
    limit is 998). The generator (parsing Content-Type, folding every header again) cost
    more than half of building a reminder."""

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        headers = "".join(f"{name}: {value}\n" for name, value in self._headers)
        text = f"{headers}\n{self._payload}".replace("\r\n", "\n").replace("\r", "\n")
        try:
            if unixfrom or self.is_multipart():
                raise ValueError("not a plain one-part message")
            return text.replace("\n", linesep).encode("ascii", "surrogateescape")
        except (UnicodeEncodeError, ValueError):
            return super().as_bytes(unixfrom, linesep)


class ReminderEmail(EmailMessage):
    def message(self) -> SafeMIMEText:
        message = super().message()
        message.__class__ = _PlainText  # the same object, written out faster (as_bytes)
        return message


def reminder_message(*, reminder: Reminder) -> EmailMessage:
    """The email, written in the recipient's language (the site's default if they chose none)."""
    with translation.override(reminder.recipient.language or settings.LANGUAGE_CODE):
        return _reminder_message(reminder)


def _rendered(kind: str, context: dict) -> tuple[str, str]:
    subject = render_to_string(f"emails/reminder_{kind}_subject.txt", context)
    return " ".join(subject.split()), render_to_string(f"emails/reminder_{kind}.txt", context)


def _reminder_message(reminder: Reminder) -> EmailMessage:
    user = reminder.recipient
    parts = PARTS[reminder.kind](reminder)
    reader = {
        "reader_name": user.get_full_name() or user.username,
        "unsubscribe_all_url": unsubscribe_url(user=user, scope="all"),
        **parts.reader,
    }

    def render() -> tuple[str, str]:
        markers = {name: _marker(name) for name in reader}
        settings_url = _shared(("settings_url",), lambda: site_url(reverse("reminder_settings")))
        context = {**parts.context(), **markers, "settings_url": settings_url}
        return _rendered(reminder.kind, context)

    subject, body = render() if parts.key is None else _shared(parts.key, render)
    for name, text in reader.items():
        subject, body = (part.replace(_marker(name), text) for part in (subject, body))
    message = ReminderEmail(subject, body, to=[user.email])
    message.extra_headers["List-Unsubscribe"] = f"<{reader['unsubscribe_all_url']}>"
    # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to that link,
    # which reminder_views.reminder_unsubscribe accepts without a CSRF token.
    message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


# --- subscriptions --------------------------------------------------------------------------


UNSUBSCRIBE_SCOPES = ("event", "state", "stale", "digest", "all")


@dataclass(frozen=True)
class UnsubscribeRequest:
    user: User
    scope: str
    target: Event | None


def unsubscribe_request_from_token(token: str) -> UnsubscribeRequest | None:
    """What a signed unsubscribe link asks for; None if the link is forged or out of date."""
    try:
        user_id, scope, object_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    user = User.objects.filter(pk=user_id).first()
    target = Event.objects.filter(pk=object_id).first() if scope == "event" else None
    if user is None or scope not in UNSUBSCRIBE_SCOPES or (scope == "event" and target is None):
        return None
    return UnsubscribeRequest(user=user, scope=scope, target=target)


def reminder_preference_update(*, user: User, **options: bool) -> ReminderPreference:
    preference, _ = ReminderPreference.objects.update_or_create(user=user, defaults=options)
    return preference


def event_follow_set(*, user: User, event: Event, follow: bool) -> None:
    """Record an explicit choice to follow (or stop following) one event."""
    ReminderSubscription.objects.update_or_create(
        user=user, event=event, defaults={"subscribed": follow}
    )


def state_follow_set(*, user: User, follow: bool) -> None:
    """Follow every event concerning the liaison's state, or stop."""
    if user.actor_id is None:
        return
    if follow:
        ReminderSubscription.objects.get_or_create(user=user, actor_id=user.actor_id)
    else:
        ReminderSubscription.objects.filter(user=user, actor__isnull=False).delete()


def reminders_unsubscribe(*, request: UnsubscribeRequest) -> None:
    """Apply an unsubscribe link. Due rows it covers are skipped by the next claim."""
    user = request.user
    if request.scope == "event":
        event_follow_set(user=user, event=request.target, follow=False)
    elif request.scope == "state":
        state_follow_set(user=user, follow=False)
    elif request.scope == "stale":
        reminder_preference_update(user=user, stale_reminders=False)
    elif request.scope == "digest":
        reminder_preference_update(user=user, weekly_digest=False)
    else:
        reminder_preference_update(user=user, muted=True)


def events_followed_by(*, user: User) -> set[int]:
    followers = event_follower_ids(event_ids=Event.objects.values_list("pk", flat=True))
    return {event_id for event_id, users in followers.items() if user.pk in users}


def follows_state(*, user: User) -> bool:
    return ReminderSubscription.objects.filter(
        user=user, actor_id=user.actor_id, actor__isnull=False
    ).exists()


def reminder_settings_update(
    *,
    user: User,
    options: dict[str, bool],
    follow_state: bool,
    shown_events: set[int],
    chosen_events: set[int],
) -> None:
    """Save the subscriptions page. Only the boxes the person changed become explicit rows,
    so unticking "my state" does not pin every event of the state that the page showed."""
    with transaction.atomic():
        reminder_preference_update(user=user, **options)
        state_follow_set(user=user, follow=follow_state)
        for event in Event.objects.filter(pk__in=shown_events ^ chosen_events):
            event_follow_set(user=user, event=event, follow=event.pk in chosen_events)
