"""The commitments table's theme dropdown, the type-ahead filters' choices and the row counts of
its filters on the catalogue are kept with it (caching.CATALOGUE): the same markup as written
anew, kept across a status update, forgotten when what they list changes."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.services import commitment_retire
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    SecretariatFactory,
    ThemeFactory,
    post_status_update,
)

LIST_URL = reverse("commitments:commitment_list")
DROPDOWNS = ("theme",)


@pytest.fixture
def record(secretariat):
    owner = SecretariatFactory(username="aylar", first_name="", last_name="")  # a login name
    actors, theme = ActorFactory.create_batch(2), ThemeFactory(name="Water & <energy>")
    commitments = [
        CommitmentFactory(title=f"Row {n}", lead_actors=actors[: n + 1], owner=owner)
        for n in range(2)
    ]
    commitments[0].themes.add(theme)
    return {"owner": owner, "actor": actors[1], "theme": theme, "commitments": commitments}


def select(page: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
@pytest.mark.parametrize("chosen", ["none", "valid", "invalid"])
def test_a_kept_dropdown_is_what_django_writes(client, secretariat, liaison, record, role, chosen):
    client.force_login(secretariat if role == "secretariat" else liaison)
    values = {
        "none": {},
        "valid": {"actor": record["actor"].pk, "theme": record["theme"].pk,
                  "owner": record["owner"].pk},
        "invalid": {"actor": "999999", "theme": "x"},
    }[chosen]  # fmt: skip
    client.get(LIST_URL)  # the options kept
    client.get(LIST_URL, {"sort": "title"})  # another page: its form from the options kept

    response = client.get(LIST_URL, {**values, "per_page": 50})  # a page not yet kept

    form = response.context["filter"].form
    page = response.content.decode()
    for name in DROPDOWNS:
        form.fields[name].widget.kept_options = None  # written anew from the choices
        assert select(page, name) == str(form[name])
    assert ("selected>Water &amp; &lt;energy&gt;</option>" in page) == (chosen == "valid")


def test_a_status_update_leaves_the_dropdowns_and_the_count_kept(
    secretariat_client, secretariat, record
):
    secretariat_client.get(LIST_URL)
    post_status_update(record["commitments"][0], secretariat)

    with CaptureQueriesContext(connection) as queries:
        page = secretariat_client.get(LIST_URL).content.decode()

    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "COUNT(" not in read
    assert "EXISTS" not in read  # each dropdown lists the rows some commitment uses
    assert "2 commitments." in page and "In progress" in page


def test_what_the_catalogue_lists_shows_on_the_next_table(secretariat_client, record):
    secretariat_client.get(LIST_URL)
    secretariat_client.get(reverse("commitments:filter_choices", args=["owner"]))  # kept
    newcomer = SecretariatFactory(username="merdan", first_name="", last_name="")
    CommitmentFactory(title="Row 2", owner=newcomer)
    record["commitments"][1].themes.add(ThemeFactory(name="Transport"))

    page = secretariat_client.get(LIST_URL).content.decode()

    assert "3 commitments." in page
    assert ">Transport</option>" in select(page, "theme")
    owners = secretariat_client.get(reverse("commitments:filter_choices", args=["owner"]))
    assert owners.json() == {"choices": ["aylar", "merdan"]}


def test_a_retired_commitment_leaves_the_count(secretariat_client, secretariat, record):
    secretariat_client.get(LIST_URL)
    secretariat_client.get(LIST_URL, {"owner": record["owner"].pk})

    retired = record["commitments"][0]
    commitment_retire(
        commitment=retired,
        expected_version=retired.version,
        reason="Merged into another.",
        retired_by=secretariat,
        retired_on=datetime.date(2026, 1, 5),
    )

    assert "1 commitment." in secretariat_client.get(LIST_URL).content.decode()
    page = secretariat_client.get(LIST_URL, {"owner": record["owner"].pk}).content.decode()
    assert "1 commitment." in page
