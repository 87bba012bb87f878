"""Every paginated page (the commitments table and its exports, the reminder log, a
commitment's history, an actor's page) takes only a bounded page size and a page number that
exists: a number past the last page, however large, shows the last; anything else in the
address falls back to the default, never a server error."""

import datetime
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from commitments.statuses import Status
from tests.factories import ActorFactory, CommitmentFactory, ParagraphFactory, ThemeFactory
from tests.factories import post_status_update as post_update
from tracker.models import Reminder

LIST_URL = reverse("commitments:commitment_list")
LOG_URL = reverse("reminder_log")

HOSTILE = [
    "-5",
    "-1",
    "0",
    "100000",
    "99999999999999999999999",
    "abc",
    "",
    " ",
    "1e3",
    "2.5",
    "0x10",
    "٣",  # a digit, but not an ASCII one
    "\x00",
    "%",
    "25 ",
    "9" * 5000,  # too long for int()
]

EXAMPLES = examples(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def rows(secretariat):
    """30 commitments (two pages of 25), each with an update (its history has a page)."""
    actor, theme, paragraph = ActorFactory(), ThemeFactory(), ParagraphFactory()
    commitments = CommitmentFactory.create_batch(
        30, lead_actors=[actor], paragraphs=[paragraph], owner=secretariat
    )
    for commitment in commitments:
        commitment.themes.add(theme)
    post_update(commitments[0], secretariat, status=Status.IN_PROGRESS)
    return commitments


@pytest.fixture
def paginated_urls(rows):
    return {
        "table": LIST_URL,
        "csv": LIST_URL + "?_export=csv",
        "xlsx": LIST_URL + "?_export=xlsx",
        "reminder log": LOG_URL,
        "history": rows[0].get_absolute_url(),
        "actor page": rows[0].lead_actors.get().get_absolute_url(),
    }


def get(client, url: str, **params):
    separator = "&" if "?" in url else "?"
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.get(f"{url}{separator}{query}")


@pytest.mark.parametrize("page", ["table", "csv", "xlsx", "reminder log", "history", "actor page"])
def test_any_page_size_or_number_answers_a_page(secretariat_client, paginated_urls, page):
    url = paginated_urls[page]

    for value in HOSTILE:
        for params in ({"per_page": value}, {"page": value}):
            response = get(secretariat_client, url, **params)
            assert response.status_code == 200, (page, params)


@pytest.mark.parametrize("page", ["table", "csv", "reminder log", "history", "actor page"])
def test_a_repeated_parameter_answers_a_page(secretariat_client, paginated_urls, page):
    url = paginated_urls[page] + ("&" if "?" in paginated_urls[page] else "?")

    response = secretariat_client.get(url + "per_page=-1&per_page=100000&page=0&page=abc")

    assert response.status_code == 200


@EXAMPLES
@given(per_page=st.text(max_size=12), page=st.text(max_size=12))
def test_any_text_as_page_size_or_number_answers_the_table(secretariat_client, per_page, page):
    response = secretariat_client.get(LIST_URL, {"per_page": per_page, "page": page})

    assert response.status_code == 200


def shown_rows(response) -> int:
    return len(response.context["table"].page.object_list)


@pytest.mark.parametrize("value", ["-5", "0", "7", "100000", "abc"])
def test_a_page_size_not_offered_shows_the_default(secretariat_client, rows, value):
    response = secretariat_client.get(LIST_URL, {"per_page": value})

    assert shown_rows(response) == 25


def test_an_offered_page_size_is_honoured(secretariat_client, rows):
    assert shown_rows(secretariat_client.get(LIST_URL, {"per_page": "50"})) == 30


@pytest.mark.parametrize(("value", "shown"), [("0", 1), ("-1", 1), ("abc", 1), ("99999", 2)])
def test_a_page_number_past_either_end_shows_the_nearest_page(
    secretariat_client, rows, value, shown
):
    response = secretariat_client.get(LIST_URL, {"page": value})

    assert response.context["table"].page.number == shown


# A page number past the last, of any size, spelt as the links would not spell it too.
FAR_PAGES = ["3", "99999", "2147483647", "2147483648", "99999999999999999999", "9" * 5000, "002"]
# Not a page number: the first page.
NOT_PAGES = ["0", "-1", "-99999999999999999999", "abc", "1e9", "٣", "", " ", "2.0", "\x00"]
PAGE_OF = re.compile(r"Page (\d+) of (\d+)")


@pytest.fixture
def two_page_lists(rows, secretariat, monkeypatch) -> dict[str, str]:
    """Each paged list of the pages with two pages: the table's and the actor page's 30 rows
    (25 a page), a history of two updates (one a page), the reminder log's 60 (50 a page)."""
    from commitments import views

    monkeypatch.setattr(views, "TIMELINE_PAGE_SIZE", 1)
    monkeypatch.setattr(views, "ACTOR_PAGE_SIZE", 25)
    post_update(rows[0], secretariat, status=Status.STALLED)
    make_reminders(secretariat, 60)
    return {
        "table": LIST_URL,
        "reminder log": LOG_URL,
        "history": rows[0].get_absolute_url(),
        "actor page": rows[0].lead_actors.get().get_absolute_url(),
    }


def page_shown(client, url: str, value: str) -> tuple[int, int]:
    """(the page number shown, of how many pages): the table's, or as the page writes it."""
    response = get(client, url, page=value)
    assert response.status_code == 200, (url, value)
    if "table" in response.context:
        page = response.context["table"].page
        return page.number, page.paginator.num_pages
    (shown,) = set(PAGE_OF.findall(response.text))
    return int(shown[0]), int(shown[1])


@pytest.mark.parametrize("page", ["table", "reminder log", "history", "actor page"])
def test_a_page_number_past_the_last_shows_the_last_page_whatever_its_size(
    secretariat_client, two_page_lists, page
):
    url = two_page_lists[page]
    assert page_shown(secretariat_client, url, "2") == (2, 2)

    for value in FAR_PAGES:
        assert page_shown(secretariat_client, url, value) == (2, 2), (page, value)


@pytest.mark.parametrize("page", ["table", "reminder log", "history", "actor page"])
def test_what_is_not_a_page_number_shows_the_first_page(secretariat_client, two_page_lists, page):
    url = two_page_lists[page]

    for value in NOT_PAGES:
        assert page_shown(secretariat_client, url, value) == (1, 2), (page, value)


def test_the_export_of_a_hostile_page_size_has_every_row(secretariat_client, rows):
    response = secretariat_client.get(LIST_URL, {"_export": "csv", "per_page": "-1"})

    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(body.strip().splitlines()) == 1 + 30


def make_reminders(recipient, count: int) -> None:
    first = datetime.datetime(2026, 1, 5, 4, tzinfo=datetime.UTC)
    Reminder.objects.bulk_create(
        Reminder(
            kind=Reminder.Kind.DIGEST,
            recipient=recipient,
            due_on=(first + datetime.timedelta(weeks=week)).date(),
            due_at=first + datetime.timedelta(weeks=week),
        )
        for week in range(count)
    )


def test_the_reminder_log_takes_an_offered_page_size_only(secretariat_client, secretariat):
    make_reminders(secretariat, 60)

    def shown(value) -> int:
        response = secretariat_client.get(LOG_URL, {"per_page": value})
        return len(response.context["table"].page.object_list)

    assert shown("100") == 60
    assert shown("-1") == shown("100000") == shown("7") == 50


# -- the cache does not grow with junk in the address ----------------------------------------


def cache_keys() -> set[str]:
    return set(cache._cache)  # the test settings' local-memory cache


JUNK = [
    {"per_page": "-5"},
    {"per_page": "100000"},
    {"page": "0"},
    {"page": "99999"},
    {"page": "abc"},
    {"sort": "no_such_column"},
    {"sort": "-lead_actors"},  # a column that cannot be sorted
    {"utm_source": "newsletter"},
    {"status": "bogus"},
    {"status": "also bogus"},
    {"actor": "x"},
    {"actor": "99999999"},
    {"document": "-1"},
    {"paragraph": "1e3"},
    {"theme": "٣"},
    {"owner": " "},
    {"kind": "\x00"},
    {"actor": "9" * 5000},
    {"_export": "pdf"},
]


def test_junk_query_strings_share_the_canonical_cache_entries(secretariat_client, rows):
    # The canonical pages first: no filter, and each filter invalid.
    secretariat_client.get(LIST_URL)
    for name in ("status", "kind", "actor", "document", "paragraph", "theme", "owner"):
        secretariat_client.get(LIST_URL, {name: "0"})  # reads the filter's choices
    secretariat_client.get(LIST_URL, {"page": "2"})
    before = cache_keys()

    for number in range(50):
        junk = {**JUNK[number % len(JUNK)], f"junk{number}": str(number)}
        assert secretariat_client.get(LIST_URL, junk).status_code in (200, 400)
        junk_page = {"page": str(3 + number), "per_page": str(-number)}
        assert secretariat_client.get(LIST_URL, junk_page).status_code == 200

    assert cache_keys() == before


def test_an_invalid_filter_value_still_says_so(secretariat_client, rows):
    response = secretariat_client.get(LIST_URL, {"status": "bogus", "actor": "x"})

    page = response.text
    cached = page[page.index('<form method="get" class="filters"') : page.index("</table>")]
    assert "Select a valid choice. That choice is not one of the available choices." in cached
    assert "bogus" not in cached  # every invalid value shows the same (cached) part


def test_a_search_is_not_kept_in_the_cache(secretariat_client, rows):
    secretariat_client.get(LIST_URL)
    before = cache_keys()

    for number in range(10):
        secretariat_client.get(LIST_URL, {"q": f"words {number}"})

    assert cache_keys() == before


def test_junk_history_page_numbers_share_the_last_pages_entry(secretariat_client, rows):
    url = rows[0].get_absolute_url()
    secretariat_client.get(url, {"page": "1"})  # the one page there is, and the count
    before = cache_keys()

    for value in ["0", "-1", "abc", "2", "99999", "1e3", "999999999999999999"]:
        assert secretariat_client.get(url, {"page": value}).status_code == 200

    assert cache_keys() == before


def test_a_valid_choice_spelt_otherwise_shares_its_entry(secretariat_client, rows):
    actor = rows[0].lead_actors.get()
    secretariat_client.get(LIST_URL, {"actor": str(actor.pk)})
    before = cache_keys()

    for spelling in (f"0{actor.pk}", f" {actor.pk} ", f"00{actor.pk}"):
        response = secretariat_client.get(LIST_URL, {"actor": spelling})
        assert f'<input type="hidden" name="actor" value="{actor.pk}">' in response.text

    assert cache_keys() == before


def test_a_text_typed_in_a_filter_is_not_kept_in_the_cache(secretariat_client, rows):
    secretariat_client.get(LIST_URL, {"actor_text": "nothing like it"})  # the choices kept
    before = cache_keys()

    for number in range(10):
        response = secretariat_client.get(LIST_URL, {"actor_text": f"nothing like {number}"})
        assert f"No actor matches “nothing like {number}”" in response.text

    assert cache_keys() == before


def test_junk_dashboard_documents_share_one_entry(secretariat_client, rows):
    secretariat_client.get("/", {"document": "no such document"})  # the "unknown" entry
    before = cache_keys()

    for value in ["-1", "abc", "99999999", "1e3", "٣", " x", "x" * 3000, "0"]:
        response = secretariat_client.get("/", {"document": value})
        assert response.status_code == 200
        assert "That document is not in the tracker" in response.text

    assert cache_keys() == before
