"""The site's URLs plus views that fail, for tests/tracker/test_error_pages.py."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def fail(request):
    raise RuntimeError("a failure the error page must not show")


def forbid(request):
    raise PermissionDenied


urlpatterns = [
    path("test-only/fail/", fail),
    path("test-only/forbidden/", forbid),
    *site_urlpatterns,
]
