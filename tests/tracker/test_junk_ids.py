"""Ids a browser sends are ASCII digits within the integer range, or refused: never a 500."""

import pytest
from django.urls import reverse

from core.ids import MAX_ROW_ID, row_id, row_ids
from tests.factories import LiaisonFactory
from tracker.models import ReminderSubscription

pytestmark = pytest.mark.django_db

JUNK = ["²", "١٢", "99999999999999999999", "9" * 5000, "-1", "0", "1.0", " ", ""]


@pytest.mark.parametrize("value", JUNK)
def test_junk_is_no_row_id(value):
    assert row_id(value) is None


def test_a_row_id_is_ascii_digits_within_range():
    assert row_id("42") == 42 and row_id(str(MAX_ROW_ID)) == MAX_ROW_ID
    assert row_id(str(MAX_ROW_ID + 1)) is None
    assert row_ids(["3", "²", "4"]) == [3, 4]


@pytest.fixture
def liaison_client(client):
    client.force_login(LiaisonFactory())
    return client


@pytest.mark.parametrize("value", JUNK)
def test_marking_junk_notifications_read_is_no_error(liaison_client, value):
    response = liaison_client.post(reverse("notification_list"), {"id": value})

    assert response.status_code == 302


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "x"])
def test_junk_events_on_my_reminders_are_refused_with_a_message(liaison_client, value):
    response = liaison_client.post(reverse("reminder_settings"), {"events": [value]})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not ReminderSubscription.objects.exists()


def test_an_invalid_reminders_form_answers_400(liaison_client):
    response = liaison_client.post(reverse("reminder_settings"), {"lead_days": ["12345"]})

    assert response.status_code == 400
    assert response.context["form"].errors


@pytest.mark.parametrize("code", ["²²²²²²", "₁₂₃₄₅₆"])
def test_a_set_up_code_of_other_digits_is_a_wrong_code(liaison_client, code):
    liaison_client.get(reverse("two_factor"))  # the page keeps a new secret for the set-up

    response = liaison_client.post(reverse("two_factor"), {"code": code})

    assert response.status_code == 400
