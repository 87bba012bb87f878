"""Rate limits (api.throttling): per token, and per client address for anonymous readers."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, SecretariatFactory

pytestmark = pytest.mark.django_db


def post_empty(client):
    commitment = CommitmentFactory()
    url = reverse("api:commitment_updates", kwargs={"slug": commitment.slug})
    return client.post(url, {}, format="json")


def test_a_token_over_its_rate_gets_429_saying_when_to_retry(secretariat, settings):
    settings.API_RATE_PER_TOKEN = "2/minute"
    client, other = token_client(secretariat), token_client(secretariat)

    answers = [post_empty(client).status_code for _try in range(3)]
    refused = post_empty(client)

    assert answers == [400, 400, 429]
    assert 1 <= int(refused["Retry-After"]) <= 60
    body = refused.json()
    assert body["retry_after"] == int(refused["Retry-After"])
    assert f"Try again in {body['retry_after']} seconds" in body["detail"]
    assert post_empty(other).status_code == 400  # each token has its own count


def test_anonymous_readers_are_counted_by_address(settings):
    settings.API_RATE_PER_ADDRESS = "2/minute"
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    client = APIClient()
    schema = reverse("api:schema")

    def read(address):
        return client.get(schema, HTTP_X_FORWARDED_FOR=address, REMOTE_ADDR="10.0.0.1")

    answers = [read("203.0.113.7").status_code for _try in range(3)]

    assert answers == [200, 200, 429]
    assert int(read("203.0.113.7")["Retry-After"]) >= 1
    assert read("198.51.100.9").status_code == 200  # another client, its own count


def test_a_token_is_not_counted_by_address(secretariat, settings):
    settings.API_RATE_PER_ADDRESS = "1/minute"

    answers = [post_empty(token_client(secretariat)).status_code for _try in range(3)]

    assert answers == [400, 400, 400]


def test_a_logged_in_session_is_counted_per_person_at_a_tokens_rate(secretariat, settings):
    """A browser's session (or a script reusing its cookie) is limited like a token, so the
    API has no unmetered way in; each person has their own count."""
    settings.API_RATE_PER_TOKEN = "2/minute"
    settings.API_RATE_PER_ADDRESS = "1000/minute"
    client, other = APIClient(), APIClient()
    client.force_login(secretariat)
    other.force_login(SecretariatFactory())
    themes = reverse("api:theme_list")

    answers = [client.get(themes).status_code for _try in range(3)]

    assert answers == [200, 200, 429]
    assert int(client.get(themes)["Retry-After"]) >= 1
    assert other.get(themes).status_code == 200
