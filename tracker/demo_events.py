"""Demo events: the real dates of fixtures/ashgabat-2020-events.json, for `manage.py load_demo`.

Like the other demo loaders it creates what is missing and leaves what exists alone, so a
second run changes nothing and an event edited in the admin keeps its edits.
"""

import datetime
import json
from pathlib import Path

from django.conf import settings

from commitments.models import Commitment, Paragraph

from .models import Event

EVENTS_DATA_PATH = Path(settings.BASE_DIR) / "fixtures" / "ashgabat-2020-events.json"
EVENT_FIELDS = ("title", "kind", "rule", "interval_years", "anniversary_of_year", "description")


def events_demo_data_read(path: Path = EVENTS_DATA_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _event_links(spec: dict, document: str) -> tuple[list[Commitment], list[Paragraph], list]:
    commitments = list(Commitment.objects.filter(slug__in=spec["commitments"]))
    paragraphs = list(
        Paragraph.objects.filter(document__short_name=document, number__in=spec["paragraphs"])
    )
    missing = sorted(set(spec["commitments"]) - {c.slug for c in commitments})
    missing += [f"¶{n}" for n in sorted(set(spec["paragraphs"]) - {p.number for p in paragraphs})]
    return commitments, paragraphs, missing


def _event_create(spec: dict, document: str) -> tuple[Event, list]:
    fields = {name: spec[name] for name in EVENT_FIELDS if name in spec}
    end_date = spec.get("end_date")
    event = Event.objects.create(
        slug=spec["slug"],
        start_date=datetime.date.fromisoformat(spec["start_date"]),
        # The last day of an event of several days (a two-day conference, a whole year).
        end_date=datetime.date.fromisoformat(end_date) if end_date else None,
        **fields,
    )
    commitments, paragraphs, missing = _event_links(spec, document)
    event.commitments.set(commitments)
    event.paragraphs.set(paragraphs)
    return event, missing


def events_demo_load(run=None, *, data: dict | None = None) -> list[str]:
    """Create the demo events that are missing; `run` is tracker.demo's DemoRun, if any."""
    data = data if data is not None else events_demo_data_read()
    said = []
    for spec in data["events"]:
        if Event.objects.filter(slug=spec["slug"]).exists():
            continue
        event, missing = _event_create(spec, data["document"])
        said.append(f"Event: {event.title}")
        if missing:
            said.append(f"  not linked, not in the database: {', '.join(missing)}")
    for line in said:
        if run is not None:
            run.say(line)
    return said
