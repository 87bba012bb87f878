"""core.ids on the curating forms: an id past the integer range is a form error, never a 500
(SQLite raises OverflowError on such a number instead of finding no row)."""

import pytest
from django.urls import reverse

from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db
HUGE = "99999999999999999999"


@pytest.mark.parametrize("field", ["lead_actors", "supporting_actors", "paragraphs", "themes"])
def test_the_commitment_form_refuses_a_huge_id(secretariat_client, field):
    commitment = CommitmentFactory()
    url = reverse("commitments:commitment_edit", kwargs={"slug": commitment.slug})
    response = secretariat_client.post(url, {"title": "T", field: HUGE, "version": 1})
    assert response.status_code == 400
    commitment.refresh_from_db()
    assert commitment.version == 1


@pytest.mark.parametrize("field", ["commitments", "paragraphs"])
def test_the_event_form_refuses_a_huge_id(secretariat_client, field):
    response = secretariat_client.post(reverse("event_new"), {"title": "E", field: HUGE})
    assert response.status_code == 400
