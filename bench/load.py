"""The load driver: wrk over loopback with bench/wrk.lua, bounded in time and in requests."""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .stats import latency_summary

LUA_SCRIPT = Path(__file__).with_name("wrk.lua")
MARKER = "BENCH-JSON "


# A browser keeps the CSRF cookie the first page with a form set and sends it with every later
# request. Without it each request would be a first visit, given a new secret and a Set-Cookie
# that no reader pays after their first page. Any 32 letters and digits are a valid secret.
BROWSER_CSRF_SECRET = "benchmarkbrowserkeptcsrfsecret00"


def browser_cookie(session_key: str) -> str:
    """The Cookie header of a logged-in browser after its first page (nothing for a visitor)."""
    from django.conf import settings

    if not session_key:
        return ""
    return (
        f"{settings.SESSION_COOKIE_NAME}={session_key}; "
        f"{settings.CSRF_COOKIE_NAME}={BROWSER_CSRF_SECRET}"
    )


class LoadError(RuntimeError):
    """wrk is missing, failed, or printed no result line."""


@dataclass(frozen=True)
class Load:
    """How hard and how long to drive one page."""

    seconds: int = 8
    connections: int = 4
    max_requests: int = 5_000  # per connection


def parse_wrk_output(output: str) -> dict:
    """The result line of bench/wrk.lua, summarised: rps, median, p95, p99, non-200 responses
    and socket errors (connect, read, write, timeout)."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER) :])
            if not raw["samples_us"]:
                raise LoadError("no response arrived before the time was up: give more --seconds")
            summary = latency_summary(raw["samples_us"], raw["elapsed_us"])
            return {**summary, "non_200": raw["non_200"], "socket_errors": raw["socket_errors"]}
    raise LoadError(f"wrk printed no result line:\n{output[-2000:]}")


def drive(
    url: str,
    *,
    cookie: str = "",
    authorization: str = "",
    accept_encoding: str = "",
    load: Load = Load(),
) -> dict:
    """Drive one URL with wrk, one connection per thread (wrk.lua's latencies rely on it),
    with a session cookie or an Authorization header (an API token) if given, and an
    Accept-Encoding header if given (the calendar feeds, read as calendar apps read them)."""
    if shutil.which("wrk") is None:
        raise LoadError("wrk is not installed: `apt-get install wrk` (make bench does it)")
    command = [
        "wrk",
        f"-t{load.connections}",
        f"-c{load.connections}",
        f"-d{load.seconds}s",
        "--timeout=30s",
        f"--script={LUA_SCRIPT}",
        url,
    ]
    env = {
        **os.environ,
        "BENCH_COOKIE": cookie,
        "BENCH_AUTHORIZATION": authorization,
        "BENCH_ACCEPT_ENCODING": accept_encoding,
        "BENCH_MAX_REQUESTS": str(load.max_requests),
    }
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=load.seconds + 60
    )
    if done.returncode != 0:
        raise LoadError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk_output(done.stdout)
