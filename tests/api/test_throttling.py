"""Rate limits (api.throttling): per token, and per client address for anonymous readers."""

import datetime
import os
import uuid

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, SecretariatFactory

pytestmark = pytest.mark.django_db
# Requests are counted per clock minute (api.throttling.WindowRateThrottle): each test runs
# 20 s into one, so that none crosses into the next.
MINUTE = datetime.datetime(2026, 3, 10, 9, 15, 20, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _inside_one_minute():
    with time_machine.travel(MINUTE, tick=False) as clock:
        yield clock


def post_empty(client):
    commitment = CommitmentFactory()
    url = reverse("api:commitment_updates", kwargs={"slug": commitment.slug})
    return client.post(url, {}, format="json")


def test_a_token_over_its_rate_gets_429_saying_when_to_retry(secretariat, settings):
    settings.API_RATE_PER_TOKEN = "2/minute"
    client, other = token_client(secretariat), token_client(SecretariatFactory())

    answers = [post_empty(client).status_code for _try in range(3)]
    refused = post_empty(client)

    assert answers == [400, 400, 429]
    assert refused["Retry-After"] == "40"  # the minute's end, 09:16:00
    body = refused.json()
    assert body["retry_after"] == int(refused["Retry-After"])
    assert f"Try again in {body['retry_after']} seconds" in body["detail"]
    assert post_empty(other).status_code == 400  # another person, their own count


def test_a_persons_tokens_and_session_share_one_count(secretariat, settings):
    """More tokens give no more requests: each is made in a click on the profile page."""
    settings.API_RATE_PER_TOKEN = "3/minute"
    settings.API_RATE_PER_ADDRESS = "1000/minute"
    browser = APIClient()
    browser.force_login(secretariat)
    clients = [token_client(secretariat), token_client(secretariat), browser]
    themes = reverse("api:theme_list")

    answers = [client.get(themes).status_code for client in clients]
    answers += [client.get(themes).status_code for client in clients]

    assert answers == [200, 200, 200, 429, 429, 429]


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


def test_a_new_minute_counts_afresh(secretariat, settings, _inside_one_minute):
    settings.API_RATE_PER_TOKEN = "2/minute"
    client = token_client(secretariat)
    url = reverse("api:theme_list")
    answers = [client.get(url).status_code for _try in range(3)]
    _inside_one_minute.shift(datetime.timedelta(seconds=39))
    answers.append(client.get(url).status_code)
    _inside_one_minute.shift(datetime.timedelta(seconds=1))  # 09:16:00

    answers += [client.get(url).status_code for _try in range(3)]

    assert answers == [200, 200, 429, 429, 200, 200, 429]


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


def test_refused_tokens_count_against_the_address(settings):
    """Guessing tokens is limited like any anonymous reading: each refused token counts
    against its client's address, and over the rate the answer is 429, not another guess."""
    settings.API_RATE_PER_ADDRESS = "2/minute"
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    client = APIClient()
    themes = reverse("api:theme_list")

    def guess(address, token="not-a-token"):
        return client.get(
            themes,
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_X_FORWARDED_FOR=address,
            REMOTE_ADDR="10.0.0.1",
        )

    answers = [guess("203.0.113.7").status_code for _try in range(3)]
    answers.append(guess("203.0.113.7", token="two words").status_code)

    assert answers == [401, 401, 429, 429]
    assert int(guess("203.0.113.7")["Retry-After"]) >= 1
    assert guess("198.51.100.9").status_code == 401  # another client, its own count


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")
def test_the_rate_is_counted_in_redis_as_in_any_cache(secretariat, settings):
    """On the Redis cache a server runs with (core.cache_backends.ForgivingRedisCache), each
    request is counted in one round trip; the limit, its window and its answer are the same."""
    from django.core.cache import cache

    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache_backends.ForgivingRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            # Its own keys, which expire with their window: nothing else in that Redis is touched.
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }
    settings.API_RATE_PER_TOKEN = "2/minute"
    client = token_client(secretariat)
    themes = reverse("api:theme_list")

    answers = [client.get(themes).status_code for _try in range(3)]

    assert answers == [200, 200, 429]
    assert client.get(themes)["Retry-After"] == "40"
    assert cache.get(f"throttle_person_{secretariat.pk}:{int(MINUTE.timestamp()) // 60}") == 4
