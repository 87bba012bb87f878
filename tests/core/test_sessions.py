"""Sessions slide without a write on every request (core.sessions): saved when they change or
when their expiry was last moved more than SESSION_REFRESH_SECONDS ago."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

START = datetime.datetime(2026, 12, 31, 23, 58, tzinfo=datetime.UTC)  # across the year's end


def session_writes(client) -> list[str]:
    """The SQL a request sends to the session table, other than reading it."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("dashboard")).status_code == 200
    return [q["sql"] for q in queries if "django_session" in q["sql"] and "SELECT" not in q["sql"]]


def expiry(client) -> datetime.datetime:
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return Session.objects.get(session_key=key).expire_date


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_request_within_the_refresh_interval_writes_no_session_row(clock, secretariat_client):
    saved = expiry(secretariat_client)
    clock.shift(datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS))

    assert session_writes(secretariat_client) == []
    assert expiry(secretariat_client) == saved


def test_a_request_after_the_refresh_interval_slides_the_expiry_and_the_cookie(
    clock, secretariat_client
):
    clock.shift(datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS + 1))

    assert len(session_writes(secretariat_client)) == 1  # the UPDATE, in its transaction
    now = START + datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS + 1)
    assert expiry(secretariat_client) == now + datetime.timedelta(
        seconds=settings.SESSION_COOKIE_AGE
    )
    cookie = secretariat_client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE


def test_requests_closer_together_than_the_interval_still_keep_a_session_alive(
    clock, settings, client, secretariat
):
    settings.SESSION_COOKIE_AGE = 300  # before the login: five refresh intervals
    client.force_login(secretariat)
    step = datetime.timedelta(seconds=settings.SESSION_REFRESH_SECONDS * 2 // 3)
    elapsed = datetime.timedelta()
    while elapsed < 2 * datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE):
        clock.shift(step)
        elapsed += step
        assert client.get(reverse("dashboard")).status_code == 200, elapsed


def test_the_idle_timeout_still_logs_out(clock, secretariat_client):
    clock.shift(datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))

    response = secretariat_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_logging_out_ends_the_session_everywhere_at_once(clock, secretariat_client):
    elsewhere = Client()  # the same session in another tab or a copied cookie
    elsewhere.cookies[settings.SESSION_COOKIE_NAME] = secretariat_client.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    assert elsewhere.get(reverse("dashboard")).status_code == 200

    secretariat_client.post(reverse("logout"))
    clock.shift(datetime.timedelta(seconds=1))  # well within the refresh interval

    assert elsewhere.get(reverse("dashboard")).status_code == 302


def test_a_password_change_ends_other_sessions_within_the_interval(
    clock, secretariat_client, secretariat
):
    secretariat.set_password("a new and long passphrase")
    secretariat.save()
    clock.shift(datetime.timedelta(seconds=1))

    assert secretariat_client.get(reverse("dashboard")).status_code == 302
