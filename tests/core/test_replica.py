"""The read replica's rules (core.replica): which server each read goes to, and the freshness
gate. No query reaches a replica here: the alias a query would use is QuerySet.db, and the two
servers' WAL positions are numbers the tests set. tests/reliability/test_read_replica.py runs
the same with a real primary and standby."""

import socket
import threading

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from commitments.models import Commitment, Paragraph, StatusUpdate
from config.settings.base import replica_databases
from core import caching, replica
from core.models import CacheState
from tests.factories import CommitmentFactory
from tracker.models import ApiToken, Event, Follow, Notification, Reminder


class Servers:
    """The primary's WAL position and how far the replica has replayed it (None: no standby);
    `asked` counts the replica's gate queries."""

    def __init__(self):
        self.primary, self.replayed, self.asked = 100, 100, 0

    def replica_replayed(self):
        self.asked += 1
        if isinstance(self.replayed, Exception):
            raise self.replayed
        return self.replayed


@pytest.fixture
def servers(transactional_db, monkeypatch, settings):
    """Outside a test transaction (a read inside one stays on the primary), with the loss
    record (core.caching) in the database: the gate reads it."""
    settings.DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
    found = Servers()
    monkeypatch.setattr(replica, "configured", lambda: True)
    monkeypatch.setattr(replica, "_replica_replayed", found.replica_replayed)
    monkeypatch.setattr(replica, "_primary_position", lambda: found.primary)
    monkeypatch.setattr(replica, "_replica_down_until", 0.0)
    monkeypatch.setattr(replica, "_no_standby", False)
    replica.position_record()  # what a write records after its commit
    return found


def in_request(read, method: str = "GET"):
    """What read() answers inside a request of that method, past ReplicaReadsMiddleware."""
    answers = []
    middleware = replica.ReplicaReadsMiddleware(lambda request: answers.append(read()))
    middleware(RequestFactory().generic(method, "/"))
    return answers[0]


def alias(model) -> str:
    return model.objects.all().db


def test_a_read_of_the_record_goes_to_a_replica_that_has_replayed_the_position(servers):
    for method in ("GET", "HEAD"):
        assert in_request(lambda: alias(Commitment), method) == replica.REPLICA
    through = Commitment.paragraphs.through
    read = lambda: [alias(m) for m in (StatusUpdate, Paragraph, Event, through)]  # noqa: E731
    assert in_request(read) == [replica.REPLICA] * 4


def test_people_sessions_and_security_always_read_the_primary(servers):
    security = (
        get_user_model(), Session, Group, Permission, ApiToken, StaticDevice, TOTPDevice,
        AccessAttempt, LogEntry, CacheState, Follow, Notification, Reminder,
    )  # fmt: skip

    answers = in_request(lambda: (alias(Commitment), [alias(model) for model in security]))

    assert answers == (replica.REPLICA, [DEFAULT_DB_ALIAS] * len(security))


def test_requests_that_may_write_and_work_outside_requests_read_the_primary(servers):
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        assert in_request(lambda: alias(Commitment), method) == DEFAULT_DB_ALIAS
    assert alias(Commitment) == DEFAULT_DB_ALIAS  # a task, a command


def test_a_request_reads_the_primary_after_it_wrote_and_inside_a_transaction(servers, monkeypatch):
    router = replica.ReplicaRouter()

    def read_write_read():
        return alias(Commitment), router.db_for_write(Commitment), alias(Commitment)

    assert in_request(read_write_read) == (replica.REPLICA, DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS)

    def read_in_transaction():
        with monkeypatch.context() as patch:
            patch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
            return alias(Commitment)

    assert in_request(read_in_transaction) == DEFAULT_DB_ALIAS


def test_a_replica_behind_the_position_leaves_the_whole_request_on_the_primary(servers):
    servers.replayed = 99

    reads = in_request(lambda: [alias(Commitment), alias(StatusUpdate), alias(Commitment)])

    assert reads == [DEFAULT_DB_ALIAS] * 3
    assert servers.asked == 1  # once per request
    servers.replayed = 100
    assert in_request(lambda: alias(Commitment)) == replica.REPLICA
    assert servers.asked == 2


def test_without_a_position_the_request_reads_the_primary_and_records_one(servers):
    cache.delete(replica.POSITION_KEY)  # Redis restarted empty, or evicted it
    servers.primary = 120

    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    assert servers.asked == 0
    assert cache.get(replica.POSITION_KEY) == 120
    servers.replayed = 120
    assert in_request(lambda: alias(Commitment)) == replica.REPLICA


def test_a_replica_that_fails_or_is_no_standby_is_not_read(servers):
    servers.replayed = OperationalError("connection refused")
    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    assert servers.asked == 1  # not asked again for RETRY_SECONDS

    replica._replica_down_until = 0.0  # the fixture's monkeypatch puts it back
    servers.replayed = None  # pg_is_in_recovery() false: the primary's address, or promoted
    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    assert servers.asked == 2


def test_a_server_that_is_no_standby_is_not_asked_again(servers, caplog):
    servers.replayed = None
    for _request in range(3):
        assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS

    assert servers.asked == 1  # not once per page for the process's life
    assert "not a standby" in caplog.text
    servers.primary = 500
    replica.position_record()  # still recorded, for processes that read a standby
    assert cache.get(replica.POSITION_KEY) == 500


def test_a_write_whose_position_was_lost_is_read_from_the_primary(
    servers, monkeypatch, django_capture_on_commit_callbacks
):
    """The cache was unreachable after a write's commit: its position was not recorded, the
    loss was marked. The cache answers again with the position from before the write."""
    commitment = CommitmentFactory()
    servers.primary, servers.replayed = 200, 150  # the standby has not replayed the write
    with monkeypatch.context() as unreachable:
        unreachable.setattr(replica, "_keep_greatest", lambda position: False)
        with django_capture_on_commit_callbacks(execute=True):
            commitment.save()
    assert CacheState.objects.get(pk=1).invalidation_lost is not None
    assert cache.get(replica.POSITION_KEY) == 100

    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    # Recovery recorded the position before clearing the mark; the standby is still behind it.
    assert cache.get(replica.POSITION_KEY) == 200
    assert CacheState.objects.get(pk=1).invalidation_lost is None
    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS
    servers.replayed = 200
    assert in_request(lambda: alias(Commitment)) == replica.REPLICA


def test_a_part_computed_after_a_newer_position_is_read_from_where_it_shows(servers):
    """The request checked the replica at 100; a write then recorded 200 and set new tokens,
    which the part below is kept under: it must be computed from rows at least that new."""

    def page(parts, written_at):
        def read():
            found = [alias(Commitment)]
            servers.primary = written_at
            replica.position_record()
            for part in parts:
                found.append(caching.cached(caching.RECORD, (part,), lambda: alias(Commitment)))
            return found

        return read

    servers.replayed = 150
    assert in_request(page(["behind"], 200)) == [replica.REPLICA, DEFAULT_DB_ALIAS]
    servers.replayed = 300
    assert in_request(page(["caught-up", "after"], 300)) == [replica.REPLICA] * 3
    assert servers.asked == 4  # a second look only when the position moved past the first


def test_the_position_is_recorded_before_new_tokens_are_set(servers, monkeypatch):
    old = caching.generation(caching.RECORD)
    seen = {}

    def primary_position():
        seen["token"] = caching.generation(caching.RECORD)
        return 300

    monkeypatch.setattr(replica, "_primary_position", primary_position)
    caching._bump_after_commit((caching.RECORD,))

    assert seen["token"] == old != caching.generation(caching.RECORD)
    assert cache.get(replica.POSITION_KEY) == 300


def test_the_position_is_only_raised(servers):
    for position in (500, 400, 1000, 999):
        servers.primary = position
        replica.position_record()

    assert cache.get(replica.POSITION_KEY) == 1000


def test_without_a_replica_no_position_is_read_or_recorded(monkeypatch):
    def no_query():
        raise AssertionError("no WAL position without a replica")

    monkeypatch.setattr(replica, "_primary_position", no_query)
    caching._bump_after_commit((caching.RECORD,))
    caching.cached(caching.RECORD, ("plain",), lambda: "computed")

    assert replica.position_record() is True
    assert cache.get(replica.POSITION_KEY) is None
    assert in_request(lambda: alias(Commitment)) == DEFAULT_DB_ALIAS


class SilentServer:
    """A server that accepts TCP connections and never answers, as a stopped PostgreSQL or a
    proxy with nothing behind it does. It lets each connection go after `patience` seconds;
    `gave_up` counts the clients that closed theirs first."""

    def __init__(self, patience: float = 30.0):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.patience, self.accepted, self.gave_up = patience, 0, 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:  # closed
                return
            self.accepted += 1
            threading.Thread(target=self._hold, args=(client,), daemon=True).start()

    def _hold(self, client):
        client.settimeout(self.patience)
        try:
            while client.recv(1024):  # the client's startup message: never answered
                pass
            self.gave_up += 1  # the client closed its end
        except TimeoutError:
            pass
        finally:
            client.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def silent_replica(transactional_db, monkeypatch, settings):
    """The "replica" alias, as DATABASE_REPLICA_URL sets it, on a server that never answers.
    Outside a test transaction: a read inside one stays on the primary."""
    server = SilentServer()
    monkeypatch.setenv("DATABASE_REPLICA_URL", f"postgres://tracker@127.0.0.1:{server.port}/x")
    postgres = {"default": {"ENGINE": "django.db.backends.postgresql"}}
    configured = replica_databases(postgres, conn_max_age=0)[replica.REPLICA]
    configured = connections.configure_settings({DEFAULT_DB_ALIAS: {}, "r": configured})["r"]
    # Set apart from settings.DATABASES, which the test database setup would try to reach.
    connections[replica.REPLICA] = DatabaseWrapper(configured, replica.REPLICA)
    settings.DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
    settings.MIDDLEWARE = ["core.replica.ReplicaReadsMiddleware", *settings.MIDDLEWARE]
    monkeypatch.setattr(replica, "configured", lambda: True)  # settings.DATABASES stays as it is
    monkeypatch.setattr(replica, "_replica_down_until", 0.0)
    monkeypatch.setattr(replica, "_primary_position", lambda: 100)  # SQLite has no WAL
    replica.position_record()
    try:
        yield server
    finally:
        connections[replica.REPLICA].close()
        del connections[replica.REPLICA]
        server.close()


def test_a_replica_that_never_answers_costs_one_bounded_attempt(silent_replica, secretariat_client):
    commitment = CommitmentFactory(title="Read from the primary")

    page = secretariat_client.get(commitment.get_absolute_url())

    assert page.status_code == 200
    assert "Read from the primary" in page.content.decode()
    assert silent_replica.accepted == 1
    table = secretariat_client.get(reverse("commitments:commitment_list"))  # not kept either
    assert table.status_code == 200
    assert "Read from the primary" in table.content.decode()
    assert silent_replica.accepted == 1  # not asked again for RETRY_SECONDS
    connections[replica.REPLICA].close()
    assert silent_replica.gave_up == 1  # by its connect timeout, not the server's patience


@pytest.mark.skipif(connections[DEFAULT_DB_ALIAS].vendor != "postgresql", reason="PostgreSQL")
def test_the_gates_query_gives_up_on_a_server_that_stalls_it(db, monkeypatch):
    """A stand-in replica (the test database) whose check stalls: the check fails, after
    CHECK_TIMEOUT_MS rather than never, and leaves the connection's queries unbounded."""
    monkeypatch.setattr(replica, "CHECK", "SELECT pg_sleep(5) IS NULL, 0")
    monkeypatch.setattr(replica, "CHECK_TIMEOUT_MS", 100)
    connections[replica.REPLICA] = DatabaseWrapper(
        connections[DEFAULT_DB_ALIAS].settings_dict, replica.REPLICA
    )
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            replica._replica_replayed()
        with connections[replica.REPLICA].cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "0"
    finally:
        connections[replica.REPLICA].close()
        del connections[replica.REPLICA]
