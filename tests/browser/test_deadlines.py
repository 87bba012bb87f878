"""Deadlines in a real browser (issue 13): the secretariat gives a commitment three milestones
and a target date in the past; it shows overdue everywhere a reader looks; marking milestones
done moves its progress by the written rule; the owner is told once and, after the configured
time, the supervisor.

The emails go through the real dispatcher (plan, claim, send over SMTP) run in this process at
chosen instants (time-machine) to an SMTP server on loopback; the live server runs in this
process too, so the settings pointing at it apply to both."""

import datetime
import email.header
import re

import pytest
import time_machine
from django.test import override_settings
from django.utils import dateformat

from commitments.models import Paragraph
from commitments.tables import DATE_FORMAT
from core.local_time import format_day, local_day, zone_named
from tests.browser.conftest import SCREENSHOTS, log_in, screenshot
from tests.reminder_helpers import CountingHandler
from tracker import reminders

pytestmark = pytest.mark.browser

TITLE = "Regional workshops on humanitarian preparedness"
CODE = "UN Code of Practice for applying the principles of neutrality"
OCHA_OFFICE = "UN OCHA office in Central Asia"
OCHA = "UN Office for the Coordination of Humanitarian Affairs (OCHA)"
OWNER, SUPERVISOR = "secretariat", "admin"  # the demo's accounts, both in Ashgabat's zone
ASHGABAT = zone_named("Asia/Ashgabat")
ESCALATE_AFTER_DAYS = 10
DAY = datetime.timedelta(days=1)


def nine_in_ashgabat(day: datetime.date) -> datetime.datetime:
    """REMINDER_LOCAL_HOUR on `day` for a reader in Ashgabat (UTC+5), as an aware instant."""
    return datetime.datetime.combine(day, datetime.time(9), tzinfo=ASHGABAT)


def dispatch(instant: datetime.datetime) -> None:
    """One run of the periodic dispatcher at `instant`, each claimed reminder sent at once."""
    with time_machine.travel(instant, tick=False):
        reminders.reminders_dispatch(
            now=instant, enqueue=lambda ids: reminders.reminders_send(reminder_ids=ids)
        )


def about_ours(sink: CountingHandler) -> list[tuple[str, str]]:
    """(recipient, subject) of every message the sink received about our commitment."""
    received = []
    for message in sink.messages:
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        subject = " ".join(subject.split())  # unfolded
        if subject.endswith(TITLE):
            received.append((message["To"], subject))
    return received


def due_column(table) -> list[tuple[str, str]]:
    """(title, "Due" cell) of each row of the commitments table, in the order shown."""
    headers = table.locator("thead th").all_inner_texts()
    column = [h.split()[0] for h in headers].index("Due") + 1  # "Due (sorted ascending)"
    titles = table.locator("tbody tr td:nth-child(1)").all_inner_texts()
    dues = table.locator(f"tbody tr td:nth-child({column})").all_inner_texts()
    return [(t.strip(), d.strip()) for t, d in zip(titles, dues, strict=True)]


def test_an_overdue_commitment_shows_everywhere_follows_its_milestones_and_is_escalated(
    page, smtp_sink
):
    today = local_day(datetime.datetime.now(datetime.UTC), zone=ASHGABAT)
    target = today - 3 * DAY
    log_in(page, OWNER)

    # A new commitment under paragraph 12, led by OCHA, owned by the demo's officer.
    page.goto("/commitments/new/")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Kind").select_option(label="One-off deliverable")
    paragraph = Paragraph.objects.get(document__short_name="ashgabat-2020", number=12)
    page.locator(f'input[name="paragraphs"][value="{paragraph.pk}"]').check()
    page.get_by_role("group", name="Lead actors").get_by_label(OCHA, exact=True).check()
    page.get_by_label("Owner in the secretariat").select_option(label=OWNER)
    page.get_by_role("button", name="Create the commitment").click()
    assert page.get_by_text("The commitment is created.").is_visible()
    commitment_url = page.url

    # The target date, three days ago, and a supervisor: on the edit form.
    edit_dates(page, target=target, supervisor=SUPERVISOR)

    # Three milestones: two already due, one ahead; weights 1, 4 and 1.
    for title, due_on, weight in (
        ("Host agreement signed", today - 60 * DAY, 1),
        ("First workshop held in Ashgabat", today - 20 * DAY, 4),
        ("Workshops held in all five states", today + 45 * DAY, 1),
    ):
        page.get_by_role("link", name="Add a milestone").click()
        page.get_by_label("Title").fill(title)
        page.get_by_label("Due on").fill(due_on.isoformat())
        page.get_by_label("Weight").fill(str(weight))
        page.get_by_role("button", name="Add", exact=True).click()
        assert page.get_by_text("The milestone is added.").is_visible()
    state = page.locator("section.current-state")
    rule = page.locator("p.progress-rule")
    # The first undone milestone was due 60 days ago: overdue since then.
    assert f"Overdue since {format_day(today - 60 * DAY)}" in state.inner_text()
    assert "0 of 3 milestones done, weights 0 of 6: 0 %" in rule.inner_text()
    assert "0%" in state.inner_text()

    # Marking the first done: 1 of 6 = 16 % (rounded down), overdue since the second's due date.
    mark_done(page, "Host agreement signed", today - 40 * DAY)
    assert "1 of 3 milestones done, weights 1 of 6: 16 %" in rule.inner_text()
    assert "16%" in state.inner_text()
    assert f"Overdue since {format_day(today - 20 * DAY)}" in state.inner_text()

    # The second: 1+4 of 6 = 83 %; now overdue since the target date only.
    # (Done before the dispatcher runs below, which travel back to the day after the target.)
    mark_done(page, "First workshop held in Ashgabat", today - 10 * DAY)
    assert "2 of 3 milestones done, weights 1+4 of 6: 83 %" in rule.inner_text()
    assert "83%" in state.inner_text()
    since = f"Overdue since {format_day(target)}"
    assert since in state.inner_text()
    screenshot_of(page, "deadlines-milestones", "#milestones-heading")

    # Two of the demo's commitments get target dates too: one overdue for longer, one ahead.
    page.goto("/commitments/un-code-of-practice-on-neutrality/")
    edit_dates(page, target=today - 200 * DAY)
    page.goto("/commitments/ocha-office-in-central-asia/")
    edit_dates(page, target=today + 20 * DAY)
    order = [CODE, TITLE]

    # The dashboard's Overdue section: the longest overdue first, each with its badge.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    listed = page.locator("ul.overdue li")
    assert [text.split("\n")[0] for text in listed.all_inner_texts()] == order
    assert since in listed.filter(has_text=TITLE).inner_text()
    assert OCHA_OFFICE in page.locator("ul.due-soon").inner_text()
    counted = page.get_by_role("link", name="2 commitments overdue")
    screenshot_of(page, "deadlines-dashboard", "#overdue", "#due-soon")

    # Its count links to the table filtered by it.
    counted.click()
    assert page.url.endswith("/commitments/?due=overdue")
    assert page.get_by_label("Due", exact=True).input_value() == "overdue"
    table = page.locator("table.commitments")
    in_table = f"Overdue since {dateformat.format(target, DATE_FORMAT)}"  # the table's short days
    assert due_column(table) == [
        (CODE, f"Overdue since {dateformat.format(today - 200 * DAY, DATE_FORMAT)}"),
        (TITLE, in_table),
    ]
    screenshot(page, "deadlines-table-overdue")

    # The whole table sorted by "Due": the longest overdue first, then the soonest due, then
    # those with no date; sorted the other way, the latest date first.
    page.get_by_label("Due", exact=True).select_option(label="Any due date")
    page.get_by_role("button", name="Apply filters").click()
    table.get_by_role("link", name=re.compile(r"^Due \(sort")).click()
    assert re.search(r"[?&]sort=due\b", page.url)
    rows = due_column(table)
    assert [title for title, _ in rows[:3]] == [*order, OCHA_OFFICE]
    assert rows[2][1] == f"Due {dateformat.format(today + 20 * DAY, DATE_FORMAT)}"
    assert len(rows) > 3 and all(due == "" for _, due in rows[3:])
    table.get_by_role("link", name=re.compile(r"^Due \(sorted ascending")).click()
    assert [title for title, _ in due_column(table)[:3]] == [OCHA_OFFICE, TITLE, CODE]

    # Its page (above), its actor's page and the implementation report.
    page.goto(commitment_url)
    page.locator("section").get_by_role("link", name=OCHA).click()
    assert since in page.locator("tr", has_text=TITLE).inner_text()
    page.goto("/documents/ashgabat-2020/")
    page.get_by_role("link", name="Implementation report").click()
    item = page.locator(".report-commitment", has=page.get_by_role("heading", name=TITLE))
    assert since in item.inner_text() and "83%" in item.inner_text()

    # The owner is told once, the day after the target date at 09:00 in their zone; the
    # supervisor ESCALATE_AFTER_DAYS later, once; repeated runs send nothing more.
    overdue_on = target + DAY
    escalate_on = overdue_on + ESCALATE_AFTER_DAYS * DAY
    owner_mail = (f"{OWNER}@example.org", f"Overdue, due {format_day(target)}: {TITLE}")
    supervisor_mail = (
        f"{SUPERVISOR}@example.org",
        f"Overdue for {ESCALATE_AFTER_DAYS} days: {TITLE}",
    )
    minute = datetime.timedelta(minutes=1)
    with override_settings(TRACKER_ESCALATE_AFTER_DAYS=ESCALATE_AFTER_DAYS):
        dispatch(nine_in_ashgabat(overdue_on) - minute)
        assert about_ours(smtp_sink) == []
        dispatch(nine_in_ashgabat(overdue_on))
        assert about_ours(smtp_sink) == [owner_mail]
        for day in (overdue_on, overdue_on + DAY, escalate_on - DAY):
            dispatch(nine_in_ashgabat(day) + minute)
        dispatch(nine_in_ashgabat(escalate_on) - minute)
        assert about_ours(smtp_sink) == [owner_mail]
        dispatch(nine_in_ashgabat(escalate_on))
        assert about_ours(smtp_sink) == [owner_mail, supervisor_mail]
        for day in (escalate_on, escalate_on + DAY, escalate_on + 30 * DAY):
            dispatch(nine_in_ashgabat(day) + minute)
    assert about_ours(smtp_sink) == [owner_mail, supervisor_mail]


def screenshot_of(page, name: str, *headings: str) -> None:
    """As conftest.screenshot, of the sections of these headings only (the whole dashboard is
    too long a picture for the docs); their grid cells stretch, so it is their contents."""
    boxes = [
        element.bounding_box()
        for heading in headings
        for element in page.locator(f"section:has({heading}) > *").all()
    ]
    # Boxes are measured in the window, which may have scrolled; the clip is in the page.
    x, y = page.evaluate("[window.scrollX, window.scrollY]")
    left, top = x + min(b["x"] for b in boxes) - 16, y + min(b["y"] for b in boxes) - 16
    right = x + max(b["x"] + b["width"] for b in boxes) + 16
    bottom = y + max(b["y"] + b["height"] for b in boxes) + 16
    clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    header = page.locator(".site-header")  # sticky: it would be drawn over the top
    header.evaluate("element => { element.style.visibility = 'hidden'; }")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip, full_page=True)
    header.evaluate("element => { element.style.visibility = ''; }")


def edit_dates(page, *, target: datetime.date, supervisor: str | None = None) -> None:
    """From a commitment's page, its edit form: the target date, and perhaps a supervisor."""
    page.get_by_role("link", name="Edit this commitment").click()
    page.get_by_label("Target date").fill(target.isoformat())
    if supervisor:
        page.get_by_label("Supervisor in the secretariat").select_option(label=supervisor)
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_text("Your changes are saved.").is_visible()


def mark_done(page, title: str, done_on: datetime.date) -> None:
    row = page.locator("table.milestone-table tbody tr", has_text=title)
    row.get_by_role("link", name=re.compile("^Mark done")).click()
    page.get_by_label("Done on").fill(done_on.isoformat())
    page.get_by_label("Evidence link").fill("https://example.org/ocha-workshops")
    page.get_by_role("button", name="Mark done").click()
    assert page.get_by_text("The milestone is marked done; the progress follows.").is_visible()
