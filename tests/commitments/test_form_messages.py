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


def test_paragraphs_actors_and_themes_are_ticked_and_the_chosen_paragraphs_stay_ticked(
    secretariat_client,
):
    from tests.factories import DocumentFactory, ParagraphFactory

    document = DocumentFactory(title="Ashgabat Final Document")
    first, second = (ParagraphFactory(document=document, number=n) for n in (1, 2))
    url = reverse("commitments:commitment_create") + f"?paragraphs={first.pk}"

    html = secretariat_client.get(url).content.decode()

    assert '<select name="paragraphs"' not in html and "multiple" not in html.split("<form")[1]
    assert f'type="checkbox" name="paragraphs" value="{first.pk}"' in html
    checked = html.split(f'value="{first.pk}"')[1].split(">")[0]
    assert "checked" in checked
    assert "checked" not in html.split(f'value="{second.pk}"')[1].split(">")[0]
    assert "<legend>Paragraphs it comes from</legend>" in html
    assert "<label>Ashgabat Final Document</label>" in html
    for name in ("lead_actors", "supporting_actors", "themes"):
        assert f'<select name="{name}"' not in html
