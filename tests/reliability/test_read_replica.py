"""The pages read from a PostgreSQL streaming standby (core.replica), for real: while the standby
has not replayed a write, the page after it is read from the primary and shows it; once the
standby has caught up, pages read from it again.

The test starts a primary and a standby of its own (initdb, then pg_basebackup -R, each in a
temporary folder on a free port; the standby logs every statement it runs, which tells which
server answered), a Redis of its own for the cache, and bin/web (gunicorn, production settings)
with DATABASE_URL and DATABASE_REPLICA_URL pointing at them. Pausing the standby's replay
(pg_wal_replay_pause) holds it exactly one write behind.
"""

import contextlib
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from tests.reliability.helpers import update_form_data
from tests.reliability.test_postgres_restart import (
    BINARIES,
    PASSWORD,
    PATIENCE_SECONDS,
    Browser,
    PostgresCluster,
    web_served,
)
from tests.reminder_helpers import BASE_DIR, worker_environment

pytestmark = pytest.mark.skipif(
    BINARIES is None,
    reason="needs PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) on PATH or "
    "under /usr/lib/postgresql/*/bin, e.g. apt-get install postgresql",
)
PAGE = "/commitments/group-of-friends/"
# What the standby's log shows of a query on the record's tables, and of the gate's own query.
RECORD_READ = re.compile(r'FROM "commitments_')
GATE_QUERY = "pg_last_wal_replay_lsn()"


class Standby(PostgresCluster):
    """A streaming standby of a primary: its base backup, with the connection back to the
    primary and standby.signal written by pg_basebackup -R; every statement in its log."""

    def create_from(self, primary: PostgresCluster) -> None:
        self.run(
            "pg_basebackup", "-D", str(self.data), "-h", "127.0.0.1", "-p", str(primary.port),
            "-U", "postgres", "-R", "-X", "stream", "--checkpoint=fast", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:  # the primary's, then its own
            conf.write(
                f"port = {self.port}\nunix_socket_directories = '{self.folder}'\n"
                "log_statement = 'all'\n"
            )
        self.start()

    def query(self, sql: str, *parameters):
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchone()[0] if cursor.description else None

    def statements(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_replayed(self, primary: PostgresCluster) -> None:
        """Until the standby has replayed everything the primary had written when asked."""
        with contextlib.closing(primary.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()")
            position = cursor.fetchone()[0]
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position):
            assert time.monotonic() < deadline, f"the standby never replayed {position}"
            time.sleep(0.1)


@pytest.fixture
def primary():
    server = PostgresCluster()
    try:
        server.create()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def standby(primary):
    server = Standby()
    try:
        server.create_from(primary)
        yield server
    finally:
        server.destroy()


@pytest.fixture
def web(primary, standby, redis_server, tmp_path):
    """bin/web with production settings on both servers; it migrates the primary first."""
    replica = {"DATABASE_REPLICA_URL": standby.url, "REDIS_URL": redis_server.url}
    with web_served(tmp_path, primary.url, **replica) as browser:
        yield browser


SEED = """
from tests.factories import CommitmentFactory, SecretariatFactory
SecretariatFactory(username="officer")
SecretariatFactory(username="auditor")
CommitmentFactory(slug="group-of-friends")
"""


def seed(primary: PostgresCluster) -> None:
    environment = worker_environment(smtp_port=0) | {"DATABASE_URL": primary.url}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED],
        cwd=BASE_DIR, env=environment, timeout=PATIENCE_SECONDS, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-1000:]


def post_update(browser: Browser, narrative: str) -> None:
    """The status-update form as the commitment's page shows it, posted with a new narrative."""
    assert browser.request(PAGE) == 200, browser.page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.page).group(1)
    version = re.search(r'name="version" value="(\d+)"', browser.page).group(1)
    form = update_form_data(SimpleNamespace(version=version), narrative=narrative)
    assert browser.request(PAGE, form | {"csrfmiddlewaretoken": token}) == 302, browser.page


def log_in(browser: Browser, username: str) -> None:
    assert browser.request("/login/") == 200, browser.page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.page).group(1)
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    assert browser.request("/login/", form) == 302, browser.page


def read_page(browser: Browser, standby: Standby) -> str:
    """The commitment's page, and what the standby ran meanwhile."""
    before = len(standby.statements())
    assert browser.request(PAGE) == 200, browser.page
    return standby.statements()[before:]


def test_a_page_reads_the_primary_until_the_replica_has_replayed_the_write_it_shows(
    primary, standby, web
):
    assert standby.query("SELECT pg_is_in_recovery()") is True
    seed(primary)
    log_in(web, "officer")
    post_update(web, "The Group of Friends met in New York.")
    standby.wait_replayed(primary)

    ran = read_page(web, standby)
    assert "met in New York" in web.page
    assert RECORD_READ.search(ran), "the standby had replayed the write: it serves the page"

    # The standby stops one write behind: it never sees the second update while paused.
    standby.query("SELECT pg_wal_replay_pause()")
    post_update(web, "The Group of Friends adopted its work plan.")
    ran = read_page(web, standby)
    assert "adopted its work plan" in web.page
    assert ran.count(GATE_QUERY) == 1, ran
    assert not RECORD_READ.search(ran), "a standby behind the cache's position is not read"
    stale = "SELECT count(*) FROM commitments_statusupdate WHERE narrative LIKE '%%work plan%%'"
    assert standby.query(stale) == 0  # what the page would have shown from it

    standby.query("SELECT pg_wal_replay_resume()")
    standby.wait_replayed(primary)
    # Another reader: the officer's own page was kept as rendered, and would read nothing.
    auditor = Browser(web.base)
    log_in(auditor, "auditor")
    ran = read_page(auditor, standby)
    assert "adopted its work plan" in auditor.page
    assert RECORD_READ.search(ran), "caught up, the standby serves the pages again"
