"""The API's pages in a browser: the Swagger UI documentation page under the site's CSP, and
making a token on the profile (docs/api.md)."""

import pytest

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
