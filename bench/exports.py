"""`make bench-exports`: the commitments table's CSV and Excel exports, time, CPU and memory.

    python -m bench.exports [--database-url URL] [--runs 3] [--role secretariat] [--query ...]
    python -m bench.exports --database-url URL --grow-to 200000   # then measure it

Each export runs in a fresh process (so its peak memory is its own), in-process through
Django's test client as the view serves it (no gunicorn), the formats alternating. Prints, per
format, the wall time, the process's CPU time, the queries and how much the export raised the
process's peak RSS over what one table page had already reached; writes
bench/results/<timestamp>-exports.json.

`--grow-to N` first copies the database's commitments (with their paragraphs, actors and
themes, not their updates) with SQL until there are N: a cheap way to 200,000 rows, in a
database of your own (never the pages' dataset).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from . import machine
from .run import DEFAULT_DATABASE_URL, django_start, results_write
from .stats import median

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)  # the pages' dataset
ROLES = {"secretariat": "bench-secretariat", "liaison": "bench-liaison"}
FORMATS = ("csv", "xlsx")
PLAIN_STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"
LINK_TABLES = {
    "commitments_commitment_paragraphs": "paragraph_id",
    "commitments_commitment_lead_actors": "actor_id",
    "commitments_commitment_supporting_actors": "actor_id",
    "commitments_commitment_themes": "theme_id",
}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def export_once(export_format: str, *, role: str, query: str) -> dict:
    """One export in this process, after one table page (imports, templates, connection)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from tracker.models import User

    # Pages name static files without a collected manifest (bench.run's server collects one).
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC}}
    override_settings(STORAGES=storages).enable()
    client = Client()
    client.force_login(User.objects.get(username=ROLES[role]))
    client.get("/commitments/")
    before = peak_rss_mib()
    queries = []  # counted, not kept: the SQL of 400 chunks would be memory of its own

    def count(execute, sql, params, many, context):
        queries.append(None)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started, cpu = time.monotonic(), time.process_time()
        response = client.get(f"/commitments/?_export={export_format}&{query}")
        size = lines = 0
        for part in response.streaming_content:  # counted, not kept
            size += len(part)
            lines += part.count(b"\n")
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    return {
        "format": export_format,
        "status": response.status_code,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "bytes": size,
        "csv_rows": lines - 1 if export_format == "csv" else None,
        "queries": len(queries),
        "peak_rss_growth_mib": round(peak_rss_mib() - before, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def commitments_grow(target: int) -> int:
    """Copy the commitments and their links with SQL until there are `target` of them."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM commitments_commitment")
        [count] = cursor.fetchone()
        round_ = 0
        while count < target:
            round_ += 1
            copy_rows(cursor, suffix=f"-x{round_}", limit=target - count)
            cursor.execute("SELECT count(*) FROM commitments_commitment")
            [count] = cursor.fetchone()
        cursor.execute("ANALYZE")
    return count


def copy_rows(cursor, *, suffix: str, limit: int) -> None:
    cursor.execute(
        "SELECT string_agg(quote_ident(attname), ', ') FROM pg_attribute "
        "WHERE attrelid = 'commitments_commitment'::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attname NOT IN ('id', 'slug')"
    )
    [columns] = cursor.fetchone()
    cursor.execute(
        "CREATE TEMP TABLE copied ON COMMIT DROP AS "
        "SELECT id AS old_id, nextval(pg_get_serial_sequence('commitments_commitment', 'id')) "
        "AS new_id FROM commitments_commitment WHERE slug NOT LIKE %s ORDER BY id LIMIT %s",
        ["%-x%", limit],
    )
    cursor.execute(
        f"INSERT INTO commitments_commitment (id, slug, {columns}) OVERRIDING SYSTEM VALUE "
        f"SELECT copied.new_id, c.slug || %s, {', '.join('c.' + n for n in columns.split(', '))} "
        "FROM copied JOIN commitments_commitment c ON c.id = copied.old_id",
        [suffix],
    )
    for table, column in LINK_TABLES.items():
        cursor.execute(
            f"INSERT INTO {table} (commitment_id, {column}) SELECT copied.new_id, l.{column} "
            f"FROM copied JOIN {table} l ON l.commitment_id = copied.old_id"
        )
    cursor.execute("DROP TABLE copied")


def run(args) -> dict:
    """Each format `runs` times, alternating, each in a fresh process."""
    measured = {name: [] for name in args.formats}
    for index in range(args.runs):
        for export_format in args.formats:
            command = [sys.executable, "-m", "bench.exports", "--one", export_format]
            command += ["--database-url", args.database_url, "--role", args.role]
            command += ["--query", args.query]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            result = json.loads(output.strip().splitlines()[-1])
            measured[export_format].append(result)
            print(f"  run {index + 1} {export_format}: {summary_line(result)}", flush=True)
    return measured


def summary_line(result: dict) -> str:
    return (
        f"{result['seconds']:.2f} s, CPU {result['cpu_seconds']:.2f} s, "
        f"{result['bytes'] / 1e6:.1f} MB, {result['queries']} queries, "
        f"peak RSS +{result['peak_rss_growth_mib']} MiB (peak {result['peak_rss_mib']} MiB)"
    )


UNITS = (("seconds", "s"), ("cpu_seconds", "s CPU"), ("peak_rss_growth_mib", "MiB peak RSS growth"))


def report_print(measured: dict, commitments: int) -> None:
    print(f"\nExports of {commitments} commitments (median, min-max):")
    for export_format, results in measured.items():
        parts = []
        for key, unit in (
            ("seconds", "s"),
            ("cpu_seconds", "s CPU"),
            ("peak_rss_growth_mib", "MiB"),
        ):
            values = [r[key] for r in results]
            parts.append(f"{median(values):.2f} {unit} ({min(values):.2f}-{max(values):.2f})")
        print(f"  {export_format:5} " + ", ".join(parts) + f", {results[-1]['queries']} queries")


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--runs", type=int, default=3, help="per format, alternating")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--role", choices=tuple(ROLES), default="secretariat")
    parser.add_argument("--query", default="", help="filters and sort, as in the table's URL")
    parser.add_argument("--grow-to", type=int, help="first copy commitments up to this many")
    parser.add_argument("--one", choices=FORMATS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    if args.grow_to and args.database_url == DATABASE_URL:
        sys.exit("--grow-to writes: name a database of your own with --database-url")
    django_start(args.database_url)
    if args.one:
        print(json.dumps(export_once(args.one, role=args.role, query=args.query)))
        return 0
    from commitments.models import Commitment

    if args.grow_to:
        print(f"Copying commitments up to {args.grow_to} ...", flush=True)
        commitments_grow(args.grow_to)
    commitments = Commitment.objects.count()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"Exporting {commitments} commitments as {args.role}, {args.runs} runs ...", flush=True)
    measured = run(args)
    report_print(measured, commitments)
    report = {
        "started_at": started_at,
        "machine": machine.describe(),
        "database": args.database_url.rsplit("/", 1)[-1],
        "commitments": commitments,
        "role": args.role,
        "query": args.query,
        "exports": measured,
    }
    print(f"Written to {results_write(report, '-exports')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
