"""Each person's own account: the profile, a confirmed email change, password change and reset."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import LiaisonFactory, SecretariatFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase 7"


@pytest.fixture
def liaison():
    return LiaisonFactory(username="diplomat", email="diplomat@example.org", language="en")


@pytest.fixture
def liaison_client(client, liaison):
    client.force_login(liaison)
    return client


def link_path(message) -> str:
    link = re.search(r"https?://\S+", message.body).group(0)
    return "/" + link.split("/", 3)[3]


PROFILE = {"first_name": "Aida", "last_name": "B", "time_zone": "Europe/Zurich", "language": "ru"}


def test_a_liaison_saves_their_name_time_zone_and_language(liaison_client, liaison):
    page = liaison_client.get(reverse("profile")).content.decode()
    assert '<option value="Pacific/Auckland">' in page and 'list="time-zones"' in page

    response = liaison_client.post(reverse("profile"), PROFILE)

    assert response.status_code == 302
    liaison.refresh_from_db()
    assert (liaison.first_name, liaison.time_zone, liaison.language) == (
        "Aida",
        "Europe/Zurich",
        "ru",
    )


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", ""])
def test_a_bad_time_zone_is_refused_and_nothing_is_saved(liaison_client, liaison, zone):
    response = liaison_client.post(reverse("profile"), PROFILE | {"time_zone": zone})

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    liaison.refresh_from_db()
    assert (liaison.time_zone, liaison.first_name) == ("Asia/Ashgabat", "")


def test_the_reminders_page_links_to_the_profile(liaison_client):
    page = liaison_client.get(reverse("reminder_settings")).content.decode()

    assert f'href="{reverse("profile")}"' in page


# --- Email change ----------------------------------------------------------------------------


def ask_email_change(client, captured, new="new@example.org"):
    with captured(execute=True):
        return client.post(reverse("profile_email"), {"new_email": new})


def test_a_new_address_is_used_only_once_confirmed(
    liaison_client, liaison, django_capture_on_commit_callbacks, client
):
    response = ask_email_change(liaison_client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["new@example.org"]]
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"

    client.logout()  # the link works in a browser where nobody is logged in
    path = link_path(mail.outbox[0])
    assert client.get(path).status_code == 200
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"  # a GET (a mail scanner) changes nothing

    assert client.post(path).status_code == 200
    liaison.refresh_from_db()
    assert liaison.email == "new@example.org"

    again = client.post(path)
    assert again.status_code == 410


def test_a_forged_email_change_link_is_refused(
    liaison_client, liaison, django_capture_on_commit_callbacks
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])
    tampered = path[:-6] + "AAAAA/"

    for url in (tampered, reverse("profile_email_confirm", kwargs={"token": "x:y:z"})):
        assert liaison_client.post(url).status_code == 400
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_an_expired_email_change_link_is_refused(
    liaison_client, liaison, django_capture_on_commit_callbacks
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    path = link_path(mail.outbox[0])

    with time_machine.travel(timezone.now() + datetime.timedelta(days=2, minutes=1)):
        response = liaison_client.post(path)

    assert response.status_code == 410
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_an_address_of_another_account_is_refused(
    liaison_client, django_capture_on_commit_callbacks
):
    SecretariatFactory(email="Officer@example.org")

    response = ask_email_change(
        liaison_client, django_capture_on_commit_callbacks, new="officer@example.org"
    )

    assert response.status_code == 400
    assert "Another account uses that address" in response.content.decode()
    assert mail.outbox == []


# --- Passwords -------------------------------------------------------------------------------


def test_a_person_changes_their_password(liaison_client, liaison):
    form = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = liaison_client.post(reverse("password_change"), form)

    assert response.status_code == 302 and response.url == reverse("profile")
    liaison.refresh_from_db()
    assert liaison.check_password(NEW_PASSWORD)


def test_a_wrong_old_password_changes_nothing(liaison_client, liaison):
    form = {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    assert liaison_client.post(reverse("password_change"), form).status_code == 400
    liaison.refresh_from_db()
    assert liaison.check_password(PASSWORD)


def test_the_login_page_links_to_the_password_reset(client):
    assert reverse("password_reset") in client.get(reverse("login")).content.decode()


def reset(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def test_a_password_is_reset_by_email_in_the_accounts_language(client, liaison):
    liaison.language = "ru"
    liaison.save()

    response = reset(client, "diplomat@example.org")

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["diplomat@example.org"]]
    assert "пароль" in mail.outbox[0].subject.lower()
    path = link_path(mail.outbox[0])
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    set_password = form_page.redirect_chain[-1][0]
    done = client.post(set_password, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    liaison.refresh_from_db()
    assert liaison.check_password(NEW_PASSWORD)

    # The link worked once.
    again = client.get(path)
    assert again.status_code == 400
    assert "does not work" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, liaison):
    known = reset(client, "diplomat@example.org")
    unknown = reset(client, "nobody@example.org")

    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert len(mail.outbox) == 1


def test_an_expired_reset_link_is_refused(client, liaison, settings):
    reset(client, "diplomat@example.org")
    path = link_path(mail.outbox[0])
    later = timezone.now() + datetime.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)

    with time_machine.travel(later):
        response = client.get(path)

    assert response.status_code == 400
    liaison.refresh_from_db()
    assert liaison.check_password(PASSWORD)
