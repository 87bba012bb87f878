"""When events happen: occurrences computed from an event's date rule, and event services.

Occurrences are computed, never stored: an event's rule is the single source of truth, and
reminders (tracker.reminders) ask for the occurrences of a window when they need them.
"""

import calendar
import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear
from django.utils import dateformat
from django.utils.text import slugify
from django.utils.translation import gettext, pgettext_lazy

from commitments.models import Commitment
from core.editing import version_claim
from core.local_time import DAY_FORMAT, format_day, zone_named
from core.roles import liaison_state_id, user_can_edit_record

from .models import Event


@dataclass(frozen=True)
class Occurrence:
    """One time an event happens: a day, or the days from `date` to `last_date`."""

    event: Event
    date: datetime.date
    # Aware, in the event's own zone, when the event has a start time; None for all-day events.
    starts_at: datetime.datetime | None
    # Years since `anniversary_of_year`, only when round (a multiple of 5), else None.
    anniversary: int | None
    # The last day of an occurrence of several days (Event.end_date); None for a single day.
    last_date: datetime.date | None = None

    @property
    def last_day(self) -> datetime.date:
        return self.last_date or self.date

    def days(self) -> list[datetime.date]:
        """Every day the occurrence covers, first to last."""
        count = (self.last_day - self.date).days + 1
        return [self.date + datetime.timedelta(days=n) for n in range(count)]

    def under_way(self, today: datetime.date) -> bool:
        """Started before `today` and not over yet: the dashboard says "under way until"."""
        return self.date < today <= self.last_day

    @property
    def days_text(self) -> str:
        return day_range_text(first=self.date, last=self.last_day)

    @property
    def anniversary_label(self) -> str:
        if not self.anniversary:
            return ""
        # Russian writes "10-я годовщина": the number, then the language's own ending.
        number = self.anniversary
        suffix = ORDINAL_SUFFIXES[ordinal(number).removeprefix(str(number))]
        return gettext("%(number)s%(suffix)s anniversary") % {"number": number, "suffix": suffix}


ORDINAL_SUFFIXES = {
    "st": pgettext_lazy("ordinal ending, as in 1st anniversary", "st"),
    "nd": pgettext_lazy("ordinal ending, as in 2nd anniversary", "nd"),
    "rd": pgettext_lazy("ordinal ending, as in 3rd anniversary", "rd"),
    "th": pgettext_lazy("ordinal ending, as in 5th anniversary", "th"),
}


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, 30th ..."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def day_range_text(*, first: datetime.date, last: datetime.date) -> str:
    """ "27–28 November 2025", "30 November – 2 December 2025", or one day as format_day."""
    if last <= first:
        return format_day(first)
    if first.year != last.year:
        start = format_day(first)
    elif first.month != last.month:
        start = dateformat.format(first, DAY_FORMAT.removesuffix(" Y"))
    else:
        return f"{first.day}–{format_day(last)}"
    return f"{start} – {format_day(last)}"


# The years an event's dates may fall in (tracker.event_forms refuses others): wide enough
# for any real event and its anniversaries, narrow enough that every day computed from one (the
# day after the last, a window before the first) is a date Python can hold.
EARLIEST_EVENT_YEAR = 1900
LATEST_EVENT_YEAR = 2200


def event_dates_usable(event: Event) -> bool:
    """Whether the event's dates are in the years above. One stored otherwise (by the admin, an
    import, a commitment's target date) has no occurrences and is left out of the feeds, so a
    bad row never takes a page or a feed down for everyone."""
    dates = (event.start_date, event.end_date, event.until)
    return all(day is None or EARLIEST_EVENT_YEAR <= day.year <= LATEST_EVENT_YEAR for day in dates)


def days_after(day: datetime.date, days: int) -> datetime.date:
    """`day` moved by `days`, held at the first or last date Python has instead of failing."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.max if days > 0 else datetime.date.min


def event_span_days(event: Event) -> int:
    """How many days an occurrence lasts after its first: 0 for an event of one day."""
    if event.end_date is None or event.end_date <= event.start_date:
        return 0
    return (event.end_date - event.start_date).days


def date_in_year(*, day: datetime.date, year: int) -> datetime.date:
    """The event's day and month in `year`.

    29 February falls on 28 February in common years: a yearly day should not silently skip
    three years out of four, and the 28th keeps it in February (the ICS feed says the same
    with BYMONTHDAY=-1, the last day of February).
    """
    last_day = calendar.monthrange(year, day.month)[1]
    return datetime.date(year, day.month, min(day.day, last_day))


def _round_anniversary(*, event: Event, year: int) -> int | None:
    if event.anniversary_of_year is None:
        return None
    years = year - event.anniversary_of_year
    return years if years > 0 and years % 5 == 0 else None


def _candidate_years(*, event: Event, start: datetime.date, end: datetime.date) -> range:
    first = event.start_date.year
    # An occurrence that began before the window may still be on at its start.
    start = days_after(start, -event_span_days(event))
    if event.rule == Event.Rule.ONCE:
        return range(first, first + 1)
    step = max(event.interval_years, 1) if event.rule == Event.Rule.EVERY_N_YEARS else 1
    # Skip whole intervals before the window instead of walking from the start year.
    skipped = max(0, (start.year - first) // step)
    return range(first + skipped * step, end.year + 1, step)


def _occurrence(*, event: Event, date: datetime.date) -> Occurrence:
    starts_at = None
    if event.start_time is not None:
        zone = zone_named(event.time_zone)
        starts_at = datetime.datetime.combine(date, event.start_time, tzinfo=zone)
    anniversary = _round_anniversary(event=event, year=date.year)
    span = event_span_days(event)
    last_date = days_after(date, span) if span else None
    return Occurrence(
        event=event, date=date, starts_at=starts_at, anniversary=anniversary, last_date=last_date
    )


def event_occurrences(
    *, event: Event, start: datetime.date, end: datetime.date, overlapping: bool = False
) -> list[Occurrence]:
    """The event's occurrences that begin from `start` to `end`, both included, in date order;
    with `overlapping`, also one that began earlier and is still on at `start` (the pages show
    an event on every day it covers; reminders count from the first day, so they ask for
    beginnings only, and each occurrence is planned once)."""
    return list(_occurrences_in(event=event, start=start, end=end, overlapping=overlapping))


def event_on_between(*, event: Event, start: datetime.date, end: datetime.date) -> bool:
    """Whether the event is on at some day from `start` to `end`, both included (an occurrence
    begun earlier and still on at `start` counts), without working out its other occurrences."""
    on = _occurrences_in(event=event, start=start, end=end, overlapping=True)
    return next(on, None) is not None


def _occurrences_in(
    *, event: Event, start: datetime.date, end: datetime.date, overlapping: bool
) -> Iterator[Occurrence]:
    """event_occurrences, one at a time, in date order."""
    if not event_dates_usable(event):
        return
    for year in _candidate_years(event=event, start=start, end=end):
        date = date_in_year(day=event.start_date, year=year)
        if date < event.start_date or (event.until and date > event.until) or date > end:
            continue
        occurrence = _occurrence(event=event, date=date)
        first = occurrence.date if not overlapping else occurrence.last_day
        if start <= first and occurrence.date <= end:
            yield occurrence


def _occurrence_sort_key(occurrence: Occurrence) -> tuple:
    # All-day occurrences first on their day, then by start time (as UTC), then by title.
    starts = occurrence.starts_at
    instant = starts.timestamp() if starts else float("-inf")
    return (occurrence.date, instant, occurrence.event.title, occurrence.event.pk or 0)


def events_in_window(
    *, start: datetime.date, end: datetime.date, events: QuerySet | None = None
) -> QuerySet:
    """Events that can have an occurrence between `start` and `end` (one query when iterated).

    An event of several days whose series ended before `start` may still be on then: those are
    kept, and event_occurrences decides."""
    events = Event.objects.all() if events is None else events
    still_on = Q(until__isnull=True) | Q(until__gte=start) | Q(end_date__gt=F("start_date"))
    return events.filter(start_date__lte=end).filter(still_on)


def occurrences_between(
    *,
    start: datetime.date,
    end: datetime.date,
    events: QuerySet | None = None,
    overlapping: bool = False,
) -> list[Occurrence]:
    """Every occurrence of `events` (default: all) that begins from `start` to `end`, both
    included; with `overlapping`, every one on at some day of them (event_occurrences).

    Sorted by date, then start time, then title. Costs the one query that fetches the events;
    prefetch on `events` whatever the caller reads from them.
    """
    occurrences = [
        occurrence
        for event in events_in_window(start=start, end=end, events=events)
        for occurrence in event_occurrences(
            event=event, start=start, end=end, overlapping=overlapping
        )
    ]
    return sorted(occurrences, key=_occurrence_sort_key)


def next_occurrences(
    *, start: datetime.date, end: datetime.date, events: QuerySet, overlapping: bool = False
) -> list[Occurrence]:
    """The first occurrence of each of `events` from `start` to `end` (with `overlapping`, one
    still on at `start` counts), sorted as occurrences_between sorts: its first occurrence of
    each event, without working out the later ones (the dashboard's 2,000 events over five
    years were some 6,000 occurrences, to keep 2,000). One query."""
    in_window = events_in_window(start=start, end=end, events=events)
    firsts = _first_of_each(in_window, start=start, end=end, overlapping=overlapping)
    return sorted(firsts, key=_occurrence_sort_key)


def _first_of_each(
    events: Iterable[Event], *, start: datetime.date, end: datetime.date, overlapping: bool
) -> Iterator[Occurrence]:
    """The first occurrence of each event in the window, for those that have one."""
    for event in events:
        first = next(
            _occurrences_in(event=event, start=start, end=end, overlapping=overlapping), None
        )
        if first is not None:
            yield first


# The events first_occurrences reads at a time, growing as it needs more.
FIRST_OCCURRENCES_BATCH = 100


def first_occurrences(
    *, start: datetime.date, end: datetime.date, events: QuerySet, limit: int
) -> list[Occurrence]:
    """next_occurrences(..., overlapping=True)[:limit], reading the events in the order of the
    earliest day each can next occur (_by_earliest_possible) and stopping once no event still
    unread can come before the `limit`-th found: what the dashboard shows of 2,000 events is
    some ten of them, found among the first hundred read, whatever the number of events."""
    ordered = _by_earliest_possible(events_in_window(start=start, end=end, events=events), start)
    found, read, batch = [], 0, FIRST_OCCURRENCES_BATCH
    while True:
        rows = list(ordered[read : read + batch])
        firsts = _first_of_each(rows, start=start, end=end, overlapping=True)
        found = sorted([*found, *firsts], key=_occurrence_sort_key)
        if len(rows) < batch or _none_can_come_before(found, limit, rows[-1].earliest_key):
            return found[:limit]
        read, batch = read + batch, batch * 4


def _none_can_come_before(found: list[Occurrence], limit: int, unread_from: int) -> bool:
    """Whether `limit` occurrences are found and an event whose earliest possible day has the
    key `unread_from` (or later) cannot sort before the last of them."""
    return len(found) >= limit and unread_from > _day_key(found[limit - 1].date)


def _day_key(day: datetime.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _by_earliest_possible(events: QuerySet, start: datetime.date) -> QuerySet:
    """`events` with `earliest_key` (YYYYMMDD as a number) no later than the first day of their
    first occurrence from `start` on, in that order; a ONCE event of one day before `start`,
    which never occurs again, left out."""
    month_day = ExtractMonth("start_date") * 100 + ExtractDay("start_date")
    # 29 February falls on the 28th in common years (date_in_year): 228 keeps it a lower bound.
    lowest_month_day = Case(When(month_day=229, then=Value(228)), default=F("month_day"))
    start_key = _day_key(start) - start.year * 10000
    earliest = Case(
        # Of several days: it may have begun before `start` and still be on, so read it first.
        When(end_date__gt=F("start_date"), then=Value(0)),
        When(start_date__gte=start, then=ExtractYear("start_date") * 10000 + F("month_day")),
        When(month_day__gte=start_key, then=Value(start.year * 10000) + lowest_month_day),
        default=Value((start.year + 1) * 10000) + lowest_month_day,
    )
    over = Q(rule=Event.Rule.ONCE, start_date__lt=start) & ~Q(end_date__gte=start)
    events = events.exclude(over).alias(month_day=month_day).annotate(earliest_key=earliest)
    return events.order_by("earliest_key", "pk")


def event_next_occurrences(
    *, event: Event, today: datetime.date, count: int = 5
) -> list[Occurrence]:
    """The event's next `count` occurrences from `today` on, one under way today first (fewer
    when the series ends)."""
    step = max(event.interval_years, 1) if event.rule == Event.Rule.EVERY_N_YEARS else 1
    # An event that starts years from now still shows its first `count` occurrences.
    first_year = max(today.year, event.start_date.year)
    end = datetime.date(min(first_year + step * count, datetime.MAXYEAR), 12, 31)
    return event_occurrences(event=event, start=today, end=end, overlapping=True)[:count]


def event_rule_text(*, event: Event) -> str:
    """The date rule in words, e.g. "Every 5 years on 12 December, from 2015"."""
    day = f"{event.start_date.day} {event.start_date:%B}"
    span = event_span_days(event)
    if event.rule == Event.Rule.ONCE and span:
        last = event.start_date + datetime.timedelta(days=span)
        text = f"Once, {day_range_text(first=event.start_date, last=last)}"
    elif event.rule == Event.Rule.ONCE:
        text = f"Once, on {day} {event.start_date.year}"
    elif event.rule == Event.Rule.EVERY_N_YEARS and event.interval_years > 1:
        text = f"Every {event.interval_years} years on {day}, from {event.start_date.year}"
    else:
        text = f"Every year on {day}, since {event.start_date.year}"
    if event.start_date.month == 2 and event.start_date.day == 29 and event.rule != Event.Rule.ONCE:
        text += " (28 February in common years)"
    if span and event.rule != Event.Rule.ONCE:
        text += f", {span + 1} days each time"
    if event.start_time is not None:
        text += f", at {event.start_time:%H:%M} {event.time_zone} time"
    if event.until and event.rule != Event.Rule.ONCE:
        text += f", until {event.until.day} {event.until:%B %Y}"
    return text


def events_visible_to(*, user) -> QuerySet:
    """Events a person may see on the pages and in their personal feed.

    The secretariat sees every event. A liaison sees public events and those concerning a
    commitment their state leads or supports (its deadlines among them), so that what their
    feed lists always opens on the page it links to. Everyone else (a contributor among them,
    whatever their organisation leads) sees public events only.
    """
    if user_can_edit_record(user):
        return Event.objects.all()
    actor_id = liaison_state_id(user)
    if actor_id is None:
        return Event.objects.filter(is_public=True)
    concerning_state = Event.objects.filter(
        Q(commitments__lead_actors=actor_id) | Q(commitments__supporting_actors=actor_id)
    )
    return Event.objects.filter(Q(is_public=True) | Q(pk__in=concerning_state.values("pk")))


def _event_audience(user) -> tuple:
    """What events_visible_to decides by: users with the same audience see the same events."""
    if user_can_edit_record(user):
        return ("secretariat",)
    return ("state", liaison_state_id(user))


# Event ids per statement (SQLite takes at most 32,766 parameters, PostgreSQL 65,535): each is
# a parameter three times in _event_facts_sql, beside two per liaison's state.
IDS_PER_QUERY = 5000


def _visible_to_audience(audience: tuple, existing: set, public: set, concerning: dict) -> set:
    """events_visible_to's rule for one audience (_event_audience), on facts read once."""
    if audience == ("secretariat",):
        return existing
    return public | concerning.get(audience[1], set())


def _event_facts(event_ids: list[int], states: set) -> tuple[set, set, dict[int, set[int]]]:
    """(the ids among `event_ids` that exist, those public, the ids each of `states` concerns:
    a commitment the event concerns is led or supported by it), in one statement per
    IDS_PER_QUERY events (_event_facts_sql)."""
    existing, public, concerning = set(), set(), defaultdict(set)
    for start in range(0, len(event_ids), IDS_PER_QUERY):
        chunk = event_ids[start : start + IDS_PER_QUERY]
        sql, params = _event_facts_sql(chunk, sorted(states))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for event_id, is_public, state in cursor.fetchall():
                if state is not None:
                    concerning[state].add(event_id)
                    continue
                existing.add(event_id)
                if is_public:
                    public.add(event_id)
    return existing, public, concerning


def _event_facts_sql(event_ids: list[int], states: list) -> tuple[str, list]:
    """The events as (id, is_public, NULL) rows, and for the liaisons' states (event id, NULL,
    state) rows through the link tables: the three SELECTs the ORM would build, joined by
    UNION ALL into one round trip. Asked for every group of emails just before sending, they
    cost more to build as querysets (about 1.2 ms a group) than to run."""
    marks = ", ".join(["%s"] * len(event_ids))
    terms = [f"SELECT id, is_public, NULL FROM {Event._meta.db_table} WHERE id IN ({marks})"]
    params = list(event_ids)
    if states:
        links = Event.commitments.through._meta.db_table  # (event_id, commitment_id)
        actor_marks = ", ".join(["%s"] * len(states))
        for role in ("lead_actors", "supporting_actors"):
            actors = Commitment._meta.get_field(role).remote_field.through._meta.db_table
            terms.append(
                f"SELECT l.event_id, NULL, a.actor_id FROM {links} l JOIN {actors} a"
                f" ON a.commitment_id = l.commitment_id"
                f" WHERE l.event_id IN ({marks}) AND a.actor_id IN ({actor_marks})"
            )
            params += [*event_ids, *states]
    return " UNION ALL ".join(terms), params


def event_ids_visible_to_each(*, users: Iterable, event_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each user (by pk), which of `event_ids` they may see now: the rule of
    events_visible_to, which `/events/<slug>/` answers 404 by, applied per audience (role, a
    liaison's state) to facts read once for all of them (which events exist and are public,
    which states each concerns): one statement of three SELECTs per IDS_PER_QUERY events
    however many audiences. Reminders ask it when they plan, claim and, for every group of
    emails, just before sending (a UNION term per audience cost more than writing the emails).
    An audience here and _visible_to_audience must change with events_visible_to
    (tests/tracker/test_reminder_visibility.py compares them)."""
    audiences = {user.pk: _event_audience(user) for user in users}
    states = {audience[1] for audience in audiences.values() if audience[0] == "state"} - {None}
    ids = sorted(set(event_ids)) if audiences else []
    existing, public, concerning = _event_facts(ids, states)
    seen = {
        audience: _visible_to_audience(audience, existing, public, concerning)
        for audience in set(audiences.values())
    }
    return {pk: set(seen[audience]) for pk, audience in audiences.items()}


def _deadline_slug(commitment: Commitment) -> str:
    return f"deadline-{commitment.pk}-{commitment.slug}"[:100].rstrip("-")


def commitment_deadline_event_sync(*, commitment: Commitment) -> Event | None:
    """Make the commitment's target date an event, or remove it when the date is gone or the
    commitment is retired.

    The deadline event is a one-off event of kind "deadline", linked to the commitment, so
    reminders and feeds treat target dates like any other date. It is not public: the public
    feed carries the curated calendar, not the record.
    """
    with transaction.atomic():
        # A retired commitment has nothing left to be due.
        if commitment.target_date is None or commitment.retired_on is not None:
            Event.objects.filter(deadline_of=commitment).delete()
            return None
        fields = {
            "title": f"Target date: {commitment.title}"[:200],
            "slug": _deadline_slug(commitment),
            "kind": Event.Kind.DEADLINE,
            "rule": Event.Rule.ONCE,
            "start_date": commitment.target_date,
        }
        event, _ = Event.objects.update_or_create(
            deadline_of=commitment,
            defaults=fields,
            create_defaults={**fields, "is_public": False},
        )
        event.commitments.add(commitment)
    return event


def commitment_saved(sender, instance: Commitment, **kwargs) -> None:
    """post_save receiver, connected in TrackerConfig.ready().

    A receiver rather than a call in commitments.services because target dates are also set
    in the admin, by the importers and by fixtures, none of which go through one service;
    every one of them saves the model. Queryset .update() bypasses it, and no code changes
    target_date that way. A raw save (loaddata, tracker.backup's restore) brings its deadline
    event along as a row of its own, so it is left alone.
    """
    if kwargs.get("raw"):
        return
    if kwargs.get("created") and instance.target_date is None:
        return  # nothing is due and no event can be linked to it yet: nothing to sync
    commitment_deadline_event_sync(commitment=instance)


# Taken by pages ("/events/new/"), so never an event's address.
RESERVED_SLUGS = frozenset({"new"})


def _event_slug_new(title: str) -> str:
    """A slug from the title, unique among events; an address that stays when it is renamed."""
    base = slugify(title)[:90].strip("-") or "event"
    slug, number = base, 1
    while slug in RESERVED_SLUGS or Event.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


class DeadlineEventNotEditable(Exception):
    """A commitment's target date is edited on the commitment, never as an event."""


def event_create(*, fields: dict, commitments: Iterable, paragraphs: Iterable) -> Event:
    """A new event from the form's fields, linked to its commitments and paragraphs."""
    with transaction.atomic():
        event = Event(**fields, slug=_event_slug_new(fields["title"]))
        event.full_clean()
        event.save()
        event.commitments.set(commitments)
        event.paragraphs.set(paragraphs)
    return event


def event_update(
    *,
    event: Event,
    fields: dict,
    commitments: Iterable,
    paragraphs: Iterable,
    expected_version: int,
) -> Event:
    """Change the event as the form asks; refuse a stale form (StaleVersion), writing nothing.
    The slug stays, so its address and feed UID do not change."""
    if event.deadline_of_id is not None:
        raise DeadlineEventNotEditable(event)
    with transaction.atomic():
        version_claim(instance=event, expected_version=expected_version)
        for name, value in fields.items():
            setattr(event, name, value)
        event.full_clean()
        event.save()
        event.commitments.set(commitments)
        event.paragraphs.set(paragraphs)
    return event
