"""Planning: which reminder rows exist, and when each is due.

Owns the due days (the reader's local hour on them is deadlines.local_due_at), the occurrences
still ahead, quiet commitments and weekly digests, and reminders_plan, which inserts the rows
due up to REMINDER_HORIZON_DAYS ahead from the event rather than from a window: every
reminder of an occurrence still ahead however long ago it fell due, and back to
REMINDER_CATCHUP_DAYS those an outage made useless, to be skipped with a reason. Repeats are
dropped by Reminder's unique constraints (bulk_create(ignore_conflicts=True)).
"""

import datetime
import logging

from django.conf import settings
from django.db.models import Q

from commitments.deadlines import deadline_state, late_from
from commitments.models import Commitment
from core.local_time import zone_named
from core.roles import user_can_own_commitments
from tracker.events import (
    Occurrence,
    occurrences_between,
)
from tracker.models import (
    Event,
    Notification,
    Reminder,
    ReminderPreference,
    User,
)
from tracker.notifications import NEWS_EVERY_DAYS, overdue_changes_record
from tracker.selectors import CLOSED_STATUSES

from .deadlines import deadline_rows, local_due_at
from .following import (
    _deliverable,
    event_follower_ids,
    lead_days_chosen,
    preferences_of,
    single_email_reader,
)

logger = logging.getLogger(__name__)
Kind = Reminder.Kind
UTC = datetime.UTC


DIGEST_DAYS_AHEAD = 14
# The lead times (days before an event) a reader may choose on My reminders.
CHOOSABLE_LEAD_DAYS = (30, 7, 1, 0)


def occurrence_starts_at(*, event: Event, date: datetime.date) -> datetime.datetime:
    """When an occurrence begins: its start time, or midnight in the event's zone if all day."""
    start = event.start_time or datetime.time(0)
    return datetime.datetime.combine(date, start, tzinfo=zone_named(event.time_zone))


def occurrence_passed_at(*, event: Event, date: datetime.date) -> datetime.datetime:
    """When a reminder for an occurrence stops being useful: a timed event's start, the end of
    an all-day event's day in its zone. (Its start, midnight in Ashgabat, is 09:00 the day
    before in Honolulu: readers far west would never get the day-before reminder.)"""
    if event.start_time is not None:
        return occurrence_starts_at(event=event, date=date)
    next_day = date + datetime.timedelta(days=1)
    return datetime.datetime.combine(next_day, datetime.time(0), tzinfo=zone_named(event.time_zone))


def commitment_quiet_base(commitment: Commitment) -> datetime.date:
    """The day a commitment's quiet period counts from.

    `last_activity_on` is the latest day something *happened* (not when it was recorded): an
    update entered today about 2021 only counts if it is still the newest activity, and then
    the clock restarts from 2021, so the owner keeps being reminded until news is recorded.
    """
    return commitment.last_activity_on or commitment.created_at.astimezone(UTC).date()


def commitment_late_from(commitment: Commitment) -> datetime.date:
    """The first day the commitment is late by its reporting cadence (commitments.deadlines):
    its owner's first reminder."""
    return late_from(
        last_news=commitment_quiet_base(commitment), cadence_months=commitment.reporting_cadence
    )


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
    longest_lead = max(longest_lead, *CHOOSABLE_LEAD_DAYS)
    # A day before `first`: an all-day occurrence far west of UTC lasts into the next UTC day.
    start = min(first, now.astimezone(UTC).date()) - datetime.timedelta(days=1)
    end = last + datetime.timedelta(days=longest_lead)
    pairs = []
    for occurrence in occurrences_between(start=start, end=end, events=events):
        ahead = _still_ahead(occurrence, now)
        # A reader may choose other lead times than the event's (_event_rows keeps theirs).
        for lead in set(occurrence.event.lead_times_days) | set(CHOOSABLE_LEAD_DAYS):
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
        if user_id in readers and lead in lead_days_chosen(prefs[user_id], occurrence.event)
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
    """The days from `first` to `last` on which a late commitment's owner is reminded: the
    first day it is late by its reporting cadence, then every REMINDER_STALE_REPEAT_DAYS."""
    repeat = settings.REMINDER_STALE_REPEAT_DAYS
    day = commitment_late_from(commitment)
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
        .filter(owner__isnull=False, retired_on__isnull=True)
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
    (docs/reminders.md, "Catch-up after downtime"); existing ones are left as they are.
    First, record each commitment that became overdue today as news for its followers."""
    first, last = _window(now)
    _overdue_news_record(now)
    stale_first = _back_to_latest_round(
        first=first, now=now, every_days=settings.REMINDER_STALE_REPEAT_DAYS
    )
    rows = [
        *_event_rows(first=first, last=last, now=now),
        *_stale_rows(first=stale_first, last=last),
        *_digest_rows(first=_back_to_latest_round(first=first, now=now, every_days=7), last=last),
        *deadline_rows(first=first, last=last),
        *_news_rows(first=first, now=now),
        *_news_digest_rows(first=first, now=now),
    ]
    # Safe to repeat and to run concurrently: the unique constraints on Reminder drop repeats.
    Reminder.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def _overdue_news_record(now: datetime.datetime) -> int:
    """A commitment overdue by its public state (what its followers see) is news once per date
    it is overdue by (tracker.notifications.overdue_changes_record)."""
    today = now.astimezone(UTC).date()
    dated = Q(target_date__lt=today) | Q(
        milestones__done_on__isnull=True, milestones__due_on__lt=today
    )
    commitments = (
        Commitment.objects.filter(dated, retired_on__isnull=True)
        .distinct()
        .prefetch_related("milestones")
    )

    def since_of(commitment: Commitment) -> datetime.date | None:
        milestones = [(m.due_on, m.done_on) for m in commitment.milestones.all()]
        return deadline_state(
            status=commitment.public_status,
            target_date=commitment.target_date,
            milestones=milestones,
            today=today,
        ).overdue_since

    return overdue_changes_record(commitments=list(commitments), since_of=since_of)


def _news_readers(frequencies: tuple[str, ...]) -> dict[int, tuple[User, ReminderPreference]]:
    """Readers who get news by email at one of these frequencies ("immediate" is the default:
    those without a preference row too), with their preference."""
    users = User.objects.filter(notifications__isnull=False, is_active=True).distinct()
    prefs = preferences_of([u.pk for u in users])
    return {
        u.pk: (u, prefs[u.pk])
        for u in users
        if _deliverable(u, prefs[u.pk]) and prefs[u.pk].notify in frequencies
    }


def _news_rows(*, first: datetime.date, now: datetime.datetime) -> list[Reminder]:
    """A NEWS row, due at once, for each notice since `first` to a reader who wants news at
    once (reminder_unique_news drops repeats)."""
    since = datetime.datetime.combine(first, datetime.time(0), tzinfo=UTC)
    notices = Notification.objects.filter(created_at__gte=since, reminders__isnull=True)
    readers = _news_readers(("immediate",))
    return [
        Reminder(
            kind=Kind.NEWS,
            recipient=readers[n.user_id][0],
            notification=n,
            due_on=n.created_at.astimezone(UTC).date(),
            due_at=n.created_at,
        )
        for n in notices.filter(user_id__in=readers)
    ]


def _news_digest_rows(*, first: datetime.date, now: datetime.datetime) -> list[Reminder]:
    """A NEWSDIGEST row for each digest day from `first` to tomorrow (daily, or weekly on
    REMINDER_DIGEST_WEEKDAY) at the reader's local hour, if a notice was made in the days it
    covers (lead_days) by now; what it lists is read again as it is sent."""
    readers = _news_readers(tuple(NEWS_EVERY_DAYS))
    today = now.astimezone(UTC).date()
    days = [first + datetime.timedelta(days=n) for n in range((today - first).days + 2)]
    rows = []
    for user, pref in readers.values():
        every = NEWS_EVERY_DAYS[pref.notify]
        for day in days:
            if every == 7 and day.weekday() != settings.REMINDER_DIGEST_WEEKDAY:
                continue
            due_at = local_due_at(day=day, time_zone=user.time_zone)
            start = due_at - datetime.timedelta(days=every)
            if user.notifications.filter(created_at__gte=start, created_at__lt=due_at).exists():
                rows.append(
                    Reminder(
                        kind=Kind.NEWS_DIGEST,
                        recipient=user,
                        lead_days=every,
                        due_on=day,
                        due_at=due_at,
                    )
                )
    return rows
