"""Celery tasks: thin wrappers over tracker.reminders that take ids, never objects."""

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from tracker import reminders


@shared_task(ignore_result=True)
def dispatch_reminders() -> int:
    """Beat runs this every minute: requeue, plan, claim what is due, hand it to send tasks."""
    return len(reminders.reminders_dispatch(now=timezone.now(), enqueue=send_reminder.delay))


class SendReminderTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Called once the retries are used up (or for an error not worth retrying).
        reminder_id = kwargs.get("reminder_id", args[0] if args else None)
        reminders.reminder_mark_failed(
            reminder_id=reminder_id, error=f"{type(exc).__name__}: {exc}"
        )


@shared_task(
    base=SendReminderTask,
    ignore_result=True,
    # SMTP errors and refused or dropped connections are OSErrors; anything else fails at once.
    autoretry_for=(OSError,),
    max_retries=settings.REMINDER_MAX_RETRIES,
    retry_backoff=settings.REMINDER_RETRY_BACKOFF,
    retry_backoff_max=settings.REMINDER_RETRY_BACKOFF_MAX,
)
def send_reminder(reminder_id: int) -> bool:
    return reminders.reminder_send(reminder_id=reminder_id)
