import datetime
import random
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    EventFactory,
    LiaisonFactory,
    ParagraphFactory,
)
from tracker import events as events_module
from tracker.demo_events import events_demo_load
from tracker.events import (
    Occurrence,
    event_next_occurrences,
    event_occurrences,
    event_rule_text,
    events_visible_to,
    first_occurrences,
    next_occurrences,
    occurrences_between,
    ordinal,
)
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


# Visibility ---------------------------------------------------------------------------


def test_secretariat_sees_every_event(secretariat):
    EventFactory(title="Private", is_public=False)
    EventFactory(title="Public")
    assert set(events_visible_to(user=secretariat).values_list("title", flat=True)) == {
        "Private",
        "Public",
    }


def test_liaison_sees_public_events_and_those_of_their_state(liaison):
    mine = CommitmentFactory(lead_actors=[liaison.actor])
    supported = CommitmentFactory()
    supported.supporting_actors.add(liaison.actor)
    other = CommitmentFactory(lead_actors=[ActorFactory()])
    EventFactory(title="Public")
    EventFactory(title="Led", is_public=False, commitments=[mine])
    EventFactory(title="Supported", is_public=False, commitments=[supported, other])
    EventFactory(title="Other state", is_public=False, commitments=[other])
    EventFactory(title="Unlinked private", is_public=False)
    visible = list(events_visible_to(user=liaison).values_list("title", flat=True))
    assert sorted(visible) == ["Led", "Public", "Supported"]


def test_liaison_without_a_state_sees_public_events_only(db):
    liaison = LiaisonFactory(actor=None)
    EventFactory(title="Public")
    EventFactory(title="Private", is_public=False)
    assert list(events_visible_to(user=liaison).values_list("title", flat=True)) == ["Public"]


# Deadline events ------------------------------------------------------------------------


def test_setting_a_target_date_makes_a_deadline_event():
    commitment = CommitmentFactory(title="UNRCCA resolution", target_date=D(2026, 9, 13))
    event = Event.objects.get(deadline_of=commitment)
    assert event.kind == Event.Kind.DEADLINE
    assert event.rule == Event.Rule.ONCE
    assert event.start_date == D(2026, 9, 13)
    assert event.title == "Target date: UNRCCA resolution"
    assert list(event.commitments.all()) == [commitment]
    assert event.is_public is False


def test_changing_the_target_date_moves_the_same_event():
    commitment = CommitmentFactory(target_date=D(2026, 9, 13))
    first = Event.objects.get(deadline_of=commitment)
    commitment.target_date = D(2027, 1, 31)
    commitment.save()
    moved = Event.objects.get(deadline_of=commitment)
    assert moved.pk == first.pk
    assert moved.start_date == D(2027, 1, 31)
    assert Event.objects.filter(kind=Event.Kind.DEADLINE).count() == 1


def test_clearing_the_target_date_removes_the_deadline_event():
    commitment = CommitmentFactory(target_date=D(2026, 9, 13))
    other = CommitmentFactory(target_date=D(2026, 10, 1))
    commitment.target_date = None
    commitment.save()
    assert not Event.objects.filter(deadline_of=commitment).exists()
    assert Event.objects.filter(deadline_of=other).exists()


def test_a_commitment_without_target_date_has_no_deadline_event():
    CommitmentFactory(target_date=None)
    assert not Event.objects.filter(kind=Event.Kind.DEADLINE).exists()


def test_deleting_the_commitment_deletes_its_deadline_event():
    commitment = CommitmentFactory(target_date=D(2026, 9, 13))
    commitment.delete()
    assert not Event.objects.filter(kind=Event.Kind.DEADLINE).exists()


def test_deadline_event_keeps_is_public_chosen_by_the_secretariat():
    commitment = CommitmentFactory(target_date=D(2026, 9, 13))
    Event.objects.filter(deadline_of=commitment).update(is_public=True)
    commitment.target_date = D(2026, 9, 14)
    commitment.save()
    assert Event.objects.get(deadline_of=commitment).is_public is True


def test_admin_change_form_syncs_the_deadline(client, superuser):
    commitment = CommitmentFactory(target_date=None)
    client.force_login(superuser)
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {
        key: [str(v) for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }
    data["target_date"] = "2030-12-12"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Event.objects.get(deadline_of=commitment).start_date == D(2030, 12, 12)


# Rule in words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (
            {"rule": "yearly", "start_date": D(2017, 12, 12)},
            "Every year on 12 December, since 2017",
        ),
        (
            {"rule": "every_n_years", "interval_years": 5, "start_date": D(2015, 12, 12)},
            "Every 5 years on 12 December, from 2015",
        ),
        ({"rule": "once", "start_date": D(2021, 12, 11)}, "Once, on 11 December 2021"),
        (
            {"rule": "once", "start_date": D(2021, 12, 11), "start_time": datetime.time(10, 30)},
            "Once, on 11 December 2021, at 10:30 Asia/Ashgabat time",
        ),
        (
            {"rule": "yearly", "start_date": D(2024, 2, 29), "until": D(2030, 1, 1)},
            "Every year on 29 February, since 2024 (28 February in common years), "
            "until 1 January 2030",
        ),
    ],
)
def test_rule_in_words(fields, text):
    assert event_rule_text(event=Event(title="x", **fields)) == text


def test_next_occurrences_of_a_five_yearly_event():
    forum = EventFactory(
        rule=Event.Rule.EVERY_N_YEARS, interval_years=5, start_date=D(2015, 12, 12)
    )
    found = event_next_occurrences(event=forum, today=D(2025, 12, 13), count=3)
    assert dates(found) == [D(2030, 12, 12), D(2035, 12, 12), D(2040, 12, 12)]


def test_next_occurrences_is_each_events_first_in_the_order_of_occurrences_between():
    """What the dashboard lists: the first of each event's occurrences, sorted as all of them
    are, worked out without the later ones."""
    EventFactory(title="Yearly", start_date=D(2017, 12, 12))
    EventFactory(title="Five-yearly", rule=Event.Rule.EVERY_N_YEARS, interval_years=5,
                 start_date=D(2015, 12, 12))  # fmt: skip
    EventFactory(title="Once, over", rule=Event.Rule.ONCE, start_date=D(2020, 1, 1))
    EventFactory(title="Under way", start_date=D(2010, 6, 28), end_date=D(2010, 7, 3))
    EventFactory(title="Timed", start_date=D(2019, 7, 1), start_time=datetime.time(9, 0))
    EventFactory(title="Ended", start_date=D(2010, 3, 1), until=D(2024, 12, 31))
    start, end = D(2025, 7, 1), D(2030, 12, 31)
    every = occurrences_between(start=start, end=end, events=Event.objects.all(), overlapping=True)
    first_of_each = {}
    for occurrence in every:
        first_of_each.setdefault(occurrence.event.pk, occurrence)
    found = next_occurrences(start=start, end=end, events=Event.objects.all(), overlapping=True)
    assert found == list(first_of_each.values())
    assert [o.event.title for o in found] == ["Under way", "Timed", "Five-yearly", "Yearly"]


def mixed_events(count: int, seed: int = 16) -> None:
    """Events of every rule, some of several days, on 29 February, timed, ended, not begun."""
    chance = random.Random(seed)
    rows = []
    for n in range(count):
        start = D(chance.choice([1996, 2004, 2019, 2024, 2026, 2027, 2031]), 1, 1)
        start += datetime.timedelta(days=chance.randrange(366))
        if n % 7 == 0:
            start = D(chance.choice([2000, 2016, 2024, 2028]), 2, 29)
        rule = chance.choice(list(Event.Rule))
        span = chance.choice([0, 0, 0, 0, 1, 6, 40])
        rows.append(
            Event(
                title=f"Event {chance.randrange(50)}",  # titles repeat: ties go to the pk
                slug=f"event-{n}",
                kind=Event.Kind.FORUM,
                rule=rule,
                interval_years=chance.choice([1, 2, 5]),
                start_date=start,
                end_date=start + datetime.timedelta(days=span) if span else None,
                start_time=chance.choice([None, None, datetime.time(9), datetime.time(23, 30)]),
                time_zone=chance.choice(["Asia/Ashgabat", "America/New_York"]),
                until=chance.choice([None, None, D(2025, 6, 30), D(2027, 2, 28)]),
            )
        )
    Event.objects.bulk_create(rows)


@pytest.mark.parametrize(
    "start",
    [D(2026, 12, 31), D(2027, 1, 1), D(2027, 2, 28), D(2028, 2, 28), D(2028, 2, 29),
     D(2028, 3, 1), D(2026, 7, 15), D(2025, 6, 30)],
)  # fmt: skip
@pytest.mark.parametrize("batch", [1, 2, 32])
def test_first_occurrences_are_next_occurrences_first_ones(monkeypatch, start, batch):
    """The dashboard's bounded reading finds the same first occurrences, in the same order, as
    working out every event's next one: year ends, 29 February in leap and common years,
    events under way, timed, ended, not yet begun, with equal titles; small batches make it
    decide to stop at many more places."""
    monkeypatch.setattr(events_module, "FIRST_OCCURRENCES_BATCH", batch)
    mixed_events(400)
    end = D(start.year + 5, 12, 31)
    every = next_occurrences(start=start, end=end, events=Event.objects.all(), overlapping=True)
    for limit in (1, 10, 45, 400):
        found = first_occurrences(start=start, end=end, events=Event.objects.all(), limit=limit)
        assert found == every[:limit]


def first_titles(monkeypatch, *, batch: int, start: datetime.date, limit: int = 1) -> list[str]:
    monkeypatch.setattr(events_module, "FIRST_OCCURRENCES_BATCH", batch)
    end = D(start.year + 5, 12, 31)
    found = first_occurrences(start=start, end=end, events=Event.objects.all(), limit=limit)
    return [occurrence.event.title for occurrence in found]


def test_first_occurrences_read_every_event_of_the_last_day_shown(monkeypatch):
    """Events on the day of the last one shown may still sort before it (by title): reading
    stops only after an event that cannot fall on that day."""
    for title in ("E", "D", "C", "B", "A"):  # read in this order, listed in the other
        EventFactory(title=title, start_date=D(2017, 3, 1))
    EventFactory(title="After", start_date=D(2017, 3, 2))

    assert first_titles(monkeypatch, batch=1, start=D(2027, 2, 1)) == ["A"]


def test_first_occurrences_read_29_february_as_28_february_in_a_common_year(monkeypatch):
    EventFactory(title="Z leap day", start_date=D(2016, 2, 29))
    EventFactory(title="A leap day", start_date=D(2016, 2, 29))
    EventFactory(title="M day", start_date=D(2017, 2, 28))

    assert first_titles(monkeypatch, batch=2, start=D(2027, 2, 1)) == ["A leap day"]


def test_first_occurrences_read_only_the_soonest_events(monkeypatch, django_assert_num_queries):
    """Ten of 600 yearly days: one query of one batch of events, however many there are."""
    first_day = D(2026, 1, 1)
    Event.objects.bulk_create(
        Event(title=f"Day {n}", slug=f"day-{n}", kind=Event.Kind.INTERNATIONAL_DAY,
              rule=Event.Rule.YEARLY, start_date=first_day + datetime.timedelta(days=n % 365))
        for n in range(600)
    )  # fmt: skip
    worked_out = []
    monkeypatch.setattr(events_module, "_occurrences_in", counted(worked_out))
    start, end = D(2026, 3, 1), D(2031, 12, 31)

    with django_assert_num_queries(1):
        found = first_occurrences(start=start, end=end, events=Event.objects.all(), limit=10)

    assert [o.date for o in found] == [D(2026, 3, 1)] * 2 + [D(2026, 3, 2)] * 2 + [
        D(2026, 3, 3)
    ] * 2 + [D(2026, 3, 4)] * 2 + [D(2026, 3, 5)] * 2
    assert len(worked_out) == events_module.FIRST_OCCURRENCES_BATCH


def counted(calls: list):
    original = events_module._occurrences_in

    def occurrences_in(**kwargs):
        calls.append(kwargs["event"].pk)
        return original(**kwargs)

    return occurrences_in


# Demo events ------------------------------------------------------------------------


def test_demo_events_load_links_commitments_and_paragraphs_and_is_idempotent():
    paragraph = ParagraphFactory(document__short_name="ashgabat-2020", number=14)
    commitment = CommitmentFactory(slug="international-neutrality-day-events")
    said = events_demo_load()
    day = Event.objects.get(slug="international-day-of-neutrality")
    assert list(day.commitments.all()) == [commitment]
    assert list(day.paragraphs.all()) == [paragraph]
    assert day.anniversary_of_year == 1995
    forum = Event.objects.get(slug="neutrality-forum")
    assert (forum.rule, forum.interval_years, forum.start_date) == (
        "every_n_years",
        5,
        D(2015, 12, 12),
    )
    assert any("not linked" in line for line in said)
    count = Event.objects.count()
    assert events_demo_load() == []
    assert Event.objects.count() == count == 17


def test_event_refuses_unknown_time_zone_and_until_before_start():
    event = EventFactory.build(time_zone="Europe/Geneva", until=D(2016, 1, 1))
    with pytest.raises(ValidationError) as error:
        event.full_clean()
    assert "is not a time zone" in str(error.value.message_dict["time_zone"])
    assert "until" in error.value.message_dict


def test_event_refuses_a_zero_year_interval():
    event = EventFactory.build(rule=Event.Rule.EVERY_N_YEARS, interval_years=0)
    with pytest.raises(ValidationError) as error:
        event.full_clean()
    assert "interval_years" in error.value.message_dict


def test_admin_refuses_an_unknown_time_zone_and_creates_nothing(client, superuser):
    client.force_login(superuser)
    data = {
        "title": "Forum",
        "slug": "forum",
        "kind": "forum",
        "time_zone": "Europe/Geneva",
        "rule": "once",
        "start_date": "2026-12-12",
        "interval_years": "1",
        "lead_times_days": "[30, 7, 1]",
        "is_public": "on",
    }
    response = client.post(reverse("admin:tracker_event_add"), data)
    assert response.status_code == 200
    assert "Europe/Geneva is not a time zone" in response.content.decode()
    assert not Event.objects.exists()
    data["time_zone"] = "Europe/Zurich"
    assert client.post(reverse("admin:tracker_event_add"), data).status_code == 302
    assert Event.objects.get().time_zone == "Europe/Zurich"


def test_next_occurrences_of_events_that_start_years_from_now():
    once = EventFactory(rule=Event.Rule.ONCE, start_date=D(2040, 5, 1))
    yearly = EventFactory(start_date=D(2040, 5, 1))
    assert dates(event_next_occurrences(event=once, today=D(2025, 1, 1))) == [D(2040, 5, 1)]
    assert dates(event_next_occurrences(event=yearly, today=D(2025, 1, 1), count=2)) == [
        D(2040, 5, 1),
        D(2041, 5, 1),
    ]
