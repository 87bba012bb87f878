"""Following and notifications: the follow buttons' target, and each person's list of news of
what they follow (/notifications/). Writes go through tracker.notifications."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from commitments.models import Actor, Commitment, Document
from core.ids import row_ids
from tracker import notifications, reminders
from tracker.events import events_visible_to

LOOKUPS = {
    "commitment": (Commitment, "slug"),
    "actor": (Actor, "slug"),
    "document": (Document, "short_name"),
}


def _back(request, target):
    """Where the button was pressed (a path on this site), else the target's page."""
    wanted = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return redirect(wanted)
    return redirect(target.get_absolute_url())


@require_POST
def follow_toggle(request, kind: str, key: str):
    """Follow (or stop following) a commitment, an actor, a document or an event. An event the
    reader may not see is a 404, as its page is."""
    follow = request.POST.get("follow") == "1"
    if kind == "event":
        event = get_object_or_404(events_visible_to(user=request.user), slug=key)
        reminders.event_follow_set(user=request.user, event=event, follow=follow)
        target = event
    elif kind in LOOKUPS:
        model, field = LOOKUPS[kind]
        target = get_object_or_404(model, **{field: key})
        notifications.follow_set(user=request.user, target=target, follow=follow)
    else:
        raise Http404
    if follow:
        messages.success(request, _("You follow %(target)s now.") % {"target": target})
    else:
        messages.success(request, _("You no longer follow %(target)s.") % {"target": target})
    return _back(request, target)


def notification_list(request):
    """The reader's news, newest first; POST marks one (`id`) or all read."""
    if request.method == "POST":
        ids = row_ids(request.POST.getlist("id")) or None
        notifications.notifications_mark_read(user=request.user, ids=ids)
        return redirect("notification_list")
    items = [
        {"notice": notice, "what": notifications.change_text(notice.change)}
        for notice in notifications.notification_list(user=request.user)
    ]
    return render(request, "tracker/notification_list.html", {"items": items})
