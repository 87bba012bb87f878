import datetime

import pytest
import time_machine
from django.urls import reverse

from commitments.models import StatusUpdate
from commitments.statuses import Status
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    StatusUpdateFactory,
)
from tracker import selectors
from tracker.views import reader_today

pytestmark = pytest.mark.django_db

# A year end, so "from today on" and "N days ago" cross a year boundary.
NOW = datetime.datetime(2026, 12, 31, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()


def counts_by_status(status_counts):
    return {item.status: item.count for item in status_counts}


def test_status_counts_cover_every_status_in_order():
    CommitmentFactory.create_batch(2, status=Status.STALLED)
    CommitmentFactory(status=Status.ACHIEVED)

    counts = selectors.dashboard_status_counts()

    assert [item.status for item in counts] == list(Status)
    assert counts_by_status(counts)[Status.STALLED] == 2
    assert counts_by_status(counts)[Status.ACHIEVED] == 1
    assert counts_by_status(counts)[Status.NOT_STARTED] == 0
    assert counts[0].definition.startswith("Nothing has been done")


def test_paragraph_matrix_counts_each_commitment_once_per_paragraph():
    document = DocumentFactory()
    first, second = ParagraphFactory(document=document), ParagraphFactory(document=document)
    CommitmentFactory(paragraphs=[first, second], status=Status.IN_PROGRESS)
    CommitmentFactory(paragraphs=[first], status=Status.IN_PROGRESS)
    CommitmentFactory(paragraphs=[second], status=Status.STALLED)

    [matrix] = selectors.dashboard_paragraph_matrix()

    assert matrix.document == document
    assert [row.paragraph for row in matrix.rows] == [first, second]
    assert counts_by_status(matrix.rows[0].counts)[Status.IN_PROGRESS] == 2
    assert counts_by_status(matrix.rows[1].counts)[Status.IN_PROGRESS] == 1
    assert counts_by_status(matrix.rows[1].counts)[Status.STALLED] == 1
    assert [row.total for row in matrix.rows] == [2, 2]


def test_matrix_lists_paragraphs_without_commitments_with_zeroes():
    paragraph = ParagraphFactory()

    [matrix] = selectors.dashboard_paragraph_matrix()

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


@pytest.mark.parametrize(
    ("days_since_update", "is_quiet"), [(179, False), (180, True), (400, True)]
)
def test_quiet_after_the_default_period(settings, days_since_update, is_quiet):
    settings.TRACKER_QUIET_AFTER_DAYS = 180
    commitment = CommitmentFactory(
        status=Status.IN_PROGRESS,
        last_activity_on=TODAY - datetime.timedelta(days=days_since_update),
    )

    with time_machine.travel(NOW, tick=False):
        quiet = list(selectors.dashboard_quiet_commitments(today=TODAY))

    assert (commitment in quiet) is is_quiet


def test_a_commitments_own_quiet_period_overrides_the_default(settings):
    settings.TRACKER_QUIET_AFTER_DAYS = 180
    watched = CommitmentFactory(
        quiet_after_days=30, last_activity_on=TODAY - datetime.timedelta(days=30)
    )
    patient = CommitmentFactory(
        quiet_after_days=730, last_activity_on=TODAY - datetime.timedelta(days=400)
    )

    quiet = list(selectors.dashboard_quiet_commitments(today=TODAY))

    assert watched in quiet
    assert patient not in quiet


def test_finished_commitments_never_go_quiet():
    long_ago = datetime.date(2021, 1, 1)
    CommitmentFactory(status=Status.ACHIEVED, last_activity_on=long_ago)
    CommitmentFactory(status=Status.NO_LONGER_PURSUED, last_activity_on=long_ago)
    stalled = CommitmentFactory(status=Status.STALLED, last_activity_on=long_ago)

    assert list(selectors.dashboard_quiet_commitments(today=TODAY)) == [stalled]


def test_a_commitment_without_updates_counts_from_when_it_was_entered(settings):
    settings.TRACKER_QUIET_AFTER_DAYS = 180
    with time_machine.travel(datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC), tick=False):
        forgotten = CommitmentFactory()
    with time_machine.travel(datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC), tick=False):
        fresh = CommitmentFactory()

    quiet = list(selectors.dashboard_quiet_commitments(today=TODAY))

    assert quiet == [forgotten]
    assert fresh not in quiet


def test_the_longest_silent_come_first():
    recent = CommitmentFactory(last_activity_on=datetime.date(2025, 6, 1))
    oldest = CommitmentFactory(last_activity_on=datetime.date(2021, 6, 1))

    assert list(selectors.dashboard_quiet_commitments(today=TODAY)) == [oldest, recent]


def test_upcoming_target_dates_from_today_on_the_soonest_first():
    CommitmentFactory(title="Yesterday", target_date=TODAY - datetime.timedelta(days=1))
    later = CommitmentFactory(title="Forum", target_date=datetime.date(2030, 12, 12))
    today = CommitmentFactory(title="Report due", target_date=TODAY)
    CommitmentFactory(title="Done", target_date=datetime.date(2027, 3, 1), status=Status.ACHIEVED)

    items = selectors.dashboard_upcoming_items(today=TODAY)

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


def test_dashboard_lists_quiet_and_upcoming_for_the_readers_day(client, secretariat):
    secretariat.time_zone = "Asia/Ashgabat"
    secretariat.save()
    CommitmentFactory(title="Silent since 2021", last_activity_on=datetime.date(2021, 6, 1))
    CommitmentFactory(title="Due on new year's eve", target_date=datetime.date(2026, 12, 31))
    CommitmentFactory(title="Due on new year's day", target_date=datetime.date(2027, 1, 1))

    with time_machine.travel(datetime.datetime(2026, 12, 31, 20, 0, tzinfo=datetime.UTC)):
        client.force_login(secretariat)  # inside the frozen time, so the session is fresh
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    upcoming = response.context["upcoming"]
    assert [item.title for item in upcoming] == ["Due on new year's day"]
    assert "Silent since 2021" in response.text


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


# Session and user, then one query each: status counts, matrix, recent updates, quiet, upcoming.
DASHBOARD_QUERIES = 7


@pytest.mark.parametrize("commitments", [1, 25])
def test_dashboard_query_count_does_not_grow_with_the_record(
    secretariat_client, django_assert_num_queries, commitments
):
    make_history(commitments)

    with django_assert_num_queries(DASHBOARD_QUERIES):
        response = secretariat_client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert len(response.context["recent_updates"]) == min(10, 2 * commitments)
