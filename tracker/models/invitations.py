import hashlib

from django.conf import settings
from django.db import models

from core.roles import Role


def invitation_token_hash(token: str) -> str:
    """What is stored of an invitation's secret: its SHA-256. The link in the email is the only
    copy of the token itself, so a leaked database or backup opens no account."""
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A secretariat manager's invitation of one person, by email, to one role.

    It is open until it is used (`accepted_at`), replaced by a newer invitation of the same
    address (`replaced_at`) or past `expires_at`; tracker.accounts.invitation_accept takes it
    with one conditional UPDATE on those three columns, so a link works once.
    """

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    # A liaison's member state, a contributor's organisation.
    actor = models.ForeignKey(
        "commitments.Actor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)
    # The account the invitation made, once it is used.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["email"], name="invitation_email")]

    def __str__(self) -> str:
        return self.email

    def is_pending(self, *, now) -> bool:
        return self.accepted_at is None and self.replaced_at is None and self.expires_at > now
