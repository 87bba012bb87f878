"""The follow button on the pages of a commitment, an actor, a document and an event."""

from django import template

from commitments.models import Actor, Commitment, Document
from tracker import notifications, reminders
from tracker.models import Event

register = template.Library()

KEYS = {Commitment: "slug", Actor: "slug", Document: "short_name", Event: "slug"}


@register.inclusion_tag("tracker/_follow_button.html", takes_context=True)
def follow_button(context, target):
    """A button to follow or stop following `target`: one query (an event: two)."""
    request = context["request"]
    user = request.user
    if not user.is_authenticated:
        # A visitor of the public site follows nothing: no button, and no CSRF token asked
        # for, which would set a cookie on a page every visitor shares (docs/public-site.md).
        return {"kind": None}
    if isinstance(target, Event):
        kind = "event"
        following = reminders.event_followed_by(user=user, event=target)
    else:
        kind = type(target).__name__.lower()
        following = notifications.followed_by(user=user, target=target)
    return {
        "kind": kind,
        "key": getattr(target, KEYS[type(target)]),
        "following": following,
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
