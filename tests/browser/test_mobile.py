"""The tracker on a phone (390 x 844) and on a laptop (1366 px), in a real browser (issue 10):
no page scrolls sideways, the whole menu is reachable behind its toggle, chart labels are
readable, and on a laptop the header stays on one line."""

import datetime
import re

import pytest

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
# The main detail pages besides the menu's own; the event and the actor are found on the page.
DETAIL_PAGES = [
    "/commitments/ocha-office-in-central-asia/",
    "/documents/ashgabat-2020/",
    "/documents/ashgabat-2020/report/",
    "/calendar/",
]
# Django's admin is its own site with its own layout; the menu only has to reach it.
NOT_OURS = re.compile(r"/admin/")
# The smallest font, in CSS pixels on the screen, a chart's words may be drawn at.
READABLE_PX = 11


@pytest.fixture
def open_page(browser, demo):
    contexts = []

    def open_at(viewport):
        context = browser.new_context(base_url=demo.url, viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)  # a shared machine: generous, never asserted on
        return page

    yield open_at
    for context in contexts:
        context.close()


def sideways_overflow(page) -> dict | None:
    """How far the page is wider than the window, and what sticks out, or None if it is not."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const page = document.documentElement.scrollWidth;
            if (page <= width) return null;
            const wide = [...document.querySelectorAll("body *")]
                .filter(el => el.getBoundingClientRect().right > width + 1)
                .slice(0, 5)
                .map(el => el.tagName.toLowerCase() + "." + el.className);
            return {window: width, page, wide};
        }"""
    )


MENU_LINKS = ".site-menu .main-menu a"


def menu_links(page) -> list[str]:
    return page.locator(MENU_LINKS).evaluate_all("links => links.map(a => a.pathname)")


def open_the_menu(page) -> None:
    toggle = page.locator(".site-menu > summary")
    assert toggle.is_visible()
    assert page.locator(".site-menu .main-menu a").first.is_hidden()  # folded until asked for
    toggle.click()


def assert_menu_reachable(page) -> None:
    for link in page.locator(".site-menu .main-menu a, .site-menu button").all():
        assert link.is_visible(), link.inner_text()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
        link.click(trial=True)  # nothing covers it: a click would land on it


@pytest.mark.parametrize("username", ["secretariat", "liaison"])
def test_on_a_phone_no_page_scrolls_sideways_and_the_menu_reaches_everything(open_page, username):
    page = open_page(PHONE)
    page.goto("/login/")
    assert sideways_overflow(page) is None, "/login/"
    log_in(page, username)
    assert page.evaluate("window.innerWidth") == PHONE["width"]

    open_the_menu(page)
    assert_menu_reachable(page)
    if username == "secretariat":
        screenshot(page, "phone-menu")
    menu = menu_links(page)
    page.locator(MENU_LINKS).last.click()  # the last item: the one that ran off screen
    page.wait_for_load_state()
    assert page.url.endswith(menu[-1])

    page.goto("/events/")
    event = page.locator("table.events a").first.get_attribute("href")
    month = page.get_by_role("link", name="Month view").get_attribute("href")
    page.goto("/actors/")
    actor = page.locator("main table a").first.get_attribute("href")
    pages = [p for p in menu if not NOT_OURS.match(p)] + DETAIL_PAGES + [event, actor, month]
    found = {}
    for path in pages:
        response = page.goto(path)
        assert response.ok, path
        if overflow := sideways_overflow(page):
            found[path] = overflow
    assert found == {}
    expected = {"/", "/commitments/", "/actors/", "/events/", "/reminders/"}
    assert expected <= set(menu)
    if username == "secretariat":
        assert "/reminders/log/" in menu
    else:
        assert any(p.startswith("/actors/") and p != "/actors/" for p in menu)  # their state


def test_on_a_phone_the_header_menu_closes_again(open_page):
    page = open_page(PHONE)
    log_in(page, "secretariat")

    open_the_menu(page)
    assert page.get_by_role("link", name="Delivery log").is_visible()
    page.locator(".site-menu > summary").click()
    assert page.get_by_role("link", name="Delivery log").is_hidden()


def chart_text_sizes(page) -> list[dict]:
    """Every word drawn in a chart: its size on the screen and whether the chart shows it whole."""
    return page.evaluate(
        """() => [...document.querySelectorAll("svg.chart-svg text")].map(text => {
            const svg = text.ownerSVGElement;
            const scale = svg.getScreenCTM().a;
            const box = text.getBoundingClientRect(), frame = svg.getBoundingClientRect();
            return {
                text: text.textContent,
                px: parseFloat(getComputedStyle(text).fontSize) * scale,
                inside: box.left >= frame.left - 1 && box.right <= frame.right + 1,
            };
        })"""
    )


@pytest.mark.parametrize(
    "path", ["/", "/commitments/ocha-office-in-central-asia/", "/documents/ashgabat-2020/report/"]
)
def test_on_a_phone_chart_labels_are_readable(open_page, path):
    page = open_page(PHONE)
    log_in(page, "secretariat")
    page.goto(path)

    texts = chart_text_sizes(page)
    assert texts, "no chart on the page"
    small = [t for t in texts if t["px"] < READABLE_PX]
    cut = [t for t in texts if not t["inside"]]
    assert small == [] and cut == []
    if path == "/":
        screenshot(page, "phone-dashboard")


@pytest.mark.parametrize(
    ("username", "language"), [("admin", "en"), ("liaison", "en"), ("admin", "ru")]
)
def test_on_a_laptop_the_header_is_one_line(open_page, username, language):
    page = open_page(LAPTOP)
    log_in(page, username)
    if language != "en":  # Russian words are longer
        page.locator("#language-choice").select_option(language)
        page.locator(".language-switch button").click()
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language

    assert page.locator(".site-menu > summary").is_hidden()
    rows = page.evaluate(
        """() => [...document.querySelectorAll(
                ".site-header .brand, .site-menu .main-menu a, .logout > span, .logout button,"
                + " .language-switch select, .language-switch button")]
            .filter(el => el.offsetParent !== null)
            .map(el => {
                const r = el.getBoundingClientRect();
                return [r.top, r.bottom, el.outerHTML.slice(0, 60)];
            })"""
    )
    assert len(rows) >= 9
    # One shared row: every item starts above where any other ends.
    assert max(top for top, _, _ in rows) < min(bottom for _, bottom, _ in rows), rows
    assert sideways_overflow(page) is None


LONG_URL = "https://www.newscentralasia.net/2025/09/08/tajikistan-joins-the-group-of-friends-of-neutrality/"


def test_on_a_phone_a_long_url_in_what_people_typed_breaks_instead_of_widening_the_page(
    open_page,
):
    """A narrative or an evidence title holding one long URL (real sources do) wraps on the
    dashboard, the lead's page and the report, as on the commitment page."""
    from commitments.models import Commitment
    from tests.factories import post_status_update
    from tracker.models import User

    commitment = Commitment.objects.get(slug="ocha-office-in-central-asia")
    post_status_update(
        commitment,
        User.objects.get(username="secretariat"),
        narrative=f"Reported at {LONG_URL}",
        progress=None,  # its milestone computes the figure
        progress_reason="",
        happened_on=datetime.date.today(),
        links=[(f"Source {LONG_URL}{'x' * 100}", LONG_URL)],  # a title fits 300
    )
    page = open_page(PHONE)
    page.goto("/login/")
    log_in(page, "secretariat")
    lead = commitment.lead_actors.first()
    found = {}
    for path in ["/", lead.get_absolute_url(), "/documents/ashgabat-2020/report/"]:
        assert page.goto(path).ok, path
        assert "newscentralasia" in page.content(), path
        if overflow := sideways_overflow(page):
            found[path] = overflow
    assert found == {}


# --- A visitor of the public site (docs/public-site.md) --------------------------------------

LAPTOP_1280 = {"width": 1280, "height": 800}


def right_edges(page, selector: str) -> list[float]:
    return page.locator(selector).evaluate_all(
        "els => els.filter(el => el.offsetParent !== null)"
        ".map(el => el.getBoundingClientRect().right)"
    )


def test_on_a_laptop_a_visitors_header_ends_at_the_right_edge(open_page, settings):
    settings.TRACKER_PUBLIC_SITE = True
    page = open_page(LAPTOP_1280)
    page.goto("/")
    screenshot(page, "visitor-header-laptop")

    login = page.locator(".site-header .login-link").bounding_box()
    languages = right_edges(page, ".site-header .language-switch > *")
    assert login["x"] + login["width"] > LAPTOP_1280["width"] - 40, login
    # The language links sit just before "Log in", not in the middle of the header.
    assert login["x"] - max(languages) < 40, (languages, login)
    assert sideways_overflow(page) is None


def test_on_a_phone_a_visitor_sees_log_in_and_the_menu_is_left_aligned(open_page, settings):
    settings.TRACKER_PUBLIC_SITE = True
    page = open_page(PHONE)
    page.goto("/")

    assert page.locator(".site-header .login-link").is_visible()  # not folded in the menu
    open_the_menu(page)
    screenshot(page, "visitor-menu-phone")
    menu_left = page.locator(".site-menu .main-menu a").first.bounding_box()["x"]
    language_left = page.locator(".site-menu .language-switch > *").first.bounding_box()["x"]
    assert abs(language_left - menu_left) < 2, (language_left, menu_left)
    assert sideways_overflow(page) is None


def test_on_a_phone_the_state_pages_page_links_fit_and_lead_on(open_page, monkeypatch):
    from commitments import views

    monkeypatch.setattr(views, "ACTOR_PAGE_SIZE", 1)  # the demo state's few make many pages
    page = open_page(PHONE)
    log_in(page, "liaison")  # lands on their state's page
    state = page.url

    links = page.locator("nav.pagination li > *")
    assert links.count() >= 4  # a page, the next ones, "Next"
    assert sideways_overflow(page) is None
    for link in links.all():
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
        assert box["height"] >= 44 and box["width"] >= 44, link.inner_text()  # a finger's target
    page.get_by_role("link", name="Next").click()
    page.wait_for_load_state()

    assert page.url == f"{state}?page=2#involved-heading"
    assert "Page 2 of" in page.locator("nav.pagination").inner_text()
    assert sideways_overflow(page) is None
