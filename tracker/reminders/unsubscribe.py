"""Unsubscribe links: signed, needing no login, one per scope (this event, quiet reminders,
deadline reminders, the digest, everything), and what following one changes. Also the site's
absolute URLs.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

from tracker.models import (
    Event,
    Follow,
    User,
)

from .chunk import _shared
from .following import event_follow_set, reminder_preference_update, state_follow_set

UNSUBSCRIBE_SALT = "tracker.reminders.unsubscribe"


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


UNSUBSCRIBE_SCOPES = ("event", "state", "stale", "deadlines", "digest", "all", "follow")


@dataclass(frozen=True)
class UnsubscribeRequest:
    user: User
    scope: str
    target: Event | Follow | None


def unsubscribe_request_from_token(token: str) -> UnsubscribeRequest | None:
    """What a signed unsubscribe link asks for; None if the link is forged or out of date."""
    try:
        user_id, scope, object_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    user = User.objects.filter(pk=user_id).first()
    target = _target(scope, object_id, user_id)
    if user is None or scope not in UNSUBSCRIBE_SCOPES or (scope in TARGETED and target is None):
        return None
    return UnsubscribeRequest(user=user, scope=scope, target=target)


TARGETED = ("event", "follow")


def _target(scope: str, object_id: int | None, user_id: int) -> Event | Follow | None:
    if scope == "event":
        return Event.objects.filter(pk=object_id).first()
    if scope == "follow":  # a follow of this reader's only
        found = Follow.objects.filter(pk=object_id, user_id=user_id)
        return found.select_related("commitment", "actor", "document").first()
    return None


def reminders_unsubscribe(*, request: UnsubscribeRequest) -> None:
    """Apply an unsubscribe link. Due rows it covers are skipped by the next claim."""
    user = request.user
    if request.scope == "event":
        event_follow_set(user=user, event=request.target, follow=False)
    elif request.scope == "follow":
        request.target.delete()
    elif request.scope == "state":
        state_follow_set(user=user, follow=False)
    elif request.scope == "stale":
        reminder_preference_update(user=user, stale_reminders=False)
    elif request.scope == "deadlines":
        reminder_preference_update(user=user, deadline_reminders=False)
    elif request.scope == "digest":
        reminder_preference_update(user=user, weekly_digest=False)
    else:
        reminder_preference_update(user=user, muted=True)
