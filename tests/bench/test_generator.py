import dataclasses
import importlib

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Min
from django.test.utils import CaptureQueriesContext

from bench.generator import MILESTONES, Sizes, generate, session_for
from commitments import deadlines
from commitments.models import (
    AchievedSpan,
    Actor,
    Commitment,
    Document,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.progress import progress_from_weights
from commitments.selectors import commitment_dated_list
from core import caching
from core.roles import Role
from tests.commitments.test_achieved_spans import assert_kept
from tracker.models import Event, User

TINY = Sizes(
    documents=3,
    paragraphs=12,
    commitments=40,
    status_updates=300,
    events=9,
    users=25,
    actors=10,
    themes=4,
    long_history=60,
)


@pytest.fixture
def landmarks(db):
    return generate(TINY, seed=7, bar=False)


def test_it_writes_the_requested_number_of_rows(landmarks):
    assert Document.objects.count() == TINY.documents
    assert Paragraph.objects.count() == TINY.paragraphs
    assert Commitment.objects.count() == TINY.commitments
    assert StatusUpdate.objects.count() == TINY.status_updates
    assert Event.objects.count() == TINY.events
    assert User.objects.count() == TINY.users


def test_the_derived_state_is_the_latest_update(landmarks):
    plain = Commitment.objects.exclude(slug=landmarks.milestones_slug)
    for commitment in plain.annotate(updates_count=Count("updates")):
        latest = commitment.updates.order_by("-happened_on", "-recorded_at", "-pk").first()
        if latest is None:
            assert (commitment.status, commitment.progress) == ("not_started", 0)
            assert commitment.last_activity_on is None
        else:
            assert commitment.status == latest.status
            assert commitment.progress == latest.progress
            assert commitment.last_activity_on == latest.happened_on
        assert commitment.version == 1 + commitment.updates_count
        public = commitment.updates.filter(visibility="public")
        latest_public = public.order_by("-happened_on", "-recorded_at", "-pk").first()
        if latest_public is None:
            assert (commitment.public_status, commitment.public_progress) == ("not_started", 0)
        else:
            assert commitment.public_status == latest_public.status
            assert commitment.public_progress == latest_public.progress
            assert commitment.public_last_activity_on == latest_public.happened_on


def test_the_tables_order_is_each_commitments_lowest_paragraph_number(landmarks):
    lowest = Commitment.objects.annotate(lowest=Min("paragraphs__number"))
    assert lowest.count() == TINY.commitments
    for commitment in lowest:
        assert commitment.first_paragraph_number == commitment.lowest


def test_the_days_each_commitment_stood_achieved_are_kept(landmarks):
    """The updates go in as bulk rows, past the services: the dashboard's achieved series
    (AchievedSpan) is rebuilt with the other copies."""
    assert AchievedSpan.objects.filter(audience="secretariat").exists()
    assert_kept()


def test_no_commitment_has_two_updates_on_one_day(landmarks):
    days = StatusUpdate.objects.values("commitment", "happened_on").annotate(n=Count("pk"))
    assert not days.filter(n__gt=1).exists()


def test_the_long_history_is_the_longest(landmarks):
    long = Commitment.objects.get(slug=landmarks.long_history_slug)
    assert long.updates.count() == TINY.long_history
    assert Document.objects.filter(short_name=landmarks.document_short_name).exists()


def test_every_paragraph_has_a_commitment(landmarks):
    assert not Paragraph.objects.filter(commitments=None).exists()


def test_it_is_the_same_data_for_the_same_seed(db):
    generate(TINY, seed=7, bar=False)
    first = list(Commitment.objects.order_by("slug").values_list("slug", "status", "progress"))
    StatusUpdate.objects.all().delete()
    for model in (Event, Commitment, Paragraph, Document, User, Actor, Theme):
        model.objects.all().delete()
    generate(TINY, seed=7, bar=False)
    second = list(Commitment.objects.order_by("slug").values_list("slug", "status", "progress"))
    assert first == second


def test_the_bench_accounts_have_their_roles(landmarks):
    assert User.objects.get(username=landmarks.admin_username).is_superuser
    assert User.objects.get(username=landmarks.secretariat_username).role == Role.SECRETARIAT
    liaison = User.objects.get(username=landmarks.liaison_username)
    assert liaison.role == Role.LIAISON and liaison.actor is not None


def test_a_session_written_to_the_store_logs_the_user_in(landmarks, client):
    key = session_for(landmarks.secretariat_username)
    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    user = User.objects.get(username=landmarks.secretariat_username)
    assert store["_auth_user_id"] == str(user.pk)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    assert client.get("/").status_code == 200


def test_one_commitment_has_its_progress_from_fifty_milestones(landmarks):
    commitment = Commitment.objects.get(slug=landmarks.milestones_slug)
    steps = list(commitment.milestones.all())
    done = sum(step.weight for step in steps if step.done_on)
    figure = progress_from_weights(done=done, total=sum(step.weight for step in steps))

    assert len(steps) == MILESTONES
    assert 0 < figure < 100
    assert (commitment.progress, commitment.public_progress) == (figure, figure)


def page_queries(client, url) -> int:
    """Queries of the page once the first visit has filled the cache and the session."""
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_milestone_page_reads_as_many_queries_with_2_as_with_50(landmarks, client):
    client.force_login(User.objects.get(username=landmarks.secretariat_username))
    url = Commitment.objects.get(slug=landmarks.milestones_slug).get_absolute_url()
    many = page_queries(client, url)
    Milestone.objects.filter(position__gt=2).delete()

    assert page_queries(client, url) == many


OVERDUE_LIST = "/commitments/?due=overdue&sort=due"  # bench.run: "table, overdue"


def overdue_shown(user) -> int:
    overdue = commitment_dated_list(user=user).filter(deadline=deadlines.OVERDUE)
    return overdue.count()


def test_the_data_has_commitments_overdue_for_both_audiences(landmarks):
    for username in (landmarks.secretariat_username, landmarks.liaison_username):
        assert overdue_shown(User.objects.get(username=username)) >= 3


def cold_and_cached_queries(client, url) -> tuple[int, int]:
    """Queries of the first request after a write (the caches emptied), then of the next."""
    client.get(url)  # the session and the templates, as bench.run warms each page
    caching.invalidate(caching.DASHBOARD, caching.CALENDAR, caching.RECORD)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    return counts[0], counts[1]


def overdue_list_measured(client, sizes: Sizes) -> tuple[int, tuple[int, int]]:
    """(rows overdue, (cold, cached) queries of the overdue list) on freshly generated data."""
    StatusUpdate.objects.all().delete()
    for model in (Event, Commitment, Paragraph, Document, User, Actor, Theme):
        model.objects.all().delete()
    landmarks = generate(sizes, seed=7, bar=False)
    user = User.objects.get(username=landmarks.secretariat_username)
    client.force_login(user)
    return overdue_shown(user), cold_and_cached_queries(client, OVERDUE_LIST)


def test_the_overdue_list_reads_as_many_queries_at_two_sizes(db, client):
    small, small_queries = overdue_list_measured(client, TINY)
    bigger = dataclasses.replace(TINY, commitments=160, status_updates=1200, users=60)
    large, large_queries = overdue_list_measured(client, bigger)

    assert large > 2 * small > 0
    assert large_queries == small_queries
