"""The tracker's URLs plus the benchmark's floor: a bare login_required page.

Used only by config.settings.bench, so the floor never exists on a real server.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as tracker_urlpatterns

FIXED_PAGE = b"<!doctype html><title>Bench</title><p>What no logged-in page can beat.</p>"


@login_required
def bare(request):
    """Session and user lookup, nothing else: every real page costs at least this."""
    return HttpResponse(FIXED_PAGE)


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *tracker_urlpatterns]
