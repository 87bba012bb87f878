"""What people do in the tracker, in a real browser: the three journeys of issue 5."""

import csv
import datetime
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

OCHA_TITLE = "UN OCHA office in Central Asia"
OCHA_ACTOR = "UN Office for the Coordination of Humanitarian Affairs (OCHA)"
NARRATIVE = "Consultations on the office resumed with the host government."


def test_an_anonymous_visitor_is_sent_to_login(page):
    page.goto("/commitments/")

    assert re.search(r"/login/\?next=/commitments/$", page.url)
    assert page.get_by_label("Username").is_visible()
    screenshot(page, "login")


def test_an_officer_finds_the_ocha_commitment_posts_an_update_and_sees_it(page):
    log_in(page, "secretariat")
    page.get_by_role("link", name="Commitments", exact=True).click()
    actor = page.get_by_label("Actor (lead or supporting)")
    actor.fill("humanitarian")  # part of its name: the box suggests the whole of it
    suggested = page.locator("#id_actor_choices option")
    expect(suggested).to_have_count(1)
    expect(suggested).to_have_attribute("value", OCHA_ACTOR)
    page.get_by_role("button", name="Apply filters").click()  # the part is enough
    page.wait_for_url("**/commitments/?actor=*")  # count the filtered table, not the old one
    assert actor.input_value() == OCHA_ACTOR
    table = page.locator("table.commitments")
    assert table.locator("tbody tr").count() == 1
    screenshot(page, "commitments-filtered")

    table.get_by_role("link", name=OCHA_TITLE).click()
    # The form is folded below the history until asked for.
    assert page.get_by_label("Narrative", exact=True).is_hidden()
    page.locator("summary", has_text="Post a status update").click()
    # Its milestone computes the figure (0 % while it is not done): there is none to type.
    assert page.get_by_text("The progress is computed from the milestones (0 % now)").is_visible()
    assert page.get_by_label("Progress", exact=True).count() == 0
    page.get_by_label("Status", exact=True).select_option(label="In progress")
    page.get_by_label("Happened on", exact=True).fill(datetime.date.today().isoformat())
    page.get_by_label("Narrative", exact=True).fill(NARRATIVE)
    page.get_by_label("Visible to liaisons").check()
    page.get_by_label("Link 1: title").fill("Statement on the office")
    page.get_by_label("Link 1: address").fill("https://example.org/ocha-statement")
    page.get_by_role("button", name="Post update").click()

    assert page.get_by_text("Your status update is posted.").is_visible()
    evidence = page.get_by_role("link", name="Statement on the office")
    assert evidence.get_attribute("href") == "https://example.org/ocha-statement"
    screenshot(page, "commitment-page")

    page.get_by_role("link", name="Dashboard", exact=True).click()
    recent = page.locator("ol.recent-updates li").first
    assert OCHA_TITLE in recent.inner_text() and NARRATIVE in recent.inner_text()
    screenshot(page, "dashboard")

    page.goto("/commitments/?q=OCHA")
    row = page.locator("table.commitments tbody tr", has_text=OCHA_TITLE)
    assert "In progress" in row.inner_text() and "0%" in row.inner_text()


def test_a_liaison_reads_filters_exports_subscribes_and_cannot_edit(page, tmp_path):
    log_in(page, "liaison")
    assert re.search(r"/actors/[\w-]+/$", page.url)
    assert "Turkmenistan" in page.locator("h1").inner_text()
    screenshot(page, "liaison-state-page")

    page.goto("/commitments/")
    page.get_by_label("Status", exact=True).select_option(label="Achieved")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/commitments/?*status=achieved*")  # count the filtered table
    shown = page.locator("table.commitments tbody tr").count()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these as CSV").click()
    path = tmp_path / "commitments.csv"
    download_info.value.save_as(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == shown > 0
    assert {row["Status"] for row in rows} == {"Achieved"}

    page.goto("/calendar/")
    feed_url = page.get_by_label("Address").input_value()
    assert re.search(r"/calendar/[^/]+\.ics$", feed_url)
    feed = page.request.get(feed_url)
    assert feed.ok and feed.text().startswith("BEGIN:VCALENDAR")
    screenshot(page, "calendar-feeds")

    page.goto("/commitments/")
    page.locator("table.commitments").get_by_role("link", name=OCHA_TITLE).click()
    # Logging out, choosing the language and following (the reader's own news) are the only
    # forms; none touches the record.
    forms = page.locator("form[method=post]:not(.logout):not(.language-switch):not(.follow)")
    assert forms.count() == 0
    assert page.get_by_role("button", name=re.compile("post|edit|save|delete", re.I)).count() == 0
    fields = page.locator("main").locator("textarea, select, input:not([type=hidden])")
    assert fields.count() == 0
    assert page.get_by_role("link", name="Admin").count() == 0
    screenshot(page, "liaison-commitment-page")

    token = page.locator("form.logout input[name=csrfmiddlewaretoken]").input_value()
    forged = page.request.post(
        page.url,
        form={"csrfmiddlewaretoken": token, "status": "achieved", "progress": "100"},
        headers={"Referer": page.url},
    )
    assert forged.status == 403


def test_an_officer_prints_the_report_as_of_a_day(page):
    log_in(page, "secretariat")
    page.goto("/documents/ashgabat-2020/")
    page.get_by_role("link", name="Implementation report").click()
    page.get_by_label("As of").fill("2025-12-31")
    page.get_by_role("button", name="Show the report").click()

    assert page.url.endswith("?as_of=2025-12-31")
    assert "As of 31 December 2025" in page.locator(".report-as-of").inner_text()
    assert page.locator("svg[role=img]").count() == 3
    screenshot(page, "report")

    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".report-controls").is_hidden()
    with page.expect_download() as download_info:
        page.emulate_media(media="screen")
        page.get_by_role("link", name="Download as PDF").click()
    assert download_info.value.suggested_filename == "ashgabat-2020-report-2025-12-31.pdf"
