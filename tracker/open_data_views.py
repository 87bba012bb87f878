"""The open-data page (docs/open-data.md): the latest published bundle with its date, size and
SHA-256, its download, and the definition of every field. Part of the public record."""

import datetime

from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from core.public_site import public_record
from tracker.open_data import open_data_latest, open_data_zip
from tracker.open_data_tables import TABLES

# A proxy may keep the page for visitors this long: a new bundle comes once a night.
PAGE_MAX_AGE = 10 * 60


@public_record
@require_safe
def open_data(request):
    bundle = open_data_latest()
    created = None
    if bundle is not None:
        created = datetime.datetime.fromisoformat(bundle["created"].replace("Z", "+00:00"))
    response = render(
        request,
        "tracker/open_data.html",
        {"bundle": bundle, "created": created, "tables": TABLES},
    )
    # For a visitor only: tracker.security.PrivateCacheMiddleware makes a logged-in reader's
    # response private whatever is set here.
    patch_cache_control(response, public=True, max_age=PAGE_MAX_AGE)
    return response


@public_record
@require_safe
def open_data_download(request, name: str):
    path = open_data_zip(name=name)
    if path is None:
        raise Http404("No open-data bundle of that name.")
    return FileResponse(path.open("rb"), as_attachment=True, content_type="application/zip")
