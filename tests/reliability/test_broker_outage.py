"""Redis stopped, or hung (CLIENT PAUSE): posting a status update through the real view still
saves and answers at once, because nothing on the request path talks to the broker and the
cache (the same Redis, database 1, as production's default) costs it at most one socket
timeout; the reminders that are due go out through a real worker and SMTP once Redis is back,
once, however often the dispatcher runs."""

import threading
import time

import kombu
import pytest
from celery.app.base import Celery
from django.db import connections
from django.test import override_settings

from commitments.models import StatusUpdate
from core import cache_backends
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import reminder_due_now, reminder_worker, update_form_data
from tests.reminder_helpers import wait_until
from tracker.models import Reminder
from tracker.tasks import dispatch_reminders

# A guard against a hang, not a measure of speed: the post needs no broker at all.
GUARD_SECONDS = 10
# Longer than the guard, so the post certainly happens while Redis is hung.
PAUSE_SECONDS = 25
# The cache's socket timeout, and the post's bound: one timeout, well under the four (2 s) a
# post paid before the cache's breaker.
CACHE_SOCKET_TIMEOUT = 0.5
AT_MOST_ONE_TIMEOUT = 1.0


@pytest.fixture
def cache_on_broker_redis(broker):
    """The cache on the broker's Redis, as production's default (REDIS_URL's next database)."""
    location = broker.url.rsplit("/", 1)[0] + "/1"
    options = {"socket_timeout": CACHE_SOCKET_TIMEOUT, "socket_connect_timeout": 0.5}
    cache = {"BACKEND": "core.cache_backends.ForgivingRedisCache", "LOCATION": location}
    cache_backends.breakers_close()
    with override_settings(CACHES={"default": cache | {"OPTIONS": options}}):
        yield
    cache_backends.breakers_close()


@pytest.fixture
def broker_calls(monkeypatch):
    """Each time this process opens a broker connection, sends a task or publishes a message."""
    calls = []

    def spy(owner, name):
        original = getattr(owner, name)

        def recorded(*args, **kwargs):
            calls.append(f"{owner.__name__}.{name}")
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded)

    spy(kombu.Connection, "connect")
    spy(kombu.Connection, "ensure_connection")
    spy(kombu.Producer, "publish")
    spy(Celery, "send_task")
    return calls


def within_guard(action):
    """Run `action` and return its result; fail if it has not returned after GUARD_SECONDS."""
    result = {}

    def run():
        try:
            result["value"] = action()
        finally:
            connections.close_all()  # this thread's own database connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    assert not thread.is_alive(), f"no answer after {GUARD_SECONDS} s: the request was blocked"
    return result["value"]


def outage_begin(broker, kind: str) -> None:
    if kind == "stopped":
        broker.stop()
    else:
        broker.pause(PAUSE_SECONDS)


def outage_end(broker, kind: str) -> None:
    if kind == "stopped":
        broker.start()  # same port, empty: what a restarted Redis without persistence is
    broker.wait_answering()


@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_updates_save_without_redis_and_reminders_go_out_when_it_is_back(
    outage, transactional_db, broker, cache_on_broker_redis, smtp_sink, broker_calls, client
):
    owner = SecretariatFactory(username="officer", email="officer@example.org")
    commitment = CommitmentFactory(owner=owner)
    reminder = reminder_due_now(commitment=commitment)
    worker = reminder_worker(smtp_port=smtp_sink.port, broker_url=broker.url)
    try:
        wait_until(lambda: " ready." in worker.output(), what="the worker", worker=worker)
        client.force_login(owner)
        assert client.get(commitment.get_absolute_url()).status_code == 200  # cached in Redis
        outage_begin(broker, outage)
        broker_calls.clear()

        started = time.monotonic()
        response = within_guard(
            lambda: client.post(commitment.get_absolute_url(), update_form_data(commitment))
        )
        post_seconds = time.monotonic() - started

        assert response.status_code == 302
        assert StatusUpdate.objects.filter(commitment=commitment).count() == 1
        assert broker_calls == [], "the request path reached for the broker"
        assert post_seconds < AT_MOST_ONE_TIMEOUT, f"the post took {post_seconds:.2f} s"
        assert outage == "stopped" or broker.hung(), "Redis was hung during the whole post"

        outage_end(broker, outage)
        dispatch_reminders.delay()  # what beat sends every minute
        assert "Celery.send_task" in broker_calls  # the spy sees a publish when there is one
        wait_until(lambda: smtp_sink.total() == 1, what="the reminder email", worker=worker)
        wait_until(lambda: succeeded(worker, "dispatch_reminders") == 1, what="the dispatcher")
        wait_until(lambda: succeeded(worker, "send_reminders") == 1, what="the send task")
        dispatch_reminders.delay()  # beat's next minute: the reminder is not sent again
        wait_until(lambda: succeeded(worker, "dispatch_reminders") == 2, what="the next run")
    finally:
        worker.stop()
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.SENT
    assert smtp_sink.count_by_recipient() == {"officer@example.org": 1}


def succeeded(worker, task: str) -> int:
    """How many runs of the task the worker has finished (its log says so for each)."""
    output = worker.output()
    return sum(
        1
        for line in output.splitlines()
        if f"Task tracker.tasks.{task}[" in line and "] succeeded in " in line
    )
