"""Who holds a reminder: each Celery worker process that claims or sends reminders has an id of
its own (host, pid and a token drawn at its start) and beats a heartbeat row every
REMINDER_HEARTBEAT_SECONDS from a thread of its own. A process that dies stops beating; the rows
it held go back in the queue once its row is REMINDER_HEARTBEAT_STALE_SECONDS old, at the next
dispatcher run or when a worker starts (reminders.reminders_requeue_stuck), not after the claim
timeout. Outside a worker (a management command, a test) there is no id and no heartbeat: rows
claimed there fall back on the claim timeout.
"""

import datetime
import logging
import os
import secrets
import socket
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# Set in a Celery worker's processes (config.celery_app): only they may hold rows.
_enabled = False
_state = {"pid": None, "holder": ""}
_lock = threading.Lock()


def enable() -> None:
    """Called by the worker's signals: this process (and the children it forks) hold rows."""
    global _enabled
    _enabled = True


def holder_id() -> str:
    """This process's id for `Reminder.claimed_by`, its heartbeat started on first use (after
    a fork, a child gets an id and a heartbeat of its own); empty outside a worker."""
    if not _enabled:
        return ""
    with _lock:
        if _state["pid"] != os.getpid():
            holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
            heartbeat_beat(holder=holder)  # alive before it holds anything
            _state.update(pid=os.getpid(), holder=holder)
            threading.Thread(target=_beat_forever, args=(holder,), daemon=True).start()
    return _state["holder"]


def heartbeat_beat(*, holder: str) -> None:
    from tracker.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(holder=holder, defaults={"beat_at": timezone.now()})


def _beat_forever(holder: str) -> None:
    stop = threading.Event()
    while not stop.wait(settings.REMINDER_HEARTBEAT_SECONDS):
        if _state["holder"] != holder:
            return  # a forked child's copy of its parent's thread does not exist; belt and braces
        try:
            heartbeat_beat(holder=holder)
        except Exception:
            # The database is away (a restart): the next beat tries again on a new connection.
            # Nothing may end this thread while the process lives, or it would look dead.
            logger.warning("Worker heartbeat of %s not written", holder, exc_info=True)
        finally:
            connection.close()  # this thread's own connection; one beat every few seconds


def stale_holders_cutoff(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(seconds=settings.REMINDER_HEARTBEAT_STALE_SECONDS)
