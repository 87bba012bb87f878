"""Deadlines: the owner's reminders ahead of a milestone and when a commitment becomes overdue,
and the supervisor's when it has stayed overdue for TRACKER_ESCALATE_AFTER_DAYS.

Target dates need nothing here: a target date is a deadline event (tracker.events.
commitment_deadline_event_sync) that the owner follows, reminded REMINDER lead times ahead like
any event. Milestones are not events: their rows are planned here, REMINDER_MILESTONE_LEAD_DAYS
ahead of each due date. All three kinds carry the internal state of the record, so they go only
to secretariat staff (core.roles.user_can_own_commitments), never to liaisons, and each row is
checked again when it is claimed (deadline_skip_reason) and just before it is sent
(following.reminders_unseen).
"""

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_noop

from commitments.deadlines import FINISHED_STATUSES, deadline_state
from commitments.models import Commitment, Milestone
from core.local_time import zone_named
from core.roles import user_can_own_commitments
from tracker.models import Reminder, User

from .following import preferences_of, single_email_reader

Kind = Reminder.Kind
UTC = datetime.UTC
DEADLINE_KINDS = (Kind.MILESTONE, Kind.OVERDUE, Kind.ESCALATION)

NO_LONGER_OVERDUE = gettext_noop("the commitment is no longer overdue since that date")
MILESTONE_DONE = gettext_noop("the milestone is done")
MILESTONE_MOVED = gettext_noop("the milestone's due date changed")
NO_DEADLINE_REMINDERS = gettext_noop("the recipient turned deadline reminders off")


def commitment_closed(commitment: Commitment) -> bool:
    """Finished or retired: nothing of it can be due or overdue any more."""
    return commitment.status in FINISHED_STATUSES or commitment.retired_on is not None


def overdue_since_of(commitment: Commitment, *, today: datetime.date) -> datetime.date | None:
    """The earliest date before `today` by which the commitment or one of its undone milestones
    was due, by the rule every page shows (commitments.deadlines.deadline_state) on the
    secretariat's state of it; None if nothing is overdue. Reads the prefetched milestones."""
    if commitment.retired_on is not None:
        return None
    milestones = [(m.due_on, m.done_on) for m in commitment.milestones.all()]
    return deadline_state(
        status=commitment.status,
        target_date=commitment.target_date,
        milestones=milestones,
        today=today,
    ).overdue_since


def local_due_at(*, day: datetime.date, time_zone: str) -> datetime.datetime:
    """REMINDER_LOCAL_HOUR on `day` in the reader's zone, as UTC (DST shifts it by an hour): when
    every kind of reminder row is due (planning imports it from here, the earlier stage)."""
    hour = datetime.time(settings.REMINDER_LOCAL_HOUR)
    return datetime.datetime.combine(day, hour, tzinfo=zone_named(time_zone)).astimezone(UTC)


def _readers(user_ids) -> dict[int, User]:
    """The users among user_ids who get deadline reminders one by one now."""
    prefs = preferences_of(user_ids)
    users = User.objects.filter(pk__in=set(user_ids))
    return {
        user.pk: user
        for user in users
        if single_email_reader(user, prefs[user.pk])
        and prefs[user.pk].deadline_reminders
        and user_can_own_commitments(user)
    }


def _open_commitments_with_dates(last: datetime.date):
    """Commitments that are, or may be by `last`, overdue: with an owner or a supervisor, a date
    before `last`, not finished. Their undone milestones come along (one query more)."""
    dated = Q(target_date__lt=last) | Q(
        milestones__done_on__isnull=True, milestones__due_on__lt=last
    )
    people = Q(owner__isnull=False) | Q(supervisor__isnull=False)
    return (
        Commitment.objects.filter(dated, people, retired_on__isnull=True)
        .distinct()
        .prefetch_related("milestones")
        .order_by("pk")
    )


def _overdue_rows(*, first: datetime.date, last: datetime.date) -> list[Reminder]:
    """One OVERDUE row to the owner per date a commitment became overdue since, due the next
    day; one ESCALATION row to the supervisor TRACKER_ESCALATE_AFTER_DAYS later. A commitment
    overdue since before `first` (the feature arrived, or a long downtime) gets its rows once,
    due on `first`: the unique constraints key them by that date, not by the day they are due."""
    commitments = list(_open_commitments_with_dates(last))
    readers = _readers({c.owner_id for c in commitments} | {c.supervisor_id for c in commitments})
    escalate = datetime.timedelta(days=settings.TRACKER_ESCALATE_AFTER_DAYS)
    rows = []
    for commitment in commitments:
        since = overdue_since_of(commitment, today=last)
        if since is None:
            continue
        overdue_on = since + datetime.timedelta(days=1)
        for kind, user_id, due_on in (
            (Kind.OVERDUE, commitment.owner_id, overdue_on),
            (Kind.ESCALATION, commitment.supervisor_id, overdue_on + escalate),
        ):
            if user_id in readers and due_on <= last:
                rows.append(_row(kind, readers[user_id], max(due_on, first), commitment, since))
    return rows


def _row(kind, user: User, due_on: datetime.date, commitment, since) -> Reminder:
    return Reminder(
        kind=kind,
        recipient=user,
        commitment=commitment,
        overdue_since=since,
        due_on=due_on,
        due_at=local_due_at(day=due_on, time_zone=user.time_zone),
    )


def _milestone_rows(*, first: datetime.date, last: datetime.date) -> list[Reminder]:
    """The owner's reminders REMINDER_MILESTONE_LEAD_DAYS ahead of each undone milestone still
    ahead (the nearest lead is sent, the others skipped as superseded, as for events)."""
    leads = settings.REMINDER_MILESTONE_LEAD_DAYS
    if not leads:
        return []
    milestones = list(
        Milestone.objects.filter(
            done_on__isnull=True,
            commitment__retired_on__isnull=True,
            due_on__gte=first,
            due_on__lte=last + datetime.timedelta(days=max(leads)),
            commitment__owner__isnull=False,
        ).select_related("commitment")
    )
    readers = _readers({m.commitment.owner_id for m in milestones})
    rows = []
    for milestone in milestones:
        owner = readers.get(milestone.commitment.owner_id)
        if owner is None or commitment_closed(milestone.commitment):
            continue
        for lead in leads:
            due_on = milestone.due_on - datetime.timedelta(days=lead)
            if first <= due_on <= last:
                rows.append(
                    Reminder(
                        kind=Kind.MILESTONE,
                        recipient=owner,
                        commitment=milestone.commitment,
                        milestone=milestone,
                        occurrence_date=milestone.due_on,
                        lead_days=lead,
                        due_on=due_on,
                        due_at=local_due_at(day=due_on, time_zone=owner.time_zone),
                    )
                )
    return rows


def deadline_rows(*, first: datetime.date, last: datetime.date) -> list[Reminder]:
    """Every deadline reminder due from `first` to `last` (planning.reminders_plan inserts them)."""
    return [*_milestone_rows(first=first, last=last), *_overdue_rows(first=first, last=last)]


def deadline_skip_reason(row: Reminder, *, deadline_pref: bool) -> str:
    """Why a due deadline row should not be sent now; empty if it should. The commitment and
    its milestones are read as they are now (prefetched by deadline_rows_prefetch)."""
    if not deadline_pref:
        return NO_DEADLINE_REMINDERS
    commitment = row.commitment
    if row.kind == Kind.MILESTONE:
        milestone = row.milestone
        if milestone.done_on is not None:
            return MILESTONE_DONE
        if milestone.due_on != row.occurrence_date:
            return MILESTONE_MOVED
        if commitment_closed(commitment):
            return "the commitment is closed"
        return ""
    if overdue_since_of(commitment, today=row.overdue_since + datetime.timedelta(days=1)) != (
        row.overdue_since
    ):
        return NO_LONGER_OVERDUE
    return ""
