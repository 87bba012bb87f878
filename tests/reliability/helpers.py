"""Shared by the reliability tests: what a secretariat officer posts, and a reminder due now."""

import datetime

from django.utils import timezone

from commitments.models import Commitment
from tests.factories import EventFactory
from tests.reminder_helpers import WorkerProcess, worker_environment
from tracker.models import Event, Reminder


def update_form_data(commitment: Commitment, **overrides) -> dict:
    """A valid status-update form against the version the page showed."""
    data = {
        "status": "in_progress",
        "progress": "40",
        "progress_reason": "As the latest report says.",
        # Recent: the commitment is not quiet, so its owner is due no nudge besides a test's
        # own reminder (the latest nudge of a quiet one goes out however late it is).
        "happened_on": (timezone.now() - datetime.timedelta(days=1)).date().isoformat(),
        "narrative": "The Group of Friends met in New York.",
        "visibility": "public",
        "version": str(commitment.version),
    }
    for slot in (1, 2, 3):
        data |= {f"link_{slot}_title": "", f"link_{slot}_url": ""}
    return data | overrides


def reminder_due_now(*, commitment: Commitment, days_ahead: int = 10) -> Reminder:
    """An event reminder to the commitment's owner, due a minute ago, still worth sending:
    the occurrence is days ahead and the owner follows the event through the commitment."""
    today = timezone.now().date()
    occurrence = today + datetime.timedelta(days=days_ahead)
    event = EventFactory(
        rule=Event.Rule.ONCE,
        start_date=occurrence,
        lead_times_days=[days_ahead],
        commitments=[commitment],
    )
    return Reminder.objects.create(
        kind=Reminder.Kind.EVENT,
        recipient=commitment.owner,
        event=event,
        occurrence_date=occurrence,
        lead_days=days_ahead,
        due_on=today,
        due_at=timezone.now() - datetime.timedelta(minutes=1),
    )


def reminder_worker(*, smtp_port: int, broker_url: str, **environment) -> WorkerProcess:
    """A real `bin/worker` on the test database, consuming from the given broker."""
    env = worker_environment(smtp_port=smtp_port)
    env.update(CELERY_BROKER_URL=broker_url, **environment)
    worker = WorkerProcess(env=env)
    worker.start()
    return worker
