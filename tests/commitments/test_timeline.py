"""A commitment with a long history: its page shows the latest updates, older ones a page on."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from commitments import charts
from commitments.models import StatusUpdate
from commitments.statuses import Status
from commitments.views import TIMELINE_PAGE_SIZE
from tests.factories import CommitmentFactory, StatusUpdateFactory

pytestmark = pytest.mark.django_db


def add_updates(commitment, count: int, *, start: int = 0) -> None:
    first = datetime.date(2021, 1, 1)
    for n in range(start, start + count):
        StatusUpdateFactory(
            commitment=commitment,
            happened_on=first + datetime.timedelta(days=n),
            narrative=f"Update number {n}.",
        )


@pytest.fixture
def long_history(secretariat):
    commitment = CommitmentFactory()
    add_updates(commitment, 2 * TIMELINE_PAGE_SIZE + 20)
    return commitment


def test_the_page_shows_the_latest_updates_and_links_to_older_ones(
    secretariat_client, long_history
):
    response = secretariat_client.get(long_history.get_absolute_url())

    newest = 2 * TIMELINE_PAGE_SIZE + 19
    timeline = list(response.context["timeline"])
    assert len(timeline) == TIMELINE_PAGE_SIZE
    assert timeline[0].narrative == f"Update number {newest}."
    assert '<ol reversed start="120">' in response.text
    assert 'href="?page=2#timeline-heading">Older updates</a>' in response.text
    # The chart's line goes through the whole history; its dots are a bounded few (issue 16).
    assert 2 <= response.text.count('class="chart-point ') <= charts.MAX_DOTS
    assert f"{newest + 1} status updates from 1 January 2021" in response.text


def test_the_last_page_holds_the_oldest_updates(secretariat_client, long_history):
    response = secretariat_client.get(long_history.get_absolute_url(), {"page": 3})

    timeline = list(response.context["timeline"])
    assert len(timeline) == 20
    assert timeline[-1].narrative == "Update number 0."
    assert "Older updates" not in response.text
    assert 'href="?page=2#timeline-heading">Newer updates</a>' in response.text


@pytest.mark.parametrize("page", ["x", "0", "999", "-1", "99999999999999999999"])
def test_a_page_that_does_not_exist_shows_the_nearest_one(secretariat_client, long_history, page):
    response = secretariat_client.get(long_history.get_absolute_url(), {"page": page})

    assert response.status_code == 200
    assert response.context["timeline"]


def page_queries(client, url) -> int:
    """Queries of the page built from the database (its cached history forgotten first)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_pages_query_count_does_not_grow_with_the_history(secretariat_client):
    commitment = CommitmentFactory()
    add_updates(commitment, 3)
    page_queries(secretariat_client, commitment.get_absolute_url())  # the session is written
    few = page_queries(secretariat_client, commitment.get_absolute_url())

    add_updates(commitment, 3 * TIMELINE_PAGE_SIZE, start=3)

    assert page_queries(secretariat_client, commitment.get_absolute_url()) == few


def test_recorded_times_are_in_the_readers_zone(client, secretariat):
    secretariat.time_zone = "Asia/Ashgabat"  # UTC+5
    secretariat.save()
    commitment = CommitmentFactory()
    with time_machine.travel(datetime.datetime(2026, 4, 20, 22, 30, tzinfo=datetime.UTC)):
        StatusUpdateFactory(commitment=commitment)
    client.force_login(secretariat)

    response = client.get(commitment.get_absolute_url())

    assert "21 April 2026, 03:30" in response.text


@pytest.mark.parametrize("language", ["en", "ru"])
def test_an_update_names_its_status_as_the_vocabulary_does(language):
    with translation.override(language):
        for status in Status:
            update = StatusUpdate(status=status.value)
            assert update.status_label == update.get_status_display() == str(status.label)
