"""Two-factor authentication (tracker.two_factor): set-up with a real code from the app's secret,
the code step after the password, replays and wrong codes refused, recovery codes used once,
managers and superusers made to set it up, and a manager's audited reset."""

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import (
    LiaisonFactory,
    SecretariatFactory,
    StatusUpdateFactory,
    UserFactory,
    two_factor_app,
)
from tracker import two_factor as tf
from tracker.models import User

PASSWORD = "correct horse battery staple"  # the factories' password
NOW = datetime.datetime(2026, 12, 12, 9, 0, 5, tzinfo=datetime.UTC)


def code_for(key: str, *, at: datetime.datetime) -> str:
    """What the person's app shows at `at`: computed from the secret, as a phone would."""
    with time_machine.travel(at, tick=False):
        return f"{totp(bytes.fromhex(key)):06d}"


def password_login(client, user, *, next_url: str = ""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def enter_code(client, code: str, *, next_url: str = ""):
    return client.post(reverse("two_factor_verify"), {"code": code, "next": next_url})


def manager(**fields) -> User:
    user = SecretariatFactory(**fields)
    user.user_permissions.add(Permission.objects.get(codename="manage_accounts"))
    return User.objects.get(pk=user.pk)  # without the permission cache


@pytest.fixture
def frozen(db):
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def person(db):
    """A liaison with an app whose secret the test knows, and ten recovery codes."""
    user = LiaisonFactory(username="diplomat")
    app = two_factor_app(user)
    tf._recovery_codes_new(user)
    return User.objects.get(pk=user.pk), app


# --- Setting it up ----------------------------------------------------------------------------


def test_a_liaison_sets_it_up_with_a_code_from_the_scanned_secret(client, frozen):
    user = LiaisonFactory()
    client.force_login(user)

    page = client.get(reverse("two_factor"))
    key = client.session[tf.PENDING_KEY_SESSION_KEY]
    done = client.post(reverse("two_factor"), {"code": code_for(key, at=NOW)})

    content = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in content and tf.two_factor_secret_text(key) in content
    assert done.status_code == 200 and done["Cache-Control"] == "private, no-store"
    assert len(done.context["codes"]) == tf.RECOVERY_CODE_COUNT
    assert TOTPDevice.objects.get(user=user, confirmed=True).key == key
    assert StaticToken.objects.filter(device__user=user).count() == tf.RECOVERY_CODE_COUNT
    assert User.objects.get(pk=user.pk).two_factor_enabled
    entry = LogEntry.objects.get_for_object(user).get(action=LogEntry.Action.UPDATE)
    assert entry.changes_dict == {"two_factor": ["off", "on"]} and entry.actor == user
    # The session that set it up counts as verified: it goes on without a code step.
    assert client.get(reverse("event_list")).status_code == 200


def test_a_wrong_code_at_set_up_turns_nothing_on(client, frozen):
    user = LiaisonFactory()
    client.force_login(user)
    client.get(reverse("two_factor"))
    key = client.session[tf.PENDING_KEY_SESSION_KEY]
    wrong = f"{(int(code_for(key, at=NOW)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("two_factor"), {"code": wrong})

    assert response.status_code == 400
    assert "not right" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not User.objects.get(pk=user.pk).two_factor_enabled


def test_the_set_up_code_cannot_log_in_afterwards(client, frozen):
    """The code that confirmed the app counts as used (its time step is recorded)."""
    user = LiaisonFactory()
    client.force_login(user)
    client.get(reverse("two_factor"))
    code = code_for(client.session[tf.PENDING_KEY_SESSION_KEY], at=NOW)
    client.post(reverse("two_factor"), {"code": code})
    client.logout()

    password_login(client, user)
    response = enter_code(client, code)

    assert response.status_code == 400
    assert client.get(reverse("event_list")).status_code == 302


def test_the_set_up_page_passes_the_content_security_policy(client, frozen):
    client.force_login(LiaisonFactory())

    content = client.get(reverse("two_factor")).content.decode()

    assert "style=" not in content and "<script" not in content and "data:" not in content


# --- Logging in -------------------------------------------------------------------------------


def test_after_the_password_every_page_waits_for_the_code(client, person, frozen):
    user, app = person

    after_password = password_login(client, user, next_url="/events/")
    key_before_code = client.session.session_key
    elsewhere = client.get(reverse("dashboard"))
    admin = client.get(reverse("admin:index"))
    entered = enter_code(client, code_for(app.key, at=NOW), next_url="/events/")

    assert after_password.url == f"{reverse('two_factor_verify')}?next=%2Fevents%2F"
    assert elsewhere.status_code == 302 and elsewhere.url == reverse("two_factor_verify")
    assert admin.url.startswith(reverse("two_factor_verify"))
    assert entered.status_code == 302 and entered.url == "/events/"
    assert client.session.session_key != key_before_code
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_password_log_in_never_inherits_a_code_entered_in_the_session_before(
    client, person, frozen
):
    # A session that names a log-in backend no longer in the settings is no one's, but keeps
    # its data; Django keeps that data when the same person logs in again in it. The code
    # entered before must not carry over to a log-in with the password alone.
    user, _app = person
    client.force_login(user, backend="tests.a_backend_since_removed.Backend")  # and verified
    assert client.get(reverse("dashboard")).url.startswith(reverse("login"))

    again = password_login(client, user)

    assert again.url.startswith(reverse("two_factor_verify"))
    assert client.get(reverse("dashboard")).url == reverse("two_factor_verify")


def test_a_code_replayed_is_refused(client, person, frozen):
    user, app = person
    code = code_for(app.key, at=NOW)
    password_login(client, user)
    assert enter_code(client, code).status_code == 302
    client.logout()

    password_login(client, user)
    replayed = enter_code(client, code)

    assert replayed.status_code == 400
    assert "already used" in replayed.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_next_code_works_after_one_was_used(client, person, frozen):
    user, app = person
    password_login(client, user)
    enter_code(client, code_for(app.key, at=NOW))
    client.logout()
    frozen.shift(datetime.timedelta(seconds=30))

    password_login(client, user)
    response = enter_code(client, code_for(app.key, at=NOW + datetime.timedelta(seconds=30)))

    assert response.status_code == 302


def test_a_recovery_code_works_once(client, person, frozen):
    user, _app = person
    code = StaticToken.objects.filter(device__user=user).first().token

    password_login(client, user)
    first = enter_code(client, code.upper())
    client.logout()
    password_login(client, user)
    second = enter_code(client, code)

    assert first.status_code == 302
    assert second.status_code == 400
    assert StaticToken.objects.filter(device__user=user).count() == tf.RECOVERY_CODE_COUNT - 1


def test_after_a_wrong_code_even_the_right_one_waits(client, person, frozen):
    """django-otp's throttling: 1, 2, 4... seconds after each wrong code."""
    user, app = person
    right = code_for(app.key, at=NOW)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    password_login(client, user)

    enter_code(client, wrong)
    enter_code(client, wrong)  # the second is not even looked at: the device waits
    throttled = enter_code(client, right)
    frozen.shift(datetime.timedelta(seconds=2))
    later = enter_code(client, right)

    assert throttled.status_code == 400
    assert "Too many wrong codes: wait 1 second," in throttled.content.decode()
    assert later.status_code == 302


def test_wrong_codes_count_as_failed_logins_and_lock_the_account(client, person, frozen, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user, app = person
    wrong = f"{(int(code_for(app.key, at=NOW)) + 1) % 1_000_000:06d}"
    password_login(client, user)

    statuses = []
    for seconds in (0, 10, 30):  # past each throttling wait
        frozen.move_to(NOW + datetime.timedelta(seconds=seconds))
        statuses.append(enter_code(client, wrong).status_code)
    again = password_login(client, user)

    # The third locks: the session is logged out and django-axes answers with its locked page.
    assert statuses == [400, 400, 429]
    assert AccessAttempt.objects.get(username=user.username).failures_since_start == 3
    assert client.get(reverse("dashboard")).url.startswith(reverse("login"))
    assert again.status_code == 429  # django-axes' locked-out page


def test_a_person_without_an_app_logs_in_with_the_password_alone(client, frozen):
    user = LiaisonFactory()

    response = password_login(client, user)

    assert response.url == user.actor.get_absolute_url()
    assert client.get(reverse("event_list")).status_code == 200


def test_a_flag_without_an_app_is_mended_at_the_code_step(client, db):
    """A restored backup keeps users, not their devices: nobody is stuck at the code step."""
    user = LiaisonFactory()
    User.objects.filter(pk=user.pk).update(two_factor_enabled=True)

    password_login(client, user)
    response = client.get(reverse("two_factor_verify"))

    assert response.status_code == 302 and response.url == user.actor.get_absolute_url()
    assert not User.objects.get(pk=user.pk).two_factor_enabled
    assert client.get(reverse("event_list")).status_code == 200


# --- Required of managers and superusers ------------------------------------------------------


@pytest.mark.parametrize("page", ["dashboard", "admin:index", "reminder_settings"])
def test_a_manager_without_an_app_can_reach_only_the_set_up_page(client, db, page):
    user = manager()
    password_login(client, user)

    response = client.get(reverse(page))

    assert response.status_code == 302 and response.url == reverse("two_factor")
    assert client.get(reverse("two_factor")).status_code == 200


def test_a_superuser_without_an_app_is_sent_to_set_it_up(client, db):
    user = UserFactory(is_staff=True, is_superuser=True)
    password_login(client, user)

    assert client.get(reverse("admin:index")).url == reverse("two_factor")
    assert client.get(reverse("dashboard")).url == reverse("two_factor")


def test_the_requirement_can_be_lifted_for_a_deployment(client, db, settings):
    settings.TRACKER_TWO_FACTOR_REQUIRED = False
    password_login(client, manager())

    assert client.get(reverse("dashboard")).status_code == 200


def test_a_secretariat_officer_who_is_no_manager_need_not_set_it_up(client, db):
    password_login(client, SecretariatFactory())

    assert client.get(reverse("dashboard")).status_code == 200


def test_those_who_must_have_it_cannot_turn_it_off(client, db, frozen):
    user = manager()
    app = two_factor_app(user)
    client.force_login(user)

    response = client.post(
        reverse("two_factor"), {"code": code_for(app.key, at=NOW), "action": "disable"}
    )

    assert response.status_code == 400
    assert "cannot be turned off" in response.content.decode()
    assert TOTPDevice.objects.filter(user=user).exists()


def test_others_turn_it_off_with_a_current_code(client, person, frozen):
    user, app = person
    client.force_login(user)

    refused = client.post(reverse("two_factor"), {"code": "000000", "action": "disable"})
    frozen.shift(datetime.timedelta(seconds=30))
    code = code_for(app.key, at=NOW + datetime.timedelta(seconds=30))
    done = client.post(reverse("two_factor"), {"code": code, "action": "disable"})

    assert refused.status_code == 400
    assert done.status_code == 200
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    assert not User.objects.get(pk=user.pk).two_factor_enabled


def test_new_recovery_codes_replace_the_old(client, person, frozen):
    user, app = person
    old = StaticToken.objects.filter(device__user=user).first().token
    client.force_login(user)

    response = client.post(
        reverse("two_factor"), {"code": code_for(app.key, at=NOW), "action": "regenerate"}
    )

    assert response.status_code == 200
    new = set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert new == set(response.context["codes"]) and old not in new


# --- A manager's reset ------------------------------------------------------------------------


def test_a_manager_resets_a_lost_device_and_it_is_in_the_audit_trail(client, person, frozen):
    user, _app = person
    boss = manager(username="boss")
    client.force_login(boss)

    confirm = client.get(reverse("two_factor_reset", args=[user.pk]))
    assert confirm.status_code == 200 and TOTPDevice.objects.filter(user=user).exists()
    done = client.post(reverse("two_factor_reset", args=[user.pk]))

    assert done.status_code == 200 and done.context["done"] is True
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    entry = LogEntry.objects.get_for_object(user).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == boss
    assert entry.changes_dict == {"two_factor": ["on", "off (reset by a manager)"]}
    client.logout()
    password_login(client, user)
    assert client.get(reverse("event_list")).status_code == 200


def test_a_reset_reaches_sessions_already_verified(client, person, frozen):
    """The person's open session no longer counts a device that is gone."""
    user, _app = person
    client.force_login(user)
    tf.two_factor_reset(user=user, manager=manager())

    assert client.get(reverse("event_list")).status_code == 200
    assert not User.objects.get(pk=user.pk).two_factor_enabled


def test_a_reset_is_refused_to_anyone_but_a_manager(client, person):
    user, _app = person
    client.force_login(SecretariatFactory())

    response = client.post(reverse("two_factor_reset", args=[user.pk]))

    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=user).exists()


def test_an_app_deleted_in_the_admin_turns_the_flag_off(person):
    user, app = person

    app.delete()

    assert not User.objects.get(pk=user.pk).two_factor_enabled


# --- Cost ---------------------------------------------------------------------------------


def test_the_gate_costs_no_query_for_those_without_an_app(client, db):
    """The flag on the user answers: a page reads what it read before two-factor existed,
    whoever else turned it on."""
    client.force_login(LiaisonFactory())
    client.get(reverse("event_list"))

    with CaptureQueriesContext(connection) as before:
        client.get(reverse("event_list"))
    two_factor_app(LiaisonFactory())
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("event_list"))

    assert len(before) == len(after)
    assert not any("otp_" in query["sql"] for query in after.captured_queries)


@pytest.mark.parametrize("recovery_codes", [2, 20])
def test_the_two_factor_page_reads_in_a_fixed_number_of_queries(
    client, person, recovery_codes, django_assert_max_num_queries
):
    user, _app = person
    device = StaticDevice.objects.get(user=user)
    StaticToken.objects.filter(device=device).delete()
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=f"code{i}") for i in range(recovery_codes)
    )
    client.force_login(user)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("two_factor"))

    assert response.context["state"].recovery_codes_left == recovery_codes


# --- The public record and the API wait for the code too --------------------------------------


@pytest.mark.parametrize("public_site", [False, True])
def test_a_session_owing_its_code_reads_no_public_record_page_as_its_person(
    client, person, frozen, settings, public_site
):
    """The pages of the public record are open to visitors, but a session that gave only the
    password is sent to the code step there too: it would read them with its role's view."""
    settings.TRACKER_PUBLIC_SITE = public_site
    user, _app = person
    password_login(client, user)

    for name in ("dashboard", "commitments:commitment_list", "event_list"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("two_factor_verify")), name


@pytest.mark.parametrize("public_site", [False, True])
def test_a_session_owing_its_code_is_no_one_to_the_api(client, frozen, settings, public_site):
    """The API's session authentication reads a session that owes its code as no one: 401
    while the record is private, the public record alone (as any visitor) while it is public."""
    settings.TRACKER_PUBLIC_SITE = public_site
    officer = SecretariatFactory(username="officer")
    app = two_factor_app(officer)
    StatusUpdateFactory(narrative="An internal note", visibility="internal")
    password_login(client, officer)

    owing = client.get("/api/v1/updates/")
    enter_code(client, code_for(app.key, at=NOW))
    verified = client.get("/api/v1/updates/")

    assert owing.status_code == (200 if public_site else 401)
    assert "An internal note" not in owing.content.decode()
    assert "An internal note" in verified.content.decode()


def test_the_gate_reads_the_address_django_resolved_and_resolves_nothing_again(
    monkeypatch, secretariat_client
):
    """Every logged-in page passes the gate: it costs no second walk of the URL patterns."""
    resolved = []
    resolve = tf.resolve
    monkeypatch.setattr(tf, "resolve", lambda path: resolved.append(path) or resolve(path))

    assert secretariat_client.get(reverse("dashboard")).status_code == 200
    assert resolved == []
