"""`make bench`: build the scale dataset, serve it with gunicorn, drive each page, report.

    python -m bench.run [--documents 200 --commitments 20000 ...] [--reuse-data]

Prints one table row per page and writes bench/results/<timestamp>.json.
"""

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import environ

from . import machine
from .load import Load, LoadError, drive
from .rounds import REFERENCE, page_summary, round_ratios, schedule
from .server import (
    WORKERS,
    RssSampler,
    gunicorn,
    peak_rss_kib,
    peak_rss_reset,
    rss_kib,
    worker_pids,
)
from .sizes import Sizes

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tracker_bench"
# The reference project's own database (bench/reference), on the same server.
DEFAULT_REFERENCE_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_reference"
REFERENCE_APP = "bench.reference.wsgi:application"
REFERENCE_PATH = "/bench/bare/"
ROUNDS = 3
RESULTS_DIR = Path(__file__).with_name("results")
PER_PAGE = 25  # commitments.views.CommitmentListView.table_pagination
CSV_REPEATS = 3
HANDLER = {}
BARE = "bare login_required view"
ADMIN = "admin change list"
MAX_SECONDS = 60  # per page, whatever its speed
# Issue 16's targets: the least share of the reference's requests per second.
BARE_TARGET, LIST_TARGET, DETAIL_TARGET = 0.8, 0.5, 0.3


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    path: str
    role: str  # "secretariat", "liaison", "admin" or "" (no session)
    target: float = 0.0  # the least share of the reference's throughput; 0 for none


def pages(landmarks, sizes: Sizes, calendar_token: str) -> list[Page]:
    deep = max(1, math.ceil(sizes.commitments / PER_PAGE) - 1)
    filtered = f"/commitments/?status=in_progress&theme={landmarks.theme_pk}&sort=-last_activity"
    lists, details = LIST_TARGET, DETAIL_TARGET
    return [
        Page(BARE, "/bench/bare/", "secretariat", BARE_TARGET),
        Page(ADMIN, "/admin/commitments/commitment/", "admin"),
        Page("dashboard (secretariat)", "/", "secretariat", lists),
        Page("dashboard (liaison)", "/", "liaison", lists),
        Page("table, first page (secretariat)", "/commitments/", "secretariat", lists),
        Page("table, first page (liaison)", "/commitments/", "liaison", lists),
        Page("table, filtered and sorted", filtered, "secretariat", lists),
        Page(f"table, deep page {deep}", f"/commitments/?page={deep}", "secretariat", lists),
        # The dashboard's "Overdue" count links to this list; sorted the longest overdue first.
        Page("table, overdue", "/commitments/?due=overdue&sort=due", "secretariat"),
        Page("commitment, long history (secretariat)", landmarks.long_path, "secretariat", details),
        Page("commitment, long history (liaison)", landmarks.long_path, "liaison", details),
        Page("commitment, 50 milestones (secretariat)", landmarks.milestones_path, "secretariat"),
        Page("commitment, 50 milestones (liaison)", landmarks.milestones_path, "liaison"),
        Page("document page", landmarks.document_path, "secretariat", details),
        Page("actor page (liaison's landing)", landmarks.actor_path, "liaison", lists),
        Page("ICS feed, public", "/calendar.ics", ""),
        Page("ICS feed, personal", f"/calendar/{calendar_token}.ics", ""),
    ]


# --- Setting up the database and Django -----------------------------------------------------


def database_recreate(url: str) -> None:
    """Drop and create the bench database: a run always starts from the same empty state."""
    import psycopg2

    config = environ.Env.db_url_config(url)
    name = config["NAME"]
    maintenance = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        password=config["PASSWORD"] or None,
        host=config["HOST"],
        port=config["PORT"] or 5432,
    )
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    maintenance.close()


def django_start(database_url: str) -> dict:
    """Configure this process like the server: same settings module, same database."""
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.bench", "DATABASE_URL": database_url}
    os.environ.update(env)
    import django

    django.setup()
    return env


def dataset_build(sizes: Sizes, seed: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    from .generator import generate

    call_command("migrate", verbosity=0, interactive=False)
    started = time.monotonic()
    generate(sizes, seed=seed, bar=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give a real server
    return time.monotonic() - started


# --- Measuring --------------------------------------------------------------------------------


def query_count(path: str, session_key: str) -> tuple[int, int, float]:
    """(status, queries, seconds) of one request, served in this process against the same
    database: the count is the query log's, the time sizes the load run."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()  # a fresh cookie jar: no session but the one given
    if session_key:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.handler = HANDLER.setdefault("handler", client.handler)  # middleware loaded once
    connection.close_if_unusable_or_obsolete()  # PostgreSQL may have restarted meanwhile
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
        if response.streaming:
            b"".join(response.streaming_content)
    return response.status_code, len(queries), time.monotonic() - started


def page_probe(page: Page, sessions: dict, load: Load) -> tuple[dict, Load]:
    """Status, query counts and cold time of a page, measured in-process; and how long to drive
    it in each round: a slow page gets time for a few requests on every connection."""
    from core import caching

    key = sessions.get(page.role, "")
    query_count(page.path, key)  # warm: the first request of a process loads templates
    # Cold: the first request after a write, which computes and caches what the page caches.
    caching.invalidate(caching.DASHBOARD, caching.CALENDAR, caching.RECORD)
    _, cold_queries, cold_seconds = query_count(page.path, key)
    status, queries, seconds = query_count(page.path, key)
    result = {
        "page": page.name,
        "path": page.path,
        "role": page.role or "anonymous",
        "status": status,
        "target": page.target,
        "queries": queries,
        "cold_ms": round(cold_seconds * 1000, 1),
        "cold_queries": cold_queries,
    }
    if status != 200:
        result["error"] = f"HTTP {status}"
    rounds = math.ceil(4 * seconds * load.connections / WORKERS)
    return result, dataclasses.replace(load, seconds=min(MAX_SECONDS, max(load.seconds, rounds)))


def cookie_for(session_key: str) -> str:
    from django.conf import settings

    return f"{settings.SESSION_COOKIE_NAME}={session_key}" if session_key else ""


def rounds_drive(page_list, probes, urls, sessions, load: Load, rounds: int) -> tuple[list, list]:
    """Drive the reference and the pages in alternating rounds (bench.rounds.schedule); return
    the schedule and what each step measured (None for a step that failed)."""
    targets = {REFERENCE: (urls["reference"] + REFERENCE_PATH, cookie_for(sessions[REFERENCE]))}
    for page in page_list:
        targets[page.name] = (urls["tracker"] + page.path, cookie_for(sessions.get(page.role, "")))
    drivable = [page.name for page in page_list if "error" not in probes[page.name][0]]
    order, measured = schedule(drivable, rounds), []
    for step, name in enumerate(order, 1):
        url, cookie = targets[name]
        page_load = load if name == REFERENCE else probes[name][1]
        try:
            measured.append(drive(url, cookie=cookie, load=page_load))
        except LoadError as error:
            measured.append(None)
            print(f"    {name}: {error}", flush=True)
        figure = measured[-1]["rps"] if measured[-1] else "failed"
        print(f"  [{step}/{len(order)}] {name}: {figure} req/s", flush=True)
    return order, measured


def rounds_report(page_list, probes, order, measured) -> tuple[list[dict], dict]:
    """Each page's result (probe, then its rounds summarised), and the reference's."""
    rps = [m["rps"] if m else None for m in measured]
    ratios = round_ratios(order, rps)
    results = []
    for page in page_list:
        result, page_load = probes[page.name]
        runs = [m for name, m in zip(order, measured, strict=True) if name == page.name and m]
        if runs and ratios.get(page.name):
            result = {**result, "seconds": page_load.seconds, **rounds_merge(runs)}
            result.update(page_summary(ratios[page.name], [run["rps"] for run in runs]))
        elif "error" not in result:
            result["error"] = "every round failed: see the output above"
        results.append(result)
    reference_runs = [m for name, m in zip(order, measured, strict=True) if name == REFERENCE]
    reference = rounds_merge([run for run in reference_runs if run])
    return results, reference


def rounds_merge(runs: list[dict]) -> dict:
    """One page's rounds as the table shows them: the median round's figures, every round's
    requests per second, and the non-200 answers of all rounds."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    middle = ordered[len(ordered) // 2]
    return {
        "rps_median": middle["rps"],
        "median_ms": middle["median_ms"],
        "p95_ms": middle["p95_ms"],
        "rounds_rps": [round(run["rps"], 1) for run in runs],
        "non_200": sum(run["non_200"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
    }


def csv_export_measure(base_url: str, master, session_key: str, cookie_name: str) -> dict:
    """Time the full CSV export and the workers' peak memory while they produce it."""
    pids = worker_pids(master)
    _, queries, _ = query_count("/commitments/?_export=csv", session_key)
    request = urllib.request.Request(f"{base_url}/commitments/")
    request.add_header("Cookie", f"{cookie_name}={session_key}")
    for _ in pids:  # each worker has served one ordinary page: imports and templates loaded
        urllib.request.urlopen(request, timeout=300).read()
    timings, sizes, growth = [], [], []
    for _ in range(CSV_REPEATS):
        baseline = {pid: rss_kib(pid) for pid in pids}
        peak_rss_reset(pids)
        request = urllib.request.Request(f"{base_url}/commitments/?_export=csv")
        request.add_header("Cookie", f"{cookie_name}={session_key}")
        with RssSampler(pids) as sampler:
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=300) as response:
                body = response.read()
            timings.append(time.monotonic() - started)
        sizes.append(len(body))
        peaks = {pid: max(peak_rss_kib(pid), sampler.peak[pid]) for pid in pids}
        growth.append(max(peaks[pid] - baseline[pid] for pid in pids))
    rows = body.count(b"\n") - 1
    return {
        "rows": rows,
        "bytes": sizes[-1],
        "queries": queries,
        "seconds": timings,
        "median_seconds": sorted(timings)[len(timings) // 2],
        "peak_rss_growth_mib": [round(kib / 1024, 1) for kib in growth],
        "worker_rss_mib": round(max(rss_kib(pid) for pid in pids) / 1024, 1),
        "worker_baseline_rss_mib": round(min(baseline.values()) / 1024, 1),
    }


def admin_ratios(results: list[dict]) -> None:
    """Each page's throughput as a multiple of the admin's change list, when it was driven."""
    admin = next((r for r in results if r["page"] == ADMIN and "rps" in r), None)
    for result in results:
        if admin and "rps" in result:
            result["vs_admin"] = result["rps"]["median"] / admin["rps"]["median"]


def targets(results: list[dict], page_list: list[Page]) -> list[str]:
    """Issue 16's throughput targets, as sentences saying which were missed (by the median
    of the rounds' ratios)."""
    goal = {page.name: page.target for page in page_list}
    missed = []
    for result in results:
        share = goal.get(result["page"], 0)
        if share and "ratio" in result and result["ratio"]["median"] < share:
            missed.append(
                f"{result['page']}: {result['ratio']['median']:.2f} of the reference < {share:.2f}"
            )
    return missed


# --- Reporting -------------------------------------------------------------------------------


def table_print(results: list[dict], reference: dict) -> None:
    header = f"{'page':44} {'req/s':>8} {'median ms':>10} {'p95 ms':>8} {'queries':>8} "
    header += f"{'ratio (min-max)':>20} {'target':>7} {'cold ms':>8} {'cold q':>7}"
    print("\n" + header + "\n" + "-" * len(header))
    if reference:
        print(
            f"{'reference (bench/reference)':44} {reference['rps_median']:8.1f} "
            f"{reference['median_ms']:10.1f} {reference['p95_ms']:8.1f}  rounds "
            f"{reference['rounds_rps']}"
        )
    for r in results:
        if "ratio" not in r:
            print(f"{r['page']:44} {r.get('error', 'not measured')}")
            continue
        ratio = r["ratio"]
        share = f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"
        print(
            f"{r['page']:44} {r['rps_median']:8.1f} {r['median_ms']:10.1f} {r['p95_ms']:8.1f} "
            f"{r['queries']:8d} {share:>20} {r.get('target') or '':>7} "
            f"{r['cold_ms']:8.0f} {r['cold_queries']:7d}"
            + (f"  ({r['non_200']} non-200!)" if r["non_200"] else "")
        )


def csv_print(export: dict) -> None:
    if "error" in export:
        print(f"\nCSV export failed: {export['error']}")
        return
    print(
        f"\nCSV export: {export['rows']} rows, {export['bytes'] / 1e6:.1f} MB, "
        f"median {export['median_seconds']:.2f} s over {CSV_REPEATS} runs, "
        f"{export['queries']} queries, worker peak RSS growth {export['peak_rss_growth_mib']} MiB "
        f"(worker RSS before: {export['worker_baseline_rss_mib']} MiB, "
        f"after: {export['worker_rss_mib']} MiB)"
    )


def results_write(report: dict, suffix: str = "") -> Path:
    """bench/results/<start time><suffix>.json; written again as the run goes on."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = report["started_at"].replace("-", "").replace(":", "")
    path = RESULTS_DIR / f"{stamp}{suffix}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


# --- The run ---------------------------------------------------------------------------------


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Sizes):
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=int, default=field.default)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--seconds", type=int, default=Load.seconds, help="per page")
    parser.add_argument("--connections", type=int, default=Load.connections)
    parser.add_argument("--max-requests", type=int, default=Load.max_requests)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating, per page")
    parser.add_argument("--reuse-data", action="store_true", help="skip the dataset build")
    parser.add_argument("--skip-csv", action="store_true", help="no CSV export at the end")
    parser.add_argument(
        "--only",
        default="",
        help="drive only the pages whose name contains this (and the tracker's bare view)",
    )
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    return Sizes(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Sizes)})


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    sizes = sizes_from(args)
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if not args.reuse_data:
        database_recreate(database_url)
    env = django_start(database_url)
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)
    build_seconds = None if args.reuse_data else dataset_build(sizes, args.seed)
    landmarks, sessions, token = session_setup(sizes)
    sessions[REFERENCE] = reference_prepare()
    page_list = [
        page
        for page in pages(landmarks, sizes, token)
        if args.only in page.name or page.name == BARE
    ]
    load = Load(seconds=args.seconds, connections=args.connections, max_requests=args.max_requests)
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine.describe(),
        "sizes": dataclasses.asdict(sizes),
        "dataset_build_seconds": build_seconds,
        "load": dataclasses.asdict(load),
        "rounds": args.rounds,
        "server": {"gunicorn_workers": WORKERS, "settings": "config.settings.bench"},
        "reference": {"app": REFERENCE_APP, "path": REFERENCE_PATH},
    }
    serve_and_measure(env, page_list, sessions, report, csv=not args.skip_csv)
    print(f"\nResults written to {results_write(report)}")
    return 0


def reference_prepare() -> str:
    """Rebuild the reference project's database and return its user's session key; in a
    process of its own, as it runs with its own settings module."""
    url = os.environ.get("BENCH_REFERENCE_DATABASE_URL", DEFAULT_REFERENCE_DATABASE_URL)
    database_recreate(url)
    done = subprocess.run(
        [sys.executable, "-m", "bench.reference.prepare"],
        env={**os.environ, "BENCH_REFERENCE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def reference_env() -> dict:
    url = os.environ.get("BENCH_REFERENCE_DATABASE_URL", DEFAULT_REFERENCE_DATABASE_URL)
    return {
        "DJANGO_SETTINGS_MODULE": "bench.reference.settings",
        "BENCH_REFERENCE_DATABASE_URL": url,
    }


def serve_and_measure(
    env: dict, page_list: list[Page], sessions: dict, report: dict, *, csv: bool = True
) -> None:
    """Drive the reference and every page in alternating rounds, then the CSV export; the
    report is saved after each step, so a run cut short keeps what it measured."""
    from django.conf import settings
    from django.db import connections

    load = Load(**report["load"])
    probes = {}
    for page in page_list:
        probes[page.name] = page_probe(page, sessions, load)
        print(f"  {page.name}: {probes[page.name][0]}", flush=True)
    connections.close_all()  # gunicorn's workers open their own
    with (
        gunicorn(env) as (base_url, _),
        gunicorn(reference_env(), REFERENCE_APP) as (reference_url, _),
    ):
        urls = {"tracker": base_url, "reference": reference_url}
        order, measured = rounds_drive(page_list, probes, urls, sessions, load, report["rounds"])
    report["pages"], report["reference_rounds"] = rounds_report(page_list, probes, order, measured)
    results_write(report)
    report["csv_export"] = {"error": "not measured (--skip-csv)"}
    if not csv:
        return report_finish(report, page_list)
    # Fresh workers: after the other pages a worker's heap is already large enough to hide
    # what the export itself needs.
    print("  exporting CSV ...", flush=True)
    with gunicorn(env) as (base_url, master):
        try:
            report["csv_export"] = csv_export_measure(
                base_url, master, sessions["secretariat"], settings.SESSION_COOKIE_NAME
            )
        except urllib.error.HTTPError as error:
            report["csv_export"] = {"error": f"HTTP {error.code}: see the server's log above"}
    report_finish(report, page_list)


def report_finish(report: dict, page_list: list[Page]) -> None:
    admin_ratios(report["pages"])
    missed = report["targets_missed"] = targets(report["pages"], page_list)
    table_print(report["pages"], report["reference_rounds"])
    csv_print(report["csv_export"])
    measured = {page.name for page in page_list if page.target}
    if missed:
        print("\nTargets missed:\n  " + "\n  ".join(missed))
    elif measured:
        print("\nAll throughput targets met.")


def session_setup(sizes: Sizes):
    """Landmarks (URLs to drive), a session per role, and the secretariat's calendar token."""
    from commitments.models import Theme
    from tracker.models import User

    from .generator import session_for

    named = {"secretariat": "bench-secretariat", "liaison": "bench-liaison", "admin": "bench-admin"}
    sessions = {role: session_for(username) for role, username in named.items()}
    token = User.objects.get(username="bench-secretariat").calendar_token
    landmarks = argparse.Namespace(
        long_path="/commitments/c-00000/",
        milestones_path="/commitments/c-00001/",  # bench.generator: the second commitment
        document_path="/documents/bench-document-0000/",
        actor_path=User.objects.get(username="bench-liaison").actor.get_absolute_url(),
        theme_pk=Theme.objects.order_by("slug").first().pk,
    )
    return landmarks, sessions, token


if __name__ == "__main__":
    sys.exit(main())
