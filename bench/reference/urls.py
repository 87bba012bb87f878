from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

# The same bytes as the tracker's own bare view (config.bench_urls.FIXED_PAGE).
FIXED_PAGE = b"<!doctype html><title>Bench</title><p>What no logged-in page can beat.</p>"


@login_required
def bare(request):
    return HttpResponse(FIXED_PAGE)


urlpatterns = [path("bench/bare/", bare, name="bench_bare")]
