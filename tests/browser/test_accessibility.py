"""Accessibility in the browser: axe-core finds no serious or critical violation on the main
pages, the keyboard reaches the filters and the table with a visible focus, tables have headers.
"""

from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.conftest import axe_violations, log_in, screenshot

pytestmark = pytest.mark.browser
SEED = Path(settings.BASE_DIR) / "fixtures" / "ashgabat-final-document-2020.txt"

MAIN_PAGES = [
    "/",
    "/commitments/",
    "/commitments/ocha-office-in-central-asia/",
    "/documents/",
    "/documents/ashgabat-2020/",
    "/documents/ashgabat-2020/report/",
    "/actors/",
    "/events/",
    "/calendar/",
]


def test_the_login_page_has_no_serious_violations(page):
    page.goto("/login/")

    assert axe_violations(page) == []


@pytest.mark.parametrize("username", ["secretariat", "liaison"])
def test_main_pages_have_no_serious_violations(page, username):
    log_in(page, username)
    found = {}
    for path in MAIN_PAGES:
        response = page.goto(path)
        assert response.ok, path
        if violations := axe_violations(page):
            found[path] = violations

    assert found == {}


def test_the_document_curating_pages_have_no_serious_violations(page):
    log_in(page, "secretariat")
    found = {}
    for path in ("/documents/import/", "/documents/ashgabat-2020/edit/"):
        response = page.goto(path)
        assert response.ok, path
        if violations := axe_violations(page):
            found[path] = violations
    # The preview of the demo document's text with a paragraph reworded: the side-by-side
    # table with the commitments quoting it, and the apply form.
    page.goto("/documents/import/?short_name=ashgabat-2020")
    page.locator("#id_text").fill(SEED.read_text(encoding="utf-8").replace("Highlighted", "Noted"))
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Preview of the import"
    assert page.locator("table.side-by-side tbody tr").count() > 0
    if violations := axe_violations(page):
        found["the preview"] = violations

    assert found == {}


def focused(page) -> dict:
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                tag: el.tagName.toLowerCase(),
                inFilters: !!el.closest("form.filters"),
                inTable: !!el.closest("table.commitments tbody"),
                outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
                shadow: style.boxShadow !== "none",
            };
        }"""
    )


def test_the_keyboard_reaches_the_filters_and_the_table_with_visible_focus(page):
    log_in(page, "secretariat")
    page.goto("/commitments/")
    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        seen.append(focused(page))
        if seen[-1]["inTable"] and seen[-1]["tag"] == "a":
            break

    in_filters = [f for f in seen if f["inFilters"]]
    in_table = [f for f in seen if f["inTable"] and f["tag"] == "a"]
    assert in_filters and in_table
    assert all(f["outline"] or f["shadow"] for f in in_filters + in_table)
    screenshot(page, "keyboard-focus-in-table")


def test_tables_have_proper_headers(page):
    log_in(page, "secretariat")
    page.goto("/commitments/")

    headers = page.locator("table.commitments").get_by_role("columnheader")
    names = [h.strip() for h in headers.all_inner_texts()]
    for name in ("Title", "Status", "Progress", "Target date"):
        assert any(header.startswith(name) for header in names), (name, names)
    page.goto("/")
    matrix = page.locator("table.matrix").first
    assert matrix.get_by_role("columnheader", name="Paragraph").count() == 1
    assert matrix.get_by_role("rowheader").count() == 16
