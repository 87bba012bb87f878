"""Managers may not reset their own two-factor without a code, nor touch a superuser's account
unless they are one."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory
from tests.tracker.test_accounts import make_manager
from tests.tracker.test_two_factor import two_factor_app
from tracker import accounts
from tracker import two_factor as tf
from tracker.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    """A manager with two-factor on, as managers must have."""
    user = make_manager(username="boss")
    two_factor_app(user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def root():
    user = UserFactory(username="root", role="secretariat", is_superuser=True)
    two_factor_app(user)
    return User.objects.get(pk=user.pk)


def test_a_manager_cannot_reset_their_own_two_factor_on_the_managers_page(client, boss):
    client.force_login(boss)
    url = reverse("two_factor_reset", args=[boss.pk])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "your own two-factor page" in response.content.decode()
    assert TOTPDevice.objects.filter(user=boss).exists()
    with pytest.raises(tf.ResetRefused):
        tf.two_factor_reset(user=boss, manager=boss)
    assert (
        "Reset two-factor"
        not in client.get(reverse("account_edit", args=[boss.pk])).content.decode()
    )


def test_a_manager_who_is_not_a_superuser_cannot_reset_a_superusers_two_factor(client, boss, root):
    client.force_login(boss)
    url = reverse("two_factor_reset", args=[root.pk])
    for response in (client.get(url), client.post(url)):
        assert response.status_code == 403
        assert "only a superuser" in response.content.decode()
    assert TOTPDevice.objects.filter(user=root).exists()


def test_a_superuser_may_reset_another_superusers_two_factor(client, root):
    other = UserFactory(username="root2", is_superuser=True)
    two_factor_app(other)
    client.force_login(root)
    response = client.post(reverse("two_factor_reset", args=[other.pk]))
    assert response.status_code == 200 and response.context["done"] is True
    assert not TOTPDevice.objects.filter(user=other).exists()


@pytest.mark.parametrize(
    "form",
    [
        {"role": "liaison", "is_active": "on"},  # demoted
        {"role": "secretariat"},  # is_active left out: deactivated
    ],
)
def test_a_manager_who_is_not_a_superuser_cannot_change_a_superuser(client, boss, root, form):
    client.force_login(boss)
    url = reverse("account_edit", args=[root.pk])
    page = client.get(url)
    assert page.status_code == 200 and page.context["read_only"]
    assert 'name="role"' not in page.content.decode()
    response = client.post(url, form)
    assert response.status_code == 403
    assert "only a superuser" in response.content.decode()
    root.refresh_from_db()
    assert root.role == "secretariat" and root.is_active and root.is_superuser
    with pytest.raises(accounts.AccountRefused):
        accounts.account_update(
            user=root,
            role="secretariat",
            actor=None,
            is_active=False,
            manager_permission=False,
            manager=boss,
        )


def test_a_superuser_may_change_another_superuser(client, root):
    other = UserFactory(username="root2", role="secretariat", is_superuser=True)
    client.force_login(root)
    response = client.post(reverse("account_edit", args=[other.pk]), {"role": "secretariat"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert not other.is_active
