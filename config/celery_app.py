"""The Celery app of the tracker; workers and beat start with `celery -A config.celery_app`."""

import contextlib
import fcntl
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from queue import Empty

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_ready
from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, _transport_cache, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The broker without Redis (`make run`): kombu's filesystem transport, with its known race
# closed (kombu issue #1551). Kombu writes a message straight under its final name, so a worker
# could read it empty or half-written and die of a JSONDecodeError ("Unrecoverable error"),
# leaving bulk imports queued and reminders unsent. Here a message is written under a name the
# readers skip and renamed once whole (a rename is atomic), and a reader leaves alone a message
# it cannot read yet rather than die: it tries again on its next poll, and sets the message
# aside (as *.unreadable, with an error in the worker's log) once it has stayed unreadable for
# UNREADABLE_GRACE_SECONDS. "filesystem://" in CELERY_BROKER_URL means this transport.
UNREADABLE_GRACE_SECONDS = 60


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(time.monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: readers take only "<stamp>_<id>.<queue>.msg", and this is not one.
        writing = os.path.join(self.data_folder_out, f".{name}.writing")
        try:
            with open(writing, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(writing, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(writing)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        names = [
            name for name in os.listdir(self.data_folder_in) if name.partition(".")[2] == wanted
        ]
        for name in sorted(names, key=_queue_order):
            path = os.path.join(self.data_folder_in, name)
            try:
                message = loads(bytes_to_str(_read_unlocked(path)))
            except (FileNotFoundError, BlockingIOError):
                continue  # taken by another worker, or still being written: next poll
            except ValueError:
                self._set_aside_if_stale(path)
                continue
            if self._claim(path, name):
                return message
        raise Empty()

    def _claim(self, path: str, name: str) -> bool:
        """Take the message off the queue; False if another worker took it first."""
        try:
            if self.store_processed:
                os.replace(path, os.path.join(self.processed_folder, name))
            else:
                os.remove(path)
        except FileNotFoundError:
            return False
        return True

    def _set_aside_if_stale(self, path: str) -> None:
        try:
            age = time.time() - os.stat(path).st_mtime
            if age < UNREADABLE_GRACE_SECONDS:
                return  # perhaps a writer that is not done yet: try again on the next poll
            os.replace(path, f"{path}.unreadable")
        except FileNotFoundError:
            return
        logging.getLogger(__name__).error(
            "Set aside a broker message that stayed unreadable for %d s: %s.unreadable",
            age,
            path,
        )


def _queue_order(name: str) -> tuple[int, str]:
    """Oldest first: by the number a name starts with ("<stamp>_<id>.<queue>.msg"), not as text.

    As text, "1000_..." would come before "999_..." and a message could wait behind later ones.
    A name without a number (not written by a tracker or kombu writer) comes last.
    """
    stamp = name.partition("_")[0]
    return (int(stamp), name) if stamp.isdigit() else (sys.maxsize, name)


def _read_unlocked(path: str) -> bytes:
    """The file's bytes; BlockingIOError while a writer (kombu's own) holds its lock."""
    with open(path, "rb") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        try:
            return file.read()
        finally:
            fcntl.flock(file.fileno(), fcntl.LOCK_UN)


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel


TRANSPORT_ALIASES["filesystem"] = f"{__name__}:FilesystemTransport"
_transport_cache.pop("filesystem", None)


def _make_filesystem_folders() -> None:
    # The filesystem transport expects its folders to exist (both producer and consumer).
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _on_configure(sender, **kwargs) -> None:
    _make_filesystem_folders()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs) -> None:
    # A worker lives for days: drop connections that died or outlived CONN_MAX_AGE around
    # every task, as Django does around every request.
    from django.db import close_old_connections

    close_old_connections()


@worker_init.connect
def _hold_reminders_as_this_worker(**kwargs) -> None:
    # Reminders claimed or sent in this worker's processes carry which process holds them,
    # and each such process beats a heartbeat (tracker.workers).
    from tracker import workers

    workers.enable()


@worker_ready.connect
def _requeue_what_dead_workers_left(**kwargs) -> None:
    # A worker that starts (often the one restarted after a crash) puts back at once what a
    # dead worker held, rather than leave it to the next dispatcher run.
    import logging

    from django.db import DatabaseError, connection
    from django.utils import timezone

    from tracker.reminders import reminders_requeue_stuck

    try:
        requeued = reminders_requeue_stuck(now=timezone.now())
    except DatabaseError:
        logging.getLogger(__name__).warning("Could not requeue stuck reminders", exc_info=True)
        return
    finally:
        connection.close()  # before the pool forks: children must not share it
    if requeued:
        logging.getLogger(__name__).warning("Requeued %s reminders a dead worker held", requeued)
