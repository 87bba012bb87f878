"""The API against its own schema, with personal tokens (schemathesis, in process): for every
operation of the schema, requests generated from it, sent anonymously (the public site on) and
with a liaison's and a secretariat officer's token, never get a server error, and every answer
matches the schema."""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import CommitmentFactory, post_status_update
from tracker.api_tokens import api_token_create

WHO = ("anonymous", "liaison", "secretariat")


def app_schema() -> dict:
    """The schema /api/v1/schema/ serves, made in process (no request, no database)."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(app_schema())


@pytest.fixture
def app(db, settings, secretariat):
    """The tracker as WSGI serves it, with a commitment to write to; its requests run inside
    the test's transaction (as with Django's test client, the end of a request does not close
    the connection)."""
    settings.TRACKER_PUBLIC_SITE = True
    # Hundreds of generated requests a minute: the rate limits are tested on their own.
    settings.API_RATE_PER_TOKEN = settings.API_RATE_PER_ADDRESS = "100000/minute"
    post_status_update(CommitmentFactory(title="OCHA office", slug="ocha-office"), secretariat)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def authorizations(liaison, secretariat) -> dict[str, dict]:
    """The headers of each reader: none, a liaison's token, a secretariat officer's token."""
    headers = {"anonymous": {}}
    for who, user in (("liaison", liaison), ("secretariat", secretariat)):
        _token, text = api_token_create(user=user, name="Schema")
        headers[who] = {"Authorization": f"Bearer {text}"}
    return headers


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_within_its_schema(case, app, authorizations):
    for who in WHO:
        case.call_and_validate(
            app=app,
            headers=authorizations[who],
            checks=[not_a_server_error, response_schema_conformance],
        )
