"""Following the record and the notices of its public changes.

Anyone may follow a commitment, an actor (a state) or a document. Each change of a commitment's
public state (commitments.changes announces it once its write is committed; the reminder
planning records a commitment becoming overdue) is recorded once as a Change, and every
follower then gets a Notification: the in-app list (/notifications/, the unread count in the
header) and, through the reminders outbox, an email at once or in a digest. Whether a notice
may still be mailed is asked again just before it is sent (notice_unseen_reason).
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from commitments.changes import public_change_text
from commitments.models import Actor, Commitment, Document, StatusUpdate
from core.roles import Role
from tracker.models import Change, Follow, Notification, ReminderSubscription, User

TARGETS = {"commitment": Commitment, "actor": Actor, "document": Document}


# Following.


def follow_set(*, user: User, target: Commitment | Actor | Document, follow: bool = True) -> None:
    """Follow one commitment, actor or document, or stop. All three are public; only what a
    reader may see is ever mailed (notice_unseen_reason)."""
    field = _field_of(target)
    if follow:
        Follow.objects.get_or_create(user=user, **{field: target})
    else:
        Follow.objects.filter(user=user, **{field: target}).delete()


def _field_of(target) -> str:
    return next(name for name, model in TARGETS.items() if isinstance(target, model))


def followed_by(*, user: User, target) -> bool:
    return Follow.objects.filter(user=user, **{_field_of(target): target}).exists()


def follow_defaults_set(*, user: User) -> None:
    """A new liaison follows their state: its commitments' news (a Follow made by default, which
    counts only while the state is theirs) and every event concerning it (the reminders' "every
    event concerning my state", which likewise means the state they have now)."""
    if user.role != Role.LIAISON or user.actor_id is None:
        return
    Follow.objects.get_or_create(user=user, actor_id=user.actor_id, defaults={"by_default": True})
    ReminderSubscription.objects.get_or_create(user=user, actor_id=user.actor_id)


def _follows_of(commitment: Commitment) -> QuerySet:
    """The follows that cover the commitment now: itself, an actor it concerns (a default
    follow only while that actor is still the follower's state), a document it comes from.
    One query: the commitment's actors and documents are subqueries of it."""
    lead = Commitment.lead_actors.through.objects.filter(commitment=commitment)
    supporting = Commitment.supporting_actors.through.objects.filter(commitment=commitment)
    concerned = Q(actor__in=lead.values("actor_id")) | Q(actor__in=supporting.values("actor_id"))
    documents = commitment.paragraphs.values("document_id")
    return Follow.objects.filter(
        Q(commitment=commitment)
        | (concerned & Q(by_default=False))
        | (concerned & Q(by_default=True, user__actor=F("actor")))
        | Q(document__in=documents),
        user__is_active=True,
    )


# Recording changes.


def change_record(
    *, commitment: Commitment, kind: str, update=None, milestone=None, overdue_since=None
) -> Change | None:
    """Record a public change once and give each follower a notice; None if it was recorded
    already (the unique constraints on Change)."""
    now = timezone.now()
    # The change and its notices in one transaction, one commit (a bulk import records a
    # change for each row it updates).
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the duplicate is refused, not the rest
                change = Change.objects.create(
                    commitment=commitment,
                    kind=kind,
                    update=update,
                    milestone=milestone,
                    overdue_since=overdue_since,
                    created_at=now,
                )
        except IntegrityError:
            return None
        followers = set(_follows_of(commitment).values_list("user_id", flat=True))
        Notification.objects.bulk_create(
            [Notification(user_id=uid, change=change, created_at=now) for uid in followers]
        )
        User.objects.filter(pk__in=followers).update(
            unread_notifications=F("unread_notifications") + 1
        )
    return change


def public_change_received(*, commitment, kind, update, milestone, **kwargs) -> None:
    """commitments.changes.public_change's receiver (connected in tracker.apps)."""
    change_record(commitment=commitment, kind=kind, update=update, milestone=milestone)


def overdue_changes_record(*, commitments: list[Commitment], since_of) -> int:
    """Record each commitment becoming overdue once per date it is overdue by (`since_of`:
    tracker.reminders.deadlines.overdue_since_of for today)."""
    recorded = 0
    for commitment in commitments:
        since = since_of(commitment)
        if (
            since is not None
            and not Change.objects.filter(
                kind=Change.Kind.OVERDUE, commitment=commitment, overdue_since=since
            ).exists()
        ):
            recorded += bool(
                change_record(commitment=commitment, kind=Change.Kind.OVERDUE, overdue_since=since)
            )
    return recorded


# Reading and marking.


def change_text(change: Change) -> str:
    """What changed, in a line, in the active language (the list and the emails)."""
    from core.local_time import format_day

    kind = change.kind
    if kind in (Change.Kind.UPDATE, Change.Kind.CORRECTION, Change.Kind.WITHDRAWAL):
        return public_change_text(change.update)
    if kind == Change.Kind.MILESTONE:
        return gettext("Milestone done: %(title)s") % {"title": change.milestone.title}
    return gettext("Overdue: something due by %(day)s is not done") % {
        "day": format_day(change.overdue_since)
    }


def covering_follow(*, user_id: int, commitment: Commitment) -> Follow | None:
    """The follow that brings the reader news of the commitment (the commitment's own first):
    what an email's "stop news of this" link removes."""
    follows = _follows_of(commitment).filter(user_id=user_id)
    return min(follows, key=lambda f: (f.commitment_id is None, f.pk), default=None)


NOTIFICATION_PAGE_SIZE = 50


def notification_list(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related(
        "change__commitment", "change__update__reported_by", "change__milestone"
    )[:NOTIFICATION_PAGE_SIZE]


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notices read: those of `ids`, or all; the header's count follows."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    with transaction.atomic():
        marked = (unread.filter(pk__in=ids) if ids is not None else unread).update(
            read_at=timezone.now()
        )
        # Counted again rather than decremented: right however marks and news interleave.
        left = Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
        User.objects.filter(pk=user.pk).update(
            unread_notifications=Coalesce(
                Subquery(left.values("user").annotate(n=Count("pk")).values("n")), 0
            )
        )
    user.refresh_from_db(fields=["unread_notifications"])
    return marked


# What may still be mailed.


UNSEEN_UPDATE = gettext_noop("the update is no longer public, or was withdrawn")
UNSEEN_UNFOLLOWED = gettext_noop("the recipient no longer follows this commitment")


def notice_unseen_reason(notification: Notification) -> str:
    """Why a notice may not be mailed now, or "": its update must still be public and in
    effect (not withdrawn), and its reader must still follow the commitment (a follow of
    their state counts only while it is their state)."""
    change = notification.change
    update = change.update
    if update is not None and not _still_public(update, change.kind):
        return UNSEEN_UPDATE
    if not _follows_of(change.commitment).filter(user=notification.user_id).exists():
        return UNSEEN_UNFOLLOWED
    return ""


def _still_public(update: StatusUpdate, kind: str) -> bool:
    fresh = StatusUpdate.objects.select_related("amends", "amended_by").get(pk=update.pk)
    if fresh.visibility != StatusUpdate.Visibility.PUBLIC:
        return False
    if kind == Change.Kind.WITHDRAWAL:
        return fresh.amends.visibility == StatusUpdate.Visibility.PUBLIC
    later = fresh.amended_with
    return later is None or later.amendment != StatusUpdate.Amendment.WITHDRAWAL


NEWS_EVERY_DAYS = {"daily": 1, "weekly": 7}


def notices_in_window(*, user_id: int, due_at: datetime.datetime, every_days: int) -> QuerySet:
    """The notices a news digest due at `due_at` lists: those made in the `every_days` days
    before it, but any already mailed on its own (the reader chose "at once" then)."""
    start = due_at - datetime.timedelta(days=every_days)
    mailed = Notification.objects.filter(
        reminders__kind="news", reminders__state__in=["claimed", "sending", "sent"]
    )
    return (
        Notification.objects.filter(user_id=user_id, created_at__gte=start, created_at__lt=due_at)
        .exclude(pk__in=mailed.values("pk"))
        .select_related("change__commitment", "change__update__reported_by", "change__milestone")
        .order_by("created_at", "pk")
    )


def news_digest_notices(*, row) -> list[Notification]:
    """What a news digest (a Reminder row: its lead_days hold the days it covers) lists now:
    only the notices its reader may still be mailed."""
    notices = notices_in_window(
        user_id=row.recipient_id, due_at=row.due_at, every_days=row.lead_days or 1
    )
    return [n for n in notices if not notice_unseen_reason(n)]
