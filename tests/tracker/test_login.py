import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def log_in(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_the_login_page_is_open_to_anonymous_visitors(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert 'name="username"' in response.text


def test_a_visitor_sent_to_login_is_told_why_and_comes_back(client, secretariat):
    response = client.get(reverse("commitments:commitment_list"), follow=True)

    assert "Log in to see that page." in response.text
    assert log_in(client, "officer", next="/commitments/").url == "/commitments/"


def test_a_liaison_lands_on_their_states_page(client, liaison):
    response = log_in(client, "diplomat")

    assert response.status_code == 302
    assert response.url == liaison.actor.get_absolute_url()


def test_the_secretariat_lands_on_the_dashboard(client, secretariat):
    response = log_in(client, "officer")

    assert response.status_code == 302
    assert response.url == reverse("dashboard")


def test_a_liaison_without_a_state_lands_on_the_dashboard(client, liaison):
    liaison.actor = None
    liaison.save()

    assert log_in(client, "diplomat").url == reverse("dashboard")


def test_a_wrong_password_says_what_to_do_and_logs_nobody_in(client, secretariat):
    response = log_in(client, "officer", password="wrong")

    assert response.status_code == 200
    assert "do not match an account" in response.text
    assert "if you have forgotten your password, choose a new one with" in response.text
    assert "_auth_user_id" not in client.session


def test_an_empty_form_asks_for_both_fields(client):
    response = client.post(reverse("login"), {})

    assert response.status_code == 200
    assert "Enter your username." in response.text
    assert "Enter your password." in response.text


def test_a_disabled_account_cannot_log_in(client, secretariat):
    secretariat.is_active = False
    secretariat.save()

    response = log_in(client, "officer")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_next_on_this_site_is_followed(client, secretariat):
    target = reverse("commitments:commitment_list") + "?status=stalled"

    response = log_in(client, "officer", next=target)

    assert response.url == target


@pytest.mark.parametrize(
    "unsafe_next",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_next_pointing_elsewhere_is_ignored(client, liaison, unsafe_next):
    response = log_in(client, "diplomat", next=unsafe_next)

    assert response.status_code == 302
    assert response.url == liaison.actor.get_absolute_url()


def test_a_logged_in_visitor_of_the_login_page_goes_to_their_landing_page(client, liaison):
    client.force_login(liaison)

    response = client.get(reverse("login"))

    assert response.status_code == 302
    assert response.url == liaison.actor.get_absolute_url()


def test_logout_is_a_post_and_ends_the_session(client, secretariat):
    client.force_login(secretariat)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_every_page_offers_logout_as_a_form(secretariat_client):
    response = secretariat_client.get(reverse("dashboard"))

    assert f'<form class="logout" method="post" action="{reverse("logout")}">' in response.text


# -- where `next` cannot lead -------------------------------------------------------------

LOOPS = [
    "/login/",
    "/login/?next=/login/",
    "/login/?next=/logout/",
    "/logout/",
    "/logout",  # CommonMiddleware appends the slash: still the logout page (a 405 on GET)
    "/login",
    "/%6Cogin/",  # the login page, spelt with an escape
    "//evil.example/",
    "login/",
    "?next=/login/",
]


@pytest.mark.parametrize("loop", LOOPS)
def test_a_logged_in_visitor_sent_back_to_login_or_logout_goes_to_their_landing_page(
    client, secretariat, liaison, loop
):
    for user, landing in (
        (secretariat, reverse("dashboard")),
        (liaison, liaison.actor.get_absolute_url()),
    ):
        client.force_login(user)

        response = client.get(reverse("login"), {"next": loop})

        assert response.status_code == 302
        assert response.url == landing


@pytest.mark.parametrize("loop", LOOPS)
def test_logging_in_with_next_at_login_or_logout_lands_on_the_landing_page(
    client, secretariat, liaison, loop
):
    assert log_in(client, "officer", next=loop).url == reverse("dashboard")
    client.logout()
    assert log_in(client, "diplomat", next=loop).url == liaison.actor.get_absolute_url()


def test_a_liaison_who_opens_the_sites_address_lands_on_their_state(client, liaison):
    sent_to = client.get("/")  # LoginRequiredMiddleware asks for login with next=/

    assert sent_to.url == reverse("login") + "?next=/"
    assert log_in(client, "diplomat", next="/").url == liaison.actor.get_absolute_url()


def test_a_liaison_already_logged_in_sent_to_login_with_next_root_lands_on_their_state(
    client, liaison
):
    client.force_login(liaison)

    response = client.get(reverse("login"), {"next": "/"})

    assert response.url == liaison.actor.get_absolute_url()


@pytest.mark.parametrize("deep", ["/commitments/?status=stalled", "/?document=1", "/events/"])
def test_a_liaisons_deep_next_is_still_followed(client, liaison, deep):
    assert log_in(client, "diplomat", next=deep).url == deep


def test_the_secretariat_with_next_root_lands_on_the_dashboard(client, secretariat):
    assert log_in(client, "officer", next="/").url == reverse("dashboard")


@pytest.mark.parametrize("refused", ["/accounts/", "/accounts/invite/", "/commitments/new/"])
def test_a_liaisons_next_they_may_not_open_lands_on_their_state(client, liaison, refused):
    assert client.get(refused).status_code == 302  # the page asks for a login first

    assert log_in(client, "diplomat", next=refused).url == liaison.actor.get_absolute_url()


def test_the_secretariat_still_follows_next_to_a_curating_page(client, secretariat):
    assert log_in(client, "officer", next="/commitments/new/").url == "/commitments/new/"
