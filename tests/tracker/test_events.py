import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import EventFactory
from tracker.events import Occurrence, event_occurrences, occurrences_between, ordinal
from tracker.models import Event

D = datetime.date
pytestmark = pytest.mark.django_db


def dates(occurrences: list[Occurrence]) -> list[datetime.date]:
    return [occurrence.date for occurrence in occurrences]


def test_yearly_occurrences_cross_the_year_end():
    event = EventFactory(start_date=D(2017, 12, 12))
    found = event_occurrences(event=event, start=D(2024, 12, 1), end=D(2026, 1, 31))
    assert dates(found) == [D(2024, 12, 12), D(2025, 12, 12)]


def test_window_bounds_are_inclusive():
    event = EventFactory(start_date=D(2017, 12, 12))
    found = event_occurrences(event=event, start=D(2025, 12, 12), end=D(2026, 12, 12))
    assert dates(found) == [D(2025, 12, 12), D(2026, 12, 12)]


def test_no_occurrence_before_the_start_date():
    event = EventFactory(start_date=D(2017, 12, 12))
    found = event_occurrences(event=event, start=D(2015, 1, 1), end=D(2018, 1, 1))
    assert dates(found) == [D(2017, 12, 12)]


def test_once_happens_on_its_date_only():
    event = EventFactory(rule=Event.Rule.ONCE, start_date=D(2021, 12, 11))
    assert dates(event_occurrences(event=event, start=D(2021, 1, 1), end=D(2030, 1, 1))) == [
        D(2021, 12, 11)
    ]
    assert event_occurrences(event=event, start=D(2021, 12, 12), end=D(2030, 1, 1)) == []


def test_every_five_years_counts_from_the_start_year():
    forum = EventFactory(
        rule=Event.Rule.EVERY_N_YEARS, interval_years=5, start_date=D(2015, 12, 12)
    )
    found = event_occurrences(event=forum, start=D(2010, 1, 1), end=D(2031, 12, 31))
    assert dates(found) == [D(2015, 12, 12), D(2020, 12, 12), D(2025, 12, 12), D(2030, 12, 12)]


def test_every_five_years_with_a_window_that_starts_between_occurrences():
    forum = EventFactory(
        rule=Event.Rule.EVERY_N_YEARS, interval_years=5, start_date=D(2015, 12, 12)
    )
    found = event_occurrences(event=forum, start=D(2026, 1, 1), end=D(2035, 12, 12))
    assert dates(found) == [D(2030, 12, 12), D(2035, 12, 12)]


def test_round_anniversaries_only():
    neutrality = EventFactory(start_date=D(2017, 12, 12), anniversary_of_year=1995)
    found = event_occurrences(event=neutrality, start=D(2025, 1, 1), end=D(2030, 12, 31))
    by_year = {occurrence.date.year: occurrence.anniversary for occurrence in found}
    assert by_year == {2025: 30, 2026: None, 2027: None, 2028: None, 2029: None, 2030: 35}
    assert found[0].anniversary_label == "30th anniversary"
    assert found[1].anniversary_label == ""


def test_no_anniversary_without_a_base_year():
    event = EventFactory(start_date=D(2017, 12, 12))
    assert (
        event_occurrences(event=event, start=D(2025, 1, 1), end=D(2025, 12, 31))[0].anniversary
        is None
    )


@pytest.mark.parametrize(
    ("number", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (12, "12th"), (21, "21st"), (30, "30th")],
)
def test_ordinal(number, text):
    assert ordinal(number) == text


def test_29_february_falls_on_28_february_in_common_years():
    event = EventFactory(start_date=D(2024, 2, 29))
    found = event_occurrences(event=event, start=D(2024, 1, 1), end=D(2028, 12, 31))
    assert dates(found) == [
        D(2024, 2, 29),
        D(2025, 2, 28),
        D(2026, 2, 28),
        D(2027, 2, 28),
        D(2028, 2, 29),
    ]


def test_until_ends_the_series():
    event = EventFactory(start_date=D(2017, 12, 12), until=D(2026, 12, 11))
    found = event_occurrences(event=event, start=D(2024, 1, 1), end=D(2030, 12, 31))
    assert dates(found) == [D(2024, 12, 12), D(2025, 12, 12)]


def test_starts_at_is_aware_in_the_event_zone():
    event = EventFactory(
        rule=Event.Rule.ONCE, start_date=D(2025, 12, 12), start_time=datetime.time(10, 0)
    )
    (occurrence,) = event_occurrences(event=event, start=D(2025, 12, 1), end=D(2025, 12, 31))
    assert occurrence.starts_at == datetime.datetime(2025, 12, 12, 5, 0, tzinfo=datetime.UTC)
    assert occurrence.starts_at.tzinfo == ZoneInfo("Asia/Ashgabat")


def test_all_day_event_has_no_start():
    event = EventFactory(start_date=D(2017, 12, 12))
    assert (
        event_occurrences(event=event, start=D(2025, 1, 1), end=D(2025, 12, 31))[0].starts_at
        is None
    )


def test_occurrences_between_sorts_by_date_across_events(django_assert_num_queries):
    EventFactory(title="Neutrality Day", start_date=D(2017, 12, 12))
    EventFactory(title="UNRCCA", start_date=D(2007, 12, 10))
    EventFactory(title="Past", rule=Event.Rule.ONCE, start_date=D(2021, 12, 11))
    with django_assert_num_queries(1):
        found = occurrences_between(start=D(2025, 12, 1), end=D(2026, 12, 31))
    assert [(o.date, o.event.title) for o in found] == [
        (D(2025, 12, 10), "UNRCCA"),
        (D(2025, 12, 12), "Neutrality Day"),
        (D(2026, 12, 10), "UNRCCA"),
        (D(2026, 12, 12), "Neutrality Day"),
    ]


def test_occurrences_between_takes_a_queryset():
    EventFactory(title="Public", start_date=D(2017, 12, 12))
    EventFactory(title="Private", start_date=D(2017, 12, 12), is_public=False)
    found = occurrences_between(
        start=D(2025, 1, 1), end=D(2025, 12, 31), events=Event.objects.filter(is_public=True)
    )
    assert [o.event.title for o in found] == ["Public"]


def test_same_day_all_day_first_then_by_time():
    EventFactory(
        title="B late", rule=Event.Rule.ONCE, start_date=D(2025, 5, 1), start_time=datetime.time(15)
    )
    EventFactory(
        title="A early", rule=Event.Rule.ONCE, start_date=D(2025, 5, 1), start_time=datetime.time(9)
    )
    EventFactory(title="Z all day", rule=Event.Rule.ONCE, start_date=D(2025, 5, 1))
    found = occurrences_between(start=D(2025, 5, 1), end=D(2025, 5, 1))
    assert [o.event.title for o in found] == ["Z all day", "A early", "B late"]
