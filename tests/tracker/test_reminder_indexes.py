"""Reminder's indexes: each partial index is there, holds only what its named query reads, and
that query can use it (tracker.models.reminders, Meta.indexes)."""

import datetime

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from tracker.models import Notification, Reminder, WorkerHeartbeat
from tracker.reminders import claiming

pytestmark = pytest.mark.django_db


def _indexes() -> dict:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Reminder._meta.db_table)
    return {name: info for name, info in found.items() if info["index"] or info["unique"]}


def test_the_database_has_exactly_the_indexes_the_model_declares():
    # The migration drops the foreign keys' own indexes by name: Django's AlterField would
    # also have dropped reminder_unique_news, the one-column unique index on notification_id.
    declared = {index.name for index in Reminder._meta.indexes}
    declared |= {constraint.name for constraint in Reminder._meta.constraints}
    indexes = _indexes()
    assert declared <= set(indexes)
    # Besides them only the recipient's foreign key index (Django's name) and the primary key.
    left = [info["columns"] for name, info in indexes.items() if name not in declared]
    assert sorted(left) == [["id"], ["recipient_id"]] or left == [["recipient_id"]], left
    assert indexes["reminder_unique_news"]["unique"]


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # A tiny table is read whole whatever its indexes: ask whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan TO off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


PARTIAL = [
    "reminder_pending_due",
    "reminder_held_claimed",
    "reminder_failed_due",
    "reminder_event",
    "reminder_commitment",
    "reminder_milestone",
    "reminder_notification",
]


def _queries(now: datetime.datetime) -> dict:
    dead = WorkerHeartbeat.objects.filter(beat_at__lt=now)
    held = Q(claimed_by__in=dead.values("holder")) | Q(claimed_at__lt=now)
    return {
        "reminder_pending_due": claiming._due_rows(now)[:1000],
        "reminder_held_claimed": Reminder.objects.filter(
            held, state__in=[Reminder.State.CLAIMED, Reminder.State.SENDING]
        ),
        "reminder_failed_due": Reminder.objects.filter(state=Reminder.State.FAILED)[:50],
        "reminder_event": Reminder.objects.filter(event_id__in=[1, 2]),
        "reminder_commitment": Reminder.objects.filter(commitment_id__in=[1, 2]),
        "reminder_milestone": Reminder.objects.filter(milestone_id__in=[1, 2]),
        "reminder_notification": Notification.objects.filter(
            created_at__gte=now, reminders__isnull=True
        ),
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize("index", PARTIAL)
def test_each_partial_index_serves_its_named_query(index):
    assert set(PARTIAL) == {index.name for index in Reminder._meta.indexes}
    plan = _plan(_queries(timezone.now())[index])
    assert f" {index} " in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_count_of_claimed_rows_reads_the_held_index():
    plan = _plan(Reminder.objects.filter(state=Reminder.State.CLAIMED).order_by())
    assert " reminder_held_claimed " in plan, plan
