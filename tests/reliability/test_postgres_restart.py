"""PostgreSQL restarted (`pg_ctl restart -m fast`) and crashed (`pg_ctl stop -m immediate`) while
reminders are being sent and pages served: every reminder reaches the SMTP sink exactly once,
and pages answer again as soon as the server is back.

The test starts a PostgreSQL cluster of its own (initdb in a temporary folder, a free port), so
it never touches the machine's shared server and runs wherever PostgreSQL's binaries are
installed (on PATH or under /usr/lib/postgresql/*/bin), whatever database the suite uses. On it
run bin/web (gunicorn, production settings, kept connections) and bin/worker as in production
(prefork with its default concurrency), with a Redis of the test's own as broker and cache.
"""

import contextlib
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
import pytest

from tests.reliability.conftest import free_port
from tests.reminder_helpers import BASE_DIR, WorkerProcess, worker_environment
from tests.test_deployment import serve_environment, start, wait_for_port
from tracker.tasks import dispatch_reminders

PASSWORD = "correct horse battery staple"
PATIENCE_SECONDS = 60
READERS_PER_ROUND = 16
REQUESTS_AFTER = 8  # several per gunicorn worker, so each one's kept connection is tried


def postgres_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: PATH first, else the newest Debian-style install."""
    if found := shutil.which("initdb"):
        folder = Path(os.path.realpath(found)).parent
        if (folder / "pg_ctl").exists():
            return folder
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    return Path(installed[-1]) if installed else None


BINARIES = postgres_binaries()
pytestmark = pytest.mark.skipif(
    BINARIES is None,
    reason="needs PostgreSQL's server binaries (initdb, pg_ctl) on PATH or under "
    "/usr/lib/postgresql/*/bin, e.g. apt-get install postgresql",
)


class PostgresCluster:
    """A throwaway cluster: its own folder, port and socket; restarted and crashed at will.
    PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "postgres.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.folder, user="postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/tracker"

    def run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        program = [str(BINARIES / command[0]), *command[1:]]
        subprocess.run(prefix + program, check=True, timeout=PATIENCE_SECONDS, capture_output=True)

    def create(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.folder}'\nmax_connections = 50\n"
            )
        self.start()
        self.connect("postgres").cursor().execute("CREATE DATABASE tracker")

    def pg_ctl(self, *arguments: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", *arguments)

    def start(self) -> None:
        self.pg_ctl("start")

    def restart(self) -> None:
        """A planned restart: sessions are ended cleanly, committed work is on disk."""
        self.pg_ctl("-m", "fast", "restart")

    def crash(self) -> None:
        """What a crash looks like: every process is killed, the next start recovers."""
        self.pg_ctl("-m", "immediate", "stop")
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def connect(self, database: str = "tracker"):
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                      dbname=database)  # fmt: skip
        connection.autocommit = True
        return connection

    def unsent(self) -> str:
        """The reminders not marked sent, and what every session of the server is doing."""
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, state, attempts, claimed_at, claimed_by FROM tracker_reminder"
                " WHERE state <> 'sent' ORDER BY id"
            )
            rows = cursor.fetchall()
            cursor.execute(
                "SELECT pid, state, wait_event_type, wait_event, left(query, 200)"
                " FROM pg_stat_activity WHERE datname = 'tracker'"
            )
            return f"not sent: {rows}\nsessions: {cursor.fetchall()}"

    def states(self) -> dict[str, int]:
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT state, count(*) FROM tracker_reminder GROUP BY state")
            return dict(cursor.fetchall())


@pytest.fixture
def cluster():
    server = PostgresCluster()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps the cookies itself: the production cookies are Secure, and this is plain HTTP
    (TLS ends at the reverse proxy in production)."""

    def __init__(self, base: str, log: Path | None = None):
        self.base, self.cookies, self.log = base, {}, log  # log: the server's, for failures
        self.opener = urllib.request.build_opener(_NoRedirects)

    def request(self, path: str, data: dict | None = None) -> int:
        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # redirects and refusals, with their status
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies |= {k: m.value for k, m in SimpleCookie(header).items()}
        self.page = response.read().decode(errors="replace")
        return response.status

    def log_in(self) -> None:
        assert self.request("/login/") == 200, self.page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.page).group(1)
        form = {"username": "officer", "password": PASSWORD, "csrfmiddlewaretoken": token}
        assert self.request("/login/", form) == 302, self.page


class Visitor(threading.Thread):
    """Asks for the dashboard over and over, as readers would, while the server goes away."""

    def __init__(self, browser: Browser):
        super().__init__(daemon=True)
        self.browser, self.answers, self.done = browser, [], threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.answers.append(self.browser.request("/"))
            except OSError:
                self.answers.append(0)
            time.sleep(0.05)


SEED = """
import datetime
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import reminder_due_now
from tracker.models import User
from core.roles import Role
SecretariatFactory(username="officer")
for round in ("first", "second"):
    for n in range({count}):
        # Readers never log in: no password to hash (a second each, under load).
        name = f"{{round}}{{n}}"
        owner = User.objects.create(
            username=name, email=f"{{name}}@example.org", role=Role.SECRETARIAT
        )
        reminder = reminder_due_now(commitment=CommitmentFactory(owner=owner))
        if round == "second":  # due once the test says so (release)
            reminder.due_at += datetime.timedelta(days=1)
            reminder.save(update_fields=["due_at"])
"""


def seed(cluster: PostgresCluster) -> None:
    """The officer, and READERS_PER_ROUND reminders due now and as many due tomorrow, one per
    reader (`first<n>`, `second<n>`), in the cluster's database."""
    environment = worker_environment(smtp_port=0) | {"DATABASE_URL": cluster.url}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(count=READERS_PER_ROUND)],
        cwd=BASE_DIR, env=environment, timeout=PATIENCE_SECONDS, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-1000:]


def release(cluster: PostgresCluster, round_name: str) -> None:
    """A round's reminders become due now."""
    with contextlib.closing(cluster.connect()) as connection, connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tracker_reminder SET due_at = now() - interval '1 minute' WHERE recipient_id"
            " IN (SELECT id FROM tracker_user WHERE username LIKE %s)",
            [f"{round_name}%"],
        )


def wait_for(condition, what: str, *reports) -> None:
    """Until `condition()`; else fails with what each of `reports()` says then (the logs and
    rows as they stand when the wait gives up, not as they stood when it began)."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}\n" + "\n".join(map(_said, reports)))
        time.sleep(0.1)


def _said(report) -> str:
    """What a report says, or why it could not say it (the server still away, say): the
    failure it explains is never hidden behind its own."""
    try:
        return report()
    except Exception as error:  # noqa: BLE001 - any reason is reported, never raised
        return f"({getattr(report, '__name__', report)} failed: {error!r})"


def send_round_through(outage, *, cluster, smtp_sink, worker, round_name: str, received: int):
    """Release a round, dispatch it, and hit the server with `outage` once a few have gone out."""
    release(cluster, round_name)
    dispatch_reminders.delay()  # what beat sends every minute
    wait_for(lambda: smtp_sink.total() >= received + 4, "the round to start", worker.output)
    outage()


@contextlib.contextmanager
def web_served(tmp_path: Path, database_url: str, **environment):
    """bin/web with production settings (kept connections, CONN_HEALTH_CHECKS) on the
    database, two gunicorn workers, on a free loopback port, as a Browser; it migrates the
    database first, and stops with the block."""
    environment = serve_environment(tmp_path, database_url) | {
        "WEB_CONCURRENCY": "2",
        "DATABASE_CONN_MAX_AGE": "600",
        **environment,
    }
    log = tmp_path / "web.log"
    process = start("bin/web", log, **environment)
    try:
        yield Browser(f"http://127.0.0.1:{wait_for_port(process, log)}", log)
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


@pytest.fixture
def web(cluster, broker, tmp_path):
    """The web server on the cluster, with the broker's Redis; the empty database migrated."""
    with web_served(tmp_path, cluster.url, REDIS_URL=broker.url) as browser:
        yield browser


@pytest.fixture
def worker(cluster, broker, smtp_sink, web):
    """bin/worker as production runs it (prefork, default concurrency), kept connections."""
    environment = worker_environment(smtp_port=smtp_sink.port) | {
        "DATABASE_URL": cluster.url,
        "DATABASE_CONN_MAX_AGE": "600",
        "CELERY_BROKER_URL": broker.url,
        "REMINDER_SEND_CHUNK_SIZE": "4",  # several send tasks, in both pool processes
        "REMINDER_SEND_GROUP_SIZE": "2",
    }
    process = WorkerProcess(env=environment, pool=None)
    process.start()
    yield process
    process.stop()


def test_reminders_go_out_once_and_pages_recover_when_postgres_restarts_or_crashes(
    cluster, web, worker, smtp_sink
):
    seed(cluster)
    web.log_in()
    visitor = Visitor(web)
    visitor.start()
    # Its first answer comes before the first outage: a cold dashboard on a busy machine can
    # take longer than the first four reminders take to go out.
    wait_for(
        lambda: visitor.answers,
        "the first page read",
        lambda: web.log.read_text(errors="replace")[-3000:],
    )
    smtp_sink.delay = 0.25  # every SMTP call takes a while: the outage meets marks in flight
    try:
        send_round_through(
            cluster.restart, cluster=cluster, smtp_sink=smtp_sink, worker=worker,
            round_name="first", received=0,
        )  # fmt: skip
        send_round_through(
            cluster.crash, cluster=cluster, smtp_sink=smtp_sink, worker=worker,
            round_name="second", received=smtp_sink.total(),
        )  # fmt: skip
        wait_for(
            lambda: cluster.states() == {"sent": 2 * READERS_PER_ROUND},
            "every reminder marked sent",
            worker.output,
            cluster.unsent,
        )
    finally:
        visitor.done.set()
        visitor.join(timeout=PATIENCE_SECONDS)
    # Both outages met the worker's marks, which rode through on a new connection.
    log = Path(worker.log.name).read_text(errors="replace")
    assert log.count("Database connection lost") >= 2, log[-5000:]
    received = smtp_sink.count_by_recipient()
    assert len(received) == 2 * READERS_PER_ROUND
    assert set(received.values()) == {1}, {to: n for to, n in received.items() if n > 1}
    message_ids = [m["Message-ID"] for m in smtp_sink.messages]
    assert len(set(message_ids)) == len(message_ids)
    # The pages answered before and after; once back, on every gunicorn worker's connection.
    web_log = web.log.read_text(errors="replace")[-8000:]
    assert visitor.answers[0] == visitor.answers[-1] == 200, (visitor.answers, web_log)
    after = [web.request("/") for _ in range(REQUESTS_AFTER)]
    assert after == [200] * REQUESTS_AFTER, web.log.read_text(errors="replace")[-8000:]
