"""The interface's language per user: their saved choice first, else the browser's preference.

Django's LocaleMiddleware picks the language from the switch's cookie or Accept-Language before
anyone is authenticated; UserLanguageMiddleware runs after AuthenticationMiddleware and
overrides that with the logged-in user's own choice, so it follows them to any browser.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.i18n import LANGUAGE_QUERY_PARAMETER, set_language

from tracker.models import User


def language_offered(language: str) -> bool:
    """One of settings.LANGUAGES (Django has catalogues for many more than the tracker offers)."""
    return language in dict(settings.LANGUAGES)


def user_language_set(*, user: User, language: str) -> None:
    """Save the interface language a user chose; reminders are written in it too."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


class UserLanguageMiddleware:
    """Activate the logged-in user's saved language, whatever the browser says."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = getattr(request.user, "language", "")
        if language_offered(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


@login_not_required
def language_switch(request):
    """Django's set_language (cookie, redirect); a logged-in user also keeps it on their account.

    A link (GET with ?language=) sets the cookie too: the public site's pages offer links, not a
    form, to their visitors, so that a page holds no CSRF token and is the same for every
    visitor a shared cache serves it to (docs/public-site.md). Choosing a language changes
    nothing but the chooser's own cookie, so a link someone else made them follow costs nothing.
    """
    if request.method == "GET" and LANGUAGE_QUERY_PARAMETER in request.GET:
        return _language_link(request)
    response = set_language(request)
    language = request.POST.get(LANGUAGE_QUERY_PARAMETER, "")
    if request.method == "POST" and request.user.is_authenticated and language_offered(language):
        user_language_set(user=request.user, language=language)
    return response


def _language_link(request) -> HttpResponseRedirect:
    """Back to `next` on this site (the site's front page otherwise), with the language's cookie
    set as set_language sets it; an unoffered language only redirects."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    language = request.GET[LANGUAGE_QUERY_PARAMETER]
    if language_offered(language):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response
