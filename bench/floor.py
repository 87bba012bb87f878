"""The per-request floor: CPU per request of the cheapest pages, in-process, against the reference.

    BENCH_DATABASE_URL=postgres://.../bench_copy REDIS_URL=redis://127.0.0.1:6379/N \
    BENCH_REFERENCE_DATABASE_URL=postgres://.../reference_copy \
    python -m bench.floor [--requests 2000] [--rounds 3] [--only bare dashboard-secretariat ...]

What a cached page costs beyond the view is paid by every request: the middleware, the session's
and the user's reads, the cache's round trip. Wall time on a shared machine says little about it,
so this calls each project's WSGI application directly (no test client, no server, no wrk), as
gunicorn would, with a logged-in session, `--requests` times per turn after a warm-up, and reports
this process's CPU time per request, the queries and the Redis commands a request made. The
reference (bench/reference, Django's startproject with one login_required view) and each page
take turns, each in a fresh process (one settings module per process): reference, page,
reference, page... A page's ratio is the reference's CPU per request over the page's, the
median of the rounds'. PostgreSQL's and Redis's own CPU are not counted: the query and command
counts stand for them. `--profile PAGE` prints cProfile's top functions for that page instead.
Writes a session per role to the databases given (bench.generator.session_for): use copies.

For one child alone (`--child PAGE`, with FLOOR_PATH and FLOOR_SESSION set as the driver sets
them): FLOOR_WITHOUT (middleware paths, comma-separated) measures the page without them,
FLOOR_WARMUP the requests before measuring (200), FLOOR_PROFILE_OUT keeps --profile-child's
stats in a file. Under `valgrind --tool=callgrind`, the difference between two children's
instruction counts (`--requests 0` and `--requests 100`) is a page's cost that a busy machine
does not blur (docs/performance-work.md, "The per-request floor").
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import time

PAGES = {
    "bare": ("secretariat", "/bench/bare/"),
    "dashboard-secretariat": ("secretariat", "/"),
    "dashboard-liaison": ("liaison", "/"),
    "table-secretariat": ("secretariat", "/commitments/"),
    "actor-liaison": ("liaison", None),  # the liaison's state page: bench.run.session_setup
}
REFERENCE = "reference"


def _environ(path: str, cookie: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_COOKIE": cookie,
        "HTTP_ACCEPT": "text/html",
        "HTTP_ACCEPT_ENCODING": "gzip",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


class _Counted:
    """Counts the Redis commands sent (a pipeline's or an MGET's count once)."""

    calls = 0

    @classmethod
    def install(cls) -> None:
        from redis import Redis

        original = Redis.execute_command

        def execute_command(self, *args, **options):
            cls.calls += 1
            return original(self, *args, **options)

        Redis.execute_command = execute_command


def _one(application, path: str, cookie: str) -> tuple[int, bytes]:
    statuses = []
    body = b"".join(application(_environ(path, cookie), lambda s, h, e=None: statuses.append(s)))
    return int(statuses[0].split()[0]), body


def child(page: str, requests: int, profile: bool) -> dict:
    """Run in a fresh process: the page's (or the reference's) CPU per request."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.load import browser_cookie

    without = set(filter(None, os.environ.get("FLOOR_WITHOUT", "").split(",")))
    if without:  # what a middleware costs: the page without it (measuring only)
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name not in without]
    application = get_wsgi_application()
    path, cookie_value = os.environ["FLOOR_PATH"], os.environ["FLOOR_SESSION"]
    cookie = browser_cookie(cookie_value)
    _Counted.install()
    for _ in range(int(os.environ.get("FLOOR_WARMUP", 200))):  # connections, caches, entries
        status, body = _one(application, path, cookie)
    assert status == 200, (page, status, body[:300])
    with CaptureQueriesContext(connection) as queries:
        before = _Counted.calls
        _one(application, path, cookie)
        redis_calls = _Counted.calls - before
    sql = [query["sql"] for query in queries.captured_queries]  # before the next request resets
    if profile:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    cpu = time.process_time()
    for _ in range(requests):
        _one(application, path, cookie)
    cpu = time.process_time() - cpu
    if profile:
        profiler.disable()
        if os.environ.get("FLOOR_PROFILE_OUT"):
            profiler.dump_stats(os.environ["FLOOR_PROFILE_OUT"])
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
        sys.stderr.write(out.getvalue())
    return {
        "page": page,
        "cpu_us": cpu / requests * 1e6,
        "queries": sql,
        "redis": redis_calls,
        "bytes": len(body),
    }


def _prepare_tracker() -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    django.setup()
    from bench.run import session_setup
    from bench.sizes import Sizes

    landmarks, sessions, _ = session_setup(Sizes())
    return {
        "sessions": {role: sessions[role] for role in ("secretariat", "liaison")},
        "actor": landmarks.actor_path,
    }


def _run_child(page: str, env: dict, requests: int, profile: bool) -> dict:
    command = [sys.executable, "-m", "bench.floor", "--child", page, "--requests", str(requests)]
    if profile:
        command.append("--profile-child")
    out = subprocess.run(command, env=env, capture_output=not profile, text=True)
    if out.returncode:
        sys.exit(f"{page}: {out.stderr}")
    if profile:
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _environments(prepared: dict, reference_key: str) -> dict:
    tracker = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    tracker["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    envs = {}
    for page, (role, path) in PAGES.items():
        path = path or prepared["actor"]
        envs[page] = {**tracker, "FLOOR_PATH": path, "FLOOR_SESSION": prepared["sessions"][role]}
    envs[REFERENCE] = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.reference.settings",
        "FLOOR_PATH": "/bench/bare/",
        "FLOOR_SESSION": reference_key,
    }
    return envs


def _reference_key() -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.reference.settings"}
    out = subprocess.run(
        [sys.executable, "-m", "bench.reference.prepare"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def driver(args) -> int:
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    prepared = _prepare_tracker()
    envs = _environments(prepared, _reference_key())
    if args.profile:
        _run_child(args.profile, envs[args.profile], args.requests, profile=True)
        return 0
    pages = args.only or list(PAGES)
    results = {page: [] for page in [REFERENCE, *pages]}
    for _ in range(args.rounds):
        for page in pages:
            results[REFERENCE].append(_run_child(REFERENCE, envs[REFERENCE], args.requests, False))
            results[page].append(_run_child(page, envs[page], args.requests, False))
    reference = statistics.median(r["cpu_us"] for r in results[REFERENCE])
    for page, runs in results.items():
        cpus = [r["cpu_us"] for r in runs]
        median = statistics.median(cpus)
        print(
            f"{page:24} cpu {median:7.0f} us/request ({min(cpus):.0f}-{max(cpus):.0f})"
            f"  reference/page {reference / median:5.2f}  queries {len(runs[-1]['queries'])}"
            f"  redis {runs[-1]['redis']}  bytes {runs[-1]['bytes']}"
        )
        if args.queries:
            for sql in runs[-1]["queries"]:
                print(f"    {sql[:160]}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=list(PAGES))
    parser.add_argument("--profile", choices=[*PAGES, REFERENCE])
    parser.add_argument("--queries", action="store_true", help="print each page's SQL")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        import django

        django.setup()
        print(json.dumps(child(args.child, args.requests, args.profile_child)))
        return 0
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
