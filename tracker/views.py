"""The dashboard and the login page. Event and calendar pages live in tracker.event_views."""

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from commitments.views import READ_METHODS, allow_methods, status_legend, user_today

from . import selectors

# --- Login -----------------------------------------------------------------------------------


class TrackerAuthenticationForm(AuthenticationForm):
    """Django's login form, with errors that tell the reader what to do next."""

    error_messages = {
        "invalid_login": (
            _(
                "That username and password do not match an account. Check both (the password is "
                "case-sensitive) and try again; if you have forgotten your password, ask the "
                "secretariat to set a new one."
            )
        ),
        "inactive": _("This account is disabled. Ask the secretariat to re-enable it."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = _("Enter your username.")
        self.fields["password"].error_messages["required"] = _("Enter your password.")
        # Django sets max_length after the field is built, so nothing checks it; an overlong
        # name would reach django-axes' log of failures (255 characters) and fail there.
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class TrackerLoginView(LoginView):
    """After login a liaison lands on their own state's page; everyone else on the dashboard.

    A `next` address is followed only when it is on this site (LoginView checks it with
    url_has_allowed_host_and_scheme), so a link in an e-mail cannot send people elsewhere.
    """

    authentication_form = TrackerAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        actor = getattr(self.request.user, "actor", None)
        if actor is not None and not self.request.user.can_edit_record:
            return actor.get_absolute_url()
        return super().get_default_redirect_url()


# --- Dashboard -------------------------------------------------------------------------------


# Read-only: a liaison's POST is refused with 403 like on every page of the record.
@allow_methods(*READ_METHODS)
def dashboard(request):
    """The whole record at a glance; the paragraph matrix and chart for one document at a time."""
    user, today = request.user, user_today(request.user)
    requested = request.GET.get("document")
    document = selectors.dashboard_document(requested=requested)
    # The document choice is part of the cached content: the list is made only to render it.
    documents = SimpleLazyObject(selectors.dashboard_documents)
    unknown = bool(requested) and str(document and document.pk) != requested
    # Read only when the rendered content is not in the cache (the template's cache tag).
    aggregates = SimpleLazyObject(
        lambda: selectors.dashboard_aggregates(user=user, document=document, today=today)
    )
    lists = SimpleLazyObject(lambda: selectors.dashboard_lists(user=user, today=today))
    context = {
        "today": today,
        "documents": documents,
        "document": document,
        "unknown_document": unknown,
        "fragment_key": selectors.dashboard_fragment_key(
            user=user, document=document, today=today, unknown=unknown
        ),
        "cache_timeout": settings.TRACKER_CACHE_TIMEOUT,
        "status_counts": SimpleLazyObject(lambda: aggregates.status_counts),
        "matrix": SimpleLazyObject(lambda: aggregates.matrix),
        "charts": SimpleLazyObject(lambda: aggregates.charts),
        "recent_updates": SimpleLazyObject(lambda: lists.recent_updates),
        "quiet_commitments": SimpleLazyObject(lambda: lists.quiet_commitments),
        "upcoming": SimpleLazyObject(lambda: lists.upcoming),
        "quiet_after_days": settings.TRACKER_QUIET_AFTER_DAYS,
        "status_legend": status_legend(),
    }
    return render(request, "tracker/dashboard.html", context)
