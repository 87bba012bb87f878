"""`make bench-reminders`: N reminders due at once, sent by one Celery worker to a local sink.

The worker runs as many processes as docker-compose.yml ships (Celery's default: one per CPU).

    python -m bench.reminders [--reminders 100000 --users 10000 --events 2000 --concurrency 2]

Rebuilds its own database, BENCH_REMINDERS_DATABASE_URL (default tracker_bench_reminders, so
the pages' dataset in BENCH_DATABASE_URL survives), with only what reminders need (users,
events, subscriptions and the due rows, written in bulk), so the tracker's planner adds nothing
of its own and the count received must equal the count due. The floor is a plain smtplib loop
sending the same messages to the same sink over one connection.
"""

import argparse
import contextlib
import datetime
import itertools
import math
import os
import random
import smtplib
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import redis

from . import machine
from .run import DEFAULT_DATABASE_URL, database_recreate, django_start, results_write
from .server import free_port
from .sizes import Sizes
from .smtp_sink import SmtpSink

BASE_DIR = Path(__file__).resolve().parent.parent
# The benchmark's own Redis database (flushed at the start of a run).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
BEAT_SECONDS = 60  # how often beat queues a dispatcher run (CELERY_BEAT_SCHEDULE)
REMINDERS_DATABASE_URL = DEFAULT_DATABASE_URL.replace("/tracker_bench", "/tracker_bench_reminders")
FLOOR_SAMPLE = 50  # distinct messages rendered for the floor, sent round-robin
LEAD_DAYS = 30


# --- The due rows ---------------------------------------------------------------------------


# Issue 16: the worker at least half as fast as the plain smtplib loop.
REMINDERS_TARGET = 0.5


def dataset_build(*, reminders: int, users: int, events: int) -> None:
    """Users, events, and one subscription and one due reminder per (event, user) pair."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from commitments.models import Actor
    from tracker.models import Event, Reminder, ReminderPreference, ReminderSubscription, User

    from .generator import actor_rows, bulk_insert, user_rows

    call_command("migrate", verbosity=0, interactive=False)
    sizes = Sizes(users=users, actors=50)
    actors = bulk_insert(Actor, actor_rows(sizes), total=sizes.actors, bar=True)
    rows = user_rows(sizes, actors, random.Random(1))
    people = [user for user in bulk_insert(User, rows, total=users, bar=True) if user.email]
    day = timezone.now().date() + datetime.timedelta(days=LEAD_DAYS)
    event_list = bulk_insert(Event, event_rows(events, day), total=events, bar=True)
    pairs = recipient_pairs(event_list, people, reminders)
    subscriptions = (ReminderSubscription(user=user, event=event) for event, user in pairs)
    bulk_insert(ReminderSubscription, subscriptions, total=len(pairs), bar=True)
    # The events have no lead times of their own (above), so each reader chooses this one:
    # without it every row would be skipped as a lead time its reader no longer wants.
    readers = {user.pk: user for _, user in pairs}.values()
    choices = (ReminderPreference(user=user, event_lead_days=[LEAD_DAYS]) for user in readers)
    bulk_insert(ReminderPreference, choices, total=len(readers), bar=True)
    bulk_insert(Reminder, due_rows(pairs, day), total=len(pairs), bar=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give a real server


def event_rows(count: int, day: datetime.date):
    from tracker.models import Event

    for i in range(count):
        # No lead times: the planner that every dispatch runs adds no rows of its own.
        yield Event(
            title=f"Forum {i}",
            slug=f"forum-{i:05d}",
            kind=Event.Kind.FORUM,
            start_date=day,
            lead_times_days=[],
        )


def recipient_pairs(events: list, people: list, count: int) -> list[tuple]:
    """(event, user) pairs, each event followed by a run of distinct users."""
    per_event = math.ceil(count / len(events))
    if per_event > len(people):
        raise SystemExit(f"{count} reminders need at least {per_event} users with an email")
    return [(events[i // per_event], people[i % len(people)]) for i in range(count)]


def due_rows(pairs: list[tuple], day: datetime.date):
    from django.utils import timezone

    from tracker.models import Reminder

    due_at = timezone.now() - datetime.timedelta(minutes=1)
    for event, user in pairs:
        yield Reminder(
            kind=Reminder.Kind.EVENT,
            recipient=user,
            event=event,
            occurrence_date=day,
            lead_days=LEAD_DAYS,
            due_on=due_at.date(),
            due_at=due_at,
        )


# --- The floor: plain smtplib -------------------------------------------------------------


def sample_messages() -> list[tuple[str, list[str], bytes]]:
    """The tracker's own messages for the first few due reminders, rendered once."""
    from tracker.models import Reminder
    from tracker.reminders import reminder_message

    rows = Reminder.objects.select_related("recipient", "event").order_by("pk")[:FLOOR_SAMPLE]
    messages = []
    for reminder in rows:
        email = reminder_message(reminder=reminder)
        messages.append(
            (email.from_email, email.recipients(), email.message().as_bytes(linesep="\r\n"))
        )
    return messages


def floor_measure(sink: SmtpSink, count: int) -> dict:
    messages = sample_messages()
    sink.reset()
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for sender, recipients, body in itertools.islice(itertools.cycle(messages), count):
            smtp.sendmail(sender, recipients, body)
    complete = sink.wait_for(count)
    seconds = time.monotonic() - started
    return {
        "sent": count,
        "received": sink.received,
        "complete": complete,
        "seconds": seconds,
        "per_second": sink.received / seconds,
    }


# --- The worker ------------------------------------------------------------------------------


def worker_start(env: dict, concurrency: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config.celery_app",
        "worker",
        f"--concurrency={concurrency}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
    ]
    return subprocess.Popen(command, cwd=BASE_DIR, env={**os.environ, **env})


def worker_wait_ready(timeout: float = 60) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1):
            return
    raise RuntimeError("the Celery worker did not answer a ping")


def beat(stop: threading.Event) -> None:
    """What Celery beat does: a dispatcher run now, then one a minute. A run claims batch
    after batch for up to REMINDER_DISPATCH_SECONDS; what is left waits for the next run."""
    from tracker.tasks import dispatch_reminders

    while not stop.is_set():
        dispatch_reminders.delay()
        stop.wait(BEAT_SECONDS)


def dispatch_measure(sink: SmtpSink, count: int, env: dict, concurrency: int) -> dict:
    """Run beat's schedule against one worker and time until the sink has every message."""
    from django.conf import settings

    redis.Redis.from_url(REDIS_URL).flushdb()
    sink.reset()
    worker = worker_start(env, concurrency)
    stop = threading.Event()
    try:
        worker_wait_ready()
        cpu_before = process_tree_cpu_seconds(worker.pid)  # after start-up
        started = time.monotonic()
        threading.Thread(target=beat, args=(stop,), daemon=True).start()
        complete = sink.wait_for(count)
        seconds = time.monotonic() - started
        cpu_seconds = process_tree_cpu_seconds(worker.pid) - cpu_before
    finally:
        stop.set()
        worker.terminate()
        worker.wait(60)
    return {
        "due": count,
        "received": sink.received,
        "complete": complete,
        "seconds": seconds,
        "per_second": sink.received / seconds,
        # CPU the worker's processes used per message: steadier than the rate on a shared machine.
        "worker_cpu_ms_per_message": 1000 * cpu_seconds / max(sink.received, 1),
        "states": reminder_states(),
        "batch_size": settings.REMINDER_BATCH_SIZE,
        "send_chunk_size": settings.REMINDER_SEND_CHUNK_SIZE,
        "dispatch_seconds": settings.REMINDER_DISPATCH_SECONDS,
        "concurrency": concurrency,
    }


def process_tree_cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children (the worker's pool)."""
    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def reminder_states() -> dict:
    from django.db.models import Count

    from tracker.models import Reminder

    rows = Reminder.objects.values("state").annotate(n=Count("pk")).order_by("state")
    return {row["state"]: row["n"] for row in rows}


# --- The run ---------------------------------------------------------------------------------


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=Sizes.users)
    parser.add_argument("--events", type=int, default=Sizes.events)
    # What bin/worker runs, and so docker-compose.yml: Celery's default, a process per CPU.
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count(), help="worker processes (one per CPU)"
    )
    return parser.parse_args(argv)


def report_print(floor: dict, dispatch: dict) -> None:
    ratio = dispatch["per_second"] / floor["per_second"]
    print(
        f"\nReminders due: {dispatch['due']}, received: {dispatch['received']}"
        f" ({'all' if dispatch['received'] == dispatch['due'] else 'MISSING SOME'})"
    )
    print(
        f"Celery worker (concurrency {dispatch['concurrency']}): "
        f"{dispatch['per_second']:.1f} messages/s in {dispatch['seconds']:.1f} s"
    )
    print(
        f"Plain smtplib loop (floor): {floor['per_second']:.1f} messages/s "
        f"in {floor['seconds']:.1f} s"
    )
    print(f"Worker CPU per message: {dispatch['worker_cpu_ms_per_message']:.2f} ms")
    # Three decimals: 0.497 printed as 0.50 read as met.
    verdict = "met" if ratio >= REMINDERS_TARGET else "MISSED"
    print(f"Worker / floor: {ratio:.3f} (target: at least {REMINDERS_TARGET}: {verdict})")
    print(f"Row states after the run: {dispatch['states']}")


def main(argv: list[str] | None = None) -> int:
    args = arguments(sys.argv[1:] if argv is None else argv)
    database_url = os.environ.get("BENCH_REMINDERS_DATABASE_URL", REMINDERS_DATABASE_URL)
    database_recreate(database_url)
    port = free_port()
    os.environ["REDIS_URL"] = REDIS_URL  # this process queues on the worker's broker
    env = {
        **django_start(database_url),
        "REDIS_URL": REDIS_URL,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    dataset_build(reminders=args.reminders, users=args.users, events=args.events)
    from django.db import connections

    with SmtpSink(port) as sink:
        floor = floor_measure(sink, args.reminders)
        connections.close_all()
        dispatch = dispatch_measure(sink, args.reminders, env, args.concurrency)
    report_print(floor, dispatch)
    report = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine.describe(),
        "reminders": vars(args),
        "floor": floor,
        "dispatch": dispatch,
        "ratio_to_floor": dispatch["per_second"] / floor["per_second"],
    }
    print(f"\nResults written to {results_write(report, suffix='-reminders')}")
    return 0 if dispatch["received"] == dispatch["due"] else 1


if __name__ == "__main__":
    sys.exit(main())
