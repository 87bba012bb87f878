"""Cold pages: the first request after a write, timed in-process over repeated rounds.

    python -m bench.cold [--database-url URL] [--rounds 10] [--write update|bump] [--only NAME]

Each round writes, then reads one page once: with `update` (the default) a real status update
through commitments.services.status_update_create on a commitment of the record (its status
turning to achieved and back, so the dashboard's aggregates change), with `bump` only the cache
families replaced as a write replaces them (core.caching.invalidate). The read is timed through
Django's test client against the same database: wall time, this process's CPU time and the
number of queries. The write is not timed. `update` writes to the database: use a copy of the
bench data, never the one `make bench` reuses.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_colddash"
ROUNDS = 10
HANDLER = {}


@dataclass(frozen=True)
class Sample:
    wall_ms: float
    cpu_ms: float
    queries: int
    status: int


def timed_get(path: str, session_key: str) -> Sample:
    """One GET of `path` with the session, in this process, timed and its queries counted."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    if session_key:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.handler = HANDLER.setdefault("handler", client.handler)  # middleware loaded once
    wall, cpu = time.perf_counter(), time.process_time()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Sample(wall * 1000, cpu * 1000, len(queries), response.status_code)


def write_bump() -> None:
    """What every write does to the cached pages, without writing a row."""
    from core import caching

    caching.invalidate(*caching.FAMILIES)


def write_update(round_number: int) -> None:
    """A real status update on the record's third commitment, achieved on even rounds and in
    progress on odd ones, dated today: the aggregates the dashboard keeps all change."""
    from django.utils import timezone

    from commitments.models import Commitment
    from commitments.services import status_update_create
    from commitments.statuses import Status
    from tracker.models import User

    commitment = Commitment.objects.order_by("pk")[2:3].get()
    achieved = round_number % 2 == 0
    status_update_create(
        commitment=commitment,
        author=User.objects.get(username="bench-secretariat"),
        status=Status.ACHIEVED if achieved else Status.IN_PROGRESS,
        progress=100 if achieved else 50,
        narrative=f"bench.cold round {round_number}",
        happened_on=timezone.now().date(),
        expected_version=commitment.version,
    )


def cold_rounds(path: str, session_key: str, rounds: int = ROUNDS, write: str = "update"):
    """[Sample] of `rounds` write-then-read rounds of the page, after one warm-up read (the
    first request of a process loads templates and connections)."""
    timed_get(path, session_key)
    samples = []
    for number in range(rounds):
        write_update(number) if write == "update" else write_bump()
        samples.append(timed_get(path, session_key))
    return samples


def summary(samples: list[Sample]) -> dict:
    walls, cpus = [s.wall_ms for s in samples], [s.cpu_ms for s in samples]
    return {
        "rounds": len(samples),
        "wall_median_ms": round(statistics.median(walls), 1),
        "wall_worst_ms": round(max(walls), 1),
        "cpu_median_ms": round(statistics.median(cpus), 1),
        "cpu_worst_ms": round(max(cpus), 1),
        "queries": sorted({s.queries for s in samples}),
        "statuses": sorted({s.status for s in samples}),
    }


def pages() -> list[tuple[str, str, str]]:
    """(name, path, role) of the pages issue 16 wants cold under 150 ms, as bench.run names
    them (the dashboard with a document chosen besides)."""
    from commitments.models import Commitment, Document, Theme

    theme = Theme.objects.order_by("slug").first()
    document = Document.objects.order_by("-adopted_on", "short_name")[5:6].get()
    deep = max(1, -(-Commitment.objects.count() // 25) - 1)
    filtered = f"/commitments/?status=in_progress&theme={theme.pk}&sort=-last_activity"
    return [
        ("dashboard (secretariat)", "/", "secretariat"),
        ("dashboard (liaison)", "/", "liaison"),
        ("dashboard, a document (secretariat)", f"/?document={document.pk}", "secretariat"),
        ("dashboard, a document (liaison)", f"/?document={document.pk}", "liaison"),
        ("table, first page (secretariat)", "/commitments/", "secretariat"),
        ("table, first page (liaison)", "/commitments/", "liaison"),
        ("table, filtered and sorted", filtered, "secretariat"),
        (f"table, deep page {deep}", f"/commitments/?page={deep}", "secretariat"),
    ]


def arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--write", choices=("update", "bump"), default="update")
    parser.add_argument("--only", default="", help="pages whose name contains this")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    os.environ["DATABASE_URL"] = args.database_url
    import django

    django.setup()
    from django.core.management import call_command

    from .generator import session_for

    call_command("collectstatic", verbosity=0, interactive=False)  # the manifest pages need

    names = {"secretariat": "bench-secretariat", "liaison": "bench-liaison"}
    sessions = {role: session_for(username) for role, username in names.items()}
    for name, path, role in pages():
        if args.only in name:
            result = summary(cold_rounds(path, sessions[role], args.rounds, args.write))
            print(f"{name:40} {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
