"""Fixtures for the reminder tests that run the real thing: an SMTP sink and Celery workers."""

import pytest

from config.celery_app import app as celery_app
from tests.reminder_helpers import (
    CountingHandler,
    LoopbackController,
    WorkerProcess,
    worker_environment,
)


@pytest.fixture
def smtp_sink():
    handler = CountingHandler()
    controller = LoopbackController(handler)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def start_worker(transactional_db, smtp_sink):
    """Start (and at the end stop) real workers on the test database; the queue starts empty.

    transactional_db: the worker is another process, it sees only committed rows.
    """
    celery_app.control.purge()
    workers = []

    def start() -> WorkerProcess:
        worker = WorkerProcess(env=worker_environment(smtp_port=smtp_sink.port))
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    celery_app.control.purge()
