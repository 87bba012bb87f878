"""Correcting and withdrawing a status update in a real browser (issue 12): an officer corrects
one update and withdraws another; a liaison then sees the correction and the withdrawal, and
never the internal reason."""

import datetime

import pytest

from tests.browser.conftest import axe_violations, log_in

pytestmark = pytest.mark.browser

OCHA_TITLE = "UN OCHA office in Central Asia"
PUBLIC_REASON = "The progress figure was mistyped."
SECRET_REASON = "The host government asked us to hold this back for now."


def post_public_update(page, narrative: str, progress: str) -> None:
    page.locator("summary", has_text="Post a status update").click()
    page.get_by_label("Status", exact=True).select_option(label="In progress")
    page.get_by_label("Progress", exact=True).fill(progress)
    page.get_by_label("Happened on", exact=True).fill(datetime.date.today().isoformat())
    page.get_by_label("Narrative", exact=True).fill(narrative)
    page.get_by_label("Visible to liaisons").check()
    page.get_by_role("button", name="Post update").click()


def entry(page, narrative: str):
    return page.locator("article.update", has_text=narrative)


def test_an_officer_corrects_and_withdraws_and_a_liaison_never_reads_the_internal_reason(
    page, browser, demo
):
    log_in(page, "secretariat")
    page.goto("/commitments/?q=OCHA")
    page.locator("table.commitments").get_by_role("link", name=OCHA_TITLE).click()
    commitment_url = page.url

    post_public_update(page, "Talks on the office went on, at 250%.", "25")
    entry(page, "at 250%").get_by_role("link", name="Correct").click()
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the form fits its width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Progress", exact=True).fill("30")
    page.get_by_label("Narrative", exact=True).fill("Talks on the office went on.")
    page.get_by_label("Reason", exact=True).fill(PUBLIC_REASON)
    page.get_by_label("Show the reason to liaisons").check()
    page.get_by_role("button", name="Post the correction").click()
    assert page.get_by_text("The correction is posted").is_visible()

    post_public_update(page, "The office opened a branch.", "60")
    entry(page, "opened a branch").get_by_role("link", name="Withdraw").click()
    page.get_by_label("Reason", exact=True).fill(SECRET_REASON)
    page.get_by_role("button", name="Withdraw the update").click()
    assert page.get_by_text(SECRET_REASON).is_visible()  # the secretariat reads its own reason

    liaison = browser.new_context(base_url=demo.url).new_page()
    log_in(liaison, "liaison")
    liaison.goto(commitment_url)
    withdrawn = entry(liaison, "opened a branch").inner_text()
    corrected = entry(liaison, "at 250%").inner_text()
    assert "Withdrawn by the secretariat on" in withdrawn
    assert "Corrected by the secretariat on" in corrected and PUBLIC_REASON in corrected
    assert entry(liaison, "Talks on the office went on.").count() >= 1
    assert SECRET_REASON not in liaison.content()
    assert liaison.get_by_role("link", name="Withdraw").count() == 0
    assert "30%" in liaison.locator(".current-state").inner_text()
    liaison.context.close()
