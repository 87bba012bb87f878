import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from dateutil.rrule import rrulestr
from django.urls import reverse
from icalendar import Calendar

from tests.factories import ActorFactory, CommitmentFactory, EventFactory
from tracker.calendar_feeds import _surely_on, calendar_window
from tracker.events import event_on_between
from tracker.models import Event

D = datetime.date
pytestmark = pytest.mark.django_db
CONTENT_TYPE = "text/calendar; charset=utf-8"


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    return Calendar.from_ical(response.content)


def vevents(calendar: Calendar) -> dict[str, object]:
    return {str(item["summary"]): item for item in calendar.walk("VEVENT")}


def expand(vevent, *, until: datetime.datetime) -> list:
    """A VEVENT's dates up to `until`, expanded with dateutil from the parsed RRULE."""
    start = vevent.decoded("dtstart")
    if "rrule" not in vevent:
        return [start]
    rule_text = vevent["rrule"].to_ical().decode()
    if isinstance(start, datetime.datetime):
        occurrences = rrulestr(rule_text, dtstart=start).between(start, until, inc=True)
        return occurrences
    day_start = datetime.datetime.combine(start, datetime.time())
    occurrences = rrulestr(rule_text, dtstart=day_start).between(day_start, until, inc=True)
    return [moment.date() for moment in occurrences]


# A day the fixtures' events (2015 to 2021) and target dates (2026) are in the feeds' window of
# one year back and five ahead; test_calendar_window checks the window itself.
TODAY = datetime.datetime(2022, 6, 1, 12, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY.date()


@pytest.fixture
def calendar_events(db):
    return {
        "day": EventFactory(
            title="International Day of Neutrality",
            start_date=D(2017, 12, 12),
            anniversary_of_year=1995,
        ),
        "forum": EventFactory(
            title="Neutrality forum",
            kind=Event.Kind.FORUM,
            rule=Event.Rule.EVERY_N_YEARS,
            interval_years=5,
            start_date=D(2015, 12, 12),
        ),
        "once": EventFactory(
            title="High-level Forum of Peace and Trust",
            rule=Event.Rule.ONCE,
            start_date=D(2021, 12, 11),
            start_time=datetime.time(10, 0),
        ),
        "private": EventFactory(title="Internal retreat", is_public=False),
    }


def test_public_feed_needs_no_login_and_lists_only_public_events(client, calendar_events):
    CommitmentFactory(title="UNRCCA", target_date=D(2026, 9, 13))
    found = vevents(parse(client.get("/calendar.ics")))
    assert set(found) == {
        "International Day of Neutrality",
        "Neutrality forum",
        "High-level Forum of Peace and Trust",
    }


def test_yearly_event_expands_to_every_12_december(client, calendar_events):
    day = vevents(parse(client.get("/calendar.ics")))["International Day of Neutrality"]
    assert day["rrule"].to_ical() == b"FREQ=YEARLY"
    assert expand(day, until=datetime.datetime(2021, 1, 1)) == [
        D(2017, 12, 12),
        D(2018, 12, 12),
        D(2019, 12, 12),
        D(2020, 12, 12),
    ]
    # All-day: DATE values, one day long.
    assert day.decoded("dtstart") == D(2017, 12, 12)
    assert day.decoded("dtend") == D(2017, 12, 13)


def test_five_yearly_forum_expands_to_2015_2020_2025_2030(client, calendar_events):
    forum = vevents(parse(client.get("/calendar.ics")))["Neutrality forum"]
    assert forum["rrule"].to_ical() == b"FREQ=YEARLY;INTERVAL=5"
    assert expand(forum, until=datetime.datetime(2031, 1, 1)) == [
        D(2015, 12, 12),
        D(2020, 12, 12),
        D(2025, 12, 12),
        D(2030, 12, 12),
    ]


def test_one_off_timed_event_has_tzid_and_a_vtimezone(client, calendar_events):
    calendar = parse(client.get("/calendar.ics"))
    forum = vevents(calendar)["High-level Forum of Peace and Trust"]
    assert "rrule" not in forum
    assert forum["dtstart"].params["TZID"] == "Asia/Ashgabat"
    start = forum.decoded("dtstart")
    assert start == datetime.datetime(2021, 12, 11, 5, 0, tzinfo=datetime.UTC)
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ashgabat"]


def test_until_is_kept_in_the_rule(client):
    EventFactory(
        title="Ends",
        start_date=D(2024, 2, 29),
        until=D(2027, 3, 1),
    )
    EventFactory(
        title="Ends timed",
        start_date=D(2024, 6, 1),
        start_time=datetime.time(9, 30),
        time_zone="Europe/Zurich",
        until=D(2026, 6, 1),
    )
    found = vevents(parse(client.get("/calendar.ics")))
    # 29 February: the last day of February in common years, as on the pages.
    assert expand(found["Ends"], until=datetime.datetime(2035, 1, 1)) == [
        D(2024, 2, 29),
        D(2025, 2, 28),
        D(2026, 2, 28),
        D(2027, 2, 28),
    ]
    zurich = ZoneInfo("Europe/Zurich")
    assert expand(found["Ends timed"], until=datetime.datetime(2035, 1, 1, tzinfo=zurich)) == [
        datetime.datetime(2024, 6, 1, 9, 30, tzinfo=zurich),
        datetime.datetime(2025, 6, 1, 9, 30, tzinfo=zurich),
        datetime.datetime(2026, 6, 1, 9, 30, tzinfo=zurich),
    ]


def test_uids_are_stable_and_every_event_has_dtstamp_and_url(client, calendar_events):
    with time_machine.travel(datetime.datetime(2022, 6, 1, tzinfo=datetime.UTC), tick=False):
        first = parse(client.get("/calendar.ics"))
    with time_machine.travel(datetime.datetime(2022, 6, 2, tzinfo=datetime.UTC), tick=False):
        second = parse(client.get("/calendar.ics"))
    uids = [str(item["uid"]) for item in first.walk("VEVENT")]
    assert uids == [str(item["uid"]) for item in second.walk("VEVENT")]
    assert len(set(uids)) == 3
    day = vevents(second)["International Day of Neutrality"]
    assert day.decoded("dtstamp") == datetime.datetime(2022, 6, 2, tzinfo=datetime.UTC)
    assert str(day["url"]) == f"http://testserver{calendar_events['day'].get_absolute_url()}"


def test_personal_feed_of_the_secretariat_has_every_event_and_deadlines(
    client, secretariat, calendar_events
):
    CommitmentFactory(title="UNRCCA resolution", target_date=D(2026, 9, 13))
    found = vevents(parse(client.get(f"/calendar/{secretariat.calendar_token}.ics")))
    assert "Internal retreat" in found
    deadline = found["Target date: UNRCCA resolution"]
    assert deadline.decoded("dtstart") == D(2026, 9, 13)
    assert "rrule" not in deadline


def test_personal_feed_of_a_liaison_has_public_events_and_their_states(
    client, liaison, calendar_events
):
    CommitmentFactory(title="Ours", lead_actors=[liaison.actor], target_date=D(2026, 9, 13))
    CommitmentFactory(title="Theirs", lead_actors=[ActorFactory()], target_date=D(2026, 9, 14))
    found = vevents(parse(client.get(f"/calendar/{liaison.calendar_token}.ics")))
    assert set(found) == {
        "International Day of Neutrality",
        "Neutrality forum",
        "High-level Forum of Peace and Trust",
        "Target date: Ours",
    }


def test_unknown_token_is_not_found(client, secretariat):
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_inactive_user_feed_is_not_found(client, secretariat):
    secretariat.is_active = False
    secretariat.save()
    assert client.get(f"/calendar/{secretariat.calendar_token}.ics").status_code == 404


def test_tokens_differ_per_user(secretariat, liaison):
    assert secretariat.calendar_token != liaison.calendar_token
    assert len(secretariat.calendar_token) >= 40


def test_feeds_page_shows_the_personal_address(secretariat_client, secretariat):
    html = secretariat_client.get("/calendar/").content.decode()
    assert f"http://testserver/calendar/{secretariat.calendar_token}.ics" in html


def test_reset_gives_a_new_address_and_the_old_one_404s(client, liaison):
    old_url = f"/calendar/{liaison.calendar_token}.ics"
    assert client.get(old_url).status_code == 200
    client.force_login(liaison)
    response = client.post(reverse("calendar_feeds"))
    assert response.status_code == 302
    liaison.refresh_from_db()
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(f"/calendar/{liaison.calendar_token}.ics").status_code == 200


def test_reset_needs_login_and_a_post(client, secretariat, secretariat_client):
    token = secretariat.calendar_token
    secretariat_client.get(reverse("calendar_feeds"))
    secretariat.refresh_from_db()
    assert secretariat.calendar_token == token
    secretariat_client.logout()
    response = client.post(reverse("calendar_feeds"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    secretariat.refresh_from_db()
    assert secretariat.calendar_token == token


def test_feed_query_count_does_not_grow_with_events(client, django_assert_num_queries):
    EventFactory.create_batch(10)
    with django_assert_num_queries(1):
        parse(client.get("/calendar.ics"))


def test_a_feed_cached_in_one_language_is_not_served_in_another(client, db):
    EventFactory(title="Neutrality Day", kind=Event.Kind.INTERNATIONAL_DAY, is_public=True)

    russian = client.get("/calendar.ics", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    english = client.get("/calendar.ics", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "CATEGORIES:International day" in english
    assert "CATEGORIES:International day" not in russian


def test_the_window_is_a_year_back_and_five_years_ahead():
    assert calendar_window(today=D(2022, 6, 1)) == (D(2021, 6, 1), D(2027, 6, 1))
    # 29 February: the 28th in a common year, as for a yearly event.
    assert calendar_window(today=D(2024, 2, 29)) == (D(2023, 2, 28), D(2029, 2, 28))


def test_the_window_follows_its_settings(settings):
    settings.TRACKER_CALENDAR_PAST_MONTHS = 1
    settings.TRACKER_CALENDAR_FUTURE_YEARS = 2
    # A month back from the 31st: the last day of the month before.
    assert calendar_window(today=D(2022, 3, 31)) == (D(2022, 2, 28), D(2024, 3, 31))
    assert calendar_window(today=D(2022, 1, 15)) == (D(2021, 12, 15), D(2024, 1, 15))


def once(title: str, day: datetime.date, **fields) -> Event:
    return EventFactory(title=title, rule=Event.Rule.ONCE, start_date=day, **fields)


def test_feeds_list_the_events_on_at_some_day_of_the_window(client, secretariat, today):
    # Today is 1 June 2022: the window is 1 June 2021 to 1 June 2027.
    once("Before the window", D(2021, 5, 31))
    once("Its first day", D(2021, 6, 1))
    once("Begun before it, still on", D(2021, 5, 30), end_date=D(2021, 6, 1))
    once("Its last day", D(2027, 6, 1))
    once("After the window", D(2027, 6, 2))
    EventFactory(title="Every year since 1996", start_date=D(1996, 12, 12))
    EventFactory(title="Ended before it", start_date=D(2010, 3, 1), until=D(2021, 3, 1))
    every = Event.Rule.EVERY_N_YEARS
    EventFactory(title="Every five years", rule=every, interval_years=5, start_date=D(2015, 12, 12))
    # 2020, then 2030: no day in the window.
    EventFactory(title="Every ten years", rule=every, interval_years=10, start_date=D(2010, 3, 1))
    CommitmentFactory(title="Due soon", target_date=D(2022, 9, 1))
    CommitmentFactory(title="Due long ago", target_date=D(2020, 9, 1))
    listed = {"Its first day", "Begun before it, still on", "Its last day"}
    listed |= {"Every year since 1996", "Every five years"}

    assert set(vevents(parse(client.get("/calendar.ics")))) == listed
    personal = vevents(parse(client.get(f"/calendar/{secretariat.calendar_token}.ics")))
    assert set(personal) == listed | {"Target date: Due soon"}


def test_a_window_shorter_than_a_year_keeps_only_the_series_on_in_it(client, settings):
    settings.TRACKER_CALENDAR_PAST_MONTHS = 0
    settings.TRACKER_CALENDAR_FUTURE_YEARS = 0  # today only: 1 June 2022
    EventFactory(title="Every 1 June", start_date=D(2000, 6, 1))
    EventFactory(title="Every 12 December", start_date=D(2000, 12, 12))
    every = Event.Rule.EVERY_N_YEARS
    EventFactory(title="1 June 2021, 2023", rule=every, interval_years=2, start_date=D(2021, 6, 1))
    once("Began 31 May, still on", D(2022, 5, 31), end_date=D(2022, 6, 1))

    found = set(vevents(parse(client.get("/calendar.ics"))))

    assert found == {"Every 1 June", "Began 31 May, still on"}


def test_a_feed_cached_yesterday_is_not_served_today(client):
    once("On the window's first day", D(2021, 6, 1))
    late = datetime.datetime(2022, 6, 1, 23, 59, 50, tzinfo=datetime.UTC)
    with time_machine.travel(late, tick=False):
        assert "On the window's first day" in vevents(parse(client.get("/calendar.ics")))
    # Twenty seconds on, well within TRACKER_CACHE_TIMEOUT: the window starts a day later.
    with time_machine.travel(late + datetime.timedelta(seconds=20), tick=False):
        assert "On the window's first day" not in vevents(parse(client.get("/calendar.ics")))


@pytest.mark.parametrize("day", [D(2022, 6, 1), D(2024, 2, 29), D(2023, 3, 1), D(2022, 12, 31)])
@pytest.mark.parametrize("years", [(12, 5), (0, 1), (0, 2)])
def test_an_endless_series_taken_without_its_occurrences_is_on_in_the_window(day, years, settings):
    """calendar_feeds._surely_on skips working out occurrences: whatever it takes has one."""
    settings.TRACKER_CALENDAR_PAST_MONTHS, settings.TRACKER_CALENDAR_FUTURE_YEARS = years
    start, end = calendar_window(today=day)
    days = (end - start).days + 1
    every = Event.Rule.EVERY_N_YEARS
    firsts = [D(2016, 2, 29), D(2019, 12, 31), D(2021, 1, 1), start, end]
    for first in [*firsts, *(start - datetime.timedelta(days=n) for n in range(1, 800, 37))]:
        for rule, interval in [(Event.Rule.YEARLY, 1), (every, 2), (every, 5), (every, 7)]:
            event = Event(rule=rule, interval_years=interval, start_date=first)
            if _surely_on(event, days):
                assert event_on_between(event=event, start=start, end=end), (first, interval)
