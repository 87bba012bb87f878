"""Redis stopped, or hung (CLIENT PAUSE): posting a status update through the real view still
saves and answers, because nothing on the request path talks to the broker; the reminders that
are due go out through a real worker and SMTP once Redis is back."""

import threading

import kombu
import pytest
from celery.app.base import Celery
from django.db import connections

from commitments.models import StatusUpdate
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import reminder_due_now, reminder_worker, update_form_data
from tests.reminder_helpers import wait_until
from tracker.models import Reminder
from tracker.tasks import dispatch_reminders

# A guard against a hang, not a measure of speed: the post needs no broker at all.
GUARD_SECONDS = 10
# Longer than the guard, so the post certainly happens while Redis is hung.
PAUSE_SECONDS = 25


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
    outage, transactional_db, broker, smtp_sink, broker_calls, client
):
    owner = SecretariatFactory(username="officer", email="officer@example.org")
    commitment = CommitmentFactory(owner=owner)
    reminder = reminder_due_now(commitment=commitment)
    worker = reminder_worker(smtp_port=smtp_sink.port, broker_url=broker.url)
    try:
        wait_until(lambda: " ready." in worker.output(), what="the worker", worker=worker)
        outage_begin(broker, outage)
        client.force_login(owner)
        broker_calls.clear()

        response = within_guard(
            lambda: client.post(commitment.get_absolute_url(), update_form_data(commitment))
        )

        assert response.status_code == 302
        assert StatusUpdate.objects.filter(commitment=commitment).count() == 1
        assert broker_calls == [], "the request path reached for the broker"
        assert outage == "stopped" or broker.hung(), "Redis was hung during the whole post"
        assert smtp_sink.total() == 0

        outage_end(broker, outage)
        dispatch_reminders.delay()  # what beat sends every minute
        assert "Celery.send_task" in broker_calls  # the spy sees a publish when there is one
        wait_until(lambda: smtp_sink.total() == 1, what="the reminder email", worker=worker)
    finally:
        worker.stop()
    reminder.refresh_from_db()
    assert reminder.state == Reminder.State.SENT
    assert smtp_sink.count_by_recipient() == {"officer@example.org": 1}
