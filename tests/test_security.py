"""Security in settings and code: the Content Security Policy, sessions, lockouts."""

import datetime
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import time_machine
from auditlog.models import LogEntry
from axes.models import AccessFailureLog, AccessLog
from django.conf import settings
from django.urls import reverse

from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    EventFactory,
    ParagraphFactory,
    StatusUpdateFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
# Sources that would let injected markup run or load something: none may appear in the policy.
FORBIDDEN_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:")


@pytest.fixture
def record():
    """One of everything a main page shows."""
    actor = ActorFactory(name="Kazakhstan", slug="kazakhstan", iso_code="KZ")
    paragraph = ParagraphFactory(number=1)
    commitment = CommitmentFactory(
        title="Group of Friends of Neutrality", paragraphs=[paragraph], lead_actors=[actor]
    )
    StatusUpdateFactory(commitment=commitment)
    event = EventFactory(title="International Day of Neutrality", commitments=[commitment])
    return {"actor": actor, "paragraph": paragraph, "commitment": commitment, "event": event}


def main_pages(record) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("commitments:commitment_list"),
        record["commitment"].get_absolute_url(),
        record["paragraph"].document.get_absolute_url(),
        reverse("commitments:actor_list"),
        record["actor"].get_absolute_url(),
        reverse("event_list"),
        reverse("event_month", kwargs={"year": 2026, "month": 12}),
        record["event"].get_absolute_url(),
        reverse("calendar_feeds"),
        reverse("reminder_settings"),
    ]


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


class InlineCodeFinder(HTMLParser):
    """Collects what a strict policy blocks: inline scripts, style elements, style attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # json_script's data block is not run, so the policy allows it.
        runs = attributes.get("type") != "application/json"
        if tag == "script" and "src" not in attributes and runs:
            self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> element at line {self.getpos()[0]}")
        if "style" in attributes:
            self.found.append(f'style="{attributes["style"]}" on <{tag}> at {self.getpos()[0]}')
        self.found += [f"{name} handler on <{tag}>" for name in attributes if name.startswith("on")]


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.found


def assert_strict(response):
    directives = policy(response)
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    sources = [source for values in directives.values() for source in values]
    assert not [source for source in sources if source in FORBIDDEN_SOURCES or "://" in source]


def test_the_login_page_has_a_strict_policy_and_no_inline_code(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert_strict(response)
    assert inline_code(response.content.decode()) == []
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("who", ["secretariat_client", "liaison_client"])
def test_every_main_page_has_a_strict_policy_and_no_inline_code(request, who, record):
    client = request.getfixturevalue(who)
    problems = {}
    for url in main_pages(record):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        if found := inline_code(response.content.decode()):
            problems[url] = found
    assert problems == {}


def test_the_secretariats_own_pages_and_the_admin_need_no_inline_code(client, superuser, record):
    client.force_login(superuser)
    commitment = record["commitment"]
    for url in [
        reverse("reminder_log"),
        reverse("admin:index"),
        reverse("admin:commitments_commitment_change", args=[commitment.pk]),
        reverse("admin:tracker_user_change", args=[superuser.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_strict(response)
        assert inline_code(response.content.decode()) == [], url


def test_the_policy_needs_no_inline_code_because_the_css_is_a_file(client):
    html = client.get(reverse("login")).content.decode()
    assert '<link rel="stylesheet" href="/static/css/tracker.css">' in html


# --- Sessions ---------------------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time_and_activity_keeps_it(secretariat, client):
    idle = datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(datetime.datetime(2026, 12, 31, 22, 0, tzinfo=datetime.UTC)) as clock:
        client.force_login(secretariat)
        clock.shift(idle - datetime.timedelta(minutes=1))
        assert client.get(reverse("dashboard")).status_code == 200  # renews the session
        clock.shift(idle - datetime.timedelta(minutes=1))
        assert client.get(reverse("dashboard")).status_code == 200
        clock.shift(idle + datetime.timedelta(seconds=1))
        response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_session_cookie_says_when_it_expires(secretariat, client):
    client.post(reverse("login"), {"username": "officer", "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"]


def test_disabling_an_account_ends_its_session_on_the_next_request(secretariat_client, secretariat):
    assert secretariat_client.get(reverse("dashboard")).status_code == 200
    secretariat.is_active = False
    secretariat.save()

    response = secretariat_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert secretariat_client.post(reverse("logout")).status_code == 302


# --- The language cookie ---------------------------------------------------------------------


def test_the_language_cookie_is_http_only_and_same_site(client):
    response = client.post(reverse("set_language"), {"language": "ru", "next": "/login/"})
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "ru"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]


# Run with the production settings, in their own process (they need their variables set).
SWITCH_LANGUAGE = """
from django.conf import settings
from django.test import Client
response = Client(headers={"host": "127.0.0.1"}).post(
    "/i18n/setlang/", {"language": "ru", "next": "/login/"}, secure=True
)
print(response.status_code, response.cookies[settings.LANGUAGE_COOKIE_NAME].output())
"""


def test_in_production_the_language_cookie_is_only_sent_over_https():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": "sqlite:///:memory:",
        "REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SWITCH_LANGUAGE],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    status, header = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "302"
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"secure", "httponly", "samesite"} <= attributes, header
    assert "SameSite=Lax" in header


# --- Brute force --------------------------------------------------------------------------------


def log_in(client, password, address="192.0.2.10"):
    return client.post(
        reverse("login"), {"username": "diplomat", "password": password}, REMOTE_ADDR=address
    )


def fail_until_locked(client, address="192.0.2.10"):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "guess", address)


def test_repeated_failures_lock_the_account_from_that_address(client, liaison):
    fail_until_locked(client)
    response = log_in(client, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_fewer_failures_than_the_limit_do_not_lock(client, liaison):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "guess").status_code == 200  # the form again, with its message
    assert log_in(client, PASSWORD).status_code == 302


def test_someone_else_guessing_cannot_lock_the_liaison_out_of_their_own_address(client, liaison):
    fail_until_locked(client, address="198.51.100.66")
    assert log_in(client, PASSWORD, address="192.0.2.10").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, liaison):
    start = datetime.datetime(2026, 3, 29, 0, 50, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        fail_until_locked(client)
        clock.shift(settings.AXES_COOLOFF_TIME - datetime.timedelta(minutes=1))
        log_in(client, "still guessing")  # does not push the end of the lock back
        assert log_in(client, PASSWORD).status_code == 429
        clock.shift(datetime.timedelta(minutes=1, seconds=1))
        assert log_in(client, PASSWORD).status_code == 302


# --- Behind reverse proxies: whose address is locked and recorded -------------------------------

PROXY = "10.0.0.2"  # the reverse proxy gunicorn sees as REMOTE_ADDR for every request


def log_in_through(client, password, forwarded_for, *, via=PROXY):
    return client.post(
        reverse("login"),
        {"username": "diplomat", "password": password},
        REMOTE_ADDR=via,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def failed_addresses() -> set[str]:
    return set(AccessFailureLog.objects.values_list("ip_address", flat=True))


def test_failures_from_one_client_do_not_lock_everyone_behind_the_proxy(client, liaison, settings):
    """The issue's case: before, every request had the proxy's address, so this was a 429."""
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in_through(client, "guess", "203.0.113.9")

    assert log_in_through(client, PASSWORD, "198.51.100.7").status_code == 302
    client.logout()
    assert log_in_through(client, PASSWORD, "203.0.113.9").status_code == 429
    assert failed_addresses() == {"203.0.113.9"}
    assert AccessLog.objects.get().ip_address == "198.51.100.7"


def test_a_forged_left_most_entry_neither_escapes_the_lock_nor_locks_its_victim(
    client, liaison, settings
):
    """The client writes whatever it likes into X-Forwarded-For; the proxy appends the address
    it really came from, and only that one is read."""
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        forged = f"198.51.100.{attempt + 1}, 198.51.100.7"  # another victim on every try
        log_in_through(client, "guess", f"{forged}, 203.0.113.9")

    assert failed_addresses() == {"203.0.113.9"}
    assert log_in_through(client, PASSWORD, "198.51.100.7, 203.0.113.9").status_code == 429
    assert log_in_through(client, PASSWORD, "198.51.100.7").status_code == 302


def test_with_two_proxies_the_client_is_the_second_entry_from_the_right(client, liaison, settings):
    settings.TRACKER_TRUSTED_PROXY_COUNT = 2
    outer_proxy = "192.0.2.1"  # appended by the inner proxy; the inner one is REMOTE_ADDR
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in_through(client, "guess", f"192.0.2.{attempt + 50}, 203.0.113.9, {outer_proxy}")

    assert failed_addresses() == {"203.0.113.9"}
    assert log_in_through(client, PASSWORD, f"198.51.100.7, {outer_proxy}").status_code == 302
    client.logout()
    assert log_in_through(client, PASSWORD, f"203.0.113.9, {outer_proxy}").status_code == 429


@pytest.mark.parametrize("count", [0, -1])
def test_without_a_trusted_proxy_the_header_is_ignored(client, liaison, settings, count):
    """Exposed directly, anyone could send any X-Forwarded-For: the connection's address counts.
    A negative count is no proxy too, not the header's second entry from the left."""
    settings.TRACKER_TRUSTED_PROXY_COUNT = count
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        log_in_through(client, "guess", f"198.51.100.{attempt + 1}", via="203.0.113.9")

    assert failed_addresses() == {"203.0.113.9"}
    response = log_in_through(client, PASSWORD, "198.51.100.7", via="203.0.113.9")
    assert response.status_code == 429


def test_a_header_shorter_than_the_proxy_chain_is_not_believed(client, liaison, settings):
    """A request that did not pass every trusted proxy (it reached an inner one directly) is
    known only by the address it connected from."""
    settings.TRACKER_TRUSTED_PROXY_COUNT = 2
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in_through(client, "guess", "203.0.113.9", via="10.0.0.3")
    assert failed_addresses() == {"10.0.0.3"}


@pytest.mark.parametrize(
    ("forwarded_for", "address"),
    [
        ("203.0.113.9:51234", "203.0.113.9"),
        ("[2001:db8::9]:443", "2001:db8::9"),
        ("2001:DB8:0::9", "2001:db8::9"),
        ("not an address", PROXY),
        ("", PROXY),
    ],
)
def test_the_client_address_is_read_in_its_standard_spelling(
    client, liaison, settings, forwarded_for, address
):
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    log_in_through(client, "guess", f"198.51.100.7, {forwarded_for}")
    assert failed_addresses() == {address}


def post_update_through(client, commitment, **addresses):
    """A status update posted through the page's form; the trail records it and the commitment."""
    data = {
        "status": "in_progress",
        "progress": "30",
        "progress_reason": "As the latest report says.",
        "happened_on": "2021-04-16",
        "narrative": "Adopted by consensus.",
        "visibility": "public",
        "version": str(commitment.version),
    }
    response = client.post(commitment.get_absolute_url(), data, **addresses)
    assert response.status_code == 302
    return set(LogEntry.objects.values_list("remote_addr", flat=True))


def test_the_audit_trail_records_the_address_the_lock_uses(secretariat_client, settings):
    """django-auditlog's own middleware recorded the left-most entry: the client's own claim."""
    settings.TRACKER_TRUSTED_PROXY_COUNT = 1
    commitment = CommitmentFactory(paragraphs=[ParagraphFactory(number=1)])
    LogEntry.objects.all().delete()  # the factory's rows, written outside any request

    recorded = post_update_through(
        secretariat_client,
        commitment,
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9",
    )
    assert recorded == {"203.0.113.9"}


def test_without_a_trusted_proxy_the_audit_trail_records_the_connection(secretariat_client):
    commitment = CommitmentFactory(paragraphs=[ParagraphFactory(number=1)])
    LogEntry.objects.all().delete()

    recorded = post_update_through(
        secretariat_client,
        commitment,
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert recorded == {"203.0.113.9"}


# --- The policy built once (tracker.security.ContentSecurityPolicyMiddleware) --------------


@pytest.fixture
def policy_builds(monkeypatch):
    """How many times django-csp's build_policy ran (the middleware's own and django-csp's)."""
    import csp.middleware

    from tracker import security

    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return build(*args, **kwargs)

    build = security.build_policy
    monkeypatch.setattr(security, "build_policy", counting)
    monkeypatch.setattr(csp.middleware, "build_policy", counting)
    return calls


def test_the_policy_is_built_once_not_for_every_page(policy_builds, secretariat_client):
    for _ in range(3):
        response = secretariat_client.get(reverse("dashboard"))
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]

    assert len(policy_builds) == 1  # django-csp alone: twice a page (policy and report-only)


def test_the_kept_policy_is_django_csps_and_follows_a_changed_setting(settings, secretariat_client):
    from csp.utils import build_policy

    first = secretariat_client.get(reverse("dashboard"))
    assert first["Content-Security-Policy"] == build_policy()

    directives = {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "img-src": ["'self'", "data:"]}
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    second = secretariat_client.get(reverse("dashboard"))
    assert policy(second)["img-src"] == ["'self'", "data:"]


def test_a_nonce_an_exemption_and_a_report_only_policy_go_through_django_csp(settings, rf):
    from csp.constants import NONCE, SELF
    from django.http import HttpResponse

    from tracker.security import ContentSecurityPolicyMiddleware

    def with_nonce(request):
        return HttpResponse(str(request.csp_nonce))

    def exempt(request):
        response = HttpResponse()
        response._csp_exempt = True
        return response

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    response = ContentSecurityPolicyMiddleware(with_nonce)(rf.get("/"))
    assert f"'nonce-{response.content.decode()}'" in policy(response)["script-src"]
    assert "Content-Security-Policy" not in ContentSecurityPolicyMiddleware(exempt)(rf.get("/"))

    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": ["'self'"]}}
    response = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(rf.get("/"))
    assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"
    assert policy(response)["script-src"] == ["'self'"]


def test_a_nonce_asked_for_after_the_header_is_written_is_refused(rf):
    from csp.exceptions import CSPNonceError
    from django.http import HttpResponse

    from tracker.security import ContentSecurityPolicyMiddleware

    request = rf.get("/")
    ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(request)
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
