"""The dashboard and the login page. Event and calendar pages live in tracker.event_views."""

from urllib.parse import unquote, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _

from commitments.views import READ_METHODS, allow_methods, status_legend
from core import caching, page_cache, visitor_pages
from core.local_time import reader_today
from core.public_site import public_record
from core.roles import reader_audience, user_may_open

from . import selectors

# --- Login -----------------------------------------------------------------------------------


class TrackerAuthenticationForm(AuthenticationForm):
    """Django's login form, with errors that tell the reader what to do next."""

    error_messages = {
        "invalid_login": (
            _(
                "That username and password do not match an account. Check both (the password is "
                "case-sensitive) and try again; if you have forgotten your password, choose a new "
                "one with “Forgotten your password?” below."
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
    url_has_allowed_host_and_scheme), so a link in an e-mail cannot send people elsewhere, and
    only when it is somewhere to go (get_redirect_url).
    """

    authentication_form = TrackerAuthenticationForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        """The safe `next` address, or "" for the landing page when it is the site's root
        (LoginRequiredMiddleware asks for `next=/` when someone opens the site's address: a
        liaison still lands on their state) or the login or logout page (a loop, or a 405)."""
        url = super().get_redirect_url()
        parts = urlsplit(url)
        # A relative address (or a bare query) would be read from /login/ itself.
        if not parts.path.startswith("/") or (parts.path == "/" and not parts.query):
            return ""
        return "" if _url_name(unquote(parts.path)) in ("login", "logout") else url

    def get_success_url(self) -> str:
        """With two-factor authentication on, the code step comes first (tracker.two_factor).
        A `next` page the person may not open (its role check refuses them) gives way to their
        landing page: a liaison sent to /login/?next=/accounts/ gets their state, not a 403."""
        url = super().get_success_url()
        if not _may_open(url, self.request.user):
            url = self.get_default_redirect_url()
        if self.request.user.two_factor_enabled:
            return f"{reverse('two_factor_verify')}?{urlencode({'next': url})}"
        return url

    def get_default_redirect_url(self) -> str:
        actor = getattr(self.request.user, "actor", None)
        if actor is not None and not self.request.user.can_edit_record:
            return actor.get_absolute_url()
        return super().get_default_redirect_url()


def _may_open(url: str, user) -> bool:
    """Whether the page at `url` lets `user` in, as far as its view's recorded role check
    tells (core.roles.user_may_open); an address that names no page is left to answer 404."""
    try:
        match = resolve(unquote(urlsplit(url).path))
    except Resolver404:
        return True
    return user_may_open(match.func, user)


def _url_name(path: str) -> str | None:
    """The name of the page at `path`, read as CommonMiddleware would: `/logout` is redirected
    to `/logout/` (APPEND_SLASH), so it names the logout page too. None for no page."""
    for candidate in (path, f"{path}/"):
        try:
            return resolve(candidate).url_name
        except Resolver404:
            continue
    return None  # a page that does not exist says so itself


# --- Dashboard -------------------------------------------------------------------------------


# The dashboard's opening line names this many documents by title, then "and N more": a
# programme may have hundreds.
INTRO_DOCUMENTS = 3


# Read-only: a liaison's POST is refused with 403 like on every page of the record.
@public_record
@allow_methods(*READ_METHODS)
@visitor_pages.kept_for_visitors("dashboard", caching.DASHBOARD, caching.RECORD)
@page_cache.cached_page("dashboard", caching.DASHBOARD, caching.RECORD)
def dashboard(request):
    """The whole record at a glance; the paragraph matrix and chart for one document at a time.

    Everything below the heading comes from the cache, the same for every reader with the same
    audience, state, language, day and document asked for (selectors.dashboard_content_parts)
    until a write: on a hit nothing is read from the database."""
    user, today = request.user, reader_today(request.user)
    requested = request.GET.get("document")

    def render_content() -> str:
        documents = selectors.dashboard_documents(requested=requested, first=INTRO_DOCUMENTS)
        document = documents.shown
        aggregates = selectors.dashboard_aggregates(user=user, document=document, today=today)
        lists = selectors.dashboard_lists(user=user, today=today)
        context = {
            "today": today,
            "documents": documents.choices,
            "intro_documents": documents.first,
            "more_documents": max(0, len(documents.choices) - INTRO_DOCUMENTS),
            "public_record_only": reader_audience(user) == "public",
            "document": document,
            "unknown_document": bool(requested) and str(document and document.pk) != requested,
            "status_counts": aggregates.status_counts,
            "matrix": aggregates.matrix,
            "charts": aggregates.charts,
            "recent_updates": lists.recent_updates,
            "overdue": lists.overdue,
            "due_soon": lists.due_soon,
            "deadline_counts": aggregates.deadline_counts,
            "upcoming": lists.upcoming,
            "due_soon_days": settings.TRACKER_DUE_SOON_DAYS,
        }
        return render_to_string("tracker/_dashboard_content.html", context, request=request)

    parts = selectors.dashboard_content_parts(user=user, today=today, requested=requested)
    if requested and parts[-1] == requested:
        page_cache.query_canonical(request, f"document={requested}")  # a document's own address
    context = {
        "content": caching.cached_html(caching.DASHBOARD, parts, render_content),
        "status_legend": status_legend(),
    }
    return render(request, "tracker/dashboard.html", context)
