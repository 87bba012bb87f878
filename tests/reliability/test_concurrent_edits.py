"""Two officers post a status update to one commitment at the same moment, against the same
version, through the real view, each on its own PostgreSQL connection: one wins, the other
gets the conflict page showing the winner's state, and the history holds exactly one update."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from commitments import services
from commitments.models import StatusUpdate
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import update_form_data

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL's row locks and concurrent connections (CI runs the suite on it); "
    "SQLite serialises every write, so the two posts could not overlap",
)
PATIENCE_SECONDS = 60


def lock_waiters() -> int:
    """Backends of this database waiting for a lock: the second UPDATE, queued behind the first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def winner_held_in_its_transaction(monkeypatch):
    """The first post to claim the version stays inside its transaction (row locked) until the
    other post is seen waiting on that lock: the two really overlap in the database."""
    release = threading.Event()
    original = services.commitment_current_state_refresh

    def refresh_after_the_other_waits(*, commitment):
        release.wait(PATIENCE_SECONDS)
        return original(commitment=commitment)

    monkeypatch.setattr(services, "commitment_current_state_refresh", refresh_after_the_other_waits)
    return release


def post_in_thread(client, url, data, barrier, responses, key):
    try:
        barrier.wait(PATIENCE_SECONDS)
        responses[key] = client.post(url, data)
    finally:
        connections.close_all()  # this thread's own connection


def test_two_simultaneous_updates_one_wins_the_other_sees_the_conflict(
    transactional_db, winner_held_in_its_transaction
):
    commitment = CommitmentFactory(slug="group-of-friends")
    url = commitment.get_absolute_url()
    posts = {
        "amina": update_form_data(commitment, status="achieved", progress="100",
                                  narrative="The Group of Friends was founded."),
        "bram": update_form_data(commitment, status="stalled", progress="10",
                                 narrative="Nothing moved since the founding meeting."),
    }  # fmt: skip
    clients = {}
    for name in posts:
        clients[name] = Client()
        clients[name].force_login(SecretariatFactory(username=name))
    barrier, responses = threading.Barrier(2), {}
    threads = [
        threading.Thread(
            target=post_in_thread, args=(clients[n], url, posts[n], barrier, responses, n)
        )
        for n in posts
    ]
    for thread in threads:
        thread.start()
    wait_for(lambda: lock_waiters() >= 1, "the second post to wait for the first one's row lock")
    winner_held_in_its_transaction.set()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)

    assert sorted(r.status_code for r in responses.values()) == [302, 409]
    winner = next(n for n, r in responses.items() if r.status_code == 302)
    loser = next(n for n in responses if n != winner)
    update = StatusUpdate.objects.get(commitment=commitment)
    assert update.author.username == winner
    commitment.refresh_from_db()
    assert commitment.version == 2 and commitment.status == posts[winner]["status"]
    page = responses[loser].content.decode()
    assert "Someone else posted an update" in page
    assert posts[winner]["narrative"] in page  # the newer state, shown beside the input
    assert posts[loser]["narrative"] in page  # the loser's input is kept, not lost
    assert 'name="version" value="2"' in page  # posting again is now a deliberate choice
