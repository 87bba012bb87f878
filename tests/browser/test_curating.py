"""The secretariat keeps the record in the app, in a real browser (issue 12's "Done means"): it
imports a short new document through the page, previews it, applies it, links it to the 2020
document, tracks two of its paragraphs as one commitment with an owner and actors, edits it,
adds a two-day event; then corrects one update and withdraws another. A liaison then sees the
correction and the withdrawal, and never the internal reason.

Each new kind of page passes axe and fits a phone's width; the journey takes the pictures of
docs/curating.md (written there only under `make screenshots`)."""

import pytest

from tests.browser.conftest import axe_violations, log_in, screenshot
from tests.browser.test_amendments import entry, post_public_update, state

pytestmark = pytest.mark.browser

DOCUMENT_TEXT = """\
Joint Statement of the Ministers for Foreign Affairs of Central Asia on Preventive Diplomacy

Recalling the Final Document of the International Conference of 12 December 2020 on the policy \
of neutrality,

The Ministers for Foreign Affairs of the states of Central Asia, who met in Tashkent on May 14, \
2026, have therefore:

1. Agreed to hold annual consultations on preventive diplomacy with the United Nations \
Regional Centre for Preventive Diplomacy for Central Asia.

2. Requested the Regional Centre to report on the consultations to the states of Central Asia \
every year.

3. Welcomed the hospitality of the Republic of Uzbekistan.

Tashkent, May 14, 2026
"""
DOCUMENT_TITLE = (
    "Joint Statement of the Ministers for Foreign Affairs of Central Asia on Preventive Diplomacy"
)
DOCUMENT_2020 = (
    "Final document Of International Conference “Policy of neutrality and its importance in "
    "provision of universal peace, security and sustainable development”"
)
UNRCCA = "UN Regional Centre for Preventive Diplomacy for Central Asia (UNRCCA)"
TITLE = "Annual consultations on preventive diplomacy"
EDITED_TITLE = "Annual consultations on preventive diplomacy with UNRCCA"
EVENT_TITLE = "Central Asian consultations on preventive diplomacy"
PUBLIC_REASON = "The figure was mistyped: 250 for 25."
SECRET_REASON = "One ministry asked us to wait for its own announcement."
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def fits_a_phone(page) -> bool:
    """The page at 390 px wide scrolls only downwards; the window is put back afterwards."""
    page.set_viewport_size(PHONE)
    try:
        return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        page.set_viewport_size(DESKTOP)


def detail(page, term: str) -> str:
    """What the commitment page's details list says for one term."""
    return page.locator(f"dl.facts dt:text-is('{term}') + dd").inner_text()


def test_the_secretariat_curates_a_new_document_and_a_liaison_reads_what_holds(page, browser, demo):
    log_in(page, "secretariat")

    # Import: the form, a preview of what would be created, then apply.
    page.goto("/documents/")
    page.get_by_role("link", name="Import a document's text").click()
    assert fits_a_phone(page)
    page.get_by_label("Or paste the text").fill(DOCUMENT_TEXT)
    page.get_by_role("button", name="Preview").click()
    assert page.locator("h1").inner_text() == "Preview of the import"
    summary = page.locator("main .message.info").inner_text()
    assert "Applying creates the document “tashkent-2026” with 3 paragraphs." in summary
    assert "Nothing is saved until you apply." in summary
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    screenshot(page, "curating-import-preview")
    page.get_by_role("button", name="Apply").click()
    assert page.get_by_text("The text is imported.").is_visible()
    assert page.url.endswith("/documents/tashkent-2026/")
    assert page.locator("h1").inner_text() == DOCUMENT_TITLE
    document_url = page.url

    # Link it to the 2020 document: shown here, and in the inverse wording there.
    page.get_by_label("This document", exact=True).select_option(label="follows up")
    page.get_by_label("Other document").select_option(label=DOCUMENT_2020)
    page.get_by_role("button", name="Add the link").click()
    links = page.locator("ul.document-links")
    assert f"This document follows up {DOCUMENT_2020}" in links.inner_text()
    links.get_by_role("link", name=DOCUMENT_2020).click()
    assert page.url.endswith("/documents/ashgabat-2020/")
    assert (
        f"This document is followed up by {DOCUMENT_TITLE}"
        in page.locator("ul.document-links").inner_text()
    )
    page.goto(document_url)

    # Track paragraphs 1 and 2 as one commitment, with an owner and actors.
    page.get_by_label("Track ¶1").check()
    page.get_by_label("Track ¶2").check()
    page.get_by_role("button", name="Track as a commitment").click()
    assert page.locator("h1").inner_text() == "Track as a commitment"
    assert "Agreed to hold annual consultations" in page.get_by_label("Summary").input_value()
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Kind").select_option(label="Recurring")
    page.get_by_role("group", name="Lead actors").get_by_label(UNRCCA, exact=True).check()
    supporting = page.get_by_role("group", name="Supporting actors")
    supporting.get_by_label("Kazakhstan", exact=True).check()
    supporting.get_by_label("Uzbekistan", exact=True).check()
    page.get_by_label("Owner in the secretariat").select_option(label="secretariat")
    page.get_by_role("button", name="Create the commitment").click()
    assert page.locator("h1").inner_text() == TITLE
    commitment_url = page.url
    assert commitment_url.endswith("/commitments/annual-consultations-on-preventive-diplomacy/")
    assert detail(page, "Lead actors") == UNRCCA
    assert detail(page, "Supporting actors") == "Kazakhstan, Uzbekistan"
    assert detail(page, "Owner in the secretariat") == "secretariat"
    assert detail(page, "Kind") == "Recurring"

    # Edit it: a new title and a target date; the address stays.
    page.get_by_role("link", name="Edit this commitment").click()
    assert page.locator("h1").inner_text() == f"Edit “{TITLE}”"
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    page.get_by_label("Title").fill(EDITED_TITLE)
    page.get_by_label("Target date").fill("2027-12-31")
    page.locator("h1").click()  # the picture without the date box's focus
    screenshot(page, "curating-commitment-edit")
    page.get_by_role("button", name="Save changes").click()
    assert page.url == commitment_url
    assert page.locator("h1").inner_text() == EDITED_TITLE
    assert detail(page, "Target date") == "31 December 2027"
    history = page.locator("main").inner_text()
    assert "Target date set to 31 December 2027 by secretariat" in history

    # A reworded paragraph the commitment quotes is flagged in the preview; cancel keeps all.
    page.goto(document_url)
    page.get_by_role("link", name="Update this document's text").click()
    reworded = DOCUMENT_TEXT.replace("every year", "every two years")
    page.get_by_label("Or paste the text").fill(reworded)
    page.get_by_role("button", name="Preview").click()
    changed = page.locator("table.side-by-side tbody tr")
    assert changed.count() == 1
    assert "Quoted by 1 commitment: " + EDITED_TITLE in changed.inner_text()
    assert "every two years" in changed.locator("td").last.inner_text()
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    screenshot(page, "curating-import-changes")
    page.get_by_role("link", name="Cancel").click()
    assert page.url == document_url
    assert page.get_by_text("every two years").count() == 0

    # A two-day event about it.
    page.goto("/events/")
    page.get_by_role("link", name="New event").click()
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    page.get_by_label("Title").fill(EVENT_TITLE)
    page.get_by_label("Kind").select_option(label="Forum")
    page.get_by_label("Time zone").select_option("Asia/Tashkent")
    page.get_by_label("Repeats").select_option(label="Once, on the first day")
    page.get_by_label("First day").fill("2027-05-13")
    page.get_by_label("Last day").fill("2027-05-14")
    page.get_by_label("Commitments it concerns").select_option(label=EDITED_TITLE)
    page.get_by_label("Public: in the public calendar feed").check()
    page.get_by_role("button", name="Add the event").click()
    assert page.get_by_text("The event is added.").is_visible()
    assert page.locator("h1").inner_text() == EVENT_TITLE
    assert page.locator("main").get_by_text("13–14 May 2027").first.is_visible()
    assert page.locator("main").get_by_role("link", name=EDITED_TITLE).count() >= 1
    screenshot(page, "curating-two-day-event")

    # Two public updates with a typed figure (no milestones here): correct one, withdraw one.
    page.goto(commitment_url)
    post_public_update(page, "First consultations held, at 250%.", "In progress", "25")
    assert "25%" in page.locator(".current-state").inner_text()
    entry(page, "at 250%").get_by_role("link", name="Correct").click()
    assert axe_violations(page) == []
    assert fits_a_phone(page)
    page.get_by_label("Progress", exact=True).fill("30")
    page.get_by_label("Reason for the figure").fill("Three of ten consultations held.")
    page.get_by_label("Narrative", exact=True).fill("First consultations held in Tashkent.")
    page.get_by_label("Reason", exact=True).fill(PUBLIC_REASON)
    page.get_by_label("Show the reason to liaisons").check()
    screenshot(page, "curating-correction")
    page.get_by_role("button", name="Post the correction").click()
    assert page.get_by_text("The correction is posted").is_visible()
    assert "30%" in page.locator(".current-state").inner_text()

    post_public_update(page, "The report for 2026 is published.", "Achieved", "100")
    assert state(page) == "Achieved"
    entry(page, "report for 2026").get_by_role("link", name="Withdraw").click()
    page.get_by_label("Reason", exact=True).fill(SECRET_REASON)
    page.get_by_role("button", name="Withdraw the update").click()
    # The secretariat reads its own reason on the withdrawn update and in the change history.
    assert page.get_by_text(f"Reason: {SECRET_REASON}").is_visible()
    history = page.locator(".audit-trail")
    assert history.get_by_text(f"withdrawn by secretariat: {SECRET_REASON}").is_visible()
    assert state(page) == "In progress"
    assert "30%" in page.locator(".current-state").inner_text()

    # A liaison: the correction and the withdrawal, never the internal reason.
    liaison = browser.new_context(base_url=demo.url).new_page()
    log_in(liaison, "liaison")
    liaison.goto(commitment_url)
    assert liaison.locator("h1").inner_text() == EDITED_TITLE
    corrected = entry(liaison, "at 250%").inner_text()
    withdrawn = entry(liaison, "report for 2026").inner_text()
    assert "Corrected by the secretariat on" in corrected and PUBLIC_REASON in corrected
    assert "Withdrawn by the secretariat on" in withdrawn
    assert entry(liaison, "First consultations held in Tashkent.").count() >= 1
    assert SECRET_REASON not in liaison.content()
    assert liaison.get_by_role("link", name="Correct").count() == 0
    assert liaison.get_by_role("link", name="Withdraw").count() == 0
    assert state(liaison) == "In progress"
    assert "30%" in liaison.locator(".current-state").inner_text()
    liaison.goto(document_url)
    assert (
        f"This document follows up {DOCUMENT_2020}"
        in liaison.locator("ul.document-links").inner_text()
    )
    liaison.context.close()
