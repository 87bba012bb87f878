"""API tokens on the profile page (tracker.profile_views, tracker.api_tokens): made with a name
and shown once, listed, revoked, and recorded in the audit trail without their secret."""

import re

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import SecretariatFactory
from tracker.api_tokens import api_token_authenticate, api_token_create
from tracker.audit import audit_entries_for
from tracker.models import ApiToken

pytestmark = pytest.mark.django_db


def made_token(response) -> str:
    return re.search(r'id="new-api-token"[^>]*value="([^"]+)"', response.content.decode())[1]


def test_a_token_is_shown_once_and_then_only_its_start(liaison_client, liaison):
    response = liaison_client.post(reverse("api_token_create"), {"name": "Monthly report"})

    assert response.status_code == 200
    text = made_token(response)
    assert "you will not see it again" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=liaison)
    assert api_token_authenticate(presented=text) == token
    later = liaison_client.get(reverse("profile")).content.decode()
    assert text not in later
    assert "Monthly report" in later and f"ctk_{token.prefix}…" in later


def test_a_new_token_is_shown_at_the_top_of_the_profile(liaison_client):
    page = liaison_client.post(reverse("api_token_create"), {"name": "Script"}).content.decode()

    top = page.index('id="new-api-token"')
    assert top < page.index("<section"), "the new token is below a part of the profile"
    assert top > page.index("<h1>")


def test_reloading_the_address_goes_back_to_the_tokens_without_showing_one(liaison_client, liaison):
    api_token_create(user=liaison, name="Script")

    response = liaison_client.get(reverse("api_token_create"))

    assert response.status_code == 302
    assert response["Location"] == reverse("profile") + "#api-tokens-heading"
    assert "no-store" in response["Cache-Control"]
    page = liaison_client.get(response["Location"]).content.decode()
    assert "shown only once" in page and 'id="new-api-token"' not in page


def test_the_page_says_revoking_is_immediate(liaison_client):
    page = liaison_client.get(reverse("profile")).content.decode()

    assert "Revoking a token is immediate and cannot be undone" in page


def test_a_token_needs_a_name(liaison_client, liaison):
    response = liaison_client.post(reverse("api_token_create"), {"name": "  "})

    assert response.status_code == 400
    assert "No token was made" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_stops_the_token(liaison_client, liaison):
    token, text = api_token_create(user=liaison, name="Script")

    response = liaison_client.post(reverse("api_token_revoke", kwargs={"pk": token.pk}))

    assert response.status_code == 302
    assert api_token_authenticate(presented=text) is None
    page = liaison_client.get(reverse("profile")).content.decode()
    assert "Revoked" in page and "is revoked" in page


def test_no_one_revokes_another_persons_token(liaison_client):
    token, text = api_token_create(user=SecretariatFactory(), name="Script")

    response = liaison_client.post(reverse("api_token_revoke", kwargs={"pk": token.pk}))

    assert response.status_code == 404
    assert api_token_authenticate(presented=text) == token


def test_the_profile_lists_tokens_in_a_fixed_number_of_queries(
    liaison_client, liaison, django_assert_max_num_queries
):
    for number in range(5):
        api_token_create(user=liaison, name=f"Script {number}")

    with django_assert_max_num_queries(12):
        response = liaison_client.get(reverse("profile"))

    assert response.content.decode().count("<td>Script ") == 5


def test_making_and_revoking_are_in_the_audit_trail_without_the_secret(
    liaison_client, liaison, secretariat
):
    text = made_token(liaison_client.post(reverse("api_token_create"), {"name": "Script"}))
    token = ApiToken.objects.get(user=liaison)
    liaison_client.post(reverse("api_token_revoke", kwargs={"pk": token.pk}))

    entries = LogEntry.objects.get_for_object(token).order_by("pk")

    assert [(entry.action, entry.actor) for entry in entries] == [
        (LogEntry.Action.CREATE, liaison),
        (LogEntry.Action.UPDATE, liaison),
    ]
    recorded = " ".join(str(entry.changes) for entry in entries)
    assert text not in recorded and token.digest not in recorded
    trail = [s for entry in audit_entries_for(token, viewer=secretariat) for s in entry.sentences]
    assert trail[0].startswith("Revoked at set to") and trail[1] == "Created by diplomat"


def test_the_tokens_part_of_the_profile_is_in_russian(liaison_client, liaison):
    liaison.language = "ru"
    liaison.save()
    api_token_create(user=liaison, name="Old script")

    page = liaison_client.post(reverse("api_token_create"), {"name": "Script"}).content.decode()

    assert "Токены API" in page
    assert "скопируйте его сейчас, больше вы его не увидите" in page
    assert "Отозвать<span" in page and "Последнее использование" in page
