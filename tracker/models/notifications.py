"""What people follow on the record, each public change of it, and each person's notice of one.

A change is recorded once (tracker.notifications.change_record, on commit of the write that
made it); each follower then gets a Notification row: the in-app list reads those, and the
reminders package turns them into emails through the outbox (Reminder rows).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Follow(models.Model):
    """A person follows one commitment, one actor (a state) or one document."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    commitment = models.ForeignKey(
        "commitments.Commitment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor = models.ForeignKey(
        "commitments.Actor", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    document = models.ForeignKey(
        "commitments.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Made for a new liaison for their state: it counts only while the state is still theirs.
    by_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(commitment__isnull=False, actor__isnull=True, document__isnull=True)
                | Q(commitment__isnull=True, actor__isnull=False, document__isnull=True)
                | Q(commitment__isnull=True, actor__isnull=True, document__isnull=False),
                name="follow_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "commitment"],
                condition=Q(commitment__isnull=False),
                name="follow_unique_commitment",
            ),
            models.UniqueConstraint(
                fields=["user", "actor"],
                condition=Q(actor__isnull=False),
                name="follow_unique_actor",
            ),
            models.UniqueConstraint(
                fields=["user", "document"],
                condition=Q(document__isnull=False),
                name="follow_unique_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.commitment or self.actor or self.document}"

    @property
    def target(self):
        return self.commitment or self.actor or self.document


class Change(models.Model):
    """A change of a commitment's public state, recorded once."""

    class Kind(models.TextChoices):
        UPDATE = "update", "New status update"
        CORRECTION = "correction", "Update corrected"
        WITHDRAWAL = "withdrawal", "Update withdrawn"
        MILESTONE = "milestone", "Milestone done"
        OVERDUE = "overdue", "Overdue"

    commitment = models.ForeignKey(
        "commitments.Commitment", on_delete=models.CASCADE, related_name="changes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    update = models.ForeignKey(
        "commitments.StatusUpdate",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    milestone = models.ForeignKey(
        "commitments.Milestone", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # OVERDUE: the date it was due and is still not done (tracker.reminders.deadlines).
    overdue_since = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # change_record may run twice for one write (a retried task): one row all the same.
            models.UniqueConstraint(
                fields=["kind", "update"],
                condition=Q(update__isnull=False),
                name="change_once_update",
            ),
            models.UniqueConstraint(
                fields=["milestone"],
                condition=Q(kind="milestone"),
                name="change_once_milestone",
            ),
            models.UniqueConstraint(
                fields=["commitment", "overdue_since"],
                condition=Q(kind="overdue"),
                name="change_once_overdue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.commitment}"


class Notification(models.Model):
    """One follower's notice of one change: the in-app list, and the email's row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "change"], name="notification_once_per_change")
        ]
        indexes = [
            # tracker.notifications.notifications_mark_read counts what is left unread.
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change} for {self.user}"
