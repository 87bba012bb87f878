"""A worker's pool processes killed (SIGKILL) in the middle of a chunk of reminders, under the
production worker command (prefork, its default concurrency), with Redis as the broker: the
broker redelivers the task (acks_late, reject_on_worker_lost), the redelivered task sends what
was still waiting, and the rows the dead process was sending go back in the queue as soon as its
heartbeat is stale, not after the 600 s claim timeout. Nothing is requeued by hand: the
dispatcher runs as beat would run it, and every reminder arrives, none twice but at most the
one whose SMTP call was in flight."""

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import reminder_due_now, reminder_worker
from tests.reminder_helpers import wait_until
from tracker.models import Reminder
from tracker.tasks import dispatch_reminders

READERS = 8


def pool_processes(worker) -> list[int]:
    listing = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(worker.process.pid)], capture_output=True, text=True
    )
    return [int(pid) for pid in listing.stdout.split()]


class Beat(threading.Thread):
    """Publishes the dispatcher every second, as beat does every minute."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(1):
            dispatch_reminders.delay()


@pytest.fixture
def beat(broker):
    ticking = Beat()
    yield ticking
    ticking.done.set()
    ticking.join(timeout=10)


def test_a_killed_pool_process_is_redelivered_and_its_reminders_go_out_once(
    transactional_db, broker, smtp_sink, beat
):
    for n in range(READERS):
        owner = SecretariatFactory(username=f"reader{n}")
        reminder_due_now(commitment=CommitmentFactory(owner=owner))
    smtp_sink.delay = 1.0  # every SMTP call takes a second: there is a middle to kill in
    worker = reminder_worker(
        smtp_port=smtp_sink.port,
        broker_url=broker.url,
        CELERY_VISIBILITY_TIMEOUT="5",
        REMINDER_SEND_CHUNK_SIZE=str(READERS),  # one task, in one pool process
        REMINDER_SEND_GROUP_SIZE="2",
        REMINDER_HEARTBEAT_SECONDS="1",
        REMINDER_HEARTBEAT_STALE_SECONDS="4",
    )
    try:
        wait_until(lambda: " ready." in worker.output(), what="the worker", worker=worker)
        assert len(pool_processes(worker)) >= 2, "not the prefork pool"
        beat.start()
        wait_until(lambda: smtp_sink.total() >= 3, what="three messages", worker=worker)
        for pid in pool_processes(worker):
            os.kill(pid, signal.SIGKILL)
        smtp_sink.delay = 0

        def all_sent() -> bool:
            return Reminder.objects.filter(state=Reminder.State.SENT).count() == READERS

        wait_until(all_sent, what="every reminder sent", worker=worker)
    finally:
        worker.stop()
    received = Path(worker.log.name).read_text(errors="replace")
    sends = re.findall(r"Task tracker\.tasks\.send_reminders\[([0-9a-f-]+)\] received", received)
    assert len(sends) > len(set(sends)), f"the send task was not redelivered:\n{received}"
    counts = smtp_sink.count_by_recipient()
    assert len(counts) == READERS
    assert sum(counts.values()) - READERS <= 1, counts  # only the one in flight, if any
