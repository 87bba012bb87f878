"""Time single pages in-process on the benchmark data, cached and cold, without gunicorn or wrk.

    DJANGO_SETTINGS_MODULE=config.settings.bench DATABASE_URL=postgres://.../bench_copy \
    REDIS_URL=redis://127.0.0.1:6379/N python -m bench.page_probe [--rounds 7] [--profile PAGE]

Each page is asked through Django's test client with a bench session (bench.generator), as
wrk's requests would be: "cached" is a request after one that filled the cache, "cold" the
first request after a write (a real status update on another commitment, or with --bump only
the cache's tokens replaced). For each it prints the median and the range of wall time and of
the process's CPU time, the queries and the body's size. It writes to the database it is given
(--write), so never point it at a dataset others measure.
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")


API = "secretariat's API token"
CALENDAR_APP = "calendar app"  # no session; asks for the feeds compressed, as calendar apps do
API_LISTS = ("commitments", "updates", "documents", "actors", "events")
TABLE_QUERIES = {
    "sort-due": "sort=due",
    "sort-due-desc": "sort=-due",
    "sort-freshness": "sort=freshness",
    "sort-freshness-desc": "sort=-freshness",
    "sort-progress": "sort=progress",
    "sort-progress-desc": "sort=-progress",
    "sort-status": "sort=status",
    "late": "freshness=late",
    "very-late": "freshness=very_late",
    "overdue-in-progress": "due=overdue&status=in_progress",
    "overdue-theme": "due=overdue&theme=1",
}


def _caching():
    from core import caching

    return caching


def _visitor_pages() -> dict[str, tuple[str | None, str]]:
    """A visitor's pages, offered while TRACKER_PUBLIC_SITE is on (run with
    TRACKER_PUBLIC_SITE=True, as `make bench` serves them): off, they send to the login page."""
    from django.conf import settings

    if not settings.TRACKER_PUBLIC_SITE:
        return {}
    return {"visitor-dashboard": (None, "/"), "visitor-table": (None, "/commitments/")}


def _pages(landmarks, token: str) -> dict[str, tuple[str | None, str]]:
    return {
        "dashboard-secretariat": ("secretariat", "/"),
        "dashboard-liaison": ("liaison", "/"),
        "table-first-secretariat": ("secretariat", "/commitments/"),
        "admin-list": ("admin", "/admin/commitments/commitment/"),
        **_visitor_pages(),
        "commitment-long-secretariat": ("secretariat", landmarks.long_path),
        "commitment-long-liaison": ("liaison", landmarks.long_path),
        "commitment-ordinary-secretariat": ("secretariat", "/commitments/c-00100/"),
        "document-secretariat": ("secretariat", landmarks.document_path),
        "document-liaison": ("liaison", landmarks.document_path),
        "actor-liaison": ("liaison", landmarks.actor_path),
        "ics-public": (CALENDAR_APP, "/calendar.ics"),
        "ics-personal": (CALENDAR_APP, f"/calendar/{token}.ics"),
        # The table's sorts and filters on the commitments' dates and news, which the
        # benchmark's pages do not drive.
        **{
            f"table-{name}-{role}": (role, f"/commitments/?{query}")
            for name, query in TABLE_QUERIES.items()
            for role in ("secretariat", "liaison")
        },
        # The API's lists, read with the secretariat's token as `make bench` reads them.
        **{f"api-{name}": (API, f"/api/v1/{name}/") for name in API_LISTS},
    }


def _clients(sessions: dict[str, str]):
    from django.conf import settings
    from django.test import Client

    from bench.run import FEED_ACCEPT_ENCODING, TOKENS

    clients = {None: Client()}
    for role, key in sessions.items():
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        clients[role] = client
    clients[API] = Client(HTTP_AUTHORIZATION=f"Bearer {sessions[TOKENS]['secretariat']}")
    clients[CALENDAR_APP] = Client(HTTP_ACCEPT_ENCODING=FEED_ACCEPT_ENCODING)
    return clients


def _get(client, path: str):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        body = response.content
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert response.status_code == 200, (path, response.status_code)
    return wall * 1000, cpu * 1000, len(queries), len(body)


def _write(number: int) -> None:
    """A status update on a commitment no page here shows, as the secretariat posts it."""
    from django.utils import timezone

    from commitments import services
    from commitments.models import Commitment
    from tracker.models import User

    commitment = Commitment.objects.get(slug="c-00050")
    services.status_update_create(
        commitment=commitment,
        author=User.objects.get(username="bench-secretariat"),
        status=commitment.status,
        progress=commitment.progress,
        narrative=f"page_probe write {number}",
        happened_on=timezone.localdate(),
        expected_version=commitment.version,
    )
    # A status update leaves the feeds as they are; an edit of a commitment or event does not.
    _bump(_caching().CALENDAR)


def _bump(*families: str) -> None:
    caching = _caching()
    caching.invalidate(*(families or caching.FAMILIES))


def _summary(name: str, kind: str, samples: list[tuple]) -> str:
    walls, cpus = [s[0] for s in samples], [s[1] for s in samples]
    return (
        f"{name:34} {kind:6} wall {statistics.median(walls):8.1f} ms "
        f"({min(walls):.1f}-{max(walls):.1f})  cpu {statistics.median(cpus):8.1f} ms "
        f"({min(cpus):.1f}-{max(cpus):.1f})  queries {samples[-1][2]:3}  bytes {samples[-1][3]}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="page names (default: all)")
    parser.add_argument("--bump", action="store_true", help="cold: replace tokens, no write")
    parser.add_argument("--profile", help="cProfile this page cold (or cached with --cached)")
    parser.add_argument("--cached", action="store_true")
    parser.add_argument(
        "--sort", default="cumulative", help="the profile's order: cumulative, tottime, ..."
    )
    parser.add_argument("--lines", type=int, default=45, help="the profile's rows shown")
    parser.add_argument("--profile-file", help="also save the profile there (for pstats)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from bench.generator import session_for
    from bench.run import session_setup
    from bench.sizes import Sizes

    landmarks, sessions, token = session_setup(Sizes())
    del session_for
    clients, pages = _clients(sessions), _pages(landmarks, token)
    chosen = args.only or ([args.profile] if args.profile else list(pages))
    if unknown := [name for name in chosen if name not in pages]:
        parser.error(f"no page named {', '.join(unknown)}; the pages: {', '.join(pages)}")
    invalidate = _bump if args.bump else (lambda: _write(time.monotonic_ns()))
    if args.profile:
        role, path = pages[args.profile]
        # Cold rounds first, so that what the process does once (loading templates, compiling
        # patterns) is not counted as the page's.
        for _ in range(3):
            invalidate()
            _get(clients[role], path)
        if not args.cached:
            invalidate()
        profiler = cProfile.Profile()
        profiler.runcall(_get, clients[role], path)
        if args.profile_file:
            profiler.dump_stats(args.profile_file)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.lines)
        return 0
    for name in chosen:
        role, path = pages[name]
        cold, warm = [], []
        for _ in range(args.rounds):
            invalidate()
            cold.append(_get(clients[role], path))
            warm.append(_get(clients[role], path))
        print(_summary(name, "cold", cold))
        print(_summary(name, "cached", warm))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
