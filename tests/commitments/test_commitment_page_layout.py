"""The commitment page reads history first (issue 10): the status-update form is folded below it,
and opens by itself when a post was refused, so its errors are in sight."""

import re

import pytest

from tests.commitments.test_views import form_data
from tests.factories import CommitmentFactory, SecretariatFactory
from tests.factories import post_status_update as post_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def commitment(db):
    return CommitmentFactory(title="UNRCCA resolution")


def form_opening_tag(html: str) -> str:
    match = re.search(r'<details class="post-update"[^>]*>', html)
    assert match, "no folded status-update form"
    return match.group(0)


def test_the_history_comes_before_the_folded_form(secretariat_client, secretariat, commitment):
    post_update(commitment, secretariat, narrative="Adopted by consensus.")

    html = secretariat_client.get(commitment.get_absolute_url()).content.decode()

    assert html.index('id="timeline-heading"') < html.index('class="post-update"')
    assert html.index("Adopted by consensus.") < html.index('name="narrative"')
    assert " open" not in form_opening_tag(html)
    assert '<summary><h2 id="form-heading">Post a status update</h2></summary>' in html
    assert "was not posted" not in html


def test_a_refused_post_opens_the_form_and_says_so_at_the_top(secretariat_client, commitment):
    response = secretariat_client.post(
        commitment.get_absolute_url(), form_data(commitment, progress="101")
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert form_opening_tag(html).endswith(" open>")
    assert html.index("Your status update was not posted.") < html.index('id="timeline-heading"')
    assert 'href="#post-update"' in html


def test_an_edit_conflict_opens_the_form(secretariat_client, commitment):
    opened = form_data(commitment)
    post_update(commitment, SecretariatFactory(), narrative="Colleague posted first.")

    response = secretariat_client.post(commitment.get_absolute_url(), opened)

    assert response.status_code == 409
    assert form_opening_tag(response.content.decode()).endswith(" open>")


def test_a_liaison_gets_neither_the_form_nor_its_notice(liaison_client, commitment):
    html = liaison_client.get(commitment.get_absolute_url()).content.decode()

    assert 'class="post-update"' not in html and "was not posted" not in html
