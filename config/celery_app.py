"""The Celery app of the tracker; workers and beat start with `celery -A config.celery_app`."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun

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
