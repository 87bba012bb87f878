"""robots.txt and the sitemap of the public site (docs/public-site.md#robots-and-sitemap), and
/favicon.ico.

All are open to everyone (crawlers do not log in). While the public site is off, robots.txt
asks crawlers to keep out of everything and the sitemap is not there (404).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.sitemaps.views import sitemap
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_safe

from core.public_site import public_site_on

from .sitemaps import SITEMAPS

# The people's own pages and the secretariat's tools: nothing for a search engine, and each
# sends a visitor to the login page anyway.
ROBOTS_DISALLOWED = (
    "/admin/",
    "/accounts/",
    "/profile/",
    "/login/",
    "/logout/",
    "/password-reset/",
    "/invitation/",
    "/notifications/",
    "/follow/",
    "/reminders/",
    "/reports/",
    "/calendar/",
    "/i18n/",
    "/api/",
    # Exports, wherever `_export=` stands in the query: the table's links put its filters first
    # (/commitments/?status=in_progress&_export=csv).
    "/*_export=",
)


@login_not_required
@require_safe
def robots_txt(request):
    lines = ["User-agent: *"]
    if public_site_on():
        lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOWED]
        lines += ["Allow: /", ""]
        lines.append(f"Sitemap: {settings.TRACKER_SITE_URL.rstrip('/')}{reverse('sitemap')}")
    else:
        lines.append("Disallow: /")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@login_not_required
@require_safe
def public_sitemap(request):
    if not public_site_on():
        raise Http404("The public site is off: there is no sitemap.")
    return sitemap(request, sitemaps=SITEMAPS)


@login_not_required
@require_safe
def favicon(request):
    """Browsers ask /favicon.ico whatever the page links: sent to the static icon (its hashed
    name in production), not a 404 on every visit. Not permanent: the hash changes with it."""
    return redirect(static("favicon.ico"))
