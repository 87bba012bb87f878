"""What browsers and proxies may keep (tracker.security.PrivateCacheMiddleware), on every URL.

The URL patterns are walked from the resolver: a new pattern with arguments fails
`test_every_url_answers_a_logged_in_user_privately` until tests/site_urls.KWARGS says how to
reach it.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import get_resolver, reverse
from django.utils.cache import get_max_age, patch_cache_control

from tests.site_urls import World, url_for, walk
from tracker.security import PrivateCacheMiddleware

pytestmark = pytest.mark.django_db

# Files handed over: exports, the PDF report and evidence files are never stored.
DOWNLOADS = {
    "commitments:commitment_list?_export=csv",
    "commitments:commitment_list?_export=xlsx",
    "commitments:document_report_pdf",
    "commitments:evidence_file",
    "open_data_download",
}


def every_url(world: World) -> dict[str, str]:
    """Every named URL of the site (the admin's through its index and one change page), plus
    the exports; keyed as in DOWNLOADS."""
    admin = reverse("admin:index")
    urls = {}
    for name, route in walk(get_resolver().url_patterns):
        unnamed = name.startswith("unnamed ")
        if not unnamed and (not ("/" + route).startswith(admin) or name == "admin:index"):
            urls[name] = url_for(name, world)
    change = reverse("admin:commitments_commitment_change", args=[world.commitment.pk])
    urls["admin:commitments_commitment_change"] = change
    for export in ("csv", "xlsx"):
        urls[f"commitments:commitment_list?_export={export}"] = (
            f"{reverse('commitments:commitment_list')}?_export={export}"
        )
    return urls


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return World()


def directives(response) -> set[str]:
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",")}


def test_every_url_answers_a_logged_in_user_privately(client, world):
    client.force_login(world.users["admin"])
    problems = {}
    for key, url in every_url(world).items():
        response = client.get(url)
        cache_control = directives(response)
        wanted = {"private", "no-store"} if key in DOWNLOADS else {"private"}
        if not wanted <= cache_control or "public" in cache_control:
            problems[key] = (response.status_code, response.get("Cache-Control"))
        elif "Cookie" not in response.get("Vary", ""):
            problems[key] = (response.status_code, f"Vary: {response.get('Vary')}")
    assert problems == {}
    assert set(DOWNLOADS) <= set(every_url(world))


def test_a_page_is_checked_again_before_a_browser_shows_it_from_its_cache(client, world):
    client.force_login(world.users["liaison"])
    response = client.get(reverse("commitments:commitment_list"))
    assert directives(response) == {"private", "no-cache"}


def test_a_page_with_a_csrf_token_gets_no_etag_it_could_never_match(client, world):
    """Its token is masked anew each time, so no two answers are alike: hashing the page for an
    ETag would be work for nothing (tracker.security.ConditionalGetMiddleware)."""
    client.force_login(world.users["liaison"])
    first, second = client.get(reverse("dashboard")), client.get(reverse("dashboard"))

    assert first.status_code == second.status_code == 200
    assert "csrfmiddlewaretoken" in first.content.decode()
    assert first.content != second.content
    assert not first.has_header("ETag") and not second.has_header("ETag")
    # Pages without a token keep theirs, with 304: tests/test_public_site.py (a visitor's page),
    # tests/api/test_views.py (the API's reads).


@pytest.mark.parametrize("who", ["liaison", "secretariat"])
def test_exports_and_evidence_files_are_never_stored(client, world, who):
    client.force_login(world.users[who])
    urls = every_url(world)
    for key in DOWNLOADS:
        response = client.get(urls[key])
        assert response.status_code == 200, key
        assert "attachment" in response["Content-Disposition"] or key.endswith("evidence_file")
        assert {"private", "no-store"} <= directives(response), key


def test_a_feed_fetched_with_its_token_is_private_too(client, world):
    """Calendar apps log in with the token in the address, not a session."""
    for name, kwargs in [
        ("calendar_personal_feed", {"token": world.users["liaison"].calendar_token}),
        ("calendar_public_feed", {}),
    ]:
        response = client.get(reverse(name, kwargs=kwargs))
        assert response.status_code == 200
        assert "private" in directives(response), name
        assert "public" not in directives(response), name


def test_a_view_that_asks_for_public_caching_is_made_private_for_a_logged_in_user(world):
    def cached_publicly(request):
        response = HttpResponse("the dashboard")
        patch_cache_control(response, public=True, max_age=600)
        return response

    request = RequestFactory().get("/")
    request.user = world.users["liaison"]
    response = PrivateCacheMiddleware(cached_publicly)(request)
    assert directives(response) == {"private", "max-age"}
    assert "Cookie" in response["Vary"]

    request.user = AnonymousUser()  # the view's choice stands for a visitor
    assert directives(PrivateCacheMiddleware(cached_publicly)(request)) == {"public", "max-age"}


def test_static_files_keep_their_own_cache_headers(client, world, settings):
    settings.WHITENOISE_USE_FINDERS = True  # whitenoise serves them from the app folders
    client.force_login(world.users["liaison"])
    response = client.get(f"{settings.STATIC_URL}css/tracker.css")
    assert response.status_code == 200
    assert "private" not in directives(response)
    assert get_max_age(response) is not None
