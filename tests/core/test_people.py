"""People's names as each reader may read them (core.roles.person_shown): a login name without
a full name reaches the secretariat only, never the public site's visitors, liaisons or the
anonymous API."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.roles import person_shown
from tests.factories import (
    CommitmentFactory,
    LiaisonFactory,
    SecretariatFactory,
    post_status_update,
)

LOGIN = "zq-login-name@example.org"  # an invited person's login name is their email address


@pytest.fixture
def commitment(db, settings):
    settings.TRACKER_PUBLIC_SITE = True
    nameless = SecretariatFactory(username=LOGIN, first_name="", last_name="")
    commitment = CommitmentFactory(owner=nameless)
    post_status_update(commitment, nameless, visibility="public")
    return commitment


def test_a_visitor_reads_the_secretariat_not_a_login_name(commitment):
    pages = {
        "commitment": commitment.get_absolute_url(),
        "table": "/commitments/",
        "table as CSV": "/commitments/?_export=csv",
        "API commitment": f"/api/v1/commitments/{commitment.slug}/",
        "API updates": f"/api/v1/commitments/{commitment.slug}/updates/",
    }
    for name, url in pages.items():
        response = Client().get(url)
        assert response.status_code == 200, name
        body = response.getvalue().decode() if response.streaming else response.content.decode()
        assert LOGIN not in body, name
    page = Client().get(commitment.get_absolute_url()).content.decode()
    assert "by the secretariat." in page


def test_a_liaison_reads_the_role_word_and_the_secretariat_the_login_name(commitment):
    liaison, secretariat = Client(), Client()
    liaison.force_login(LiaisonFactory())
    secretariat.force_login(SecretariatFactory())

    assert LOGIN not in liaison.get(commitment.get_absolute_url()).content.decode()
    assert LOGIN in secretariat.get(commitment.get_absolute_url()).content.decode()
    api = APIClient()
    api.force_authenticate(LiaisonFactory())
    assert LOGIN not in api.get(f"/api/v1/commitments/{commitment.slug}/").content.decode()


def test_a_full_name_is_read_by_everyone(db):
    named = SecretariatFactory(first_name="Aman", last_name="Orazov")

    assert person_shown(named, reader=None) == "Aman Orazov"
    assert person_shown(LiaisonFactory(first_name=""), reader=None) == "a member-state liaison"
