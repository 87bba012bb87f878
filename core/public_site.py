"""The public site (TRACKER_PUBLIC_SITE, docs/public-site.md): which pages anonymous visitors
may read, and the one check of whether they may read them now.

Every page needs a login (LoginRequiredMiddleware) except those marked `public_record`: they
are open to anonymous visitors while the setting is on, and ask for a login like every other
page while it is off. An anonymous visitor reads what a liaison reads of the public record:
public updates and public events only (core.roles: no internal access, no state of their own).
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login


def public_site_on() -> bool:
    """Read at each request, so a test (or a settings change) takes effect at once."""
    return bool(getattr(settings, "TRACKER_PUBLIC_SITE", False))


def public_site_context(request) -> dict:
    """`public_site` for the templates (a context processor): base.html offers visitors the
    public record's menu and a "Log in" link while the site is on."""
    return {"public_site": public_site_on()}


def may_read_public_record(user) -> bool:
    """Whether `user` may read the public record now: anyone logged in (and active), and
    anonymous visitors while the public site is on."""
    if user.is_authenticated:
        return user.is_active
    return public_site_on()


def public_record(view):
    """Mark a page of the public record: anonymous visitors read it while the public site is
    on; while it is off they are sent to the login page, as LoginRequiredMiddleware would."""

    @login_not_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_read_public_record(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.public_record = True
    return wrapper


def is_public_record(view) -> bool:
    """Whether `view` (or a view it wraps) is marked `public_record`."""
    while view is not None:
        if getattr(view, "public_record", False):
            return True
        view = getattr(view, "__wrapped__", None)
    return False
