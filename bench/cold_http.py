"""Cold pages over HTTP (issue 16): the secretariat posts one status update through the API
with its token (api.write_views, the same service as the page's form), then a reader opens the
page once, timed; and the writer that posts one update a second while wrk drives a page.

Every round writes to the record of the database being measured: a run with --reuse-data adds
these updates to it ("Benchmark write N." in their narrative).
"""

import datetime
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from .load import Load, drive
from .stats import cold_summary, median

TIMEOUT = 120  # seconds: a cold page on a loaded machine is slow, not failed


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (to the login page: the session was lost) is an answer to count, not to
    follow."""

    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method: str, url: str, *, headers: dict, body: bytes | None = None):
    """(status, body bytes, milliseconds) of one request; an HTTP error is a status too."""
    started = time.monotonic()
    try:
        with OPENER.open(
            urllib.request.Request(url, data=body, headers=headers, method=method), timeout=TIMEOUT
        ) as response:
            content, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        content, status = error.read(), error.code
    return status, content, (time.monotonic() - started) * 1000


def update_payload(version: int, n: int, happened_on: datetime.date) -> dict:
    """A public status update the API accepts for a commitment without milestones."""
    return {
        "version": version,
        "status": "in_progress",
        "progress": 10 + n % 80,
        "progress_reason": "Benchmark.",
        "happened_on": happened_on.isoformat(),
        "narrative": f"Benchmark write {n}.",
        "visibility": "public",
    }


@dataclass
class Writer:
    """The secretariat's script: posts status updates with its API token, keeping each
    commitment's version from the answers (a 409 gives the current one: posted again once)."""

    base_url: str
    token: str
    happened_on: datetime.date
    versions: dict = field(default_factory=dict)
    posted: int = 0
    latencies_ms: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def post(self, slug: str) -> bool:
        """One status update on the commitment `slug`; True when it was written (201)."""
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        url = f"{self.base_url}/api/v1/commitments/{slug}/updates/"
        for _ in range(2):
            payload = update_payload(self.versions.get(slug, 1), self.posted, self.happened_on)
            try:
                status, content, ms = request(
                    "POST", url, headers=headers, body=json.dumps(payload).encode()
                )
            except OSError as error:  # refused, reset, timed out
                self.failures.append(f"socket error: {error}")
                return False
            answer = _json(content)
            if status == 201:
                self.versions[slug] = answer["commitment"]["version"]
                self.posted += 1
                self.latencies_ms.append(ms)
                return True
            if status == 409 and "current_version" in answer:
                self.versions[slug] = answer["current_version"]
                continue
            self.failures.append(f"HTTP {status}: {content[:300]!r}")
            return False
        self.failures.append(f"HTTP 409 twice on {slug}")
        return False


def _json(content: bytes) -> dict:
    try:
        answer = json.loads(content)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def cold_rounds(
    writer: Writer, slug: str, url: str, headers: dict, *, rounds: int, target_ms: float
) -> dict:
    """Write, then read the page once, `rounds` times, after one such turn not counted (the
    first request a gunicorn worker serves pays its own warm-up)."""
    errors: list[str] = []
    samples: list[float] = []
    for turn in range(rounds + 1):
        if not writer.post(slug):
            errors.append(f"the write failed: {writer.failures[-1]}")
            continue
        try:
            status, _, ms = request("GET", url, headers=headers)
        except OSError as error:
            errors.append(f"socket error: {error}")
            continue
        if status != 200:
            errors.append(f"HTTP {status}")
        elif turn:  # turn 0 is the warm-up
            samples.append(ms)
    result = cold_summary(samples, target_ms) if samples else {"error": "no read succeeded"}
    if errors:
        result["errors"] = errors
    return result


def under_writes(
    url: str, writer: Writer, slug: str, load: Load, *, cookie: str = "", every: float = 1.0
) -> dict:
    """Drive `url` with wrk while `writer` posts one update to `slug` every `every` seconds;
    wrk's figures (p99 included) with the writes made and failed meanwhile."""
    stop = threading.Event()
    posted, failed = writer.posted, len(writer.failures)
    first_write = len(writer.latencies_ms)

    def write_regularly():
        while not stop.is_set():
            started = time.monotonic()
            writer.post(slug)
            stop.wait(max(0.0, every - (time.monotonic() - started)))

    thread = threading.Thread(target=write_regularly, daemon=True)
    thread.start()
    try:
        result = drive(url, cookie=cookie, load=load)
    finally:
        stop.set()
        thread.join(timeout=TIMEOUT)
    writes = writer.latencies_ms[first_write:]
    result.update(
        connections=load.connections,
        seconds=load.seconds,
        writes=writer.posted - posted,
        write_failures=writer.failures[failed:],
        write_median_ms=round(median(writes), 1) if writes else None,
        write_worst_ms=round(max(writes), 1) if writes else None,
    )
    return result
