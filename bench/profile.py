"""Where a page's time goes: py-spy samples the gunicorn workers while wrk drives the page.

    python -m bench.profile /commitments/ [--role secretariat] [--seconds 20]

Uses the dataset already in BENCH_DATABASE_URL (run `make bench` first). Prints the functions
with the most samples anywhere on the stack, restricted to the project's own code and to the
layers it calls (templates, ORM, database driver), and keeps the raw stacks in
bench/results/ for a flame graph (`py-spy` raw format, as read by flamegraph.pl or speedscope).
"""

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

from .load import Load, LoadError, drive
from .run import DEFAULT_DATABASE_URL, RESULTS_DIR, django_start
from .server import gunicorn

# Frames worth naming: the project's own, and the layers a page spends its time in.
INTERESTING = ("/work/", "django/template/", "django/db/", "psycopg2", "django_tables2", "tablib")


def stacks_read(path: Path) -> collections.Counter:
    """py-spy's raw output: one "frame;frame;...;leaf count" line per distinct stack."""
    stacks = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks[stack] += int(count)
    return stacks


def inclusive_top(stacks: collections.Counter, limit: int = 25) -> list[tuple[str, float]]:
    """Share of samples in which each interesting frame appears (once per stack)."""
    total = sum(stacks.values()) or 1
    counts = collections.Counter()
    for stack, count in stacks.items():
        for frame in set(stack.split(";")):
            if any(marker in frame for marker in INTERESTING) and ".venv/bin" not in frame:
                counts[frame] += count
    return [(frame, count / total) for frame, count in counts.most_common(limit)]


def profile(path: str, cookie: str, seconds: int, env: dict) -> Path:
    out = RESULTS_DIR / f"profile-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.txt"
    with gunicorn(env) as (base_url, master):
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                f"--pid={master.pid}",
                "--subprocesses",
                f"--duration={seconds}",
                "--format=raw",
                "--nonblocking",
                f"--output={out}",
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)
        try:
            result = drive(
                base_url + path, cookie=cookie, load=Load(seconds=seconds, connections=2)
            )
            print(f"{path}: {result['rps']:.1f} req/s, median {result['median_ms']:.0f} ms")
        except LoadError as error:
            print(f"{path}: {error} (the samples still show where the time went)")
        spy.wait(timeout=seconds + 60)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument(
        "--role", default="secretariat", choices=["secretariat", "liaison", "admin"]
    )
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    env = django_start(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    from django.conf import settings
    from django.db import connections

    from .generator import session_for

    key = session_for(f"bench-{args.role}")
    connections.close_all()
    out = profile(args.path, f"{settings.SESSION_COOKIE_NAME}={key}", args.seconds, env)
    for frame, share in inclusive_top(stacks_read(out)):
        print(f"{share:6.1%}  {frame}")
    print(f"\nRaw stacks: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
