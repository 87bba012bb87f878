"""The API against its own schema (schemathesis, in-process through the WSGI application): for
every read operation, generated requests from an anonymous reader (public site on), a liaison
and the secretariat never get a 500, and every answer's status and body are as the schema says."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 15


def api_schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = application
    return schema


def read_operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    return [operation for operation in operations if operation.method.upper() == "GET"]


@pytest.fixture(autouse=True)
def _connection_kept_between_requests():
    """The WSGI handler closes the database connection after each request, and with it the
    test's transaction; Django's test client keeps it open the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def reader(request, record, settings, liaison, secretariat) -> dict:
    """The cookies of a session of the reader asked for (none for an anonymous reader)."""
    who = request.param
    settings.TRACKER_PUBLIC_SITE = who == "anonymous"
    # Every generated request comes from one address, refused tokens included: the limits have
    # their own tests (test_throttling.py), here they would answer 429 midway.
    settings.API_RATE_PER_ADDRESS = settings.API_RATE_PER_TOKEN = "1000000/minute"
    client = Client()
    if who != "anonymous":
        client.force_login({"liaison": liaison, "secretariat": secretariat}[who])
    return {name: morsel.value for name, morsel in client.cookies.items()}


@pytest.mark.parametrize("reader", ["anonymous", "liaison", "secretariat"], indirect=True)
def test_every_read_keeps_to_the_schema(reader):
    schema = api_schema()
    operations = read_operations(schema)
    assert len(operations) >= 13

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(cookies=reader, checks=CHECKS)

        check()
