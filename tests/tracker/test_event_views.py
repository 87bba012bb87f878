import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CommitmentFactory, EventFactory, ParagraphFactory
from tracker.models import Event

D = datetime.date
pytestmark = pytest.mark.django_db

# 20 December 2025, midday in Ashgabat: the 30th anniversary of neutrality has just passed.
NOW = datetime.datetime(2025, 12, 20, 7, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def neutrality_day(db):
    return EventFactory(
        title="International Day of Neutrality",
        slug="neutrality-day",
        start_date=D(2017, 12, 12),
        anniversary_of_year=1995,
    )


@pytest.fixture
def private_event(db):
    return EventFactory(title="Secretariat retreat", slug="retreat", is_public=False)


# Access --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/events/", "/events/2025/12/", "/events/neutrality-day/", "/calendar/"],
)
def test_anonymous_users_are_sent_to_login(client, neutrality_day, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_liaison_does_not_see_private_events(liaison_client, neutrality_day, private_event):
    assert liaison_client.get("/events/retreat/").status_code == 404
    listed = liaison_client.get("/events/", {"kind": ""}).content.decode()
    assert "Secretariat retreat" not in listed
    month = liaison_client.get("/events/2026/12/").content.decode()
    assert "Secretariat retreat" not in month
    assert "International Day of Neutrality" in month


def test_liaison_sees_private_event_concerning_their_state(liaison_client, liaison):
    commitment = CommitmentFactory(lead_actors=[liaison.actor], target_date=D(2026, 3, 1))
    deadline = Event.objects.get(deadline_of=commitment)
    response = liaison_client.get(deadline.get_absolute_url())
    assert response.status_code == 200
    assert commitment.title in response.content.decode()


def test_secretariat_sees_private_events(secretariat_client, private_event):
    assert secretariat_client.get("/events/retreat/").status_code == 200
    assert "Secretariat retreat" in secretariat_client.get("/events/").content.decode()


@pytest.mark.parametrize("url", ["/events/", "/events/2025/12/", "/events/neutrality-day/"])
def test_event_pages_refuse_writes(liaison_client, secretariat_client, neutrality_day, url):
    assert liaison_client.post(url).status_code == 405
    assert secretariat_client.post(url).status_code == 405


# List ----------------------------------------------------------------------------


def test_list_shows_the_next_twelve_months_in_date_order(secretariat_client, neutrality_day):
    EventFactory(title="UNRCCA anniversary", start_date=D(2007, 12, 10), anniversary_of_year=2007)
    EventFactory(title="Past forum", rule=Event.Rule.ONCE, start_date=D(2021, 12, 11))
    response = secretariat_client.get("/events/")
    occurrences = [(o.date, o.event.title) for o in response.context["occurrences"]]
    assert occurrences == [
        (D(2026, 12, 10), "UNRCCA anniversary"),
        (D(2026, 12, 12), "International Day of Neutrality"),
    ]
    assert "Past forum" not in response.content.decode()


def test_list_filters_by_kind(secretariat_client, neutrality_day):
    EventFactory(title="Forum", kind=Event.Kind.FORUM, start_date=D(2016, 6, 1))
    response = secretariat_client.get("/events/", {"kind": "forum"})
    assert [o.event.title for o in response.context["occurrences"]] == ["Forum"]


def test_unknown_kind_says_so_and_shows_everything(secretariat_client, neutrality_day):
    response = secretariat_client.get("/events/", {"kind": "party"})
    assert response.status_code == 200
    assert "That kind is not one we know" in response.content.decode()
    assert [o.event.title for o in response.context["occurrences"]] == [
        "International Day of Neutrality"
    ]


def page_queries(client, url: str) -> list[str]:
    """The SQL a page runs, without the session bookkeeping the middleware adds."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [
        query["sql"]
        for query in captured.captured_queries
        if "django_session" not in query["sql"] and "SAVEPOINT" not in query["sql"]
    ]


def event_queries(queries: list[str]) -> list[str]:
    return [sql for sql in queries if "tracker_event" in sql]


@pytest.mark.parametrize("url", ["/events/", "/events/2025/12/"])
def test_secretariat_page_query_count_does_not_grow_with_events(secretariat_client, url):
    EventFactory(start_date=D(2017, 12, 25))
    few = page_queries(secretariat_client, url)
    for n in range(12):
        EventFactory(start_date=D(2017, 12, 1 + n), commitments=[CommitmentFactory()])
    many = page_queries(secretariat_client, url)
    # The user, then one query for the events.
    assert len(few) == len(many) == 2
    assert len(event_queries(many)) == 1


@pytest.mark.parametrize("url", ["/events/", "/events/2025/12/"])
def test_liaison_page_query_count_does_not_grow_with_events(liaison_client, liaison, url):
    EventFactory(start_date=D(2017, 12, 25))
    few = page_queries(liaison_client, url)
    for n in range(12):
        EventFactory(start_date=D(2017, 12, 1 + n), commitments=[CommitmentFactory()])
    EventFactory(is_public=False, commitments=[CommitmentFactory(lead_actors=[liaison.actor])])
    many = page_queries(liaison_client, url)
    # The user, their state (named in the menu), then one query for the events they may see.
    assert len(few) == len(many) == 3
    assert len(event_queries(many)) == 1


# Month ---------------------------------------------------------------------------


def test_month_is_a_table_with_weekday_headers_and_neighbour_links(
    secretariat_client, neutrality_day
):
    response = secretariat_client.get("/events/2025/12/")
    html = response.content.decode()
    assert '<th scope="col"><abbr title="Monday">Mon</abbr></th>' in html
    assert "<caption>December 2025" in html
    assert 'href="/events/2025/11/" rel="prev"' in html
    assert 'href="/events/2026/1/" rel="next"' in html
    assert "30th anniversary" in html
    days = {day["date"]: day for week in response.context["weeks"] for day in week}
    assert [o.event.title for o in days[D(2025, 12, 12)]["occurrences"]] == [
        "International Day of Neutrality"
    ]
    assert days[D(2025, 12, 1)]["in_month"] and not days[D(2026, 1, 4)]["in_month"]


def test_month_links_across_the_year_end(secretariat_client):
    html = secretariat_client.get("/events/2026/1/").content.decode()
    assert 'href="/events/2025/12/" rel="prev"' in html
    assert 'href="/events/2026/2/" rel="next"' in html


def test_month_grid_shows_neighbouring_days_events(secretariat_client, neutrality_day):
    # The December 2025 grid runs to Sunday 4 January 2026.
    EventFactory(title="New year", rule=Event.Rule.ONCE, start_date=D(2026, 1, 2))
    response = secretariat_client.get("/events/2025/12/")
    assert "New year" in response.content.decode()


@pytest.mark.parametrize("url", ["/events/2025/13/", "/events/2025/0/", "/events/9999/1/"])
def test_impossible_months_are_not_found(secretariat_client, url):
    assert secretariat_client.get(url).status_code == 404


# Detail --------------------------------------------------------------------------


def test_detail_shows_rule_next_occurrences_and_what_it_concerns(
    secretariat_client, neutrality_day
):
    commitment = CommitmentFactory(title="Events on 12 December each year")
    paragraph = ParagraphFactory(number=14, text="Supported holding events on 12 December;")
    neutrality_day.commitments.add(commitment)
    neutrality_day.paragraphs.add(paragraph)
    response = secretariat_client.get("/events/neutrality-day/")
    html = response.content.decode()
    assert "Every year on 12 December, since 2017" in html
    assert [o.date.year for o in response.context["occurrences"]] == [2026, 2027, 2028, 2029, 2030]
    assert "35th anniversary" in html
    assert commitment.get_absolute_url() in html
    assert "Supported holding events on 12 December" in html


def test_detail_of_a_past_one_off_event(secretariat_client):
    EventFactory(
        title="High-level Forum",
        slug="forum-2021",
        rule=Event.Rule.ONCE,
        start_date=D(2021, 12, 11),
    )
    html = secretariat_client.get("/events/forum-2021/").content.decode()
    assert "it took place on 11 December 2021" in html


def test_detail_shows_a_timed_event_in_both_zones(client, secretariat):
    secretariat.time_zone = "America/New_York"
    secretariat.save()
    client.force_login(secretariat)
    EventFactory(
        title="Forum opening",
        slug="opening",
        rule=Event.Rule.ONCE,
        start_date=D(2026, 12, 12),
        start_time=datetime.time(10, 0),
    )
    html = client.get("/events/opening/").content.decode()
    assert "10:00 Asia/Ashgabat (12 Dec 00:00 America/New_York)" in html


def test_detail_query_count(secretariat_client, neutrality_day):
    neutrality_day.commitments.add(*CommitmentFactory.create_batch(3))
    neutrality_day.paragraphs.add(*ParagraphFactory.create_batch(3))
    # User, event, its commitments, its paragraphs with their documents, its change history,
    # and whether the reader follows it (their choices, then whether they follow by default).
    assert len(page_queries(secretariat_client, "/events/neutrality-day/")) == 7


def test_unknown_event_is_not_found(secretariat_client):
    assert secretariat_client.get("/events/no-such-event/").status_code == 404


def test_month_grid_names_weekdays_in_the_readers_language(secretariat_client):
    html = secretariat_client.get("/events/2025/12/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert '<th scope="col"><abbr title="Понедельник">Пн</abbr></th>' in html
    assert '<abbr title="Воскресенье">Вс</abbr>' in html
    assert not re.search(r">(Mon|Tue|Wed|Thu|Fri|Sat|Sun)<", html)
    assert "Monday" not in html
