"""Accounts without the admin: invitations, the managers' pages, and every refusal of them."""

import datetime
import importlib
import re

import pytest
import time_machine
from auditlog.models import LogEntry
from django.apps import apps as django_apps
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from commitments.models import Actor
from core.roles import Role
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    LiaisonFactory,
    SecretariatFactory,
    UserFactory,
)
from tracker import accounts
from tracker.models import Invitation, User
from tracker.models.invitations import invitation_token_hash

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"


def make_manager(**kwargs) -> User:
    manager = SecretariatFactory(**kwargs)
    manager.user_permissions.add(
        Permission.objects.get(content_type__app_label="tracker", codename="manage_accounts")
    )
    return User.objects.get(pk=manager.pk)  # a fresh permission cache


@pytest.fixture
def manager():
    return make_manager(username="manager")


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def state():
    return ActorFactory(name="Kazakhstan", kind=Actor.Kind.MEMBER_STATE)


def invite(client, captured, **data):
    form = {"email": "new.liaison@example.org", "role": "liaison", "language": "en"} | data
    with captured(execute=True):
        return client.post(reverse("account_invite"), form)


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


# --- Inviting -------------------------------------------------------------------------------


def test_a_manager_invites_a_liaison_who_chooses_a_password(
    manager_client, state, django_capture_on_commit_callbacks, client
):
    response = invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk)

    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["new.liaison@example.org"]]
    path = path_of(link_in(mail.outbox[0]))
    token = path.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    # Only the token's hash is kept.
    assert invitation.token_hash == invitation_token_hash(token) != token
    assert token not in str(Invitation.objects.values().get())

    client.logout()
    assert client.get(path).status_code == 200
    form = {"first_name": "Aida", "last_name": "B", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(path, form)

    assert response.status_code == 302 and response.url == reverse("login")
    person = User.objects.get(username="new.liaison@example.org")
    assert (person.role, person.actor, person.first_name) == (Role.LIAISON, state, "Aida")
    assert person.check_password(PASSWORD)
    login = {"username": "new.liaison@example.org", "password": PASSWORD}
    assert client.post(reverse("login"), login).status_code == 302


def test_the_invitation_email_names_the_role_and_the_state_in_a_sentence(
    manager_client, state, django_capture_on_commit_callbacks
):
    invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk)

    body = mail.outbox[0].body
    assert "as a member-state liaison for Kazakhstan." in body
    assert "(Kazakhstan)" not in body


def test_the_invitation_email_is_in_the_invitees_language(
    manager_client, state, django_capture_on_commit_callbacks
):
    invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk, language="ru")

    assert "приглаш" in mail.outbox[0].subject.lower()
    assert Invitation.objects.get().language == "ru"


def test_no_email_leaves_before_the_invitation_is_committed(manager, state):
    accounts.invitation_create(
        email="x@example.org", role="liaison", actor=state, language="en", invited_by=manager
    )
    # Inside the test's transaction, which never commits: nothing was sent.
    assert mail.outbox == []


def test_a_used_link_is_refused_and_makes_no_second_account(client, manager, state):
    token = "token-once"
    Invitation.objects.create(
        email="once@example.org",
        role="liaison",
        actor=state,
        language="en",
        token_hash=invitation_token_hash(token),
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    form = {"first_name": "A", "password1": PASSWORD, "password2": PASSWORD}
    path = reverse("invitation_accept", kwargs={"token": token})
    assert client.post(path, form).status_code == 302

    again = client.post(path, form | {"first_name": "Other"})

    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert User.objects.get(username="once@example.org").first_name == "A"


def test_an_expired_link_says_to_ask_for_a_new_invitation(
    manager_client, client, state, django_capture_on_commit_callbacks
):
    invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk)
    path = path_of(link_in(mail.outbox[0]))
    client.logout()
    later = timezone.now() + datetime.timedelta(days=7, minutes=1)

    with time_machine.travel(later):
        form = {"first_name": "A", "password1": PASSWORD, "password2": PASSWORD}
        response = client.post(path, form)

    assert response.status_code == 410
    assert "ask the secretariat for a new invitation" in response.content.decode().lower()
    assert not User.objects.filter(email="new.liaison@example.org").exists()


def test_reinviting_replaces_the_old_link(
    manager_client, client, state, django_capture_on_commit_callbacks
):
    invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk)
    invite(manager_client, django_capture_on_commit_callbacks, actor=state.pk, role="liaison")
    old, new = (path_of(link_in(message)) for message in mail.outbox)
    client.logout()

    response = client.get(old)

    assert response.status_code == 410
    assert "replaced by a newer one" in response.content.decode()
    assert client.get(new).status_code == 200
    assert Invitation.objects.filter(replaced_at__isnull=True).count() == 1


def test_a_forged_link_is_a_bad_request(client):
    response = client.get(reverse("invitation_accept", kwargs={"token": "made-up"}))

    assert response.status_code == 400
    assert "ask the secretariat for a new invitation" in response.content.decode().lower()


def test_an_address_with_an_active_account_is_not_invited(
    manager_client, django_capture_on_commit_callbacks
):
    LiaisonFactory(email="Taken@Example.org")

    response = invite(manager_client, django_capture_on_commit_callbacks, email="taken@example.org")

    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert mail.outbox == [] and not Invitation.objects.exists()


def test_a_liaison_needs_a_state_and_a_contributor_an_organisation(
    manager_client, state, django_capture_on_commit_callbacks
):
    no_state = invite(manager_client, django_capture_on_commit_callbacks)
    state_for_contributor = invite(
        manager_client, django_capture_on_commit_callbacks, role="contributor", actor=state.pk
    )

    assert no_state.status_code == state_for_contributor.status_code == 400
    assert "Choose the organisation" in state_for_contributor.content.decode()
    assert not Invitation.objects.exists()


def test_a_weak_password_is_refused_by_djangos_validators(client, state):
    token = "token-weak"
    Invitation.objects.create(
        email="weak@example.org",
        role="liaison",
        actor=state,
        language="en",
        token_hash=invitation_token_hash(token),
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    form = {"first_name": "A", "password1": "12345678", "password2": "12345678"}

    response = client.post(reverse("invitation_accept", kwargs={"token": token}), form)

    assert response.status_code == 400
    assert "too common" in response.content.decode()
    assert not User.objects.filter(username="weak@example.org").exists()
    assert Invitation.objects.get().accepted_at is None


def test_the_invitation_is_in_the_audit_trail(manager, state):
    accounts.invitation_create(
        email="a@example.org", role="liaison", actor=state, language="en", invited_by=manager
    )

    entry = LogEntry.objects.get_for_model(Invitation).get()
    assert "token_hash" not in entry.changes_dict and "email" in entry.changes_dict


def test_an_invitation_through_smtp_reaches_the_sink(
    settings, manager, state, smtp_sink, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port

    with django_capture_on_commit_callbacks(execute=True):
        accounts.invitation_create(
            email="sink@example.org", role="liaison", actor=state, language="en", invited_by=manager
        )

    assert smtp_sink.count_by_recipient() == {"sink@example.org": 1}
    body = smtp_sink.messages[0].get_payload(decode=True).decode()
    assert "/invitation/" in body


# --- The managers' pages --------------------------------------------------------------------


ACCOUNT_PAGES = ["account_list", "account_invite", "account_edit"]


def account_url(name: str, person: User) -> str:
    return reverse(name, kwargs={"pk": person.pk} if name == "account_edit" else {})


@pytest.mark.parametrize("name", ACCOUNT_PAGES)
@pytest.mark.parametrize("who", ["secretariat", "liaison", "contributor"])
def test_only_managers_open_the_account_pages(client, name, who):
    people = {
        "secretariat": SecretariatFactory,
        "liaison": LiaisonFactory,
        "contributor": lambda: UserFactory(role=Role.CONTRIBUTOR),
    }
    person = people[who]()
    client.force_login(person)

    for method in ("get", "post"):
        response = getattr(client, method)(account_url(name, person))
        assert response.status_code == 403, (name, who, method)
        assert "account managers" in response.content.decode()


def test_a_manager_without_secretariat_role_manages_nothing(client):
    former = make_manager()
    former.role = Role.LIAISON
    former.save()
    client.force_login(former)

    assert client.get(reverse("account_list")).status_code == 403


def test_the_list_shows_accounts_and_pending_invitations(manager_client, manager, state):
    LiaisonFactory(username="diplomat", email="diplomat@example.org", actor=state)
    accounts.invitation_create(
        email="waiting@example.org", role="liaison", actor=state, language="en", invited_by=manager
    )

    page = manager_client.get(reverse("account_list")).content.decode()

    assert "diplomat@example.org" in page and "Kazakhstan" in page
    assert "waiting@example.org" in page and "never" in page


@pytest.mark.parametrize("accounts_count", [2, 20])
def test_the_list_costs_the_same_queries_for_2_or_20_accounts(
    manager_client, manager, accounts_count, django_assert_num_queries
):
    for n in range(accounts_count):
        state = ActorFactory()
        LiaisonFactory(actor=state)
        accounts.invitation_create(
            email=f"p{n}@example.org", role="liaison", actor=state, language="en",
            invited_by=manager,
        )  # fmt: skip

    # Session, user, the manager's two-factor device (django-otp's middleware), the user's and
    # their groups' permissions, the accounts and the invitations; the session is not saved
    # (core.sessions: within its refresh interval).
    with django_assert_num_queries(7):
        response = manager_client.get(reverse("account_list"))

    assert response.content.decode().count("@example.org") >= 2 * accounts_count


def test_a_manager_changes_a_role_and_state_and_it_is_audited(manager_client, state):
    person = SecretariatFactory()
    form = {"role": "liaison", "actor": state.pk, "is_active": "on"}

    response = manager_client.post(reverse("account_edit", kwargs={"pk": person.pk}), form)

    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.role, person.actor) == ("liaison", state)
    changes = LogEntry.objects.get_for_object(person).latest("timestamp").changes_dict
    assert set(changes) >= {"role", "actor"}


def test_a_manager_deactivates_and_reactivates_an_account(manager_client, state):
    person = LiaisonFactory(actor=state)
    url = reverse("account_edit", kwargs={"pk": person.pk})

    manager_client.post(url, {"role": "liaison", "actor": state.pk})
    person.refresh_from_db()
    assert not person.is_active and User.objects.filter(pk=person.pk).exists()

    manager_client.post(url, {"role": "liaison", "actor": state.pk, "is_active": "on"})
    person.refresh_from_db()
    assert person.is_active
    entries = LogEntry.objects.get_for_object(person).order_by("timestamp")
    assert [e.changes_dict["is_active"][1] for e in entries if "is_active" in e.changes_dict][
        -2:
    ] == ["False", "True"]


def test_a_manager_cannot_deactivate_themselves(manager_client, manager):
    url = reverse("account_edit", kwargs={"pk": manager.pk})

    response = manager_client.post(url, {"role": "secretariat", "manager": "on"})

    assert response.status_code == 400
    assert "cannot deactivate your own account" in response.content.decode()
    manager.refresh_from_db()
    assert manager.is_active


def test_a_manager_cannot_take_away_their_own_right(manager_client, manager):
    url = reverse("account_edit", kwargs={"pk": manager.pk})

    without_permission = manager_client.post(url, {"role": "secretariat", "is_active": "on"})
    demoted = manager_client.post(url, {"role": "liaison", "is_active": "on", "manager": "on"})

    assert without_permission.status_code == demoted.status_code == 400
    assert accounts.user_is_manager(manager)
    manager.refresh_from_db()
    assert manager.role == Role.SECRETARIAT


def test_a_manager_gives_the_right_to_manage_accounts(manager_client):
    person = SecretariatFactory()
    url = reverse("account_edit", kwargs={"pk": person.pk})

    manager_client.post(url, {"role": "secretariat", "is_active": "on", "manager": "on"})

    assert accounts.user_is_manager(person)
    assert LogEntry.objects.get_for_object(person).filter(changes__icontains="perm").exists()


def test_a_demoted_owner_is_warned_and_their_commitments_are_listed(manager_client, state):
    person = SecretariatFactory()
    owned = CommitmentFactory(title="Open the OCHA office", owner=person)
    CommitmentFactory(title="Hold the forum", supervisor=person)
    url = reverse("account_edit", kwargs={"pk": person.pk})

    response = manager_client.post(url, {"role": "liaison", "actor": state.pk, "is_active": "on"})
    page = manager_client.get(response.url).content.decode()

    assert "no owner reminders" in page
    assert "Open the OCHA office" in page and "Hold the forum" in page
    assert "no longer active secretariat staff" in page
    owned.refresh_from_db()
    assert owned.owner == person  # ownership stays: reassigning is a decision


def test_a_contributor_is_invited_for_their_organisation(manager, client):
    organisation = ActorFactory(name="Human Rights Institute", kind=Actor.Kind.ORGANISATION)
    invitation = accounts.invitation_create(
        email="Researcher@Example.org",
        role="contributor",
        actor=organisation,
        language="en",
        invited_by=manager,
    )
    token = "contributor-token"
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=invitation_token_hash(token))
    form = {"first_name": "R", "password1": PASSWORD, "password2": PASSWORD}

    client.post(reverse("invitation_accept", kwargs={"token": token}), form)

    person = User.objects.get(email="researcher@example.org")
    assert (person.role, person.actor) == (Role.CONTRIBUTOR, organisation)
    assert not person.can_edit_record


@pytest.mark.parametrize("email", ['"a\x0bb"@example.org', '"a\x0cBcc:x@y.org"@example.org'])
def test_an_invitation_to_an_address_with_control_characters_is_refused(
    manager_client, django_capture_on_commit_callbacks, email
):
    response = invite(manager_client, django_capture_on_commit_callbacks, email=email)

    assert response.status_code == 400  # the form again, with its errors
    assert "cannot contain tabs, line breaks or other control characters" in (
        response.content.decode()
    )
    assert mail.outbox == []
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("email", ['"a\x0bb"@example.org', '"a\x0cBcc:x@y.org"@example.org'])
def test_the_admin_refuses_an_address_with_control_characters_and_keeps_the_old_one(
    client, superuser, liaison, email
):
    """The validator is the model field's: the admin's account form (a ModelForm) refuses it too."""
    client.force_login(superuser)
    url = reverse("admin:tracker_user_change", args=[liaison.pk])
    form = {
        "username": liaison.username,
        "email": email,
        "is_active": "on",
        "role": liaison.role,
        "actor": liaison.actor_id or "",
        "time_zone": liaison.time_zone,
        "language": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = client.post(url, form)

    assert response.status_code == 200  # the form again, with its errors
    assert "cannot contain tabs, line breaks or other control characters" in (
        response.content.decode()
    )
    liaison.refresh_from_db()
    assert liaison.email != email
    form["email"] = "liaison.new@example.org"  # the same form with a plain address is saved
    assert client.post(url, form).status_code == 302
    liaison.refresh_from_db()
    assert liaison.email == "liaison.new@example.org"


def test_the_upgrade_takes_control_characters_out_of_a_stored_address(liaison):
    """Migration 0019: an address the admin's form stored before it refused control characters
    loses them, so the account can be saved (deactivated, say) in the admin again."""
    migration = importlib.import_module(
        "tracker.migrations.0019_user_email_without_control_characters"
    )
    User.objects.filter(pk=liaison.pk).update(email='"a\x0bb\x0c"@example.org')
    untouched = User.objects.values_list("pk", "email").exclude(pk=liaison.pk)
    before = set(untouched)

    migration.email_without_control_characters(django_apps, None)

    liaison.refresh_from_db()
    assert liaison.email == '"ab"@example.org'
    assert set(untouched) == before
    liaison.full_clean()  # what the admin's form checks: no field refused any more
