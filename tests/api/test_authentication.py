"""API tokens on requests (api.authentication): who a token is, and when it stops working."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.roles import Role
from tests.api.helpers import token_client
from tests.factories import CommitmentFactory
from tracker.api_tokens import api_token_create, api_token_revoke
from tracker.models import ApiToken

pytestmark = pytest.mark.django_db


def post_empty(client):
    """An empty update: the secretariat gets 400 (let in, input refused), others are refused."""
    commitment = CommitmentFactory()
    url = reverse("api:commitment_updates", kwargs={"slug": commitment.slug})
    return client.post(url, {}, format="json")


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_acts_as_its_owner(secretariat, keyword):
    assert post_empty(token_client(secretariat, keyword=keyword)).status_code == 400


def client_with(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


@pytest.mark.parametrize(
    "forge",
    [
        lambda text: text[:-1] + ("A" if text[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda text: "ctk_000000000000_" + text.split("_", 2)[2],  # an unknown prefix
        lambda text: "not-a-token",
        lambda text: text + " extra",
    ],
)
def test_a_wrong_token_is_401(secretariat, forge):
    _token, text = api_token_create(user=secretariat, name="Script")

    response = post_empty(client_with(forge(text)))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_is_401(secretariat):
    token, text = api_token_create(user=secretariat, name="Script")
    api_token_revoke(user=secretariat, pk=token.pk)

    response = post_empty(client_with(text))

    assert response.status_code == 401
    assert "Make a new one on your profile page" in response.json()["detail"]


def test_the_token_of_a_deactivated_account_is_401(secretariat):
    _token, text = api_token_create(user=secretariat, name="Script")
    secretariat.is_active = False
    secretariat.save()

    assert post_empty(client_with(text)).status_code == 401


@pytest.mark.parametrize("new_role", [Role.LIAISON, Role.CONTRIBUTOR])
def test_a_change_of_role_retires_the_token(secretariat, new_role):
    _token, text = api_token_create(user=secretariat, name="Script")
    secretariat.role = new_role
    secretariat.save()

    assert post_empty(client_with(text)).status_code == 401


def test_a_liaison_promoted_needs_a_new_token_to_write(liaison):
    _token, text = api_token_create(user=liaison, name="Reader")
    liaison.role = Role.SECRETARIAT
    liaison.save()

    assert post_empty(client_with(text)).status_code == 401
    assert post_empty(token_client(liaison)).status_code == 400


def test_last_use_is_recorded_at_most_once_a_minute(secretariat):
    token, text = api_token_create(user=secretariat, name="Script")
    start = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        post_empty(client_with(text))
        clock.shift(datetime.timedelta(seconds=59))
        post_empty(client_with(text))
        assert ApiToken.objects.get(pk=token.pk).last_used_at == start
        clock.shift(datetime.timedelta(seconds=2))
        post_empty(client_with(text))
    assert ApiToken.objects.get(pk=token.pk).last_used_at == start + datetime.timedelta(seconds=61)


def test_a_use_within_the_minute_writes_nothing(secretariat):
    _token, text = api_token_create(user=secretariat, name="Script")
    client, url = client_with(text), reverse("api:theme_list")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert statements and not any("UPDATE" in sql and "apitoken" in sql for sql in statements)


def test_only_a_digest_of_the_token_is_stored(secretariat):
    token, text = api_token_create(user=secretariat, name="Script")

    stored = ApiToken.objects.filter(pk=token.pk).values().get()

    assert text not in " ".join(str(value) for value in stored.values())
    assert text.startswith(f"ctk_{token.prefix}_") and len(text) > 50
