"""Real outside world for the reminder tests: an SMTP server on loopback that counts what it
receives, and a Celery worker process started with the project's own bin/worker."""

import asyncio
import collections
import contextlib
import email
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
# How long to wait for a worker before failing (a wait, not an assertion on speed).
PATIENCE_SECONDS = 120


class CountingHandler:
    """Accepts (or, with `reject`, refuses) every message and keeps what it accepted.

    A message is recorded when its data has arrived, before the reply: with `delay` that is
    an SMTP call "in flight", which the worker-kill test relies on.
    """

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.delay = 0.0
        self.reject = False
        self.reject_to: set[str] = set()  # only mail to these addresses is refused
        self.peers: set[tuple] = set()  # the client end of each connection that sent mail
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.reject or self.reject_to.intersection(envelope.rcpt_tos):
            return "554 5.0.0 Transaction failed: the test sink refuses mail"
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.peers.add(session.peer)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def count_by_recipient(self) -> collections.Counter:
        with self._lock:
            return collections.Counter(m["To"] for m in self.messages)

    def total(self) -> int:
        with self._lock:
            return len(self.messages)


class LoopbackController(Controller):
    """aiosmtpd's Controller on a free port chosen by the system (port 0)."""

    def __init__(self, handler):
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def current_database_url() -> str:
    """DATABASE_URL of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def worker_environment(*, smtp_port: int) -> dict[str, str]:
    """The worker runs the local settings against the test database, broker and SMTP sink."""
    env = dict(os.environ)
    # bin/worker runs `celery` from PATH: the one beside this Python, whatever venv that is.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_URL=current_database_url(),
        DATABASE_CONN_MAX_AGE="0",
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_FILESYSTEM_FOLDER=str(settings.CELERY_FILESYSTEM_FOLDER),
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_TIMEOUT="10",
        DEFAULT_FROM_EMAIL="tracker@example.org",
        REMINDER_MAX_RETRIES="2",
        REMINDER_RETRY_BACKOFF="1",
        REMINDER_RETRY_BACKOFF_MAX="2",
        CELERY_LOG_LEVEL="INFO",
    )
    return env


class WorkerProcess:
    """One `bin/worker`, as production starts it (prefork, a pool process per core) unless
    given another `pool`; it leads a process group of its own, with its pool processes."""

    def __init__(self, *, env: dict[str, str], pool: str | None = None):
        self.env, self.pool = env, pool
        self.process: subprocess.Popen | None = None
        # Open for the worker's whole life; closed (and removed) with this object.
        self.log = tempfile.NamedTemporaryFile(prefix="reminder-worker-", suffix=".log")  # noqa: SIM115

    def start(self) -> None:
        command = [
            str(BASE_DIR / "bin" / "worker"),
            *([f"--pool={self.pool}"] if self.pool else []),
            "--without-gossip",
            "--without-mingle",
            f"--hostname=reminders-test-{uuid.uuid4().hex[:8]}@%h",
        ]
        self.process = subprocess.Popen(
            command, env=self.env, cwd=BASE_DIR, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes: no warm shutdown, no acknowledgement,
        no cleanup, as when a machine or container dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        self.kill()  # and any pool process left behind

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]


def wait_until(condition, *, what: str, worker: WorkerProcess | None = None) -> None:
    """Poll `condition` until it holds; fail (with the worker's log) after PATIENCE_SECONDS."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if worker is not None and worker.process.poll() is not None:
            raise AssertionError(f"worker exited while waiting for {what}:\n{worker.output()}")
        if time.monotonic() > deadline:
            log = worker.output() if worker else ""
            raise AssertionError(f"gave up waiting for {what}\n{log}")
        time.sleep(0.2)
