"""Days and codes that cannot be right are refused with a message saying what to enter, and
nothing is saved: a target date before the document asked for it or centuries ahead, a
document adopted in the future or published before its adoption, a language that is none."""

import datetime

import pytest
from django.urls import reverse

from commitments import milestones
from tests.commitments.test_curating import edit_url, form_data
from tests.commitments.test_documents import details
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory


@pytest.fixture
def commitment(db):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    return CommitmentFactory(
        title="OCHA office", paragraphs=[paragraph], target_date=datetime.date(2026, 6, 30)
    )


@pytest.mark.parametrize(
    "day, message",
    [
        ("0001-01-01", "This date is before 12 December 2020, when the document was adopted"),
        ("2020-12-11", "This date is before 12 December 2020, when the document was adopted"),
        ("9999-12-31", "This date is after 31 December 2200: check the year"),
    ],
)
def test_a_target_date_that_cannot_be_a_plan_is_refused(
    secretariat_client, commitment, day, message
):
    response = secretariat_client.post(edit_url(commitment), form_data(commitment, target_date=day))

    assert response.status_code == 400
    assert message in response.content.decode()
    commitment.refresh_from_db()
    assert commitment.target_date == datetime.date(2026, 6, 30) and commitment.version == 1


def test_a_target_date_on_the_adoption_day_or_in_2200_is_accepted(secretariat_client, commitment):
    for day in ("2020-12-12", "2200-12-31"):
        commitment.refresh_from_db()
        response = secretariat_client.post(
            edit_url(commitment), form_data(commitment, target_date=day)
        )
        assert response.status_code == 302


def test_a_new_commitments_target_date_is_checked_against_its_paragraphs(
    secretariat_client, commitment
):
    data = form_data(commitment, title="Another", target_date="1999-01-01")
    del data["version"]

    response = secretariat_client.post(reverse("commitments:commitment_create"), data)

    assert response.status_code == 400
    assert "when the document was adopted" in response.content.decode()


def test_a_milestone_due_centuries_ahead_is_refused(secretariat, commitment):
    with pytest.raises(Exception, match="31 December 2200"):
        milestones.milestone_create(
            commitment=commitment,
            author=secretariat,
            title="Far",
            weight=1,
            due_on=datetime.date(9999, 12, 31),
        )


@pytest.fixture
def document(db):
    return DocumentFactory(adopted_on=datetime.date(2020, 12, 12), language="en")


def edit_document(client, document, **changes):
    url = reverse("commitments:document_edit", args=[document.short_name])
    return client.post(url, details(document, **changes))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"adopted_on": "9999-12-31"}, "This date is in the future"),
        ({"published_on": "2020-12-01"}, "A text is published on or after the day it was adopted"),
        ({"language": "xx-junk"}, "“xx-junk” is not a language code"),
        ({"language": "english"}, "“english” is not a language code"),
    ],
)
def test_a_documents_impossible_details_are_refused(secretariat_client, document, changes, message):
    response = edit_document(secretariat_client, document, **changes)

    assert response.status_code == 400
    assert message in response.content.decode()
    document.refresh_from_db()
    assert document.version == 1


@pytest.mark.parametrize("code", ["ru", "zh-Hans", "pt-BR", "es-419", "tk"])
def test_real_language_codes_are_accepted(secretariat_client, document, code):
    response = edit_document(secretariat_client, document, language=code)

    assert response.status_code == 302
    document.refresh_from_db()
    assert document.language == code
