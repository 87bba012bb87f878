"""Dates at the edges of the calendar: the event form refuses them, and a row stored with one
anyway (by the admin, an import, a commitment's target date) takes no page or feed down."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from tests.factories import CommitmentFactory, EventFactory
from tests.tracker.test_event_edit_views import form_data
from tracker.events import days_after, event_occurrences, occurrences_between
from tracker.models import Event

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": "9999-12-31", "end_date": ""},
        {"start_date": "0001-01-01", "end_date": "9999-12-31"},
        {"start_date": "1899-12-31", "end_date": ""},
        {"end_date": "2201-01-01"},
        {"rule": "yearly", "end_date": "", "until": "9999-12-31"},
    ],
)
def test_the_form_refuses_dates_outside_the_years_an_event_may_have(secretariat_client, changes):
    response = secretariat_client.post(reverse("event_new"), form_data(**changes))
    assert response.status_code == 400
    errors = " ".join(" ".join(messages) for messages in response.context["form"].errors.values())
    assert "Enter a date in the years 1900 to 2200." in errors
    assert not Event.objects.exists()


def test_the_form_takes_the_first_and_last_years(secretariat_client):
    for start, end in (("1900-01-01", "1900-01-02"), ("2200-12-30", "2200-12-31")):
        response = secretariat_client.post(
            reverse("event_new"), form_data(title=start, start_date=start, end_date=end)
        )
        assert response.status_code == 302
    assert Event.objects.count() == 2


@pytest.fixture
def stored_extremes(db):
    """Rows no form lets through, written straight to the database."""
    return [
        EventFactory(
            title="Last day", rule=Event.Rule.ONCE, start_date=D(9999, 12, 31), is_public=True
        ),
        EventFactory(
            title="All of time",
            rule=Event.Rule.ONCE,
            start_date=D(1, 1, 1),
            end_date=D(9999, 12, 31),
            is_public=True,
        ),
        EventFactory(title="Yearly to the end", start_date=D(2020, 1, 1), until=D(9999, 12, 31)),
        EventFactory(title="Neutrality day", start_date=D(2017, 12, 12), is_public=True),
    ]


PAGES = [
    "/",
    "/events/",
    "/events/2026/3/",
    "/events/2/1/",
    "/events/9998/12/",
    "/events/2020/1/",
]


@time_machine.travel(datetime.datetime(2026, 3, 3, 9, tzinfo=datetime.UTC))
def test_every_page_and_feed_still_opens_with_extreme_rows_stored(
    client, secretariat, liaison, stored_extremes
):
    # A commitment due on the last day there is: its deadline event is in the personal feed.
    CommitmentFactory(title="Due at the end of time", target_date=D(9999, 12, 31))
    staff, state = Client(), Client()
    staff.force_login(secretariat)
    state.force_login(liaison)
    event_pages = [event.get_absolute_url() for event in Event.objects.all()]
    for url in PAGES + event_pages:
        assert staff.get(url).status_code == 200, url
        # A liaison does not see the private ones (404), and sees the rest.
        assert state.get(url).status_code in (200, 404), url
    for feed_client, url in (
        (client, "/calendar.ics"),
        (client, f"/calendar/{secretariat.calendar_token}.ics"),
    ):
        response = feed_client.get(url)
        assert response.status_code == 200, url
        titles = {
            str(item["summary"])
            for item in Calendar.from_ical(response.content).walk()
            if item.name == "VEVENT"
        }
        # The sound row is there; the extreme ones are left out, not the whole feed.
        assert "Neutrality day" in titles
        assert not titles & {"Last day", "All of time", "Yearly to the end"}


def test_extreme_rows_have_no_occurrences(stored_extremes):
    found = occurrences_between(start=D(1, 1, 1), end=D(9999, 12, 31), overlapping=True)
    assert {occurrence.event.title for occurrence in found} == {"Neutrality day"}


def test_a_repeating_event_of_several_days_reaches_the_last_year_without_failing(db):
    event = EventFactory(start_date=D(2020, 12, 20), end_date=D(2021, 1, 10))
    found = event_occurrences(event=event, start=D(9998, 11, 30), end=D(9999, 1, 10))
    assert [occurrence.date for occurrence in found] == [D(9998, 12, 20)]
    assert found[0].last_date == D(9999, 1, 10)


def test_days_after_holds_at_the_edges():
    assert days_after(D(9999, 12, 30), 5) == datetime.date.max
    assert days_after(D(1, 1, 2), -5) == datetime.date.min
    assert days_after(D(2026, 3, 3), 1) == D(2026, 3, 4)
