"""The demo record tells what the implementation facts say, and no more.

fixtures/ashgabat-2020-implementation-facts.md is the only source of truth for the demo: every
update and milestone cites a source it lists, its dated facts are all in the calendar or on a
milestone, and progress is computed from milestones, never typed.
"""

import copy
import datetime
import re
from urllib.parse import urlsplit

import pytest

from commitments.models import Commitment, Document, Milestone, StatusUpdate
from tracker.demo import (
    FIXTURES_DIR,
    DemoDataError,
    demo_data_read,
    demo_load,
    progress_from_milestones,
)
from tracker.demo_events import events_demo_data_read
from tracker.events import event_occurrences
from tracker.models import Event

PASSWORD = "demo-password-for-fact-tests"
FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2031, 12, 31)
FACTS = (FIXTURES_DIR / "ashgabat-2020-implementation-facts.md").read_text(encoding="utf-8")
ADDRESS = re.compile(r"(?:[a-z0-9-]+\.)+(?:net|ru|org|tm|tr|com)(?:/[^\s|;()]*)?")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAY = re.compile(rf"\b(\d{{1,2}})(?:-(\d{{1,2}}))? ({'|'.join(MONTHS)}) (\d{{4}})\b")


def address(url: str) -> str:
    """A web address without scheme, "www." or a trailing slash, as the facts file writes it."""
    url = re.sub(r"^https?://", "", url.strip())
    return url.removeprefix("www.").rstrip("/")


FACTS_ADDRESSES = {address(found) for found in ADDRESS.findall(FACTS)}


def in_facts(url: str) -> bool:
    """The facts cite some sources by a prefix (newscentralasia.net/2024/03/25/): a URL under it
    is that source."""
    url = address(url)
    return any(url == known or url.startswith(known + "/") for known in FACTS_ADDRESSES)


def facts_days() -> set[tuple[datetime.date, datetime.date]]:
    """The first and last day of every date the facts' table names ("27-28 Nov 2025")."""
    days = set()
    for line in FACTS.splitlines():
        if not line.startswith("|"):
            continue
        for first, last, month, year in DAY.findall(line):
            month = MONTHS.index(month) + 1
            first_day = datetime.date(int(year), month, int(first))
            days.add((first_day, datetime.date(int(year), month, int(last or first))))
    return days


@pytest.fixture
def loaded(db):
    return demo_load(password=PASSWORD)


def test_the_facts_file_is_read_as_expected():
    """The parsing the other tests rely on finds the facts' sources and days."""
    assert "newscentralasia.net/2024/03/25" in FACTS_ADDRESSES
    assert "webtv.un.org" in FACTS_ADDRESSES
    assert in_facts("https://www.newscentralasia.net/2024/03/25/un-declares-2025/")
    assert not in_facts("https://www.newscentralasia.net/2024/12/11/a-conference/")
    assert not in_facts("https://mfa.gov.tm/en/articles/4930")
    assert (datetime.date(2025, 11, 27), datetime.date(2025, 11, 28)) in facts_days()
    assert (datetime.date(2023, 2, 24), datetime.date(2023, 2, 24)) in facts_days()


def test_no_progress_figure_is_typed_in_the_fixture():
    for spec in demo_data_read()["commitments"]:
        assert spec["milestones"], spec["slug"]
        for entry in spec["history"]:
            assert "progress" not in entry, (spec["slug"], entry["date"])


def test_every_update_cites_a_source_the_facts_list(loaded):
    for update in StatusUpdate.objects.prefetch_related("links"):
        urls = [link.url for link in update.links.all()]
        assert any(in_facts(url) for url in urls), (update.commitment.slug, update.happened_on)


def test_every_milestone_cites_a_source_the_facts_list(loaded):
    for spec in demo_data_read()["commitments"]:
        for milestone in spec["milestones"]:
            assert in_facts(milestone["source"]["url"]), milestone["title"]
    done = Milestone.objects.exclude(done_on=None)
    assert done.count() >= 15
    for milestone in done:
        assert in_facts(milestone.evidence_url), milestone.title
    # An open milestone has no evidence yet.
    assert not Milestone.objects.filter(done_on=None).exclude(evidence_url="").exists()


def test_each_source_has_one_title_and_a_well_formed_address():
    """One page is one document: cited under the same title everywhere, at an address that
    does not carry another site's address inside it."""
    titles = {}
    for spec in demo_data_read()["commitments"]:
        sources = [s for entry in spec["history"] for s in entry["sources"]]
        sources += [milestone["source"] for milestone in spec["milestones"]]
        for source in sources:
            titles.setdefault(source["url"], set()).add(source["title"])
            parts = urlsplit(source["url"])
            assert parts.scheme == "https" and parts.netloc, source["url"]
            assert "www." not in parts.path and "://" not in parts.path, source["url"]
    assert {url: found for url, found in titles.items() if len(found) > 1} == {}
    declaration = [url for url in titles if "tdh.gov.tm" in url]
    assert [titles[url] for url in declaration] == [
        {"TDH: Ashgabat Declaration of the International Forum of 12 December 2025"}
    ]


def test_each_updates_progress_is_the_weight_of_milestones_done_by_its_date(loaded):
    milestones = {}
    for milestone in Milestone.objects.all():
        milestones.setdefault(milestone.commitment_id, []).append(milestone)
    updates = StatusUpdate.objects.select_related("commitment")
    for update in updates:
        mine = milestones[update.commitment_id]
        total = sum(m.weight for m in mine)
        done = sum(m.weight for m in mine if m.done_on and m.done_on <= update.happened_on)
        assert update.progress == 100 * done // total, (update.commitment.slug, update.happened_on)
    # The rule gives the figures one expects, not only what the loader gives itself.
    group = Commitment.objects.get(slug="group-of-friends-of-neutrality")
    assert list(group.updates.order_by("happened_on").values_list("progress", flat=True)) == [
        0,
        10,
        20,
        30,
        40,
        50,
        50,
    ]
    assert group.progress == 50


def test_the_progress_rule_rounds_down_whole_per_cents():
    day = datetime.date(2025, 1, 1)
    earlier = datetime.date(2024, 1, 1)
    later = datetime.date(2026, 1, 1)

    assert progress_from_milestones(milestones=[(1, earlier), (2, None)], on=day) == 33
    assert progress_from_milestones(milestones=[(2, earlier), (1, later)], on=day) == 66
    assert progress_from_milestones(milestones=[(1, earlier), (1, day)], on=day) == 100
    assert progress_from_milestones(milestones=[(3, None)], on=day) == 0


def test_a_milestone_done_on_the_day_of_a_public_update_is_proved_by_it(loaded):
    tajikistan = Milestone.objects.get(title="Tajikistan joins: 27 members")

    assert tajikistan.proved_by.happened_on == datetime.date(2025, 9, 8)
    assert tajikistan.proved_by.visibility == StatusUpdate.Visibility.PUBLIC
    positions = Milestone.objects.filter(commitment=tajikistan.commitment).values_list(
        "position", flat=True
    )
    assert list(positions) == [1, 2, 3, 4, 5, 6]


def test_every_dated_fact_is_an_event_or_a_milestone(loaded):
    milestone_days = {
        day
        for due_on, done_on in Milestone.objects.values_list("due_on", "done_on")
        for day in (due_on, done_on)
        if day
    }
    # An occurrence from the first to the last day: an event of a whole year does not stand in
    # for the dates within it.
    occurrences = set()
    for event in Event.objects.all():
        span = (event.end_date - event.start_date) if event.end_date else datetime.timedelta()
        for occurrence in event_occurrences(event=event, start=FIRST_DAY, end=LAST_DAY):
            occurrences.add((occurrence.date, occurrence.date + span))

    missing = [
        (first, last)
        for first, last in sorted(facts_days())
        if (first, last) not in occurrences and not (first == last and first in milestone_days)
    ]
    assert missing == []


def test_events_of_several_days_have_their_last_day(loaded):
    almaty = Event.objects.get(slug="unrcca-programme-of-action-2026-2030")
    year = Event.objects.get(slug="international-year-of-peace-and-trust-2025")

    assert (almaty.start_date, almaty.end_date) == (
        datetime.date(2025, 11, 27),
        datetime.date(2025, 11, 28),
    )
    assert (year.start_date, year.end_date) == (
        datetime.date(2025, 1, 1),
        datetime.date(2025, 12, 31),
    )


def test_the_research_centre_shows_what_is_known_and_no_invented_figure(loaded):
    centre = Commitment.objects.get(slug="neutrality-research-and-training-centre")

    assert centre.progress == 0 and centre.public_progress == 0
    assert set(centre.updates.values_list("progress", flat=True)) == {0}
    assert not centre.milestones.exclude(done_on=None).exists()
    narratives = " ".join(centre.updates.values_list("narrative", flat=True))
    assert "Institute of Neutrality and Security" in narratives
    assert "University of Peace and Neutrality" in narratives


def test_resolution_78_266_is_under_paragraph_8_and_the_2025_year_apart_from_2021(loaded):
    mentions = StatusUpdate.objects.filter(narrative__contains="78/266")
    year_2025 = Commitment.objects.get(slug="international-year-of-peace-and-trust-2025")
    year_2021 = Commitment.objects.get(slug="year-and-forum-of-peace-and-trust-2021")

    assert mentions.exists()
    for update in mentions:
        assert list(update.commitment.paragraphs.values_list("number", flat=True)) == [8]
    assert not Commitment.objects.get(slug="culture-of-peace-and-trust").updates.filter(
        narrative__contains="78/266"
    )
    event = Event.objects.get(slug="international-year-of-peace-and-trust-2025")
    assert list(event.commitments.all()) == [year_2025]
    assert list(event.paragraphs.values_list("number", flat=True)) == [8]
    assert year_2021 not in event.commitments.all()
    assert not year_2021.updates.filter(happened_on__year__gte=2022).exists()


def test_the_documents_that_followed_are_records_with_source_and_date(loaded):
    documents = {d["short_name"]: d for d in demo_data_read()["documents"]}
    rows = Document.objects.filter(short_name__in=documents)

    assert {row.short_name: row.adopted_on for row in rows} == {
        "unrcca-resolution-2021": datetime.date(2021, 4, 16),
        "a-res-78-266": datetime.date(2024, 3, 21),
        "ashgabat-declaration-2025": datetime.date(2025, 12, 12),
    }
    for row in rows:
        assert in_facts(row.source_url), row.short_name
        # The facts quote none of their texts: no text is made up for them.
        assert not row.paragraphs.exists() and not row.full_text and not row.preamble
        assert documents[row.short_name]["links"][0]["to"] == "ashgabat-2020"


def test_the_events_fixture_cites_the_2025_year_by_its_resolution_not_the_declaration():
    year = next(
        spec
        for spec in events_demo_data_read()["events"]
        if spec["slug"] == "international-year-of-peace-and-trust-2025"
    )
    assert "newscentralasia.net/2024/03/25/" in year["description"]
    assert "tdh.gov.tm" not in year["description"]


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda spec: spec["history"][0].update(progress=20), "types a progress figure"),
        (lambda spec: spec.update(milestones=[]), "has no milestones"),
        (lambda spec: spec["milestones"][0].update(weight=0), "weight below 1"),
    ],
)
def test_a_typed_figure_or_missing_milestones_are_refused_and_nothing_is_written(
    db, spoil, message
):
    data = copy.deepcopy(demo_data_read())
    spoil(data["commitments"][-1])

    with pytest.raises(DemoDataError, match=message):
        demo_load(password=PASSWORD, data=data)

    assert not Commitment.objects.exists() and not Document.objects.exists()


def test_a_document_link_of_an_unknown_kind_is_refused(db):
    data = copy.deepcopy(demo_data_read())
    data["documents"][0]["links"] = [{"kind": "quotes", "to": "ashgabat-2020"}]

    with pytest.raises(DemoDataError, match="link the demo cannot make"):
        demo_load(password=PASSWORD, data=data)

    assert not Document.objects.exists()
