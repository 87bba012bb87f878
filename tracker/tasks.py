"""Celery tasks: thin wrappers over tracker.reminders that take ids, never objects."""

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from tracker import reminders


@shared_task(ignore_result=True)
def dispatch_reminders() -> int:
    """Beat runs this every minute: requeue, plan, claim what is due, hand it to send tasks."""
    return len(reminders.reminders_dispatch(now=timezone.now(), enqueue=send_reminders.delay))


class SendRemindersTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Called once the retries are used up (or for an error not worth retrying): the rows
        # of the chunk not sent by then are failed.
        reminder_ids = kwargs.get("reminder_ids", args[0] if args else [])
        if isinstance(reminder_ids, int):  # send_reminder's single id
            reminder_ids = [reminder_ids]
        reminders.reminders_mark_failed(
            reminder_ids=reminder_ids, error=f"{type(exc).__name__}: {exc}"
        )


SEND_OPTIONS = {
    "base": SendRemindersTask,
    "ignore_result": True,
    # SMTP errors and refused or dropped connections are OSErrors; anything else fails at once.
    "autoretry_for": (OSError,),
    "max_retries": settings.REMINDER_MAX_RETRIES,
    "retry_backoff": settings.REMINDER_RETRY_BACKOFF,
    "retry_backoff_max": settings.REMINDER_RETRY_BACKOFF_MAX,
}


@shared_task(**SEND_OPTIONS)
def send_reminders(reminder_ids: list[int]) -> int:
    """A chunk of claimed reminders over one SMTP connection; a retry sends only the unsent."""
    return reminders.reminders_send(reminder_ids=reminder_ids)


@shared_task(**SEND_OPTIONS)
def send_reminder(reminder_id: int) -> int:
    """One reminder (messages queued before send tasks took chunks are still honoured)."""
    return reminders.reminders_send(reminder_ids=[reminder_id])
