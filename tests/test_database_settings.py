"""The database connection settings (config.settings.base.database_settings)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.settings.base import database_settings, env, replica_databases

POSTGRES_URL = "postgres://tracker@db.example.org:5432/tracker"


def test_postgresql_connections_turn_jit_off(monkeypatch):
    monkeypatch.delenv("DATABASE_POSTGRES_JIT", raising=False)

    database = database_settings(env.db_url_config(POSTGRES_URL), conn_max_age=60)

    assert database["OPTIONS"]["options"] == "-c jit=off"
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_jit_can_be_turned_back_on(monkeypatch):
    monkeypatch.setenv("DATABASE_POSTGRES_JIT", "True")

    database = database_settings(env.db_url_config(POSTGRES_URL), conn_max_age=60)

    assert "jit" not in database.get("OPTIONS", {}).get("options", "")


def test_sqlite_gets_no_postgresql_options(monkeypatch):
    monkeypatch.delenv("DATABASE_POSTGRES_JIT", raising=False)

    database = database_settings(env.db_url_config("sqlite:///tracker.sqlite3"), conn_max_age=0)

    assert "options" not in database.get("OPTIONS", {})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (CI uses it)")
def test_the_servers_sessions_run_without_jit(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_a_jit_setting_in_the_url_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv("DATABASE_POSTGRES_JIT", raising=False)
    url = POSTGRES_URL + "?options=-c%20jit%3Don"

    database = database_settings(env.db_url_config(url), conn_max_age=60)

    assert database["OPTIONS"]["options"] == "-c jit=on"


def test_without_a_replica_url_the_databases_are_left_as_they_are(monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    databases = {"default": env.db_url_config(POSTGRES_URL)}

    assert replica_databases(databases, conn_max_age=60) is databases


def test_a_replica_url_adds_the_replica_alias_with_the_same_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://tracker@standby.example.org/tracker")
    monkeypatch.delenv("DATABASE_POSTGRES_JIT", raising=False)
    databases = {"default": env.db_url_config(POSTGRES_URL)}

    replica = replica_databases(databases, conn_max_age=60)["replica"]

    assert (replica["HOST"], replica["CONN_MAX_AGE"]) == ("standby.example.org", 60)
    assert replica["OPTIONS"]["options"] == "-c jit=off"
    assert replica["OPTIONS"]["connect_timeout"] == 2  # tests/core/test_replica.py, SilentServer


def test_a_connect_timeout_in_the_replica_url_is_kept(monkeypatch):
    url = "postgres://tracker@standby.example.org/tracker?connect_timeout=7"
    monkeypatch.setenv("DATABASE_REPLICA_URL", url)
    databases = {"default": env.db_url_config(POSTGRES_URL)}

    replica = replica_databases(databases, conn_max_age=60)["replica"]

    assert replica["OPTIONS"]["connect_timeout"] == 7
    assert "connect_timeout" not in databases["default"].get("OPTIONS", {})


@pytest.mark.parametrize(
    ("replica_url", "primary_url", "message"),
    [
        ("sqlite:///replica.sqlite3", POSTGRES_URL, "its scheme is 'sqlite'"),
        ("standby.example.org", POSTGRES_URL, "its scheme is 'missing'"),
        ("postgres://tracker@standby.example.org/tracker", "sqlite:///t.sqlite3", "PostgreSQL too"),
    ],
)
def test_a_replica_that_cannot_serve_is_refused_at_start(
    monkeypatch, replica_url, primary_url, message
):
    monkeypatch.setenv("DATABASE_REPLICA_URL", replica_url)
    databases = {"default": env.db_url_config(primary_url)}

    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        replica_databases(databases, conn_max_age=60)


def test_the_test_settings_leave_a_developers_replica_out():
    """A developer's DATABASE_REPLICA_URL does not reach the test suite: no alias to make a test
    database on, no router, no middleware (tests that read a replica add their own)."""
    show = (
        "import json; from django.conf import settings; print(json.dumps([sorted(settings."
        "DATABASES), settings.DATABASE_ROUTERS, 'core.replica.ReplicaReadsMiddleware' in "
        "settings.MIDDLEWARE]))"
    )
    environment = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": POSTGRES_URL,
        "DATABASE_REPLICA_URL": "postgres://tracker@standby.example.org:5432/tracker",
    }
    result = subprocess.run(
        [sys.executable, "-c", show], env=environment, cwd=Path(__file__).parent.parent,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    assert json.loads(result.stdout) == [["default"], [], False]
