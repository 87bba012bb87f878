"""The curating forms' refusals say what is wrong and what to do."""

import pytest
from django.urls import reverse

from tests.commitments.test_curating import edit_url, form_data
from tests.factories import CommitmentFactory, LiaisonFactory


@pytest.fixture
def commitment(db):
    return CommitmentFactory(title="OCHA office")


def edit(client, commitment, **changes):
    return client.post(edit_url(commitment), form_data(commitment, **changes))


def test_a_liaison_as_supervisor_is_refused_as_a_supervisor(secretariat_client, commitment):
    liaison = LiaisonFactory(username="liaison-tm")

    html = edit(secretariat_client, commitment, supervisor=liaison.pk).content.decode()

    assert "liaison-tm cannot supervise a commitment" in html
    assert "cannot own" not in html


@pytest.mark.parametrize("months", ["-3", "0", "121"])
def test_a_cadence_out_of_range_has_one_message_whichever_bound(
    secretariat_client, commitment, months
):
    response = edit(secretariat_client, commitment, reporting_cadence_months=months)

    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("Enter a whole number of months from 1 to 120, or leave it empty.") == 1
    assert "≥" not in html and "greater than" not in html


@pytest.mark.parametrize("version", ["", "junk", "0"])
def test_a_missing_or_junk_version_says_to_reload_the_page(secretariat_client, commitment, version):
    response = edit(secretariat_client, commitment, title="Renamed", version=version)

    assert response.status_code == 400
    assert "This form is out of date or incomplete, so nothing was saved: reload the page" in (
        response.content.decode()
    )
    commitment.refresh_from_db()
    assert commitment.title == "OCHA office"


def test_a_milestone_form_without_its_version_says_to_reload_the_page(
    secretariat_client, secretariat
):
    from tests.commitments.test_milestones import add

    commitment = CommitmentFactory()
    milestone = add(commitment, secretariat)
    url = reverse("commitments:milestone_edit", args=[milestone.pk])

    response = secretariat_client.post(url, {"title": "x", "weight": 1})

    assert response.status_code == 400
    assert "reload the page" in response.content.decode()
