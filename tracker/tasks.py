"""Celery tasks: thin wrappers over tracker.reminders and tracker.open_data that take ids, never
objects."""

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from tracker import open_data, reminders


@shared_task(ignore_result=True)
def dispatch_reminders() -> int:
    """Beat runs this every minute: requeue, plan, claim what is due, hand it to send tasks."""
    return len(
        reminders.reminders_dispatch(
            now=timezone.now(), enqueue=send_reminders.delay, continue_later=claim_reminders.delay
        )
    )


@shared_task(ignore_result=True)
def claim_reminders() -> int:
    """Claim more of what is due: queued by a claim that stopped with a batch's worth of rows
    waiting for a worker, behind the chunks it handed over (reminders.reminders_claim)."""
    return len(
        reminders.reminders_claim(
            now=timezone.now(), enqueue=send_reminders.delay, continue_later=claim_reminders.delay
        )
    )


class SendRemindersTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Called once the retries are used up (or for an error not worth retrying). Only the
        # rows the last run put back after an SMTP error are failed, and only while no newer
        # claim has taken them (their stamp). Anything else still claimed is requeued after
        # the claim timeout and tried again.
        if isinstance(exc, reminders.RemindersNotSent):
            reminders.reminders_mark_failed(held=exc.held, error=exc.error)


SEND_OPTIONS = {
    "base": SendRemindersTask,
    "ignore_result": True,
    # SMTP errors and refused or dropped connections are OSErrors (reminders_send raises them
    # as RemindersNotSent); a database away for longer than the marks ride through
    # (REMINDER_DB_RETRY_SECONDS) is retried too: what the chunk holds is sent once it is back.
    # Anything else fails at once.
    "autoretry_for": (OSError, reminders.RemindersNotSent, OperationalError, InterfaceError),
    "max_retries": settings.REMINDER_MAX_RETRIES,
    "retry_backoff": settings.REMINDER_RETRY_BACKOFF,
    "retry_backoff_max": settings.REMINDER_RETRY_BACKOFF_MAX,
}


@shared_task(**SEND_OPTIONS)
def send_reminders(reminder_ids: list[int]) -> int:
    """A chunk of claimed reminders over one SMTP connection; a retry sends only the unsent."""
    return reminders.reminders_send(reminder_ids=reminder_ids)


@shared_task(ignore_result=True)
def publish_open_data() -> str:
    """Beat runs this nightly (OPEN_DATA_HOUR): the latest open-data bundle for the public page,
    keeping the latest OPEN_DATA_KEEP dated zips (tracker.open_data)."""
    return open_data.open_data_publish()["name"]
