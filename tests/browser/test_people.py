"""People in a real browser (issue 14): a manager invites a liaison, who chooses a password
through the emailed link, turns on two-factor authentication and submits a report with a file;
the secretariat returns it once with a comment, then publishes it; a follower of the commitment
gets one email at once, a digest reader gets it in the next digest and not before; the liaison
resets their password through the emailed link and logs in with it and a code.

Emails go to an SMTP server on loopback (tests/browser/conftest.smtp_sink): the live
server runs in this process, so the settings pointing Django's mail at the sink apply to it,
and the reminder dispatcher is run here at chosen instants (time-machine)."""

import base64
import datetime
import re

import pytest
import time_machine
from django_otp.oath import totp

from commitments.models import Actor
from core.local_time import zone_named
from core.roles import Role
from tests.browser.conftest import DEMO_PASSWORD, axe_violations, log_in, screenshot
from tests.factories import UserFactory
from tracker import reminders
from tracker.models import Notification

pytestmark = pytest.mark.browser

INVITED = "aylar@example.org"
SLUG = "neutrality-research-and-training-centre"  # led by Turkmenistan, in the demo
TITLE = "Training, research and study centre on the policy of neutrality"
FIRST_PASSWORD = "Köpetdag-foothills-2026"
NEW_PASSWORD = "Garagum-canal-evening-7"
FACTORY_PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
PHONE = {"width": 390, "height": 844}
SECOND = datetime.timedelta(seconds=1)
MINUTE = datetime.timedelta(minutes=1)


def link_in(message, path_start: str) -> str:
    """The path (and query) of the first link in an email's text that starts with path_start:
    the site's address in it is the deployment's, the live server's is another."""
    body = message.get_payload(decode=True).decode()
    return re.search(rf"https?://[^/\s]+({re.escape(path_start)}\S+)", body)[1]


def mail_to(sink, address: str) -> list:
    return [m for m in sink.messages if m["To"] == address]


def no_axe_violation(page) -> None:
    assert axe_violations(page) == [], page.url


def code_of_the_app(secret: str, *, steps_ahead: int = 0) -> str:
    """What the phone shows for the secret typed from the set-up page (base32 in groups)."""
    key = base64.b32decode(secret.replace(" ", ""))
    return f"{totp(key, t0=-30 * steps_ahead):06d}"


def open_as(browser, demo, username: str, password: str = FACTORY_PASSWORD, **options):
    context = browser.new_context(base_url=demo.url, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)  # a shared machine: generous, never asserted on
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return context, page


def dispatch(instant: datetime.datetime) -> None:
    """One run of the periodic dispatcher at `instant`, each claimed reminder sent at once."""
    with time_machine.travel(instant, tick=False):
        reminders.reminders_dispatch(
            now=instant, enqueue=lambda ids: reminders.reminders_send(reminder_ids=ids)
        )


def next_daily_digest(created_at: datetime.datetime, *, zone: str) -> datetime.datetime:
    """09:00 in the reader's zone, the first after the notice was made."""
    local = created_at.astimezone(zone_named(zone))
    due = datetime.datetime.combine(local.date(), datetime.time(9), tzinfo=zone_named(zone))
    return due if created_at < due else due + datetime.timedelta(days=1)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the report's file is kept there, not in var/


def test_an_invited_liaison_reports_and_readers_hear_of_it_as_they_chose(
    browser, demo, page, smtp_sink, media, tmp_path
):
    contexts = []

    # Two readers follow the commitment from its page, one choosing a daily digest.
    follower = UserFactory(role=Role.LIAISON, actor=_actor("kazakhstan"))
    digester = UserFactory(role=Role.CONTRIBUTOR)
    for reader in (follower, digester):
        context, reader_page = open_as(browser, demo, reader.username)
        contexts.append(context)
        reader_page.goto(f"/commitments/{SLUG}/")
        reader_page.get_by_role("button", name="Follow: tell me when it changes").click()
        button = reader_page.get_by_role("button", name="Following: stop")
        assert button.get_attribute("aria-pressed") == "true"
        if reader is digester:
            reader_page.get_by_role("link", name="My reminders").click()
            reader_page.get_by_label("in a daily digest").check()
            reader_page.get_by_role("button", name="Save", exact=True).click()
            reader_page.wait_for_load_state()
            assert reader_page.get_by_label("in a daily digest").is_checked()

    # The demo's superuser, who manages accounts, invites a liaison for Turkmenistan.
    log_in(page, "admin")
    page.get_by_role("link", name="admin", exact=True).click()  # their profile
    page.get_by_role("link", name="Manage everyone's accounts").click()
    page.get_by_role("link", name="Invite a person").click()
    page.get_by_label("Email address").fill(INVITED)
    page.get_by_label("Role").select_option(value=Role.LIAISON)
    page.get_by_label("Member state or organisation").select_option(label="Turkmenistan")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_load_state()
    [invitation] = mail_to(smtp_sink, INVITED)
    page.get_by_role("button", name="Log out").click()

    # The invited person opens the link, chooses a password and logs in with it.
    page.goto(link_in(invitation, "/invitation/"))
    no_axe_violation(page)
    assert INVITED in page.locator("main").inner_text()
    page.get_by_label("First name").fill("Aýlar")
    page.get_by_label("Last name").fill("Orazowa")
    page.get_by_label("Password", exact=True).fill(FIRST_PASSWORD)
    page.get_by_label("Password again").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Make my account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your account is ready.").is_visible()
    page.get_by_label("Username").fill(INVITED)
    page.get_by_label("Password").fill(FIRST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.locator(".user-role").inner_text() == "(Member-state liaison)"

    # Two-factor authentication, from the secret shown as an app would take it typed.
    page.get_by_role("link", name=INVITED).click()  # their profile
    page.goto("/profile/two-factor/")
    no_axe_violation(page)
    secret = page.locator("code.secret").inner_text()
    page.get_by_label("Code").fill(code_of_the_app(secret))
    page.get_by_role("button", name="Turn it on").click()
    page.wait_for_load_state()
    assert page.locator("main").get_by_text(re.compile("recovery code", re.I)).first.is_visible()

    # A report with a file, from the commitment's page; a draft until it is submitted.
    evidence = tmp_path / "centre-opening.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% the centre's opening, as reported by the ministry\n")
    page.goto(f"/commitments/{SLUG}/")
    page.get_by_role("link", name="Report progress").click()
    no_axe_violation(page)
    page.get_by_label("Status").select_option(value="in_progress")
    page.get_by_label("Narrative").fill("The centre opened its first course in Ashgabat.")
    page.get_by_label("Evidence file").set_input_files(str(evidence))
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your report is saved as a draft.").is_visible()
    assert page.get_by_role("link", name="centre-opening.pdf").is_visible()
    page.get_by_role("button", name="Submit it for review").click()
    page.wait_for_load_state()
    report_url = page.url

    # The secretariat returns it once with a comment.
    context, officer = open_as(browser, demo, "secretariat", DEMO_PASSWORD)
    contexts.append(context)
    officer.get_by_role("link", name="Reports to review").click()
    no_axe_violation(officer)
    officer.get_by_role("row", name=re.compile(TITLE)).get_by_role("link").click()
    no_axe_violation(officer)
    officer.get_by_label("What should change").fill("Add the date of the first course, please.")
    officer.get_by_role("button", name="Return it with this comment").click()
    officer.wait_for_load_state()
    returned = "The report is returned to its author with your comment."
    assert officer.get_by_text(returned).is_visible()
    assert officer.get_by_text("No report waits for review.").is_visible()

    # The liaison reads the comment, corrects the report and submits it again.
    page.goto(report_url)
    assert page.get_by_text("Add the date of the first course, please.").is_visible()
    page.get_by_role("link", name="Edit it").click()
    page.get_by_label("Narrative").fill(
        "The centre opened its first course in Ashgabat on 1 March, with 24 diplomats."
    )
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Submit it for review").click()
    page.wait_for_load_state()

    # The secretariat publishes it: a public update, reported by Turkmenistan.
    officer.goto(report_url)
    before = datetime.datetime.now(datetime.UTC)
    officer.get_by_role("button", name="Publish it").click()
    officer.wait_for_load_state()
    assert officer.get_by_text("The report is published as a status update.").is_visible()
    officer.goto(f"/commitments/{SLUG}/")
    assert officer.get_by_text("with 24 diplomats").first.is_visible()

    # The follower is told once, at once; the digest reader not yet.
    for instant in (before + SECOND, before + MINUTE, before + 2 * MINUTE):
        dispatch(instant)
    assert len(mail_to(smtp_sink, follower.email)) == 1
    [news] = mail_to(smtp_sink, follower.email)
    assert TITLE in news.get_payload(decode=True).decode()
    assert mail_to(smtp_sink, digester.email) == []
    notice = Notification.objects.get(user=digester)
    digest_at = next_daily_digest(notice.created_at, zone=digester.time_zone)
    dispatch(digest_at - MINUTE)
    assert mail_to(smtp_sink, digester.email) == []
    dispatch(digest_at)
    dispatch(digest_at + MINUTE)
    [digest] = mail_to(smtp_sink, digester.email)
    assert TITLE in digest.get_payload(decode=True).decode()
    assert len(mail_to(smtp_sink, follower.email)) == 1

    # The follower's notifications page lists it.
    follower_page = contexts[0].pages[0]
    follower_page.get_by_role("link", name=re.compile("^Notifications")).click()
    assert follower_page.get_by_role("link", name=TITLE).is_visible()
    no_axe_violation(follower_page)

    # The liaison resets their password through the emailed link, and logs in with it and a
    # code from the app (of the next time step: the set-up's cannot be used again).
    page.get_by_role("button", name="Log out").click()
    page.goto("/login/")
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email").fill(INVITED)
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_load_state()
    [reset] = [m for m in mail_to(smtp_sink, INVITED) if "/password-reset/" in str(m)]
    page.goto(link_in(reset, "/password-reset/"))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change my password").click()
    page.wait_for_load_state()
    page.goto("/login/")
    page.get_by_label("Username").fill(INVITED)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Code").fill(code_of_the_app(secret, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.locator(".user-role").inner_text() == "(Member-state liaison)"
    for context in contexts:
        context.close()


def test_the_report_form_fits_a_phone(browser, demo, media):
    liaison = UserFactory(role=Role.LIAISON, actor=_actor("turkmenistan"))
    context, page = open_as(browser, demo, liaison.username, viewport=PHONE)
    page.goto(f"/commitments/{SLUG}/")
    page.get_by_role("link", name="Report progress").click()
    width = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
    assert width == [PHONE["width"], PHONE["width"]]
    no_axe_violation(page)
    screenshot(page, "phone-report-form")
    context.close()


def _actor(slug: str) -> Actor:
    return Actor.objects.get(slug=slug)
