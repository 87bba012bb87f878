import hashlib

from django.conf import settings
from django.db import models

from core.roles import Role


def api_token_digest(token: str) -> str:
    """What is stored of a token: its SHA-256. The secret is 32 random bytes (256 bits), so
    there is nothing to guess and no need for a slow password hash: a fast hash keeps each API
    request cheap, and a leaked database or backup still opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token (docs/api.md#tokens): made, named and revoked by its owner on their
    profile page, shown once. It acts as its owner, with their role's permissions, and only
    while that role is the one it was made under (tracker.api_tokens.api_token_works)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # Not secret: the start of the token, shown in lists to tell tokens apart and used to find
    # the row; the rest of the token is checked against `digest`.
    prefix = models.CharField(max_length=20, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    # The owner's role when it was made: a change of role retires the token.
    role = models.CharField(max_length=20, choices=Role.choices, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moved at most once a minute (tracker.api_tokens.api_token_used), not at every request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
