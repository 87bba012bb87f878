"""What every logged-in request costs before its view (docs/performance-work.md, "The per-request
floor"): the session's and the user's reads and nothing else for a bare page, and one cache round
trip more (the page's entry with its tokens) and the loss record for a kept page. A query or a
cache call added to every request shows here first."""

import pytest
from django.core.cache import caches
from django.urls import reverse

from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db

CACHE_CALLS = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "has_key")


@pytest.fixture
def cache_calls(monkeypatch):
    """The cache methods the tracker called, by name, in order (not those a method calls
    itself: local memory's get_many is a get per key)."""
    calls, inside = [], []
    backend = caches["default"]

    def counted(name, method):
        def call(*args, **kwargs):
            if not inside:
                calls.append(name)
            inside.append(name)
            try:
                return method(*args, **kwargs)
            finally:
                inside.pop()

        return call

    for name in CACHE_CALLS:
        monkeypatch.setattr(backend, name, counted(name, getattr(backend, name)))
    return calls


@pytest.mark.urls("config.bench_urls")
def test_a_bare_logged_in_page_reads_the_session_and_the_user_only(
    secretariat_client, cache_calls, django_assert_num_queries
):
    secretariat_client.get(reverse("bench_bare"))
    cache_calls.clear()

    with django_assert_num_queries(2):  # the session's row, the user's row
        response = secretariat_client.get(reverse("bench_bare"))

    assert response.status_code == 200
    assert cache_calls == []


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_a_kept_page_costs_one_cache_round_trip_and_the_loss_record(
    request, role, cache_calls, django_assert_num_queries
):
    client = request.getfixturevalue(f"{role}_client")
    CommitmentFactory(title="Group of Friends of Neutrality")
    assert client.get(reverse("dashboard")).status_code == 200  # computed and kept
    cache_calls.clear()

    with django_assert_num_queries(3):  # session, user, loss record (core.caching)
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert cache_calls == ["get_many"]  # the entry with its families' and the reader's tokens
