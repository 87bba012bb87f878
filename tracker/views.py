from django.contrib.auth.views import LoginView
from django.shortcuts import get_object_or_404, render

from .models import Event


class TrackerLoginView(LoginView):
    """After login a liaison lands on their own state's page; everyone else on the dashboard."""

    def get_default_redirect_url(self) -> str:
        actor = getattr(self.request.user, "actor", None)
        if actor is not None and not self.request.user.can_edit_record:
            return actor.get_absolute_url()
        return super().get_default_redirect_url()


def dashboard(request):
    return render(request, "tracker/dashboard.html", {})


def event_detail(request, slug):
    event = get_object_or_404(Event, slug=slug)
    return render(request, "tracker/event_detail.html", {"event": event})
