"""docs/api.md says what the API does: its write example works on the demo record, its 409
example is what a second post gets, and an anonymous read of a private record is a 401 that
asks for a token."""

import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from commitments.models import StatusUpdate
from tests.api.helpers import token_client
from tracker.demo import SECRETARIAT_USERNAME
from tracker.models import User

API_DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()


def write_example() -> tuple[str, dict]:
    """The curl example under "Writing a status update": its address and its body."""
    curl = re.search(r"curl .*?(http://\S+/api/v1/\S+) --data '(.*?)'", API_DOC, re.S)
    return curl[1].removeprefix("http://127.0.0.1:8000"), json.loads(curl[2])


def conflict_example() -> dict:
    return json.loads(
        re.search(r'```json\n(\s*\{"detail": "The commitment changed.*?)```', API_DOC, re.S)[1]
    )


@pytest.mark.django_db
def test_the_write_example_works_on_the_demo_and_a_second_post_is_its_409(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "docs-example-password")
    call_command("load_demo", verbosity=0)
    client = token_client(User.objects.get(username=SECRETARIAT_USERNAME))
    address, body = write_example()
    before = StatusUpdate.objects.count()

    posted = client.post(address, body, format="json")
    again = client.post(address, body, format="json")

    assert posted.status_code == 201, posted.json()
    assert again.status_code == 409
    assert again.json() == conflict_example()
    assert StatusUpdate.objects.count() == before + 1


@pytest.mark.django_db
def test_an_anonymous_read_of_a_private_record_is_401_asking_for_a_token(settings):
    settings.TRACKER_PUBLIC_SITE = False

    response = APIClient().get(reverse("api:commitment_list"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert '**401** with `WWW-Authenticate: Bearer realm="api"`' in API_DOC
