"""Personal API tokens (docs/api.md#tokens): made and revoked by their owner, read back by
the API's authentication (api.authentication).

A token reads `ctk_<prefix>_<secret>`: the prefix (12 hex digits, not secret) finds the row,
the SHA-256 of the whole token is compared in constant time with the stored digest. Only the
person who makes a token ever sees it: the page that made it shows it once.
"""

import datetime
import hmac
import secrets

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.compiled import CompiledRead

from .models import ApiToken
from .models.api_tokens import api_token_digest

TOKEN_START = "ctk_"
PREFIX_LENGTH = 12
# last_used_at is this exact at most: a busy script costs one UPDATE a minute, not one a request.
LAST_USED_PRECISION = datetime.timedelta(minutes=1)
# The token's row with its owner's (one statement), on every API request: the ORM's own SQL,
# compiled once per connection (core.compiled: authenticating took 325 µs of CPU, 265 since,
# about 2% of a cached API list). The prefix is unique: at most one row, and nothing to sort.
TOKEN_ROW = CompiledRead(lambda: ApiToken.objects.select_related("user").order_by(), "prefix")


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Make a token for `user`, acting with their current role; return it and its text, which
    is stored nowhere (only its digest is)."""
    with transaction.atomic():
        prefix = _prefix_unused()
        text = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken.objects.create(
            user=user,
            name=name.strip(),
            prefix=prefix,
            digest=api_token_digest(text),
            role=user.role,
        )
    return token, text


def _prefix_unused() -> str:
    while True:  # 48 random bits: a second round is all but never needed
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix


def api_token_revoke(*, user, pk: int) -> ApiToken:
    """Revoke one of `user`'s own tokens (ApiToken.DoesNotExist for anyone else's); revoking
    a revoked token changes nothing. Saved with save() so the audit trail records it."""
    token = ApiToken.objects.get(pk=pk, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_list(*, user) -> QuerySet[ApiToken]:
    """The profile page's list: the person's own tokens, newest first, revoked ones included."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_works(token: ApiToken) -> bool:
    """Not revoked, its owner active and still in the role it was made under: a secretariat
    officer's token stops when they become a liaison, and a liaison's when they join the
    secretariat (a script made to read should not start writing)."""
    user = token.user
    return token.revoked_at is None and user.is_active and user.role == token.role


def api_token_authenticate(*, presented: str) -> ApiToken | None:
    """The working token `presented` is, with its user; None for anything else."""
    prefix = _prefix_of(presented)
    if prefix is None:
        return None
    token = TOKEN_ROW.first(prefix=prefix)
    if token is None or not hmac.compare_digest(token.digest, api_token_digest(presented)):
        return None
    if not api_token_works(token):
        return None
    api_token_used(token)
    return token


def _prefix_of(presented: str) -> str | None:
    if not presented.startswith(TOKEN_START):
        return None
    prefix, separator, _secret = presented[len(TOKEN_START) :].partition("_")
    return prefix if separator and len(prefix) == PREFIX_LENGTH else None


def api_token_used(token: ApiToken) -> None:
    """Record the use, unless one was recorded within LAST_USED_PRECISION. A conditional
    UPDATE, so no audit entry and no write at all on most requests; the profile page's "last
    used" column relies on it. The row as just read decides first: a recent use costs no
    statement at all (it was one round trip on every API request)."""
    now = timezone.now()
    since = now - LAST_USED_PRECISION
    if token.last_used_at is not None and token.last_used_at >= since:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=since)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
