"""The API's pages in a browser: the Swagger UI documentation page under the site's CSP, and
making a token on the profile (docs/api.md)."""

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def csp_refusals(page) -> list[str]:
    """What the page's Content-Security-Policy refused, as Chromium reports it."""
    refused = []

    def note(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note)
    return refused


def test_the_api_docs_page_draws_its_icons_under_the_csp(page):
    refused = csp_refusals(page)
    page.goto("/api/v1/docs/")
    page.locator(".opblock").first.wait_for()
    page.locator(".opblock-summary").first.click()
    page.locator(".opblock-body").first.wait_for()
    assert refused == []  # Swagger UI's data: icons, refused before api.urls.swagger_ui


def token_pixels(page, text: str) -> bytes:
    """A screenshot of the token field showing `text`."""
    field = page.locator("#new-api-token")
    field.evaluate("(input, text) => { input.value = text; input.blur(); }", text)
    return field.screenshot(animations="disabled", caret="hide")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_a_new_token_is_shown_at_the_top_with_its_underscores(page, width, height):
    """The token, shown once, is in view when the page opens (a laptop, a phone), and its
    field draws the underscores (`ctk_<prefix>_<secret>`): clipped, it read `ctk 5a12… …`."""
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, "secretariat")
    page.goto("/profile/")
    page.get_by_label("Name of the new token").fill("Monthly report")
    page.get_by_role("button", name="Make a token").click()
    page.wait_for_load_state()

    field = page.locator("#new-api-token")
    box = field.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box  # in view, no scrolling
    text = field.input_value()
    assert text.startswith("ctk_") and text.count("_") >= 2
    screenshot(page, f"api-token-made-{width}")
    # The field with its underscores differs from the same text with spaces for them: the
    # underscores draw inside the field, not below its edge.
    drawn = token_pixels(page, text) != token_pixels(page, text.replace("_", " "))
    assert drawn, "the token field looks the same with spaces for its underscores"
