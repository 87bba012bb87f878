import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.models import Milestone, StatusUpdate
from commitments.statuses import Status
from core.local_time import reader_today
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    EventFactory,
    ParagraphFactory,
    StatusUpdateFactory,
    post_status_update,
)
from tracker import events, selectors
from tracker.models import Event
from tracker.templatetags.dashboard import document_options
from tracker.views import dashboard

pytestmark = pytest.mark.django_db

# A year end, so "from today on" and "N days ago" cross a year boundary.
NOW = datetime.datetime(2026, 12, 31, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()
LIST_URL = reverse("commitments:commitment_list")


def counts_by_status(status_counts):
    return {item.status: item.count for item in status_counts}


def test_status_counts_cover_every_status_in_order(secretariat):
    CommitmentFactory.create_batch(2, status=Status.STALLED)
    CommitmentFactory(status=Status.ACHIEVED)

    counts = selectors.dashboard_status_counts(user=secretariat)

    assert [item.status for item in counts] == list(Status)
    assert counts_by_status(counts)[Status.STALLED] == 2
    assert counts_by_status(counts)[Status.ACHIEVED] == 1
    assert counts_by_status(counts)[Status.NOT_STARTED] == 0
    assert counts[0].definition.startswith("Nothing has been done")


def test_paragraph_matrix_counts_each_commitment_once_per_paragraph(secretariat):
    document = DocumentFactory()
    first, second = ParagraphFactory(document=document), ParagraphFactory(document=document)
    CommitmentFactory(paragraphs=[first, second], status=Status.IN_PROGRESS)
    CommitmentFactory(paragraphs=[first], status=Status.IN_PROGRESS)
    CommitmentFactory(paragraphs=[second], status=Status.STALLED)

    matrix = selectors.dashboard_paragraph_matrix(user=secretariat, document=document)

    assert matrix.document == document
    assert [row.paragraph for row in matrix.rows] == [first, second]
    assert counts_by_status(matrix.rows[0].counts)[Status.IN_PROGRESS] == 2
    assert counts_by_status(matrix.rows[1].counts)[Status.IN_PROGRESS] == 1
    assert counts_by_status(matrix.rows[1].counts)[Status.STALLED] == 1
    assert [row.total for row in matrix.rows] == [2, 2]


def test_matrix_lists_paragraphs_without_commitments_with_zeroes(secretariat):
    paragraph = ParagraphFactory()

    matrix = selectors.dashboard_paragraph_matrix(user=secretariat, document=paragraph.document)

    assert matrix.rows[0].paragraph == paragraph
    assert matrix.rows[0].total == 0


def test_dashboard_links_each_matrix_cell_to_the_filtered_table(secretariat_client):
    paragraph = ParagraphFactory(number=7)
    CommitmentFactory(paragraphs=[paragraph], status=Status.STALLED)

    response = secretariat_client.get(reverse("dashboard"))

    list_url = reverse("commitments:commitment_list")
    assert response.status_code == 200
    assert f'href="{list_url}?status=stalled&amp;paragraph={paragraph.pk}"' in response.text
    assert f'href="{list_url}?status=stalled"' in response.text
    assert "Work began but nothing has moved for a long time" in response.text  # definitions


def test_recent_updates_newest_first_and_internal_ones_only_for_the_secretariat(
    secretariat, liaison
):
    older = StatusUpdateFactory(happened_on=datetime.date(2021, 4, 16))
    newer = StatusUpdateFactory(happened_on=datetime.date(2023, 3, 1))
    internal = StatusUpdateFactory(
        happened_on=datetime.date(2024, 1, 1), visibility=StatusUpdate.Visibility.INTERNAL
    )

    assert list(selectors.dashboard_recent_updates(user=secretariat)) == [internal, newer, older]
    assert list(selectors.dashboard_recent_updates(user=liaison)) == [newer, older]


def test_liaison_dashboard_never_shows_an_internal_narrative(liaison_client):
    StatusUpdateFactory(narrative="Public progress note.")
    StatusUpdateFactory(
        narrative="Secretariat working note.", visibility=StatusUpdate.Visibility.INTERNAL
    )

    response = liaison_client.get(reverse("dashboard"))

    assert "Public progress note." in response.text
    assert "Secretariat working note." not in response.text


DAY = datetime.timedelta(days=1)


def test_overdue_lists_the_longest_overdue_first_and_leaves_out_the_finished(secretariat):
    recent = CommitmentFactory(title="Recent", target_date=TODAY - DAY)
    oldest = CommitmentFactory(title="Oldest", target_date=TODAY - 300 * DAY)
    milestone_late = CommitmentFactory(title="Milestone", target_date=TODAY + 400 * DAY)
    Milestone.objects.create(commitment=milestone_late, title="Step", due_on=TODAY - 30 * DAY)
    CommitmentFactory(title="Done", target_date=TODAY - 5 * DAY, status=Status.ACHIEVED)
    CommitmentFactory(title="Due today", target_date=TODAY)

    overdue = list(selectors.dashboard_overdue_commitments(user=secretariat, today=TODAY))

    assert overdue == [oldest, milestone_late, recent]


def test_due_soon_lists_the_window_soonest_first(settings, secretariat):
    settings.TRACKER_DUE_SOON_DAYS = 30
    last = CommitmentFactory(title="Last day", target_date=TODAY + 30 * DAY)
    today = CommitmentFactory(title="Today", target_date=TODAY)
    CommitmentFactory(title="Beyond", target_date=TODAY + 31 * DAY)
    CommitmentFactory(title="Overdue", target_date=TODAY - DAY)

    soon = list(selectors.dashboard_due_soon_commitments(user=secretariat, today=TODAY))

    assert soon == [today, last]


def test_deadline_counts_count_each_state_and_freshness(secretariat):
    CommitmentFactory(target_date=TODAY - DAY, last_activity_on=TODAY - 10 * DAY)
    CommitmentFactory(target_date=TODAY + DAY, last_activity_on=TODAY - 250 * DAY)
    CommitmentFactory(last_activity_on=TODAY - 500 * DAY)
    CommitmentFactory(status=Status.ACHIEVED, last_activity_on=TODAY - 900 * DAY)

    counts = selectors.dashboard_deadline_counts(user=secretariat, today=TODAY)

    assert (counts.overdue, counts.due_soon) == (1, 1)
    assert counts.freshness == [
        ("on_time", "On time", 1),
        ("late", "Late", 1),
        ("very_late", "Very late", 1),
    ]


def test_upcoming_target_dates_from_today_on_the_soonest_first(secretariat):
    CommitmentFactory(title="Yesterday", target_date=TODAY - datetime.timedelta(days=1))
    later = CommitmentFactory(title="Forum", target_date=datetime.date(2030, 12, 12))
    today = CommitmentFactory(title="Report due", target_date=TODAY)
    CommitmentFactory(title="Done", target_date=datetime.date(2027, 3, 1), status=Status.ACHIEVED)

    items = selectors.dashboard_upcoming_items(user=secretariat, today=TODAY)

    assert [(item.date, item.title, item.url) for item in items] == [
        (TODAY, "Report due", today.get_absolute_url()),
        (datetime.date(2030, 12, 12), "Forum", later.get_absolute_url()),
    ]


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("Asia/Ashgabat", datetime.date(2027, 1, 1)),  # UTC+5: already the new year
        ("America/New_York", datetime.date(2026, 12, 31)),
        ("Not/A_Zone", datetime.date(2026, 12, 31)),  # falls back to UTC
    ],
)
def test_today_is_the_readers_today(secretariat, time_zone, expected):
    secretariat.time_zone = time_zone
    with time_machine.travel(datetime.datetime(2026, 12, 31, 20, 0, tzinfo=datetime.UTC)):
        assert reader_today(secretariat) == expected


def test_dashboard_lists_overdue_and_upcoming_for_the_readers_day(client, secretariat):
    """In Ashgabat it is already 1 January: new year's eve has passed."""
    secretariat.time_zone = "Asia/Ashgabat"
    secretariat.save()
    CommitmentFactory(title="Due on new year's eve", target_date=datetime.date(2026, 12, 31))
    CommitmentFactory(title="Due on new year's day", target_date=datetime.date(2027, 1, 1))

    with time_machine.travel(datetime.datetime(2026, 12, 31, 20, 0, tzinfo=datetime.UTC)):
        client.force_login(secretariat)  # inside the frozen time, so the session is fresh
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    upcoming = response.context["upcoming"]
    assert [item.title for item in upcoming] == ["Due on new year's day"]
    page = response.text
    overdue = page[page.index('id="overdue"') : page.index('id="due-soon"')]
    soon = page[page.index('id="due-soon"') : page.index('id="freshness"')]
    assert "s eve" in overdue and "Overdue since 31 December 2026" in overdue
    assert "s day" in soon and "Due 1 January 2027" in soon
    assert f'href="{LIST_URL}?due=overdue">1 commitment overdue' in overdue
    assert f'href="{LIST_URL}?due=due_soon">1 commitment due soon' in soon
    freshness = page[page.index('id="freshness"') : page.index('id="upcoming"')]
    assert f'href="{LIST_URL}?freshness=on_time"><strong>2</strong>' in freshness


def post_update(commitment, author, status, happened_on, visibility="public"):
    post_status_update(
        commitment,
        author,
        status=status,
        progress=50,
        narrative=f"{status} on {happened_on}",
        happened_on=happened_on,
        visibility=visibility,
    )


def test_a_liaison_counts_and_freshness_ignore_internal_updates(secretariat, liaison):
    paragraph = ParagraphFactory()
    commitment = CommitmentFactory(paragraphs=[paragraph])
    post_update(commitment, secretariat, Status.IN_PROGRESS, datetime.date(2022, 1, 10))
    post_update(
        commitment, secretariat, Status.STALLED, datetime.date(2026, 12, 1), visibility="internal"
    )

    officer_counts = counts_by_status(selectors.dashboard_status_counts(user=secretariat))
    liaison_counts = counts_by_status(selectors.dashboard_status_counts(user=liaison))
    liaison_matrix = selectors.dashboard_paragraph_matrix(user=liaison, document=paragraph.document)

    assert (officer_counts[Status.STALLED], officer_counts[Status.IN_PROGRESS]) == (1, 0)
    assert (liaison_counts[Status.STALLED], liaison_counts[Status.IN_PROGRESS]) == (0, 1)
    assert counts_by_status(liaison_matrix.rows[0].counts)[Status.IN_PROGRESS] == 1
    # Late since 2022 for the liaison; the secretariat saw a note on 1 December.
    liaison_figures = selectors.dashboard_deadline_counts(user=liaison, today=TODAY)
    officer_figures = selectors.dashboard_deadline_counts(user=secretariat, today=TODAY)
    assert liaison_figures.freshness[2] == ("very_late", "Very late", 1)
    assert officer_figures.freshness[0] == ("on_time", "On time", 1)


def test_a_commitment_closed_internally_is_still_overdue_for_a_liaison(secretariat, liaison):
    commitment = CommitmentFactory(target_date=datetime.date(2026, 6, 1))
    post_update(
        commitment, secretariat, Status.ACHIEVED, datetime.date(2026, 12, 1), visibility="internal"
    )

    assert list(selectors.dashboard_overdue_commitments(user=secretariat, today=TODAY)) == []
    assert list(selectors.dashboard_overdue_commitments(user=liaison, today=TODAY)) == [commitment]


def test_a_commitment_closed_internally_is_still_due_for_a_liaison(secretariat, liaison):
    commitment = CommitmentFactory(target_date=datetime.date(2027, 6, 1))
    post_update(
        commitment, secretariat, Status.ACHIEVED, datetime.date(2026, 12, 1), visibility="internal"
    )

    assert selectors.dashboard_upcoming_items(user=secretariat, today=TODAY) == []
    [item] = selectors.dashboard_upcoming_items(user=liaison, today=TODAY)
    assert item.title == commitment.title


def test_upcoming_mixes_event_occurrences_with_target_dates(secretariat, liaison):
    EventFactory(title="Neutrality Day", start_date=datetime.date(1995, 12, 12))
    EventFactory(
        title="Forum",
        rule=Event.Rule.EVERY_N_YEARS,
        interval_years=5,
        start_date=datetime.date(2015, 12, 12),
        anniversary_of_year=1995,
    )
    EventFactory(title="Internal meeting", rule=Event.Rule.ONCE, start_date=TODAY, is_public=False)
    CommitmentFactory(title="Report due", target_date=datetime.date(2027, 3, 1))

    officer_items = selectors.dashboard_upcoming_items(user=secretariat, today=TODAY, limit=5)
    liaison_items = selectors.dashboard_upcoming_items(user=liaison, today=TODAY, limit=5)

    # The next occurrence of each event only: a yearly day does not crowd out the rest.
    assert [(item.date, item.title) for item in officer_items] == [
        (TODAY, "Internal meeting"),
        (datetime.date(2027, 3, 1), "Report due"),
        (datetime.date(2027, 12, 12), "Neutrality Day"),
        (datetime.date(2030, 12, 12), "Forum (35th anniversary)"),
    ]
    assert "Internal meeting" not in [item.title for item in liaison_items]


def test_a_target_date_is_listed_once_even_with_its_deadline_event(secretariat):
    commitment = CommitmentFactory(title="Report due", target_date=datetime.date(2027, 3, 1))
    events.commitment_deadline_event_sync(commitment=commitment)

    items = selectors.dashboard_upcoming_items(user=secretariat, today=TODAY)

    assert [(item.title, item.url) for item in items] == [
        ("Report due", commitment.get_absolute_url())
    ]


def make_history(commitments: int) -> None:
    document = DocumentFactory()
    paragraphs = ParagraphFactory.create_batch(3, document=document)
    for n in range(commitments):
        commitment = CommitmentFactory(
            paragraphs=paragraphs[: n % 3 + 1],
            status=list(Status)[n % len(Status)],
            target_date=datetime.date(2027, 1, 1) + datetime.timedelta(days=n),
            last_activity_on=datetime.date(2021, 1, 1),
        )
        StatusUpdateFactory.create_batch(2, commitment=commitment)


# One query each: the document list, status counts, the document's paragraphs, paragraph
# counts, recent updates, overdue, due soon, their counts, upcoming commitments, upcoming
# events; the charts add three
# (paragraph progress, the first adoption date, the achieved history). The view is called
# directly so that middleware (sessions, lockouts) owned elsewhere does not move the pin.
# The document list is read once while the content is computed (selectors.dashboard_documents):
# a second reading of the kept list would cost the query that checks no invalidation was lost
# (core.caching._cache_trusted).
DASHBOARD_QUERIES = 13


@pytest.mark.parametrize("commitments", [1, 25])
def test_dashboard_query_count_is_pinned(rf, secretariat, django_assert_num_queries, commitments):
    make_history(commitments)
    request = rf.get(reverse("dashboard"))
    request.user = secretariat

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = dashboard(request)

    assert response.status_code == 200
    assert response.content.count(b'<li class="status-count') == len(Status)


def dashboard_queries(client, *, cold: bool = False, **params) -> int:
    if cold:
        cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard"), params).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_a_full_request_costs_the_same_with_25_times_the_record(client, request, role):
    client.force_login(request.getfixturevalue(role))
    make_history(1)
    dashboard_queries(client)  # warm-up: the first request of a session may write it
    cold_with_one, warm_with_one = dashboard_queries(client, cold=True), dashboard_queries(client)

    make_history(24)

    assert dashboard_queries(client, cold=True) == cold_with_one
    assert dashboard_queries(client) == warm_with_one


def add_events_and_documents(count: int) -> None:
    """`count` yearly days spread over the year, and a tenth as many documents with text."""
    first = datetime.date(2000, 1, 1)
    Event.objects.bulk_create(
        Event(title=f"Day {n}", slug=f"day-{n}", kind=Event.Kind.INTERNATIONAL_DAY,
              rule=Event.Rule.YEARLY, start_date=first + datetime.timedelta(days=n * 7 % 366))
        for n in range(Event.objects.count(), Event.objects.count() + count)
    )  # fmt: skip
    for _ in range(count // 10):
        ParagraphFactory(document=DocumentFactory())


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_a_cold_dashboard_reads_the_same_with_30_times_the_events_and_documents(
    client, request, role, monkeypatch
):
    """The dated items work out the next occurrence of the soonest events only, and the
    document choice makes Document objects of the few it names, however many there are."""
    client.force_login(request.getfixturevalue(role))
    made = {"occurrences": 0, "documents": 0}
    monkeypatch.setattr(
        events, "_occurrences_in", counting(events._occurrences_in, "occurrences", made)
    )
    monkeypatch.setattr(
        selectors, "_document_from", counting(selectors._document_from, "documents", made)
    )
    add_events_and_documents(40)
    dashboard_queries(client)  # warm-up: the first request of a session may write it
    made.update(occurrences=0, documents=0)
    few = dashboard_queries(client, cold=True)
    assert made == {"occurrences": 40, "documents": 4}  # the one shown, the intro's three

    add_events_and_documents(1160)
    made.update(occurrences=0, documents=0)

    assert dashboard_queries(client, cold=True) == few
    assert made == {"occurrences": events.FIRST_OCCURRENCES_BATCH, "documents": 4}


def counting(function, name: str, made: dict):
    def counted(*args, **kwargs):
        made[name] += 1
        return function(*args, **kwargs)

    return counted


# Served from the cache: the document list, the counts, the matrix, the charts and the lists
# (eleven queries) are not read again. The one query checks that no invalidation was lost
# (core.caching._cache_trusted).
CACHED_DASHBOARD_QUERIES = 1


def test_the_second_request_is_served_from_the_cache(rf, secretariat, django_assert_num_queries):
    make_history(3)
    request = rf.get(reverse("dashboard"))
    request.user = secretariat
    first = dashboard(request)

    with django_assert_num_queries(CACHED_DASHBOARD_QUERIES):
        second = dashboard(request)

    assert aggregates_part(second) == aggregates_part(first)
    assert b"chart-achieved" in aggregates_part(second)


def aggregates_part(response) -> bytes:
    """The page from its heading to the lists that are not cached (the header has a nonce)."""
    content = response.content
    return content[content.index(b"<h1>Dashboard") : content.index(b"dashboard-columns")]


# One status's figure on the page: <li class="status-count status-X"><a ...><strong>N</strong>
STATUS_FIGURE = re.compile(
    r'class="status-count status-(\w+)">\s*<a [^>]*>\s*<strong>(\d+)</strong>'
)


def status_counts_shown(client) -> dict:
    """The figures as the page shows them, served from the cache or not."""
    content = client.get(reverse("dashboard")).content.decode()
    shown = {Status(status): int(count) for status, count in STATUS_FIGURE.findall(content)}
    assert set(shown) == set(Status)
    return shown


def test_a_status_update_shows_on_the_next_dashboard(client, secretariat):
    commitment = CommitmentFactory(paragraphs=[ParagraphFactory()], status=Status.NOT_STARTED)
    client.force_login(secretariat)
    assert status_counts_shown(client)[Status.ACHIEVED] == 0

    post_update(commitment, secretariat, Status.ACHIEVED, datetime.date(2026, 1, 5))

    assert status_counts_shown(client)[Status.ACHIEVED] == 1


def test_saving_or_deleting_a_commitment_shows_on_the_next_dashboard(client, secretariat):
    commitment = CommitmentFactory(status=Status.STALLED)
    client.force_login(secretariat)
    assert status_counts_shown(client)[Status.STALLED] == 1

    commitment.status = Status.IN_PROGRESS
    commitment.save()
    assert status_counts_shown(client)[Status.STALLED] == 0
    assert status_counts_shown(client)[Status.IN_PROGRESS] == 1

    commitment.delete()
    assert status_counts_shown(client)[Status.IN_PROGRESS] == 0


def test_a_liaison_is_never_served_the_secretariats_cached_counts(client, secretariat, liaison):
    commitment = CommitmentFactory(paragraphs=[ParagraphFactory()])
    post_update(commitment, secretariat, Status.IN_PROGRESS, datetime.date(2026, 1, 5))
    post_update(
        commitment, secretariat, Status.STALLED, datetime.date(2026, 2, 5), visibility="internal"
    )
    client.force_login(secretariat)
    assert status_counts_shown(client)[Status.STALLED] == 1

    client.force_login(liaison)

    assert status_counts_shown(client)[Status.STALLED] == 0
    assert status_counts_shown(client)[Status.IN_PROGRESS] == 1


def test_the_matrix_shows_one_document_the_most_recent_by_default(secretariat_client):
    older = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2015, 1, 1)))
    newer = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 1, 1)))

    default = secretariat_client.get(reverse("dashboard"))
    chosen = secretariat_client.get(reverse("dashboard"), {"document": older.document.pk})

    assert default.context["matrix"].document == newer.document
    assert f"paragraph-{older.document.pk}" not in default.text
    assert chosen.context["matrix"].document == older.document
    assert f'<option value="{older.document.pk}" selected>' in chosen.text


def test_the_document_choice_lists_every_document_and_the_intro_the_first_three(
    secretariat_client,
):
    adopted = [datetime.date(2020 - n, 1, 1) for n in range(4)]
    documents = [
        ParagraphFactory(document=DocumentFactory(short_name=f"d-{n}", adopted_on=day)).document
        for n, day in enumerate(adopted)
    ]

    shown = secretariat_client.get(reverse("dashboard"), {"document": documents[1].pk}).text

    pk = [document.pk for document in documents]
    assert (
        f'<option value="{pk[0]}">d-0</option><option value="{pk[1]}" selected>d-1</option>'
        f'<option value="{pk[2]}">d-2</option><option value="{pk[3]}">d-3</option>'
    ) in shown
    intro = shown[
        shown.index('class="site-intro"') : shown.index("</p>", shown.index("site-intro"))
    ]
    assert re.findall(r'<a href="[^"]+">([^<]+)</a>', intro) == [
        document.title for document in documents[:3]
    ] + ["all documents"]
    assert "and 1 more" in intro


def test_document_options_escape_the_names():
    options = document_options([(1, "A&B <2019>"), (2, 'Say "no"')], 2)
    assert options == (
        '<option value="1">A&amp;B &lt;2019&gt;</option>'
        '<option value="2" selected>Say &quot;no&quot;</option>'
    )


def test_a_newly_imported_document_shows_on_the_next_dashboard(secretariat_client):
    ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2015, 1, 1)))
    secretariat_client.get(reverse("dashboard"))  # the document list is now cached

    newer = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    shown = secretariat_client.get(reverse("dashboard"))

    assert shown.context["matrix"].document == newer.document
    assert f'<option value="{newer.document.pk}" selected>' in shown.text


def test_a_document_entered_without_text_is_not_the_dashboards_document(secretariat_client):
    """A later resolution entered as a record (source and date, no paragraphs) has no matrix:
    the dashboard keeps showing the newest document that has one, and does not offer it."""
    with_text = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    record = DocumentFactory(adopted_on=datetime.date(2025, 12, 12))

    shown = secretariat_client.get(reverse("dashboard"))

    assert shown.context["matrix"].document == with_text.document
    assert f'<option value="{record.pk}"' not in shown.text


@pytest.mark.parametrize("document", ["999999", "x", "1 OR 1=1", "\x00"])
def test_an_unknown_document_shows_the_most_recent_with_a_message(secretariat_client, document):
    paragraph = ParagraphFactory()

    response = secretariat_client.get(reverse("dashboard"), {"document": document})

    assert response.status_code == 200
    assert response.context["matrix"].document == paragraph.document
    assert "That document is not in the tracker" in response.text


def test_a_new_event_shows_in_the_next_dashboards_dated_items(client, secretariat):
    with time_machine.travel(NOW):
        client.force_login(secretariat)  # inside the frozen time, so the session is fresh
        assert client.get(reverse("dashboard")).context["upcoming"] == []

        EventFactory(title="Neutrality Day", rule=Event.Rule.ONCE, start_date=TODAY)

        upcoming = client.get(reverse("dashboard")).context["upcoming"]
    assert [item.title for item in upcoming] == ["Neutrality Day"]
