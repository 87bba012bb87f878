"""`make bench`: build the scale dataset, serve it with gunicorn, drive each page, report.

    python -m bench.run [--documents 200 --commitments 20000 ...] [--reuse-data]
        [--cold-rounds 5] [--concurrent-seconds 30] [--compare bench/results/OTHER.json]

Prints one table row per page (throughput against the reference), the cold pages over HTTP,
the pages under 64 connections with a writer, the sequential scans of large tables in the
pages' query plans, the CSV and Excel exports over HTTP, and writes all of it to
bench/results/<timestamp>.json.
"""

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import environ

from . import machine
from .cold_http import Writer, cold_rounds, under_writes
from .compare import compare, compare_print, results_read
from .explain import explain_queries, page_seq_scans
from .load import Load, LoadError, browser_cookie, drive
from .rounds import REFERENCE, page_summary, round_ratios, schedule
from .server import (
    WORKERS,
    RssSampler,
    cpu_seconds,
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
EXPORT_REPEATS = 3  # each export over HTTP, the CSV and the Excel file
HANDLER = {}
BARE = "bare login_required view"
ADMIN = "admin change list"
MAX_SECONDS = 60  # per page, whatever its speed
# Issue 16's targets: the least share of the reference's requests per second.
BARE_TARGET, LIST_TARGET, DETAIL_TARGET = 0.8, 0.5, 0.3
# Pages other issues added (docs/performance.md, "Targets"). A visitor's cached page does the
# logged-in page's work without the session and user reads, so it has the same share to meet;
# an API list is a page of 25 rows written as JSON, a table page without the filters' form;
# the overdue list is the table with one filter.
PUBLIC_LIST_TARGET, PUBLIC_DETAIL_TARGET, API_LIST_TARGET, OVERDUE_TARGET = 0.5, 0.3, 0.5, 0.5
# Issue 16: the Excel export of 20,000 commitments in at most 3 s over HTTP (the median of
# EXPORT_REPEATS); of more, as long for each row (xlsx_target_seconds).
XLSX_TARGET_SECONDS, XLSX_TARGET_ROWS = 3.0, 20_000
XLSX_SHEET = "xl/worksheets/sheet1.xml"  # commitments.xlsx_sheet: the workbook's one sheet
XLSX_PIECE = 1 << 20  # bytes of the sheet's XML read at a time to count its rows
# Issue 16: the first request after a write, at most this long (over HTTP, the median round).
COLD_TARGET_MS = 150.0
COLD_ROUNDS = 5
# Issue 16: 64 connections for 30 seconds on these pages while a writer posts once a second.
CONCURRENT_PAGES = ("dashboard (secretariat)", "table, first page (secretariat)")
CONCURRENT = Load(seconds=30, connections=64, max_requests=1_000_000)
# One turn of each page before its rounds, not counted: a fresh worker's first requests load
# templates and open connections (a first round measured 0.08 of the reference, the next 0.30),
# and the first after the probes' invalidations computes the page (warm_up_load: long enough).
WARM_UP = Load(seconds=1, connections=2, max_requests=20)
# The calendar feeds are read as calendar apps read them: compressed (tracker.event_views).
FEED_ACCEPT_ENCODING = "gzip"


def warm_up_load(cold_ms: float) -> Load:
    """The warm-up turn of a page whose cold request took `cold_ms` in-process: time for each
    of the two connections to get a cold answer, on a machine up to three times slower."""
    seconds = math.ceil(3 * cold_ms / 1000) + WARM_UP.seconds
    return dataclasses.replace(WARM_UP, seconds=min(MAX_SECONDS, seconds))


# In the sessions dict, beside each role's session: each role's API token, the commitment the
# writer posts to (one of the liaison's actor's, so it is on the actor page), the writer's day.
TOKENS, COLD_SLUG, WRITE_DAY = "tokens", "cold slug", "write day"
PUBLIC = "public"  # Page.site: the tracker served with TRACKER_PUBLIC_SITE on


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    path: str
    role: str  # "secretariat", "liaison", "admin" or "" (no session)
    target: float = 0.0  # the least share of the reference's throughput; 0 for none
    cold_target_ms: float = 0.0  # the most a read right after a write may take; 0: not measured
    site: str = "tracker"  # or PUBLIC: a second gunicorn with the public site on
    api_token: bool = False  # read with the role's API token instead of its session
    writes_to: str = ""  # the commitment a cold round writes to; the landmarks' cold_slug if ""
    accept_encoding: str = ""  # the Accept-Encoding header sent; none if ""


def pages(landmarks, sizes: Sizes, calendar_token: str) -> list[Page]:
    deep = max(1, math.ceil(sizes.commitments / PER_PAGE) - 1)
    filtered = f"/commitments/?status=in_progress&theme={landmarks.theme_pk}&sort=-last_activity"
    lists, details, cold = LIST_TARGET, DETAIL_TARGET, COLD_TARGET_MS
    long_slug = landmarks.long_path.strip("/").rsplit("/", 1)[-1]
    public_lists, public_details = PUBLIC_LIST_TARGET, PUBLIC_DETAIL_TARGET
    feeds = FEED_ACCEPT_ENCODING
    return [
        Page(BARE, "/bench/bare/", "secretariat", BARE_TARGET),
        Page(ADMIN, "/admin/commitments/commitment/", "admin"),
        Page("dashboard (secretariat)", "/", "secretariat", lists, cold),
        Page("dashboard (liaison)", "/", "liaison", lists),
        Page("table, first page (secretariat)", "/commitments/", "secretariat", lists, cold),
        Page("table, first page (liaison)", "/commitments/", "liaison", lists),
        Page("table, filtered and sorted", filtered, "secretariat", lists),
        Page(f"table, deep page {deep}", f"/commitments/?page={deep}", "secretariat", lists),
        # The dashboard's "Overdue" count links to this list; sorted the longest overdue first.
        Page("table, overdue", "/commitments/?due=overdue&sort=due", "secretariat", OVERDUE_TARGET),
        # Sorted by due date (its index), and the freshness filter the dashboard's "Late" links
        # to, counted as the dashboard counts it.
        Page("table, by due date", "/commitments/?sort=due", "secretariat", lists, cold),
        Page("table, late", "/commitments/?freshness=late", "secretariat", lists, cold),
        Page(
            "commitment, long history (secretariat)",
            landmarks.long_path,
            "secretariat",
            details,
            cold,
            writes_to=long_slug,
        ),
        Page("commitment, long history (liaison)", landmarks.long_path, "liaison", details),
        Page("commitment, 50 milestones (secretariat)", landmarks.milestones_path, "secretariat"),
        Page("commitment, 50 milestones (liaison)", landmarks.milestones_path, "liaison"),
        Page("document page", landmarks.document_path, "secretariat", details),
        Page("actor page (liaison's landing)", landmarks.actor_path, "liaison", lists, cold),
        Page("ICS feed, public", "/calendar.ics", "", cold_target_ms=cold, accept_encoding=feeds),
        Page(
            "ICS feed, personal",
            f"/calendar/{calendar_token}.ics",
            "",
            cold_target_ms=cold,
            accept_encoding=feeds,
        ),
        # The public site (docs/public-site.md): a visitor without a session.
        Page("public: dashboard", "/", "", public_lists, site=PUBLIC),
        Page("public: table, first page", "/commitments/", "", public_lists, site=PUBLIC),
        Page(
            "public: commitment, long history", landmarks.long_path, "", public_details, site=PUBLIC
        ),  # fmt: skip
        Page("public: document page", landmarks.document_path, "", public_details, site=PUBLIC),
        # The API's lists (docs/api.md), read with the secretariat's token.
        *(
            Page(f"API: {name}", f"/api/v1/{name}/", "secretariat", API_LIST_TARGET, api_token=True)
            for name in ("commitments", "updates", "documents", "actors", "events")
        ),
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
        # Fresh statistics and visibility maps, as autovacuum gives a real server (on inserts
        # too, since PostgreSQL 13): without the maps no index-only scan is planned, and a
        # count by an index (an actor's links) reads every row it counts.
        cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


# --- Measuring --------------------------------------------------------------------------------


def query_count(path: str, session_key: str) -> tuple[int, int, float]:
    """(status, queries, seconds) of one request, served in this process against the same
    database: the count is the query log's, the time sizes the load run."""
    status, statements, seconds = request_in_process(path, session_key)
    return status, len(statements), seconds


def request_in_process(
    path: str,
    session_key: str,
    *,
    authorization: str = "",
    public: bool = False,
    accept_encoding: str = "",
) -> tuple[int, list[str], float]:
    """(status, the SQL it ran, seconds) of one request served in this process against the
    same database, with a session, an API token (`authorization`) or neither, and the public
    site on if `public`; with an Accept-Encoding header if `accept_encoding`."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    client = Client()  # a fresh cookie jar: no session but the one given
    if session_key:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.handler = HANDLER.setdefault("handler", client.handler)  # middleware loaded once
    headers = {"Authorization": authorization} if authorization else {}
    if accept_encoding:
        headers["Accept-Encoding"] = accept_encoding
    connection.close_if_unusable_or_obsolete()  # PostgreSQL may have restarted meanwhile
    started = time.monotonic()
    with (
        override_settings(TRACKER_PUBLIC_SITE=True) if public else contextlib.nullcontext(),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(path, headers=headers)
        if response.streaming:
            b"".join(response.streaming_content)
    statements = [query["sql"] for query in queries.captured_queries]
    return response.status_code, statements, time.monotonic() - started


def credentials(page: Page, sessions: dict) -> tuple[str, str]:
    """(session key, Authorization header) the page is read with."""
    if page.api_token:
        return "", f"Bearer {sessions[TOKENS][page.role]}"
    return sessions.get(page.role, ""), ""


def large_tables() -> list[str]:
    """The tables whose sequential scan makes a page grow with the data."""
    from commitments.models import Commitment, StatusUpdate

    return [StatusUpdate._meta.db_table, Commitment._meta.db_table]


def page_probe(page: Page, sessions: dict, load: Load) -> tuple[dict, Load]:
    """Status, query counts, cold time and query plans of a page, measured in-process; and how
    long to drive it in each round: a slow page gets time for a few requests on every
    connection."""
    from django.db import connection

    from core import caching

    key, authorization = credentials(page, sessions)

    def once():
        return request_in_process(
            page.path,
            key,
            authorization=authorization,
            public=page.site == PUBLIC,
            accept_encoding=page.accept_encoding,
        )

    once()  # warm: the first request of a process loads templates
    # Cold: the first request after a write, which computes and caches what the page caches.
    caching.invalidate(caching.DASHBOARD, caching.CALENDAR, caching.RECORD)
    _, cold_statements, cold_seconds = once()
    status, statements, seconds = once()
    explained = explain_queries(connection, cold_statements)
    result = {
        "page": page.name,
        "path": page.path,
        "site": page.site,
        "role": (page.role + " (API token)" if page.api_token else page.role) or "anonymous",
        "status": status,
        "target": page.target,
        "cold_target_ms": page.cold_target_ms,
        "queries": len(statements),
        "cold_ms": round(cold_seconds * 1000, 1),
        "cold_queries": len(cold_statements),
        "explain": explained,
        "seq_scans": page_seq_scans(explained, large_tables()),
    }
    if status != 200:
        result["error"] = f"HTTP {status}"
    rounds = math.ceil(4 * seconds * load.connections / WORKERS)
    return result, dataclasses.replace(load, seconds=min(MAX_SECONDS, max(load.seconds, rounds)))


def cookie_for(session_key: str) -> str:
    return browser_cookie(session_key)


def page_url(page: Page, urls: dict) -> str:
    return urls[page.site] + page.path


def rounds_drive(page_list, probes, urls, sessions, load: Load, rounds: int) -> tuple[list, list]:
    """Drive the reference and the pages in alternating rounds (bench.rounds.schedule), each
    after a warm-up turn not counted; return the schedule and what each step measured (None
    for a step that failed)."""
    # Each one's URL, and what drive() sends with it.
    targets = {
        REFERENCE: (urls["reference"] + REFERENCE_PATH, {"cookie": cookie_for(sessions[REFERENCE])})
    }
    for page in page_list:
        key, authorization = credentials(page, sessions)
        sent = {"cookie": cookie_for(key), "authorization": authorization}
        sent["accept_encoding"] = page.accept_encoding
        targets[page.name] = (page_url(page, urls), sent)
    drivable = [page.name for page in page_list if "error" not in probes[page.name][0]]
    order, measured, warmed = schedule(drivable, rounds), [], set()
    for step, name in enumerate(order, 1):
        url, sent = targets[name]
        if name not in warmed:
            warmed.add(name)
            cold_ms = 0 if name == REFERENCE else probes[name][0].get("cold_ms", 0)
            try:
                drive(url, **sent, load=warm_up_load(cold_ms))
            except LoadError as error:
                print(f"    {name}, warming up: {error}", flush=True)
        page_load = load if name == REFERENCE else probes[name][1]
        try:
            measured.append(drive(url, **sent, load=page_load))
        except LoadError as error:
            measured.append(None)
            print(f"    {name}: {error}", flush=True)
        figure = measured[-1]["rps"] if measured[-1] else "failed"
        print(f"  [{step}/{len(order)}] {name}: {figure} req/s", flush=True)
    return order, measured


def read_headers(page: Page, sessions: dict) -> dict:
    key, authorization = credentials(page, sessions)
    headers = {"Cookie": cookie_for(key)} if key else {}
    if page.accept_encoding:
        headers["Accept-Encoding"] = page.accept_encoding
    return {**headers, "Authorization": authorization} if authorization else headers


def cold_drive(page_list, urls, sessions, writer: Writer, rounds: int) -> dict:
    """Each page with a cold target: `rounds` writes, each followed by one timed read."""
    measured = {}
    for page in page_list:
        if not page.cold_target_ms:
            continue
        slug = page.writes_to or sessions[COLD_SLUG]
        measured[page.name] = cold_rounds(
            writer,
            slug,
            page_url(page, urls),
            read_headers(page, sessions),
            rounds=rounds,
            target_ms=page.cold_target_ms,
        )
        print(f"  cold {page.name}: {measured[page.name]}", flush=True)
    return measured


def concurrent_drive(page_list, urls, sessions, writer: Writer, load: Load) -> list[dict]:
    """CONCURRENT_PAGES under `load` (64 connections) while `writer` posts once a second."""
    measured = []
    for page in page_list:
        if page.name not in CONCURRENT_PAGES:
            continue
        key, _ = credentials(page, sessions)
        try:
            result = under_writes(
                page_url(page, urls), writer, sessions[COLD_SLUG], load, cookie=cookie_for(key)
            )
        except LoadError as error:
            result = {"error": str(error)}
        measured.append({"page": page.name, **result})
        print(f"  {load.connections} connections, {page.name}: {measured[-1]}", flush=True)
    return measured


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
        "p99_ms": middle.get("p99_ms"),
        "rounds_rps": [round(run["rps"], 1) for run in runs],
        "non_200": sum(run["non_200"] for run in runs),
        "socket_errors": sum(run["socket_errors"] for run in runs),
    }


def export_measure(
    base_url: str, master, session_key: str, cookie_name: str, export_format: str
) -> dict:
    """Time the commitments table's full export in `export_format` ("csv" or "xlsx") and the
    workers' peak memory while they produce it."""
    path = f"/commitments/?_export={export_format}"
    pids = worker_pids(master)
    _, queries, _ = query_count(path, session_key)
    request = urllib.request.Request(f"{base_url}/commitments/")
    request.add_header("Cookie", f"{cookie_name}={session_key}")
    for _ in pids:  # each worker has served one ordinary page: imports and templates loaded
        urllib.request.urlopen(request, timeout=300).read()
    timings, cpu, sizes, growth = [], [], [], []
    for _ in range(EXPORT_REPEATS):
        baseline = {pid: rss_kib(pid) for pid in pids}
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        peak_rss_reset(pids)
        request = urllib.request.Request(base_url + path)
        request.add_header("Cookie", f"{cookie_name}={session_key}")
        with RssSampler(pids) as sampler:
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=300) as response:
                body = response.read()
            timings.append(time.monotonic() - started)
        # The workers' CPU: what the export costs whatever else the machine runs meanwhile.
        cpu.append(round(sum(cpu_seconds(pid) for pid in pids) - cpu_before, 2))
        sizes.append(len(body))
        peaks = {pid: max(peak_rss_kib(pid), sampler.peak[pid]) for pid in pids}
        growth.append(max(peaks[pid] - baseline[pid] for pid in pids))
    return {
        "rows": export_rows_count(export_format, body),
        "bytes": sizes[-1],
        "queries": queries,
        "seconds": timings,
        "median_seconds": sorted(timings)[len(timings) // 2],
        "worker_cpu_seconds": cpu,
        "peak_rss_growth_mib": [round(kib / 1024, 1) for kib in growth],
        "worker_rss_mib": round(max(rss_kib(pid) for pid in pids) / 1024, 1),
        "worker_baseline_rss_mib": round(min(baseline.values()) / 1024, 1),
    }


def export_rows_count(export_format: str, body: bytes) -> int:
    """The commitments in an export, its header left out: the CSV's lines, the sheet's rows."""
    if export_format == "csv":
        return body.count(b"\n") - 1
    with zipfile.ZipFile(io.BytesIO(body)) as workbook, workbook.open(XLSX_SHEET) as sheet:
        rows, tail = 0, b""
        # Read in pieces: the sheet of 200,000 rows is ten times the file it is zipped into.
        while piece := sheet.read(XLSX_PIECE):
            rows += (tail + piece).count(b"<row ")
            # The start of a "<row " cut in two; shorter than one, so never counted twice.
            tail = (tail + piece)[-4:]
    return rows - 1


def xlsx_target_seconds(rows: int) -> float:
    """Issue 16's 3 s for an Excel export of 20,000 rows; as long a row for more (ten times
    the data), never less than 3 s for fewer."""
    return XLSX_TARGET_SECONDS * max(1.0, rows / XLSX_TARGET_ROWS)


def xlsx_export_judge(export: dict) -> dict:
    """The Excel export's measurement with its target and whether the median met it."""
    if "median_seconds" not in export:
        return export
    target = xlsx_target_seconds(export["rows"])
    return {**export, "target_seconds": target, "met": export["median_seconds"] <= target}


def export_targets(export: dict) -> list[str]:
    """The Excel export's target as a sentence when missed, or when it could not be measured
    (a run that skipped the exports says nothing)."""
    if export.get("skipped"):
        return []
    if "median_seconds" not in export:
        return [f"Excel export: not measured ({export.get('error', 'no result')})"]
    if export["met"]:
        return []
    return [
        f"Excel export: median {export['median_seconds']:.2f} s > {export['target_seconds']:.1f} s "
        f"({export['rows']} rows)"
    ]


def admin_ratios(results: list[dict]) -> None:
    """Each page's throughput as a multiple of the admin's change list, when it was driven."""
    admin = next((r for r in results if r["page"] == ADMIN and "rps" in r), None)
    for result in results:
        if admin and "rps" in result:
            result["vs_admin"] = result["rps"]["median"] / admin["rps"]["median"]


def targets(results: list[dict], page_list: list[Page]) -> list[str]:
    """Issue 16's targets, as sentences saying which were missed: throughput by the median of
    the rounds' ratios, cold reads by the median of the write-then-read rounds; a page with a
    target that was not measured at all is said too."""
    goal = {page.name: page for page in page_list}
    missed = []
    for result in results:
        page = goal.get(result["page"])
        if page is None:
            continue
        if page.target and "ratio" not in result:
            missed.append(f"{page.name}: not measured ({result.get('error', 'no rounds')})")
        elif page.target and result["ratio"]["median"] < page.target:
            share = result["ratio"]["median"]
            missed.append(f"{page.name}: {share:.2f} of the reference < {page.target:.2f}")
        cold = result.get("cold_http")
        if page.cold_target_ms and cold is not None:
            if "median_ms" not in cold:
                missed.append(f"{page.name}, cold: not measured ({cold.get('error')})")
            elif cold["median_ms"] > page.cold_target_ms:
                missed.append(
                    f"{page.name}, cold: median {cold['median_ms']:.0f} ms > "
                    f"{page.cold_target_ms:.0f} ms (worst {cold['worst_ms']:.0f} ms)"
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


def cold_print(results: list[dict]) -> None:
    measured = [r for r in results if "cold_http" in r]
    if not measured:
        return
    print("\nCold over HTTP: the secretariat posts one status update (API), then the page is read")
    header = f"{'page':44} {'median ms':>10} {'worst ms':>9} {'rounds':>7} {'target':>7}"
    print(header + "\n" + "-" * len(header))
    for r in measured:
        cold = r["cold_http"]
        if "median_ms" not in cold:
            print(f"{r['page']:44} {cold.get('error')}: {cold.get('errors')}")
            continue
        print(
            f"{r['page']:44} {cold['median_ms']:10.0f} {cold['worst_ms']:9.0f} "
            f"{len(cold['rounds_ms']):7d} {cold['target_ms']:7.0f}  "
            + ("met" if cold["met"] else "MISSED")
            + (f"  ({len(cold['errors'])} errors)" if cold.get("errors") else "")
        )


def concurrent_print(measured: list[dict]) -> None:
    for r in measured:
        if "error" in r:
            print(f"\nUnder load, {r['page']}: {r['error']}")
            continue
        print(
            f"\n{r['connections']} connections for {r['seconds']} s, {r['page']}, a writer "
            f"posting once a second: {r['rps']:.1f} req/s, median {r['median_ms']:.0f} ms, "
            f"p95 {r['p95_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms; "
            f"{r['non_200']} non-200, {r['socket_errors']} socket errors; "
            f"{r['writes']} writes (median {r['write_median_ms']} ms, worst "
            f"{r['write_worst_ms']} ms), {len(r['write_failures'])} failed"
        )


def seq_scans_print(results: list[dict]) -> None:
    """One line per page whose cold queries scan a large table whole: which queries, which
    tables, and the most rows the planner expects from such a scan."""
    flagged = [r for r in results if r.get("seq_scans")]
    explained = sum(len(r.get("explain", [])) for r in results)
    if not flagged:
        print(f"\nQuery plans: {explained} explained, no sequential scan of a large table.")
        return
    print(f"\nQuery plans: {explained} explained; sequential scans of large tables (cold):")
    for r in flagged:
        queries = sorted({scan["query"] for scan in r["seq_scans"]})
        rows: dict[str, int] = {}
        for scan in r["seq_scans"]:
            rows[scan["table"]] = max(rows.get(scan["table"], 0), scan["rows"] or 0)
        tables = ", ".join(f"{table} (~{most} rows)" for table, most in sorted(rows.items()))
        numbers = ", ".join(map(str, queries))
        print(f"  {r['page']}: queries {numbers} of {r['cold_queries']}: {tables}")


def csv_print(export: dict) -> None:
    export_print("CSV", export)


def export_print(name: str, export: dict) -> None:
    """One export's line; the Excel file's says its target too."""
    if "error" in export:
        print(f"\n{name} export failed: {export['error']}")
        return
    target = ""
    if "target_seconds" in export:
        verdict = "met" if export["met"] else "MISSED"
        target = f" (target {export['target_seconds']:.1f} s: {verdict})"
    print(
        f"\n{name} export: {export['rows']} rows, {export['bytes'] / 1e6:.1f} MB, "
        f"median {export['median_seconds']:.2f} s over {EXPORT_REPEATS} runs{target}, "
        f"workers' CPU {export['worker_cpu_seconds']} s, "
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
    parser.add_argument(
        "--skip-exports",
        "--skip-csv",  # its name when the CSV was the only export measured
        dest="skip_exports",
        action="store_true",
        help="no CSV or Excel export at the end",
    )
    parser.add_argument(
        "--cold-rounds",
        type=int,
        default=COLD_ROUNDS,
        help="write-then-read rounds per cold page, after one not counted (0: none)",
    )
    parser.add_argument(
        "--concurrent-seconds",
        type=int,
        default=CONCURRENT.seconds,
        help="seconds of the many-connections run with a writer (0: none)",
    )
    parser.add_argument("--concurrent-connections", type=int, default=CONCURRENT.connections)
    parser.add_argument(
        "--compare",
        default="",
        metavar="RESULTS.json",
        help="print each page's cached and cold time over that run's",
    )
    parser.add_argument(
        "--only",
        default="",
        help="drive only the pages whose name contains this (and the tracker's bare view)",
    )
    args = parser.parse_args(argv)
    for name in ("rounds", "seconds", "connections", "concurrent_connections"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("cold_rounds", "concurrent_seconds"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 (none) or more")
    return args


def sizes_from(args: argparse.Namespace) -> Sizes:
    return Sizes(**{field.name: getattr(args, field.name) for field in dataclasses.fields(Sizes)})


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    sizes = sizes_from(args)
    other = results_read(args.compare) if args.compare else None  # refused before any work
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    if not args.reuse_data:
        database_recreate(database_url)
    env = django_start(database_url)
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)
    if args.reuse_data:
        # The dataset kept from an earlier run gets the migrations added since (an index, a
        # kept count), as a deployed server would.
        call_command("migrate", verbosity=0, interactive=False)
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
    serve_and_measure(env, page_list, sessions, report, args)
    if other is not None:
        report["compared_with"] = args.compare
        report["comparison"] = compare(report, other)
        compare_print(report["comparison"], args.compare)
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
    env: dict, page_list: list[Page], sessions: dict, report: dict, options: argparse.Namespace
) -> None:
    """Drive the reference and every page in alternating rounds, then the cold pages and the
    pages under many connections with a writer, then the CSV and Excel exports; the report
    is saved after each step, so a run cut short keeps what it measured."""
    from django.db import connections

    load = Load(**report["load"])
    probes = {}
    for page in page_list:
        probes[page.name] = page_probe(page, sessions, load)
        shown = {k: v for k, v in probes[page.name][0].items() if k not in ("explain", "seq_scans")}
        shown["seq_scans"] = len(probes[page.name][0]["seq_scans"])
        print(f"  {page.name}: {shown}", flush=True)
    connections.close_all()  # gunicorn's workers open their own
    public = any(page.site == PUBLIC for page in page_list)
    with (
        gunicorn(env) as (base_url, _),
        gunicorn(reference_env(), REFERENCE_APP) as (reference_url, _),
        gunicorn({**env, "TRACKER_PUBLIC_SITE": "True"}) if public else _no_server() as (
            public_url,
            _,
        ),
    ):
        urls = {"tracker": base_url, "reference": reference_url, PUBLIC: public_url}
        order, measured = rounds_drive(page_list, probes, urls, sessions, load, report["rounds"])
        report["pages"], report["reference_rounds"] = rounds_report(
            page_list, probes, order, measured
        )
        results_write(report)
        writer = Writer(base_url, sessions[TOKENS]["secretariat"], sessions[WRITE_DAY])
        if options.cold_rounds:
            cold = cold_drive(page_list, urls, sessions, writer, options.cold_rounds)
            for result in report["pages"]:
                if result["page"] in cold:
                    result["cold_http"] = cold[result["page"]]
            results_write(report)
        if options.concurrent_seconds:
            heavy = dataclasses.replace(
                CONCURRENT,
                seconds=options.concurrent_seconds,
                connections=options.concurrent_connections,
            )
            report["concurrent"] = concurrent_drive(page_list, urls, sessions, writer, heavy)
            results_write(report)
    exports_drive(env, sessions, report, skip=options.skip_exports)
    report_finish(report, page_list)


def exports_drive(env: dict, sessions: dict, report: dict, *, skip: bool) -> None:
    """The CSV export, then the Excel one with its target, into the report (saved between)."""
    skipped = {"error": "not measured (--skip-exports)", "skipped": True}
    report["csv_export"], report["xlsx_export"] = skipped, skipped
    if skip:
        return
    report["csv_export"] = export_served(env, sessions, "csv")
    results_write(report)
    report["xlsx_export"] = xlsx_export_judge(export_served(env, sessions, "xlsx"))


def export_served(env: dict, sessions: dict, export_format: str) -> dict:
    """The secretariat's export measured over HTTP, on workers of its own: after the other
    pages (or the other export) a worker's heap is already large enough to hide what the
    export itself needs."""
    from django.conf import settings

    print(f"  exporting {export_format} ...", flush=True)
    key, cookie_name = sessions["secretariat"], settings.SESSION_COOKIE_NAME
    with gunicorn(env) as (base_url, master):
        try:
            return export_measure(base_url, master, key, cookie_name, export_format)
        except urllib.error.HTTPError as error:
            return {"error": f"HTTP {error.code}: see the server's log above"}


@contextlib.contextmanager
def _no_server():
    yield "", None


def report_finish(report: dict, page_list: list[Page]) -> None:
    admin_ratios(report["pages"])
    missed = targets(report["pages"], page_list) + export_targets(report["xlsx_export"])
    report["targets_missed"] = missed
    table_print(report["pages"], report["reference_rounds"])
    cold_print(report["pages"])
    concurrent_print(report.get("concurrent", []))
    seq_scans_print(report["pages"])
    csv_print(report["csv_export"])
    export_print("Excel", report["xlsx_export"])
    measured = {page.name for page in page_list if page.target or page.cold_target_ms}
    if missed:
        print("\nTargets missed:\n  " + "\n  ".join(missed))
    elif measured:
        print("\nAll targets met.")


def session_setup(sizes: Sizes):
    """Landmarks (URLs to drive), a session per role (with the secretariat's API token and
    what the writer needs), and the secretariat's calendar token."""
    from commitments.models import Theme
    from commitments.selectors import actor_commitment_list
    from core.local_time import reader_today
    from tracker.api_tokens import api_token_create
    from tracker.models import User

    from .generator import session_for

    named = {"secretariat": "bench-secretariat", "liaison": "bench-liaison", "admin": "bench-admin"}
    sessions = {role: session_for(username) for role, username in named.items()}
    officer = User.objects.get(username="bench-secretariat")
    token = officer.calendar_token
    sessions[TOKENS] = {"secretariat": api_token_create(user=officer, name="bench.run")[1]}
    sessions[WRITE_DAY] = reader_today(officer)
    liaison = User.objects.get(username="bench-liaison")
    involved = actor_commitment_list(user=liaison, actor=liaison.actor)
    sessions[COLD_SLUG] = (
        involved.filter(milestones=None).exclude(slug="c-00000").values_list("slug", flat=True)[0]
    )
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
