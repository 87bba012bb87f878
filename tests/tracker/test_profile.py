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


def ask_email_change(client, captured, new="new@example.org", password=PASSWORD):
    with captured(execute=True):
        return client.post(reverse("profile_email"), {"new_email": new, "password": password})


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def confirmation_path(address="new@example.org") -> str:
    (message,) = sent_to(address)
    return link_path(message)


def test_a_new_address_is_used_only_once_confirmed(
    liaison_client, liaison, django_capture_on_commit_callbacks, client
):
    response = ask_email_change(liaison_client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["diplomat@example.org", "new@example.org"]
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"

    client.logout()  # the link works in a browser where nobody is logged in
    path = confirmation_path()
    assert client.get(path).status_code == 200
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"  # a GET (a mail scanner) changes nothing

    assert client.post(path).status_code == 200
    liaison.refresh_from_db()
    assert liaison.email == "new@example.org"

    again = client.post(path)
    assert again.status_code == 410


def test_the_old_address_is_told_of_the_change_and_what_to_do(
    liaison_client, django_capture_on_commit_callbacks
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)

    (notice,) = sent_to("diplomat@example.org")
    assert "new@example.org" in notice.body
    assert "If it was not you, change your password" in notice.body
    assert "/profile/email/" not in notice.body  # no link that would confirm it


def test_a_wrong_or_missing_password_changes_nothing_and_sends_nothing(
    liaison_client, liaison, django_capture_on_commit_callbacks
):
    wrong = ask_email_change(liaison_client, django_capture_on_commit_callbacks, password="wrong")
    missing = ask_email_change(liaison_client, django_capture_on_commit_callbacks, password="")

    assert wrong.status_code == missing.status_code == 400
    assert "not your current password" in wrong.content.decode()
    assert mail.outbox == []
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_a_used_link_stays_dead_after_changing_back(
    liaison_client, liaison, django_capture_on_commit_callbacks, client
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    first = confirmation_path()
    assert client.post(first).status_code == 200
    liaison.refresh_from_db()
    liaison_client.force_login(liaison)
    mail.outbox.clear()
    ask_email_change(liaison_client, django_capture_on_commit_callbacks, new="diplomat@example.org")
    assert client.post(confirmation_path("diplomat@example.org")).status_code == 200
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"

    assert client.post(first).status_code == 410
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_a_password_change_retires_a_pending_link(
    liaison_client, liaison, django_capture_on_commit_callbacks, client
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    liaison.set_password(NEW_PASSWORD)
    liaison.save()

    assert client.post(confirmation_path()).status_code == 410
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_a_forged_email_change_link_is_refused(
    liaison_client, liaison, django_capture_on_commit_callbacks
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    path = confirmation_path()
    tampered = path[:-6] + "AAAAA/"

    for url in (tampered, reverse("profile_email_confirm", kwargs={"token": "x:y:z"})):
        assert liaison_client.post(url).status_code == 400
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


def test_an_expired_email_change_link_is_refused(
    liaison_client, liaison, django_capture_on_commit_callbacks
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks)
    path = confirmation_path()

    with time_machine.travel(timezone.now() + datetime.timedelta(days=2, minutes=1)):
        response = liaison_client.post(path)

    assert response.status_code == 410
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


@pytest.mark.parametrize("taken_by", ["account", "invitation"])
def test_an_address_in_use_gets_the_same_answer_and_no_link(
    liaison_client, django_capture_on_commit_callbacks, taken_by
):
    if taken_by == "account":
        SecretariatFactory(email="Officer@example.org")
    else:
        invite_officer()
    free = ask_email_change(liaison_client, django_capture_on_commit_callbacks, new="free@x.org")
    mail.outbox.clear()

    response = ask_email_change(
        liaison_client, django_capture_on_commit_callbacks, new="officer@example.org"
    )

    assert response.status_code == free.status_code == 302
    page = liaison_client.get(response.url).content.decode()
    assert "If officer@example.org can be used, a confirmation link is on its way" in page
    assert "Another account" not in page
    assert sent_to("officer@example.org") == []
    assert len(sent_to("diplomat@example.org")) == 1


def invite_officer():
    from tests.tracker.test_accounts import make_manager
    from tracker import accounts

    accounts.invitation_create(
        email="OFFICER@example.org",
        role="secretariat",
        actor=None,
        language="en",
        invited_by=make_manager(username="boss"),
    )


@pytest.mark.parametrize("taken_by", ["account", "invitation"])
def test_an_address_taken_after_the_request_is_refused_at_confirmation(
    liaison_client, liaison, django_capture_on_commit_callbacks, client, taken_by
):
    ask_email_change(liaison_client, django_capture_on_commit_callbacks, new="officer@example.org")
    path = confirmation_path("officer@example.org")
    if taken_by == "account":
        SecretariatFactory(username="officer", email="OFFICER@example.org")
    else:
        invite_officer()

    assert client.post(path).status_code == 409
    liaison.refresh_from_db()
    assert liaison.email == "diplomat@example.org"


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


def test_an_invitation_to_an_address_an_account_took_since_is_refused(
    client, liaison, django_capture_on_commit_callbacks
):
    from tracker.models import Invitation, User

    with django_capture_on_commit_callbacks(execute=True):
        invite_officer()
    path = link_path(sent_to("officer@example.org")[0])
    # As an email change confirmed before the invitation existed would leave it.
    User.objects.filter(pk=liaison.pk).update(email="Officer@example.org")
    form = {
        "first_name": "O",
        "last_name": "F",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }

    response = client.post(path, form)

    assert response.status_code == 409
    assert User.objects.filter(email__iexact="officer@example.org").count() == 1
    assert Invitation.objects.get().accepted_at is None


def test_the_reset_link_is_on_the_sites_address_whatever_the_host_header(client, liaison, settings):
    settings.TRACKER_SITE_URL = "https://tracker.example.org/"
    settings.ALLOWED_HOSTS = ["*"]

    client.post(reverse("password_reset"), {"email": "diplomat@example.org"}, HTTP_HOST="evil.test")

    (message,) = mail.outbox
    assert "evil.test" not in message.body
    assert re.search(r"^https://tracker\.example\.org/\S+/\S+/$", message.body, re.MULTILINE)


@pytest.mark.parametrize(
    "new",
    ['"a\x0bb"@example.org', '"a\x0cBcc:x@y.org"@example.org', '"a\x01b"@example.org'],
)
def test_an_address_with_control_characters_is_refused_and_nothing_is_sent(
    liaison_client, liaison, django_capture_on_commit_callbacks, new
):
    """Django's EmailField takes them in a quoted name part; its email writer would split the
    confirmation's To header at them."""
    before = liaison.email

    response = ask_email_change(liaison_client, django_capture_on_commit_callbacks, new=new)

    assert response.status_code == 400  # the form again, with its errors
    assert "cannot contain tabs, line breaks or other control characters" in (
        response.content.decode()
    )
    assert mail.outbox == []
    liaison.refresh_from_db()
    assert liaison.email == before
