import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import translation

from core.local_time import (
    format_day,
    format_instant,
    local_wall_time,
    reader_today,
    reader_zone,
    zone_named,
)


@pytest.mark.parametrize("name", ["", None, "Mars/Olympus", "../etc/passwd", 5])
def test_a_name_that_is_no_zone_reads_as_utc(name):
    assert zone_named(name) is datetime.UTC


def test_anyone_without_a_zone_reads_utc():
    assert reader_zone(SimpleNamespace()) is datetime.UTC
    assert str(reader_zone(SimpleNamespace(time_zone="Asia/Ashgabat"))) == "Asia/Ashgabat"


@time_machine.travel(datetime.datetime(2026, 12, 31, 20, 30, tzinfo=datetime.UTC), tick=False)
def test_today_is_the_readers_day_across_the_year_end():
    assert reader_today(SimpleNamespace(time_zone="Asia/Ashgabat")) == datetime.date(2027, 1, 1)
    new_york = SimpleNamespace(time_zone="America/New_York")
    assert reader_today(new_york) == datetime.date(2026, 12, 31)


def test_a_moment_is_shown_on_the_readers_clock_without_seconds():
    instant = datetime.datetime(2026, 3, 3, 9, 5, 7, 123456, tzinfo=datetime.UTC)
    zone = zone_named("Asia/Ashgabat")

    assert format_instant(instant, zone=zone) == "3 March 2026, 14:05"
    assert local_wall_time(instant, zone=zone) == datetime.datetime(2026, 3, 3, 14, 5, 7, 123456)


def test_days_are_written_in_the_active_language():
    day = datetime.date(2020, 12, 12)
    assert format_day(day) == "12 December 2020"
    with translation.override("ru"):
        assert format_day(day) == "12 декабря 2020"
        assert format_day(day, with_weekday=True).startswith("Суббота")
    # Each language keeps its own (format_day remembers the days it wrote).
    assert format_day(day, with_weekday=True) == "Saturday 12 December 2020"
    assert format_day(day) == "12 December 2020"


def test_no_module_but_this_one_turns_a_zone_name_into_a_zone():
    """One way to read a zone (zone_named, reader_zone): pages, emails, feeds and exports agree,
    and a bad name never fails one of them. The model's validator is the one other use."""
    root = Path(__file__).resolve().parents[2]
    allowed = {"core/local_time.py", "tracker/models/events.py"}
    builders = [
        str(path.relative_to(root))
        for package in ("core", "commitments", "tracker")
        for path in (root / package).rglob("*.py")
        if "ZoneInfo(" in path.read_text(encoding="utf-8") and "migrations" not in path.parts
    ]
    assert sorted(set(builders) - allowed) == []
