"""The session's and the user's reads on every logged-in request (core.sessions) are Django's
own, compiled once per connection (core.compiled.CompiledRead): the same SQL, the same rows,
the same answers for an expired session, a deactivated or deleted user."""

import datetime
import functools

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.compiled import CompiledRead
from core.sessions import (
    BACKEND,
    FORMER_BACKEND,
    SESSION_ROW,
    USER_ROW,
    ModelBackend,
    SessionStore,
)
from tracker.api_tokens import TOKEN_ROW, api_token_create
from tracker.models import ApiToken

pytestmark = pytest.mark.django_db


def sent(read) -> list[str]:
    """The statements `read()` sends, as the database received them (values included)."""
    with CaptureQueriesContext(connection) as queries:
        read()
    return [query["sql"] for query in queries.captured_queries]


def test_the_reads_send_the_sql_django_would(secretariat):
    store = SessionStore()
    store["x"] = 1
    store.create()
    now = timezone.now()
    user_model = get_user_model()
    session = {"session_key": store.session_key, "expire_date__gt": now}

    compiled = sent(lambda: (SESSION_ROW.first(**session), USER_ROW.first(pk=secretariat.pk)))
    orm = sent(
        lambda: (
            list(Session.objects.filter(**session)),
            list(user_model._default_manager.filter(pk=secretariat.pk)),
        )
    )

    # The statements are the ORM's own, values and all (the real connection's, as compiled).
    assert len(compiled) == 2
    assert compiled == orm


def test_the_user_read_returns_the_row_the_orm_returns_column_by_column(secretariat, liaison):
    for person in (secretariat, liaison):
        read = USER_ROW.first(pk=person.pk)
        expected = get_user_model().objects.get(pk=person.pk)
        assert type(read) is type(expected)
        assert read._state.adding is False
        assert read._state.db == expected._state.db
        for field in expected._meta.concrete_fields:
            assert getattr(read, field.attname) == getattr(expected, field.attname), field.name


def test_the_session_read_returns_a_live_row_and_not_an_expired_one():
    live, expired = SessionStore(), SessionStore()
    for store in (live, expired):
        store["marker"] = "kept"
        store.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )

    reloaded = SessionStore(live.session_key)
    assert reloaded.load() == {"marker": "kept"}
    assert reloaded.stored_expiry == Session.objects.get(session_key=live.session_key).expire_date

    stale = SessionStore(expired.session_key)
    assert stale.load() == {}
    assert stale.session_key is None  # a new session is started, as Django's store does
    assert stale.stored_expiry is None


def test_the_backend_refuses_a_deactivated_or_deleted_user(secretariat, liaison):
    backend = ModelBackend()
    assert backend.get_user(secretariat.pk) == secretariat

    secretariat.is_active = False
    secretariat.save(update_fields=["is_active"])
    liaison_pk = liaison.pk
    liaison.delete()

    assert backend.get_user(secretariat.pk) is None
    assert backend.get_user(liaison_pk) is None


def compilations_counted(monkeypatch) -> list[str]:
    """From now on, the table of every query the ORM compiles, in order."""
    compiled = []
    original = SQLCompiler.as_sql

    def counted(self, *args, **kwargs):
        compiled.append(self.query.model._meta.db_table)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counted)
    return compiled


@pytest.mark.urls("config.bench_urls")
def test_a_logged_in_request_compiles_neither_read_again(secretariat_client, monkeypatch):
    assert secretariat_client.get(reverse("bench_bare")).status_code == 200  # compiled here
    compiled = compilations_counted(monkeypatch)

    with CaptureQueriesContext(connection) as queries:
        assert secretariat_client.get(reverse("bench_bare")).status_code == 200
    assert len(queries) == 2  # the session's row and the user's, both read
    assert compiled == []  # neither built by the ORM again


def test_a_session_whose_user_was_deactivated_is_logged_out(secretariat_client, secretariat):
    secretariat.is_active = False
    secretariat.save(update_fields=["is_active"])

    response = secretariat_client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


def test_a_read_that_does_not_take_its_value_once_is_refused():
    # startswith sends the marker with a % after it: the ORM wrote no slot for it to fill.
    read = CompiledRead(lambda: Session.objects, "session_key", "session_key__startswith")

    with pytest.raises(RuntimeError, match="does not take session_key__startswith once"):
        read.first(session_key="a", session_key__startswith="a")


def test_a_session_made_under_djangos_backend_goes_on_as_it_was(client, liaison):
    client.force_login(liaison, backend=FORMER_BACKEND)
    stored = Session.objects.get(session_key=client.session.session_key).get_decoded()
    assert stored[BACKEND_SESSION_KEY] == FORMER_BACKEND
    assert BACKEND in settings.AUTHENTICATION_BACKENDS
    assert FORMER_BACKEND not in settings.AUTHENTICATION_BACKENDS

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    assert response.context["user"] == liaison


@pytest.mark.parametrize(
    "key", ["\x00abcdefghijk", "ABCDEFGHIJKLMNOP", "abcdefgh'--", "abcdéfghij"]
)
def test_a_session_cookie_django_never_makes_is_no_session(client, key):
    client.cookies[settings.SESSION_COOKIE_NAME] = key

    dashboard = client.get(reverse("dashboard"))
    login = client.get(reverse(settings.LOGIN_URL))

    assert dashboard.status_code == 302
    assert dashboard["Location"].startswith(reverse(settings.LOGIN_URL))
    assert login.status_code == 200
    assert SessionStore(key).load() == {}


@pytest.mark.parametrize("user_id", [2**63, -(2**63) - 1, 10**20])
def test_an_id_no_column_holds_finds_no_user(user_id):
    expected = get_user_model().objects.filter(pk=user_id).first()

    assert expected is None
    assert ModelBackend().get_user(user_id) is None


def test_the_token_read_joins_its_owner_as_the_orm_does(secretariat, liaison):
    """An API token's row and its owner's in one statement, the ORM's select_related SQL; the
    owner set on the token as the ORM sets it, column by column."""
    for person in (secretariat, liaison):
        token, _text = api_token_create(user=person, name="script")
        # The prefix is unique: no order to sort by (ApiToken.Meta's would add one).
        orm = ApiToken.objects.select_related("user").order_by().filter(prefix=token.prefix)

        with CaptureQueriesContext(connection) as queries:
            read = TOKEN_ROW.first(prefix=token.prefix)
            owner = read.user  # already there: no second query
        assert len(queries) == 1
        assert [queries[0]["sql"]] == sent(functools.partial(list, orm))  # the ORM's statement
        expected = orm.get()
        for row, wanted in ((read, expected), (owner, expected.user)):
            assert type(row) is type(wanted) and row._state.adding is False
            for field in wanted._meta.concrete_fields:
                assert getattr(row, field.attname) == getattr(wanted, field.attname), field.name
    assert TOKEN_ROW.first(prefix="000000000000") is None


def test_an_api_request_compiles_no_token_read_again(secretariat, monkeypatch):
    _token, text = api_token_create(user=secretariat, name="script")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {text}")
    assert client.get("/api/v1/documents/").status_code == 200  # compiled here
    compiled = compilations_counted(monkeypatch)
    assert client.get("/api/v1/documents/").status_code == 200

    assert ApiToken._meta.db_table not in compiled
