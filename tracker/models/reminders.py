"""Who gets reminded of what, and each reminder as a row: the database decides what is due.

tracker.reminders plans, claims and sends these rows; the unique constraints below are what make
its `bulk_create(ignore_conflicts=True)` planning safe to repeat every minute.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ReminderPreference(models.Model):
    """A person's reminder options; without a row, the defaults below apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preference"
    )
    weekly_digest = models.BooleanField(
        default=False, help_text="One weekly email instead of one email per reminder."
    )
    stale_reminders = models.BooleanField(
        default=True, help_text="Remind me of commitments I own that have gone quiet."
    )
    deadline_reminders = models.BooleanField(
        default=True,
        help_text="Remind me of milestones ahead and of commitments overdue that I own or "
        "supervise.",
    )
    muted = models.BooleanField(default=False, help_text="No reminder emails at all.")
    notify = models.CharField(
        max_length=10,
        choices=[("immediate", "At once"), ("daily", "Daily digest"), ("weekly", "Weekly digest")],
        default="immediate",
        help_text="When news of what I follow reaches me by email.",
    )
    # The lead times (days) of event reminders this person wants; null: each event's own.
    event_lead_days = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Reminder options of {self.user}"


class ReminderSubscription(models.Model):
    """An explicit choice: follow (or, with subscribed=False, stop following) one event, or
    follow every event concerning one state. Owners of linked commitments need no row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_subscriptions"
    )
    event = models.ForeignKey(
        "tracker.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        "commitments.Actor", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subscribed = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(event__isnull=True, actor__isnull=False)
                | Q(event__isnull=False, actor__isnull=True),
                name="reminder_subscription_event_or_actor",
            ),
            models.UniqueConstraint(
                fields=["user", "event"],
                condition=Q(event__isnull=False),
                name="reminder_subscription_unique_event",
            ),
            models.UniqueConstraint(
                fields=["user", "actor"],
                condition=Q(actor__isnull=False),
                name="reminder_subscription_unique_actor",
            ),
        ]

    def __str__(self) -> str:
        verb = "follows" if self.subscribed else "stopped following"
        return f"{self.user} {verb} {self.event or self.actor}"


class Reminder(models.Model):
    """One email to one person about one thing, due at one instant (UTC)."""

    class Kind(models.TextChoices):
        EVENT = "event", "Event ahead"
        STALE = "stale", "Commitment gone quiet"
        DIGEST = "digest", "Weekly digest"
        MILESTONE = "milestone", "Milestone ahead"
        OVERDUE = "overdue", "Commitment overdue"
        ESCALATION = "escalation", "Overdue too long (supervisor)"
        NEWS = "news", "News of what I follow"
        NEWS_DIGEST = "newsdigest", "Digest of news"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed by a dispatcher"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    # EVENT: which occurrence, and how many days ahead of it.
    event = models.ForeignKey(
        "tracker.Event",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
        db_index=False,  # Meta.indexes: reminder_event, partial
    )
    occurrence_date = models.DateField(null=True, blank=True)
    lead_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # STALE: the commitment, and the activity date its quiet period is counted from.
    commitment = models.ForeignKey(
        "commitments.Commitment",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
        db_index=False,  # Meta.indexes: reminder_commitment, partial
    )
    quiet_since = models.DateField(null=True, blank=True)
    # MILESTONE: the milestone; its due date is in occurrence_date, the lead in lead_days.
    milestone = models.ForeignKey(
        "commitments.Milestone",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
        db_index=False,  # Meta.indexes: reminder_milestone, partial
    )
    # OVERDUE and ESCALATION: the earliest date the commitment was due and is still not done
    # (tracker.reminders.deadlines.overdue_since_of); one of each per such date.
    overdue_since = models.DateField(null=True, blank=True)
    # NEWS: the follower's notice of one change of the record.
    notification = models.ForeignKey(
        "tracker.Notification",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminders",
        db_index=False,  # Meta.indexes: reminder_notification, partial
    )
    # The recipient's local day it is due on; due_at is REMINDER_LOCAL_HOUR on it, in UTC.
    due_on = models.DateField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The worker process holding a claimed or sending row (tracker.workers.holder_id); empty
    # when claimed outside a worker. reminders_requeue_stuck puts a row back as soon as its
    # holder's WorkerHeartbeat goes stale, instead of after the claim timeout.
    claimed_by = models.CharField(max_length=120, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-due_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event", "occurrence_date", "lead_days"],
                condition=Q(kind="event"),
                name="reminder_unique_event_lead",
            ),
            models.UniqueConstraint(
                fields=["recipient", "commitment", "quiet_since", "due_on"],
                condition=Q(kind="stale"),
                name="reminder_unique_stale_round",
            ),
            models.UniqueConstraint(
                fields=["recipient", "due_on"],
                condition=Q(kind="digest"),
                name="reminder_unique_digest_week",
            ),
            models.UniqueConstraint(
                fields=["recipient", "milestone", "occurrence_date", "lead_days"],
                condition=Q(kind="milestone"),
                name="reminder_unique_milestone_lead",
            ),
            models.UniqueConstraint(
                fields=["kind", "recipient", "commitment", "overdue_since"],
                condition=Q(kind__in=["overdue", "escalation"]),
                name="reminder_unique_overdue_since",
            ),
            models.UniqueConstraint(
                fields=["notification"], condition=Q(kind="news"), name="reminder_unique_news"
            ),
            models.UniqueConstraint(
                fields=["recipient", "due_on"],
                condition=Q(kind="newsdigest"),
                name="reminder_unique_news_digest",
            ),
        ]
        # A row changes state three times on its way out (claimed, sending, sent), and each
        # change writes an entry in every index whose condition the row meets (a state in a
        # condition rules out PostgreSQL's HOT updates anyway). So each index below is partial:
        # it holds only the rows its named query reads, and a row that has left `pending` or
        # `claimed`/`sending` writes no entry in those, nor a row of another kind in the links'.
        # The unique constraints above are partial per kind already; the recipient's index
        # (Django's, on the foreign key) serves claiming's _later_due and deleting a user.
        indexes = [
            # claiming._due_rows: the due `pending` rows in due_at order.
            models.Index(
                fields=["due_at"], condition=Q(state="pending"), name="reminder_pending_due"
            ),
            # claiming.reminders_requeue_stuck (rows held by a dead worker or past the claim
            # timeout) and reminders_claim's count of claimed rows waiting for a worker.
            models.Index(
                fields=["claimed_at"],
                condition=Q(state__in=["claimed", "sending"]),
                name="reminder_held_claimed",
            ),
            # The delivery log filtered to failed rows (reminder_views.reminder_log), newest
            # first, for the secretariat to resend; failures are rare, so is this index's work.
            models.Index(
                fields=["due_at"], condition=Q(state="failed"), name="reminder_failed_due"
            ),
            # Deleting an event, commitment, milestone or notice deletes its reminders
            # (on_delete CASCADE: Django's collector reads them by these columns), and
            # planning._news_rows looks for notices without a row; only rows naming one count.
            models.Index(fields=["event"], condition=Q(event__isnull=False), name="reminder_event"),
            models.Index(
                fields=["commitment"],
                condition=Q(commitment__isnull=False),
                name="reminder_commitment",
            ),
            models.Index(
                fields=["milestone"],
                condition=Q(milestone__isnull=False),
                name="reminder_milestone",
            ),
            models.Index(
                fields=["notification"],
                condition=Q(notification__isnull=False),
                name="reminder_notification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient} due {self.due_at:%Y-%m-%d %H:%M}"


class WorkerHeartbeat(models.Model):
    """A worker process that claims reminders says it is alive by updating its row every
    REMINDER_HEARTBEAT_SECONDS (tracker.workers). A row that stopped changing belongs to a dead
    process: what it held goes back in the queue (reminders.reminders_requeue_stuck)."""

    holder = models.CharField(max_length=120, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.holder} alive at {self.beat_at:%Y-%m-%d %H:%M:%S}"
