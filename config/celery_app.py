"""The Celery app of the tracker; workers and beat start with `celery -A config.celery_app`."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
