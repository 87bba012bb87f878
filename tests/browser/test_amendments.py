"""Correcting and withdrawing a status update in a real browser (issue 12): an officer corrects
one update and withdraws another; a liaison then sees the correction and the withdrawal, and
never the internal reason.

The demo's OCHA commitment has a milestone, which computes its figure: the updates here say a
status and a narrative, and the correction puts the status right. Correcting a typed figure is
in test_curating.py, on a commitment without milestones."""

import datetime

import pytest

from tests.browser.conftest import axe_violations, log_in

pytestmark = pytest.mark.browser

OCHA_TITLE = "UN OCHA office in Central Asia"
PUBLIC_REASON = "The status was mistyped: the talks never stopped."
SECRET_REASON = "The host government asked us to hold this back for now."


def post_public_update(page, narrative: str, status: str, progress: str | None = None) -> None:
    """Post a public status update from the commitment's page; a figure only where it has no
    milestones (test_curating.py), with its reason."""
    page.locator("summary", has_text="Post a status update").click()
    page.get_by_label("Status", exact=True).select_option(label=status)
    if progress is not None:
        page.get_by_label("Progress", exact=True).fill(progress)
        page.get_by_label("Reason for the figure", exact=True).fill(f"{progress} % as reported.")
    page.get_by_label("Happened on", exact=True).fill(datetime.date.today().isoformat())
    page.get_by_label("Narrative", exact=True).fill(narrative)
    page.get_by_label("Visible to liaisons").check()
    page.get_by_role("button", name="Post update").click()
    assert page.get_by_text("Your status update is posted.").is_visible()


def entry(page, narrative: str):
    return page.locator("article.update", has_text=narrative)


def state(page) -> str:
    return page.locator(".current-state .status").inner_text()


def test_an_officer_corrects_and_withdraws_and_a_liaison_never_reads_the_internal_reason(
    page, browser, demo
):
    log_in(page, "secretariat")
    page.goto("/commitments/?q=OCHA")
    page.locator("table.commitments").get_by_role("link", name=OCHA_TITLE).click()
    commitment_url = page.url

    post_public_update(page, "Talks on the office stopped for the summer.", "Stalled")
    assert state(page) == "Stalled"
    entry(page, "stopped for the summer").get_by_role("link", name="Correct").click()
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the form fits its width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Status", exact=True).select_option(label="In progress")
    page.get_by_label("Narrative", exact=True).fill("Talks on the office went on all summer.")
    page.get_by_label("Reason", exact=True).fill(PUBLIC_REASON)
    page.get_by_label("Show the reason to liaisons").check()
    page.get_by_role("button", name="Post the correction").click()
    assert page.get_by_text("The correction is posted").is_visible()
    assert state(page) == "In progress"

    post_public_update(page, "The office opened a branch.", "Achieved")
    assert state(page) == "Achieved"
    entry(page, "opened a branch").get_by_role("link", name="Withdraw").click()
    page.get_by_label("Reason", exact=True).fill(SECRET_REASON)
    page.get_by_role("button", name="Withdraw the update").click()
    # The secretariat reads its own reason, on the update and in the change history.
    assert page.get_by_text(f"Reason: {SECRET_REASON}").is_visible()
    assert state(page) == "In progress"  # the state falls back to the correction

    liaison = browser.new_context(base_url=demo.url).new_page()
    log_in(liaison, "liaison")
    liaison.goto(commitment_url)
    withdrawn = entry(liaison, "opened a branch").inner_text()
    corrected = entry(liaison, "stopped for the summer").inner_text()
    assert "Withdrawn by the secretariat on" in withdrawn
    assert "Corrected by the secretariat on" in corrected and PUBLIC_REASON in corrected
    assert entry(liaison, "Talks on the office went on all summer.").count() >= 1
    assert SECRET_REASON not in liaison.content()
    assert liaison.get_by_role("link", name="Withdraw").count() == 0
    assert state(liaison) == "In progress"
    liaison.context.close()
