"""Events of several days: a conference of 27-28 November, the Year of Peace and Trust (2025).

Each occurrence spans as many days as the event: the pages show it on every day it covers, the
feeds end it after its last day, the dashboard says it is under way, and reminders count from
its first day, planned once."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from tests.factories import CommitmentFactory, EventFactory, SecretariatFactory
from tracker import reminders
from tracker.events import event_occurrences, occurrences_between
from tracker.models import Event, Reminder

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def conference(db):
    return EventFactory(
        title="Neutrality conference",
        slug="conference",
        kind=Event.Kind.FORUM,
        rule=Event.Rule.ONCE,
        start_date=D(2025, 11, 27),
        end_date=D(2025, 11, 28),
    )


@pytest.fixture
def year_of_peace(db):
    return EventFactory(
        title="International Year of Peace and Trust",
        slug="year-of-peace",
        rule=Event.Rule.ONCE,
        start_date=D(2025, 1, 1),
        end_date=D(2025, 12, 31),
    )


def month_cells(client, year: int, month: int) -> dict[str, str]:
    """Each day's cell of the month grid, by its ISO date."""
    html = client.get(reverse("event_month", kwargs={"year": year, "month": month})).content
    cells = html.decode().split('<time class="day-number" datetime="')[1:]
    return {cell[:10]: cell for cell in cells}


def test_a_two_day_event_shows_on_both_days_of_the_month_view(secretariat_client, conference):
    cells = month_cells(secretariat_client, 2025, 11)
    assert "Neutrality conference" in cells["2025-11-27"]
    assert "Neutrality conference" in cells["2025-11-28"]
    assert "Neutrality conference" not in cells["2025-11-26"]
    assert "Neutrality conference" not in cells["2025-11-29"]


def test_the_year_shows_on_every_day_of_december(secretariat_client, year_of_peace):
    cells = month_cells(secretariat_client, 2025, 12)
    december = [day for day in cells if day.startswith("2025-12")]
    assert len(december) == 31
    assert all("Year of Peace and Trust" in cells[day] for day in december)
    # The grid's January days of 2026 are after the year.
    assert "Year of Peace and Trust" not in cells["2026-01-04"]


def test_the_event_page_gives_the_days(secretariat_client, conference):
    with time_machine.travel(datetime.datetime(2025, 11, 1, tzinfo=datetime.UTC), tick=False):
        page = secretariat_client.get(conference.get_absolute_url()).content.decode()
    assert "27–28 November 2025" in page


@time_machine.travel(datetime.datetime(2025, 12, 20, 7, tzinfo=datetime.UTC), tick=False)
def test_the_year_under_way_is_listed_and_on_the_dashboard(secretariat_client, year_of_peace):
    listed = secretariat_client.get(reverse("event_list")).content.decode()
    assert "1 January – 31 December 2025" in listed
    dashboard = secretariat_client.get(reverse("dashboard")).content.decode()
    assert "Under way until" in dashboard
    assert '<time datetime="2025-12-31">31 Dec 2025</time>' in dashboard


def test_a_recurring_occurrence_spans_as_many_days():
    event = EventFactory.build(
        rule=Event.Rule.YEARLY, start_date=D(2024, 12, 30), end_date=D(2025, 1, 2)
    )
    occurrence = event_occurrences(event=event, start=D(2026, 1, 1), end=D(2026, 1, 5))
    assert occurrence == []  # begins-in-window: the 2025-26 one began on 30 December
    under_way = event_occurrences(
        event=event, start=D(2026, 1, 1), end=D(2026, 1, 5), overlapping=True
    )
    assert [(o.date, o.last_day) for o in under_way] == [(D(2025, 12, 30), D(2026, 1, 2))]


def test_a_series_that_ended_still_shows_its_last_occurrence_under_way(db):
    EventFactory(
        title="Forum",
        rule=Event.Rule.YEARLY,
        start_date=D(2020, 11, 27),
        end_date=D(2020, 11, 29),
        until=D(2024, 11, 27),
    )
    found = occurrences_between(start=D(2024, 11, 28), end=D(2024, 12, 31), overlapping=True)
    assert [(o.date, o.last_day) for o in found] == [(D(2024, 11, 27), D(2024, 11, 29))]


def feed_event(client) -> dict:
    # A day the events of 2025 are in the feed's window (tracker.calendar_feeds).
    with time_machine.travel(datetime.datetime(2025, 11, 1, tzinfo=datetime.UTC), tick=False):
        response = client.get(reverse("calendar_public_feed"))
    ics = Calendar.from_ical(response.content)
    return next(iter(ics.walk("VEVENT")))


def test_an_all_day_event_ends_after_its_last_day_in_the_feed(client, conference):
    item = feed_event(client)
    assert item.decoded("dtstart") == D(2025, 11, 27)
    assert item.decoded("dtend") == D(2025, 11, 29)


def test_the_year_ends_on_the_first_of_january_in_the_feed(client, year_of_peace):
    assert feed_event(client).decoded("dtend") == D(2026, 1, 1)


def test_a_timed_event_of_several_days_ends_with_its_last_day_in_the_feed(client, conference):
    conference.start_time = datetime.time(10)
    conference.time_zone = "Europe/Zurich"
    conference.save()
    item = feed_event(client)
    start, end = item["dtstart"], item["dtend"]
    assert (start.dt.replace(tzinfo=None), start.params["TZID"]) == (
        datetime.datetime(2025, 11, 27, 10),
        "Europe/Zurich",
    )
    # Midnight after the last day: calendar apps show it ending on the 28th.
    assert (end.dt.replace(tzinfo=None), end.params["TZID"]) == (
        datetime.datetime(2025, 11, 29),
        "Europe/Zurich",
    )


def test_reminders_count_from_the_first_day_and_are_planned_once(db):
    owner = SecretariatFactory(username="alice", time_zone="Asia/Ashgabat")
    EventFactory(
        title="Conference",
        rule=Event.Rule.YEARLY,
        start_date=D(2026, 11, 27),
        end_date=D(2026, 11, 28),
        lead_times_days=[1],
        commitments=[CommitmentFactory(owner=owner)],
    )
    now = datetime.datetime(2026, 11, 20, tzinfo=datetime.UTC)
    for hours in (0, 1, 24 * 8):  # a run on the first day too, with the event under way
        reminders.reminders_plan(now=now + datetime.timedelta(hours=hours))
    rows = Reminder.objects.filter(kind=Reminder.Kind.EVENT)
    assert [(r.occurrence_date, r.due_on) for r in rows] == [(D(2026, 11, 27), D(2026, 11, 26))]
