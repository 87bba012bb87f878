"""PostgreSQL restarted under the running stack: bin/web (gunicorn, production settings, kept
database connections) and a Celery worker keep working; no request fails once it is back.

Restarting the machine's PostgreSQL interrupts everyone's connections for a second, so this
runs only when RELIABILITY_RESTART_POSTGRES=1 (.ci/run sets it), and restarts it once.
"""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection, connections

from commitments.models import StatusUpdate
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.helpers import reminder_due_now, reminder_worker, update_form_data
from tests.reminder_helpers import current_database_url, wait_until
from tests.test_deployment import serve_environment, start, wait_for_port
from tracker.tasks import dispatch_reminders

pytestmark = pytest.mark.skipif(
    os.environ.get("RELIABILITY_RESTART_POSTGRES") != "1" or connection.vendor != "postgresql",
    reason="restarts the machine's PostgreSQL: runs on PostgreSQL with "
    "RELIABILITY_RESTART_POSTGRES=1 (as .ci/run does)",
)
PASSWORD = "correct horse battery staple"
PATIENCE_SECONDS = 120
REQUESTS_AFTER = 12  # several per gunicorn worker, so each one's kept connection is tried


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps the cookies itself: the production cookies are Secure, and this is plain HTTP
    (TLS ends at the reverse proxy in production)."""

    def __init__(self, base: str):
        self.base, self.cookies = base, {}
        self.opener = urllib.request.build_opener(_NoRedirects)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # redirects and refusals, with their status
            response = error
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies |= {k: m.value for k, m in SimpleCookie(header).items()}
        return response.status, response.read().decode(errors="replace")

    def post_form(self, path: str, data: dict) -> tuple[int, str]:
        """GET the page for its CSRF token, then POST the form as a browser would."""
        status, page = self.request(path)
        assert status == 200, page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.request(path, data | {"csrfmiddlewaretoken": token})


def postgres_restart() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=PATIENCE_SECONDS,
    )
    deadline = time.monotonic() + PATIENCE_SECONDS
    while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], check=False).returncode:
        assert time.monotonic() < deadline, "PostgreSQL did not come back"
        time.sleep(0.2)
    connections.close_all()  # this test's own connection died with the server


@pytest.fixture
def web(transactional_db, broker, tmp_path):
    """bin/web with production settings (kept connections, CONN_HEALTH_CHECKS) on the test
    database, two gunicorn workers, on a free loopback port."""
    environment = serve_environment(tmp_path, current_database_url()) | {
        "REDIS_URL": broker.url,
        "WEB_CONCURRENCY": "2",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    log = tmp_path / "web.log"
    process = start("bin/web", log, **environment)
    try:
        yield Browser(f"http://127.0.0.1:{wait_for_port(process, log)}")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


def test_web_and_worker_carry_on_after_postgres_restarts(web, broker, smtp_sink):
    owner = SecretariatFactory(username="officer")
    # The server runs the production hashers; the test settings' MD5 would not verify there.
    owner.password = PBKDF2PasswordHasher().encode(PASSWORD, "reliabilitysalt")
    owner.save(update_fields=["password"])
    commitment = CommitmentFactory(owner=owner, slug="ocha-office")
    page = commitment.get_absolute_url()
    worker = reminder_worker(
        smtp_port=smtp_sink.port, broker_url=broker.url, DATABASE_CONN_MAX_AGE="600"
    )
    try:
        status, body = web.post_form("/login/", {"username": "officer", "password": PASSWORD})
        assert status == 302, body
        assert [web.request("/")[0] for _ in range(4)] == [200] * 4
        reminder_due_now(commitment=commitment)
        dispatch_reminders.delay()
        wait_until(lambda: smtp_sink.total() == 1, what="the first reminder", worker=worker)

        postgres_restart()

        statuses = [web.request(path)[0] for _ in range(REQUESTS_AFTER) for path in ("/", page)]
        assert statuses == [200] * (2 * REQUESTS_AFTER)
        commitment.refresh_from_db()
        status, body = web.post_form(page, update_form_data(commitment))
        assert status == 302, body
        reminder_due_now(commitment=commitment)
        dispatch_reminders.delay()
        wait_until(
            lambda: smtp_sink.total() == 2, what="a reminder after the restart", worker=worker
        )
    finally:
        worker.stop()
    assert StatusUpdate.objects.filter(commitment=commitment).count() == 1
