"""Error pages (issue 10): styled, in the reader's language, saying what happened and how to go
on, never Django's bare English ones. The test settings run with DEBUG = False, as in production.
"""

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


def page(response) -> str:
    html = response.content.decode()
    assert 'href="/static/css/tracker.css"' in html  # the site's layout, not a bare page
    assert 'href="/"' in html  # a way on: the dashboard
    return html


def test_debug_is_off_in_these_tests():
    assert settings.DEBUG is False


def test_404_in_english(secretariat_client):
    response = secretariat_client.get("/no-such-page/")

    assert response.status_code == 404
    html = page(response)
    assert "<h1 id=\"error-heading\">Page not found</h1>" in html
    assert "Check the address" in html
    assert "Log out" in html  # the menu is there for a logged-in reader


def test_404_in_russian(secretariat_client):
    html = page(secretariat_client.get("/no-such-page/", **RU))

    assert '<html lang="ru">' in html
    assert "Страница не найдена" in html and "Page not found" not in html


def test_404_for_an_anonymous_visitor_has_no_menu(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = page(response)
    assert "Page not found" in html and "Log out" not in html


@pytest.mark.parametrize(
    ("headers", "reason", "heading"),
    [
        ({}, "but not change it, so nothing was saved.", "Not allowed"),
        (RU, "ничего не сохранено", "Действие не разрешено"),
    ],
)
def test_403_says_why_when_a_reason_is_given(liaison_client, headers, reason, heading):
    commitment = CommitmentFactory()

    response = liaison_client.post(commitment.get_absolute_url(), {"status": "achieved"}, **headers)

    assert response.status_code == 403
    html = page(response)
    assert heading in html
    assert reason in html.split('<p class="message error">')[1].split("</p>")[0]


def test_403_of_the_delivery_log_to_a_liaison(liaison_client):
    response = liaison_client.get("/reminders/log/")

    assert response.status_code == 403
    assert "Only the secretariat sees the reminder delivery log." in page(response)


def test_403_without_a_reason_shows_no_empty_box(failing_site):
    response = failing_site.get("/test-only/forbidden/")

    assert response.status_code == 403
    html = page(response)
    assert "Your account may not do this" in html
    assert 'class="message error"' not in html


@pytest.fixture
def strict_client(secretariat):
    client = Client(enforce_csrf_checks=True)
    client.force_login(secretariat)
    return client


def test_a_refused_form_says_to_log_in_again(strict_client):
    commitment = CommitmentFactory()

    response = strict_client.post(commitment.get_absolute_url(), {"status": "achieved"})

    assert response.status_code == 403
    html = page(response)
    assert "The form could not be sent" in html
    assert "nothing was saved" in html
    assert 'href="/login/">Log in again</a>' in html
    assert "CSRF" not in html
    assert commitment.updates.count() == 0


def test_a_refused_form_in_russian(strict_client):
    response = strict_client.post("/logout/", **RU)

    assert response.status_code == 403
    html = page(response)
    assert "Форму не удалось отправить" in html and "form could not be sent" not in html


@pytest.fixture
def failing_site(settings, secretariat):
    settings.ROOT_URLCONF = "tests.tracker.error_urls"
    client = Client(raise_request_exception=False)
    client.force_login(secretariat)
    return client


@pytest.mark.parametrize(
    ("headers", "heading"),
    [({}, "Something went wrong"), (RU, "Что-то пошло не так")],
)
def test_500_in_the_readers_language(failing_site, headers, heading):
    response = failing_site.get("/test-only/fail/", **headers)

    assert response.status_code == 500
    html = page(response)
    assert heading in html
    assert "must not show" not in html and "Traceback" not in html
    lang = "ru" if headers else "en"
    assert f'<html lang="{lang}">' in html


def test_400_in_the_readers_language(client):
    # A request for a host outside ALLOWED_HOSTS is Django's SuspiciousOperation: a 400.
    response = client.get("/login/", HTTP_HOST="evil.example", **RU)

    assert response.status_code == 400
    html = page(response)
    assert "Неверный запрос" in html
