"""Due, overdue and freshness on the pages: the table's column, filter and sort, the badges on the
commitment and actor pages, the reader's day, and query counts that do not grow with the rows."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.models import Milestone
from tests.factories import ActorFactory, CommitmentFactory, SecretariatFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")
# 20:00 UTC on 11 December: already 12 December in Ashgabat (UTC+5), 15:00 on the 11th in New York.
NOW = datetime.datetime(2026, 12, 11, 20, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
TODAY_UTC = NOW.date()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def reader(client, time_zone="UTC"):
    user = SecretariatFactory(time_zone=time_zone)
    client.force_login(user)
    return user


def titles(response) -> list[str]:
    return [row.record.title for row in response.context["table"].page.object_list]


def make_dated(count: int, *, start: int = 0) -> None:
    for n in range(start, start + count):
        commitment = CommitmentFactory(
            title=f"Dated {n:03}",
            target_date=TODAY_UTC + (n % 7 - 3) * DAY,
            last_activity_on=TODAY_UTC - 100 * n * DAY,
        )
        Milestone.objects.create(commitment=commitment, title="Step", due_on=TODAY_UTC - n * DAY)


def test_the_table_filters_by_due_and_freshness(client, frozen):
    reader(client)
    CommitmentFactory(title="Overdue", target_date=TODAY_UTC - DAY, last_activity_on=TODAY_UTC)
    CommitmentFactory(title="Soon", target_date=TODAY_UTC, last_activity_on=TODAY_UTC - 200 * DAY)
    CommitmentFactory(title="Later", target_date=TODAY_UTC + 90 * DAY, last_activity_on=None)

    assert titles(client.get(LIST_URL, {"due": "overdue"})) == ["Overdue"]
    assert titles(client.get(LIST_URL, {"due": "due_soon"})) == ["Soon"]
    assert titles(client.get(LIST_URL, {"freshness": "late"})) == ["Soon"]
    assert sorted(titles(client.get(LIST_URL, {"freshness": "on_time"}))) == ["Later", "Overdue"]
    refused = client.get(LIST_URL, {"due": "someday"})
    assert titles(refused) == [] and "Select a valid choice" in refused.text


def test_the_table_sorts_by_due_date_without_a_date_last_both_ways(client, frozen):
    reader(client)
    CommitmentFactory(title="None", target_date=None)
    CommitmentFactory(title="Ahead", target_date=TODAY_UTC + 90 * DAY)
    CommitmentFactory(title="Long overdue", target_date=TODAY_UTC - 90 * DAY)
    CommitmentFactory(title="Just overdue", target_date=TODAY_UTC - DAY)

    ascending = titles(client.get(LIST_URL, {"sort": "due"}))
    descending = titles(client.get(LIST_URL, {"sort": "-due"}))

    assert ascending == ["Long overdue", "Just overdue", "Ahead", "None"]
    assert descending == ["Ahead", "Just overdue", "Long overdue", "None"]


def test_the_table_shows_the_badges_and_the_csv_the_column(client, frozen):
    reader(client)
    CommitmentFactory(title="Overdue", target_date=datetime.date(2026, 12, 1))

    page = client.get(LIST_URL).text
    csv = b"".join(client.get(LIST_URL, {"_export": "csv"}).streaming_content).decode()

    assert '<span class="deadline deadline-overdue">Overdue since 1 Dec 2026</span>' in page
    assert '<span class="freshness freshness-late">Late</span>' not in page
    assert "Overdue since 2026-12-01" in csv
    assert csv.splitlines()[0].count("Due") == 1 and "Freshness" in csv.splitlines()[0]


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("Asia/Ashgabat", "Overdue since 11 Dec 2026"),  # already the 12th there
        ("America/New_York", "Due 11 Dec 2026"),  # still the 11th
    ],
)
def test_the_readers_day_decides(client, frozen, time_zone, expected):
    reader(client, time_zone)
    CommitmentFactory(title="Due on the 11th", target_date=datetime.date(2026, 12, 11))

    assert expected in client.get(LIST_URL).text


def test_the_cached_table_turns_overdue_the_next_day(client, settings):
    """No write in between, and entries that would outlive the day: rows are kept per day."""
    settings.TRACKER_CACHE_TIMEOUT = settings.SESSION_COOKIE_AGE = 7 * 24 * 3600
    CommitmentFactory(title="Due", target_date=datetime.date(2026, 12, 11))
    with time_machine.travel(NOW, tick=False):
        reader(client)
        assert "Due 11 Dec 2026" in client.get(LIST_URL).text
    with time_machine.travel(NOW + datetime.timedelta(hours=5), tick=False):  # 01:00 on the 12th
        assert "Overdue since 11 Dec 2026" in client.get(LIST_URL).text


def test_the_commitment_page_shows_due_and_freshness(client, frozen):
    reader(client)
    commitment = CommitmentFactory(
        target_date=TODAY_UTC + 400 * DAY, last_activity_on=TODAY_UTC - 400 * DAY
    )
    Milestone.objects.create(commitment=commitment, title="Step", due_on=datetime.date(2026, 6, 1))

    page = client.get(commitment.get_absolute_url()).text

    assert '<span class="deadline deadline-overdue">Overdue since 1 June 2026</span>' in page
    assert '<span class="freshness freshness-very_late">Very late</span>' in page
    assert "(news expected every 6 months)" in page


def test_the_actor_page_shows_the_badges(client, frozen):
    reader(client)
    actor = ActorFactory(name="Peru")
    CommitmentFactory(title="Late one", lead_actors=[actor], target_date=TODAY_UTC - DAY)
    CommitmentFactory(title="Soon one", lead_actors=[actor], target_date=TODAY_UTC + DAY)

    page = client.get(actor.get_absolute_url()).text

    assert "Overdue since 10 December 2026" in page
    assert "Due 12 December 2026" in page


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params", [{"sort": "due"}, {"due": "overdue"}, {"freshness": "late", "sort": "freshness"}]
)
def test_the_tables_query_count_does_not_grow_with_rows(client, frozen, params):
    reader(client)
    make_dated(3)  # one of each: overdue, late
    few = count_queries(client, LIST_URL, params)
    make_dated(20, start=3)

    assert count_queries(client, LIST_URL, {**params, "per_page": 50}) == few


def test_the_actor_pages_query_count_does_not_grow_with_rows(client, frozen):
    reader(client)
    actor = ActorFactory()
    CommitmentFactory(lead_actors=[actor], target_date=TODAY_UTC)
    few = count_queries(client, actor.get_absolute_url())
    for n in range(20):
        CommitmentFactory(lead_actors=[actor], target_date=TODAY_UTC + n * DAY)
    client.get("/")  # another page: the actor's is cached per day, forget it by a write
    CommitmentFactory(title="A write")

    assert count_queries(client, actor.get_absolute_url()) == few
