"""The updates list's count: kept by PostgreSQL with each write (migration 0021_timeline_count)
instead of counted over every update, and still exactly what each reader may read."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from commitments import selectors, services
from commitments.models import Commitment, StatusUpdate
from core import caching
from tests.api.conftest import _update
from tests.factories import CommitmentFactory, StatusUpdateFactory

POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL keeps the count; SQLite counts"
)


def _counted(user) -> int:
    return selectors.status_update_visible_list(user=user).shown_in_timeline().count()


def _listed(client) -> int:
    return client.get(reverse("api:update_list")).json()["count"]


@pytest.fixture
def readers(liaison, secretariat):
    """A client of each audience's, each logged in as its own reader."""
    pairs = [(Client(), liaison), (Client(), secretariat)]
    for client, user in pairs:
        client.force_login(user)
    return pairs


def _assert_counts_right(readers) -> None:
    caching.invalidate(*caching.FAMILIES)  # some writes below bypass the services that do
    for client, user in readers:
        assert selectors.status_update_timeline_count(user=user) == _counted(user)
        assert _listed(client) == _counted(user)


def test_every_kind_of_write_keeps_each_readers_count(record, readers, secretariat):
    _assert_counts_right(readers)  # public, internal, withdrawn and its withdrawal

    update = _update(record.other, secretariat, "Said too soon.")
    record.other.refresh_from_db()
    services.status_update_correct(
        update=update,
        author=secretariat,
        status="in_progress",
        progress=40,
        narrative="Said right.",
        reason="A typo.",
        expected_version=record.other.version,
        progress_reason="Asked for.",
    )
    _assert_counts_right(readers)

    internal = StatusUpdate.Visibility.INTERNAL
    StatusUpdate.objects.bulk_create(
        StatusUpdateFactory.build(commitment=record.other, author=secretariat, visibility=v)
        for v in [internal, "public", "public"]
    )
    _assert_counts_right(readers)

    StatusUpdate.objects.filter(commitment=record.other).update(visibility=internal)
    _assert_counts_right(readers)

    Commitment.objects.filter(pk=record.commitment.pk).delete()  # its history goes with it
    _assert_counts_right(readers)


def test_the_count_follows_a_new_commitments_updates_on_the_next_read(db, readers, secretariat):
    liaison_client = readers[0][0]
    before = _listed(liaison_client)
    _update(CommitmentFactory(), secretariat, "A public one.")
    _update(CommitmentFactory(), secretariat, "An internal one.", StatusUpdate.Visibility.INTERNAL)

    assert _listed(liaison_client) == before + 1
    _assert_counts_right(readers)


@POSTGRESQL
def test_the_updates_list_reads_no_count_of_the_updates(
    record, secretariat_client, django_assert_max_num_queries
):
    """COUNT(*) over every update was a parallel scan of 5,000,000 rows at ten times the
    benchmark's data (0.26 s of each first read after a write)."""
    with django_assert_max_num_queries(14) as captured:
        response = secretariat_client.get(reverse("api:update_list"))

    assert response.json()["count"] == _counted(record.commitment.owner)
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "commitments_statusupdate" in sql]
