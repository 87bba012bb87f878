"""The API's lists kept per audience (api.kept_lists): served from the cache they are the same
bytes and headers as computed, no audience is ever served another's entry, a write shows on the
next read, authentication, permissions and rate limits still apply, and an address the list
does not read as is never grows the cache."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from commitments.models import StatusUpdate
from tests.api.conftest import INTERNAL_EVENT, INTERNAL_NARRATIVE
from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, EventFactory, LiaisonFactory
from tests.leak_world import MARKER, MarkedWorld
from tracker import demo
from tracker.models import User

LISTS = [
    "api:commitment_list",
    "api:update_list",
    "api:document_list",
    "api:actor_list",
    "api:event_list",
    "api:paragraph_list",
    "api:theme_list",
]
# What a list's address may carry and still be kept (a sample of each list's parameters).
KEPT_QUERIES = ["", "?per_page=50", "?page=1", "?sort=-title&status=in_progress&retired=true"]
# Headers the views and REST framework set (middleware adds the same ones either way).
HEADERS = ("Content-Type", "Vary", "Allow", "ETag", "Content-Language", "Cache-Control")
# A list served from the cache: the token's row, then the cache's loss record (core.caching).
QUERIES_WHEN_KEPT = 2


def answer(client, url) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    headers = {name: response.get(name) for name in HEADERS}
    return response.content, headers, len(queries)


def urls() -> list[str]:
    return [reverse(name) for name in LISTS] + [
        reverse("api:commitment_list") + query for query in KEPT_QUERIES
    ]


def assert_kept_as_computed(clients: dict) -> None:
    """Each reader's lists, served from a cache that every other reader filled first, are the
    bytes and headers computed for that reader alone, with an empty cache."""
    computed = {}
    for who, client in clients.items():
        for url in urls():
            cache.clear()
            computed[who, url] = answer(client, url)[:2]
    cache.clear()
    for round_ in (list(clients), list(reversed(clients)), list(clients)):
        for who in round_:
            for url in urls():
                body, headers, _queries = answer(clients[who], url)
                assert (body, headers) == computed[who, url], (who, url)
    for who, client in clients.items():  # every entry was kept: nothing computed any more
        for url in urls():
            assert answer(client, url)[2] <= QUERIES_WHEN_KEPT, (who, url)


def test_the_leak_worlds_lists_are_kept_as_computed_for_every_reader(db, settings):
    settings.TRACKER_PUBLIC_SITE = True
    world = MarkedWorld()
    clients = {
        "secretariat": token_client(world.secretariat),
        "liaison": token_client(world.liaison),  # also reads their state's internal event
        "outside liaison": token_client(world.outside_liaison),
        "anonymous": APIClient(),
    }
    assert_kept_as_computed(clients)
    for who in ("outside liaison", "anonymous"):
        for url in urls():
            assert MARKER not in clients[who].get(url).content.decode(), (who, url)
    updates = clients["secretariat"].get(reverse("api:update_list")).content.decode()
    assert MARKER in updates  # the search looks where the marker is


def test_the_demo_records_lists_are_kept_as_computed_for_every_reader(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "kept-lists-password")
    call_command("load_demo", verbosity=0)
    names = (demo.SECRETARIAT_USERNAME, demo.LIAISON_USERNAME, demo.ADMIN_USERNAME)
    clients = {name: token_client(User.objects.get(username=name)) for name in names}
    assert_kept_as_computed(clients)


def test_an_audience_never_reads_anothers_entry(record, secretariat, liaison):
    officer, diplomat = token_client(secretariat), token_client(liaison)
    other_state = token_client(LiaisonFactory(actor__name="Austria"))
    EventFactory(title="MARKER state event", is_public=False, commitments=[record.commitment])
    updates, events = reverse("api:update_list"), reverse("api:event_list")

    assert INTERNAL_NARRATIVE in officer.get(updates).content.decode()
    assert INTERNAL_NARRATIVE not in diplomat.get(updates).content.decode()
    assert INTERNAL_NARRATIVE in officer.get(updates).content.decode()
    assert INTERNAL_EVENT in officer.get(events).content.decode()
    # The liaison's state leads the commitment: its internal event, but not another's.
    state_events = diplomat.get(events).content.decode()
    assert "MARKER state event" in state_events and INTERNAL_EVENT not in state_events
    assert "MARKER state event" not in other_state.get(events).content.decode()
    assert "MARKER state event" in diplomat.get(events).content.decode()


def test_a_status_update_posted_through_the_api_shows_in_the_next_lists(
    record, secretariat, liaison
):
    officer, diplomat = token_client(secretariat), token_client(liaison)
    lists = (reverse("api:update_list"), reverse("api:commitment_list"))
    for url in lists:  # kept
        officer.get(url), diplomat.get(url)
    commitment = officer.get(f"/api/v1/commitments/{record.commitment.slug}/").json()

    posted = officer.post(
        reverse("api:commitment_updates", kwargs={"slug": record.commitment.slug}),
        {
            "version": commitment["version"],
            "status": "achieved",
            "progress": 100,
            "progress_reason": "All done.",
            "happened_on": "2021-05-01",
            "narrative": "Posted through the API.",
            "visibility": StatusUpdate.Visibility.PUBLIC,
        },
        format="json",
    )

    assert posted.status_code == 201, posted.json()
    for client in (officer, diplomat):
        assert "Posted through the API." in client.get(lists[0]).content.decode()
        rows = client.get(lists[1]).json()["results"]
        row = next(row for row in rows if row["slug"] == record.commitment.slug)
        assert (row["status"], row["progress"]) == ("achieved", 100)


def test_an_internal_update_shows_to_the_secretariat_only(record, secretariat, liaison):
    officer, diplomat = token_client(secretariat), token_client(liaison)
    url = reverse("api:update_list")
    officer.get(url), diplomat.get(url)

    record.commitment.refresh_from_db()
    officer.post(
        reverse("api:commitment_updates", kwargs={"slug": record.commitment.slug}),
        {
            "version": record.commitment.version,
            "status": "in_progress",
            "progress": 40,
            "progress_reason": "Halfway.",
            "happened_on": "2021-05-02",
            "narrative": "MARKER posted internally.",
            "visibility": StatusUpdate.Visibility.INTERNAL,
        },
        format="json",
    )

    assert "MARKER posted internally." in officer.get(url).content.decode()
    assert "MARKER posted internally." not in diplomat.get(url).content.decode()


def test_a_kept_list_still_checks_the_token_the_site_and_the_rate(record, secretariat, settings):
    url = reverse("api:commitment_list")
    settings.TRACKER_PUBLIC_SITE = True
    assert APIClient().get(url).status_code == 200  # kept for the public audience
    settings.TRACKER_PUBLIC_SITE = False
    assert APIClient().get(url).status_code == 401
    mistyped = APIClient()
    mistyped.credentials(HTTP_AUTHORIZATION="Bearer ctk_000000000000_mistyped")
    assert mistyped.get(url).status_code == 401

    settings.API_RATE_PER_TOKEN = "2/minute"
    officer = token_client(secretariat)
    answers = [officer.get(url).status_code for _try in range(3)]
    assert answers == [200, 200, 429]


@pytest.mark.parametrize(
    "query",
    [
        "?q=office",  # a search: whatever the reader typed
        "?page=01",
        "?per_page=025",
        "?page=1&page=1",
        "?format=json",
        "?status=in_progress&junk=1",
        "?retired=TRUE",
        "?document=%20ashgabat-2020",  # found once stripped
    ],
)
def test_an_address_not_read_as_is_is_computed_each_time(record, secretariat, query):
    officer = token_client(secretariat)
    url = reverse("api:commitment_list") + query
    first = officer.get(url)
    with CaptureQueriesContext(connection) as queries:
        again = officer.get(url)
    assert again.content == first.content
    assert again.status_code in (200, 400)
    assert len(queries) > QUERIES_WHEN_KEPT, query


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({"HTTP_HOST": "api.example.org"}, '"url":"http://api.example.org/'),
        ({"HTTP_ACCEPT": "application/json; indent=2"}, '\n  "count": '),
    ],
)
def test_another_host_or_format_is_computed_each_time(
    record, secretariat, settings, headers, shown
):
    settings.ALLOWED_HOSTS = ["testserver", ".example.org"]
    officer = token_client(secretariat)
    url = reverse("api:actor_list")
    first = officer.get(url, **headers)
    with CaptureQueriesContext(connection) as queries:
        again = officer.get(url, **headers)
    assert shown in first.content.decode()
    assert again.content == first.content and len(queries) > QUERIES_WHEN_KEPT
    assert shown not in officer.get(url).content.decode()


# The token's row, the page's count and rows, each prefetched link once.
QUERIES_WHEN_COMPUTED = {
    "api:commitment_list": 5,  # + paragraphs, lead actors
    "api:update_list": 5,  # + evidence links, files
    "api:document_list": 3,
    "api:actor_list": 3,
    "api:event_list": 4,  # + commitments
    "api:paragraph_list": 4,  # + commitments
    "api:theme_list": 3,
}


@pytest.mark.parametrize("name", LISTS)
def test_each_lists_queries_do_not_grow_with_the_record(name, record, secretariat):
    officer = token_client(secretariat)
    url = reverse(name)
    officer.get(url)  # the token's first use is recorded (tracker.api_tokens.api_token_used)

    def computed() -> int:
        cache.clear()
        return answer(officer, url)[2]

    before = computed()
    for _ in range(5):
        CommitmentFactory(paragraphs=record.commitment.paragraphs.all())
        EventFactory(commitments=[record.other])
    assert computed() == before == QUERIES_WHEN_COMPUTED[name]
    assert answer(officer, url)[2] == QUERIES_WHEN_KEPT


def test_the_commitments_list_is_kept_per_reader_day(record, secretariat):
    """Its deadlines are on the reader's day: at midnight it is computed anew without a write
    (the two reads are 40 s apart, both within the entry's TRACKER_CACHE_TIMEOUT)."""
    secretariat.time_zone = "UTC"
    secretariat.save()
    officer = token_client(secretariat)
    url = reverse("api:commitment_list")
    record.commitment.target_date = datetime.date(2030, 6, 1)
    record.commitment.save()

    def overdue_since(moment) -> str | None:
        with time_machine.travel(moment, tick=False):
            rows = officer.get(url).json()["results"]
        return next(row for row in rows if row["slug"] == record.commitment.slug)["overdue_since"]

    assert overdue_since(datetime.datetime(2030, 6, 1, 23, 59, 40, tzinfo=datetime.UTC)) is None
    tomorrow = datetime.datetime(2030, 6, 2, 0, 0, 20, tzinfo=datetime.UTC)
    assert overdue_since(tomorrow) == "2030-06-01"


def test_an_event_or_a_states_new_link_shows_in_the_next_events_list(record, secretariat, liaison):
    officer, diplomat = token_client(secretariat), token_client(liaison)
    url = reverse("api:event_list")
    hidden = EventFactory(title="MARKER other state event", is_public=False)
    assert "MARKER other state event" not in diplomat.get(url).content.decode()
    officer.get(url)

    EventFactory(title="Added later")
    hidden.commitments.add(record.commitment)  # a commitment the liaison's state leads

    assert "Added later" in officer.get(url).content.decode()
    assert "MARKER other state event" in diplomat.get(url).content.decode()
