"""Who follows what, and what a reader may see now.

Owns the readers' choices (reminder preferences, followed events, "every event concerning my
state"), who follows an event (owners of its commitments while they are secretariat, liaisons
of its states, those who ticked it), and the visibility check every reminder passes at
planning, at claiming and again just before its SMTP call (reminders_unseen): a reader who may
no longer see an event or a commitment's internal state is sent nothing about it.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils.translation import gettext_noop

from commitments.models import Commitment
from core.roles import Role, liaison_state_id, user_can_own_commitments
from tracker.events import (
    event_ids_visible_to_each,
)
from tracker.models import (
    Event,
    Notification,
    Reminder,
    ReminderPreference,
    ReminderSubscription,
    User,
)
from tracker.notifications import (
    UNSEEN_UNFOLLOWED,
    UNSEEN_UPDATE,
    news_digest_notices,
    notice_unseen_reason,
)

Kind = Reminder.Kind


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
    for sub in subscribed.filter(actor=F("user__actor"), user__role=Role.LIAISON):
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


def lead_days_chosen(preference: ReminderPreference, event: Event) -> set[int]:
    """The lead times (days) of the event's reminders this reader gets: their own choice on
    My reminders, else the event's."""
    if preference.event_lead_days is not None:
        return set(preference.event_lead_days)
    return set(event.lead_times_days)


def single_email_reader(user: User, preference: ReminderPreference) -> bool:
    """Gets one email per reminder (not muted, not on the weekly digest)."""
    return _deliverable(user, preference) and not preference.weekly_digest


UNSEEN_INACTIVE = gettext_noop("the recipient's account is inactive")


UNSEEN_EVENT = gettext_noop("the reader may no longer see this event")


UNSEEN_NOT_SECRETARIAT = gettext_noop("the owner is no longer on the secretariat")


UNSEEN_NOT_OWNER = gettext_noop("the recipient no longer follows this commitment")


UNSEEN_NOT_SUPERVISOR = gettext_noop("the recipient no longer supervises this commitment")


UNSEEN_DIGEST = gettext_noop("nothing in the digest is left that its reader may see")


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
    for row in rows:
        if row.kind in NEWS_KINDS and not reasons[row.pk]:
            reasons[row.pk] = _news_unseen_reason(row)
    return {row_id: reason for row_id, reason in reasons.items() if reason}


NEWS_KINDS = frozenset({Kind.NEWS, Kind.NEWS_DIGEST})


def _news_unseen_reason(row: Reminder) -> str:
    """A notice goes out only while its update is still public and in effect and its reader
    still follows the commitment (tracker.notifications.notice_unseen_reason); a news digest
    only if something of it is left."""
    if row.kind == Kind.NEWS:
        return notice_unseen_reason(
            Notification.objects.select_related("change").get(pk=row.notification_id)
        )
    return "" if news_digest_notices(row=row) else UNSEEN_NEWS_DIGEST


UNSEEN_NEWS_DIGEST = gettext_noop("nothing in the news digest is left that its reader may see")
UNSEEN_NEWS = (UNSEEN_UPDATE, UNSEEN_UNFOLLOWED, UNSEEN_NEWS_DIGEST)


def _unseen_reason(row: Reminder, visible: dict[int, set[int]], lost: set[int]) -> str:
    user = row.recipient
    if not user.is_active:
        return UNSEEN_INACTIVE
    if row.kind == Kind.EVENT and row.event_id not in visible[user.pk]:
        return UNSEEN_EVENT
    if row.kind == Kind.EVENT and row.pk in lost:
        return UNSEEN_NOT_SECRETARIAT
    if row.kind in OWNER_KINDS and not user_can_own_commitments(user):
        return UNSEEN_NOT_SECRETARIAT
    if row.kind == Kind.ESCALATION and row.commitment.supervisor_id != user.pk:
        return UNSEEN_NOT_SUPERVISOR
    if row.kind in OWNER_KINDS - {Kind.ESCALATION} and row.commitment.owner_id != user.pk:
        return UNSEEN_NOT_OWNER
    return ""


# Reminders that carry a commitment's internal state: only to its secretariat owner (or, for an
# escalation, its secretariat supervisor), never to a liaison.
OWNER_KINDS = frozenset({Kind.STALE, Kind.MILESTONE, Kind.OVERDUE, Kind.ESCALATION})


def _owner_follows_lost(rows: list[Reminder]) -> set[int]:
    """The event reminders (ids) that reached their reader as the owner of a commitment the
    event concerns, now that the reader is no longer secretariat, unless they follow the event
    otherwise (their state, their own choice). Costs nothing while every reader is secretariat."""
    demoted = [row for row in rows if not user_can_own_commitments(row.recipient)]
    if not demoted:
        return set()
    owned = _events_owned_by(
        event_ids=sorted({row.event_id for row in demoted}),
        readers=sorted({row.recipient_id for row in demoted}),
    )
    owners = [row for row in demoted if (row.event_id, row.recipient_id) in owned]
    if not owners:
        return set()
    followers = event_follower_ids(event_ids={row.event_id for row in owners})
    return {row.pk for row in owners if row.recipient_id not in followers[row.event_id]}


def _events_owned_by(*, event_ids: list[int], readers: list[int]) -> set[tuple[int, int]]:
    """(event id, reader id) for each of `readers` who owns a commitment one of `event_ids`
    concerns or whose target date it is: the two SELECTs in one statement. Asked for every
    group of emails just before sending, the queryset (its joins, its OR) cost more to build
    (about 1 ms a group) than to run."""
    links = Event.commitments.through._meta.db_table  # (event_id, commitment_id)
    commitments = Commitment._meta.db_table
    deadline_of = Event._meta.get_field("deadline_of").column
    event_marks, reader_marks = (", ".join(["%s"] * len(ids)) for ids in (event_ids, readers))
    sql = (
        f"SELECT l.event_id, c.owner_id FROM {links} l JOIN {commitments} c"
        f" ON c.id = l.commitment_id"
        f" WHERE l.event_id IN ({event_marks}) AND c.owner_id IN ({reader_marks})"
        f" UNION ALL SELECT e.id, c.owner_id FROM {Event._meta.db_table} e JOIN {commitments} c"
        f" ON c.id = e.{deadline_of}"
        f" WHERE e.id IN ({event_marks}) AND c.owner_id IN ({reader_marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*event_ids, *readers, *event_ids, *readers])
        return set(cursor.fetchall())


def reminder_preference_update(*, user: User, **options: bool) -> ReminderPreference:
    preference, _ = ReminderPreference.objects.update_or_create(user=user, defaults=options)
    return preference


def event_follow_set(*, user: User, event: Event, follow: bool) -> None:
    """Record an explicit choice to follow (or stop following) one event."""
    ReminderSubscription.objects.update_or_create(
        user=user, event=event, defaults={"subscribed": follow}
    )


def state_follow_set(*, user: User, follow: bool) -> None:
    """Follow every event concerning the liaison's state, or stop (only a liaison follows a
    state: core.roles.liaison_state_id)."""
    state_id = liaison_state_id(user)
    if state_id is None:
        return
    if follow:
        ReminderSubscription.objects.get_or_create(user=user, actor_id=state_id)
    else:
        ReminderSubscription.objects.filter(user=user, actor__isnull=False).delete()


def events_followed_by(*, user: User) -> set[int]:
    followers = event_follower_ids(event_ids=Event.objects.values_list("pk", flat=True))
    return {event_id for event_id, users in followers.items() if user.pk in users}


def event_followed_by(*, user: User, event: Event) -> bool:
    """Whether the user follows one event they may see (its page's button), in two queries:
    their explicit choice, else by default as its commitments' owner or by their state."""
    state_id = liaison_state_id(user)
    state = Q(actor_id=state_id, actor__isnull=False) if state_id else Q(pk__in=[])
    choices = list(ReminderSubscription.objects.filter(Q(event=event) | state, user=user))
    explicit = next((c for c in choices if c.event_id == event.pk), None)
    if explicit is not None:
        return explicit.subscribed
    by_default = Q(pk__in=[])
    if user_can_own_commitments(user):
        by_default |= Q(commitments__owner=user) | Q(deadline_of__owner=user)
    if any(c.actor_id for c in choices):
        for lookup in ("commitments", "deadline_of"):
            by_default |= Q(**{f"{lookup}__lead_actors": state_id})
            by_default |= Q(**{f"{lookup}__supporting_actors": state_id})
    return Event.objects.filter(by_default, pk=event.pk).exists()


def follows_state(*, user: User) -> bool:
    state_id = liaison_state_id(user)
    return (
        state_id is not None
        and ReminderSubscription.objects.filter(user=user, actor_id=state_id).exists()
    )


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
