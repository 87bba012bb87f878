import shutil

import pytest
from django.conf import settings

from tests.factories import LiaisonFactory, SecretariatFactory, UserFactory


@pytest.fixture
def secretariat(db):
    return SecretariatFactory(username="officer")


@pytest.fixture
def liaison(db):
    return LiaisonFactory(username="diplomat", actor__name="Turkmenistan", actor__iso_code="TM")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def secretariat_client(client, secretariat):
    client.force_login(secretariat)
    return client


@pytest.fixture
def liaison_client(client, liaison):
    client.force_login(liaison)
    return client


@pytest.fixture(autouse=True)
def _force_login_includes_the_second_step(monkeypatch):
    """`client.force_login` stands for a whole log-in, the two-factor code included: a person
    with an authenticator app gets a verified session, and one whose role requires it (a manager,
    a superuser) is given an app first. The code step itself is tested by logging in with the
    password (tests/tracker/test_two_factor.py)."""
    from django.test import Client

    from tests.factories import two_factor_session_verified

    force_login = Client.force_login

    def force_login_verified(self, user, backend=None):
        force_login(self, user, backend)
        two_factor_session_verified(self, user)

    monkeypatch.setattr(Client, "force_login", force_login_verified)


@pytest.fixture(autouse=True, scope="session")
def _remove_filesystem_broker_folder():
    """The test run's own filesystem broker folder (config/settings/test.py) goes with it."""
    yield
    shutil.rmtree(settings.CELERY_FILESYSTEM_FOLDER, ignore_errors=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached dashboards and feeds of one test are never served to the next, and a Redis that
    failed in one test is called in the next (its breaker is per process and address, and a
    test's own Redis may be given a port an earlier test's used)."""
    from django.core.cache import cache

    from core.cache_backends import breakers_close

    breakers_close()
    cache.clear()


@pytest.fixture
def kept_keys(monkeypatch):
    """The keys of whole pages kept during the test (core.page_cache)."""
    keys = []
    from core import page_cache

    keep = page_cache.cache.set

    def noted(key, *args, **kwargs):
        if key.startswith("tracker:page:"):
            keys.append(key)
        return keep(key, *args, **kwargs)

    monkeypatch.setattr(page_cache.cache, "set", noted)
    return keys


@pytest.fixture(autouse=True)
def _site_language_after_each_test():
    """A request in Russian leaves Russian active in the test's thread (the middleware
    activates a language and nothing resets it); the next test starts in the site's language."""
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)
