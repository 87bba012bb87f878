"""Calendar feeds are serialised once and served from the cache until what they list changes."""

import datetime
import gzip
import hashlib
from unittest import mock

import pytest
from django.core.cache import cache
from icalendar import Calendar

from tests.factories import CommitmentFactory, EventFactory
from tracker import calendar_feeds, event_views

pytestmark = pytest.mark.django_db

PUBLIC_FEED = "/calendar.ics"


def summaries(response) -> set[str]:
    assert response.status_code == 200
    return {str(item["summary"]) for item in Calendar.from_ical(response.content).walk("VEVENT")}


def personal_feed(user) -> str:
    return f"/calendar/{user.calendar_token}.ics"


def test_the_second_request_is_served_from_the_cache(client, django_assert_num_queries):
    EventFactory.create_batch(5)
    first = client.get(PUBLIC_FEED)

    with django_assert_num_queries(1):  # that no invalidation was lost (core.caching)
        second = client.get(PUBLIC_FEED)

    assert second.content == first.content


def test_a_saved_or_deleted_event_shows_in_the_next_feed(client):
    event = EventFactory(title="Neutrality Day")
    assert summaries(client.get(PUBLIC_FEED)) == {"Neutrality Day"}

    event.title = "International Day of Neutrality"
    event.save()
    assert summaries(client.get(PUBLIC_FEED)) == {"International Day of Neutrality"}

    event.delete()
    assert summaries(client.get(PUBLIC_FEED)) == set()


def test_after_a_write_only_the_events_it_changed_are_serialised_again(client):
    """The first feed after a write took 0.55 s at 2,000 events, each serialised again
    (issue 16); each event's text is now kept by what it is made of."""
    events = EventFactory.create_batch(5)
    client.get(PUBLIC_FEED)
    events[0].title = "International Day of Neutrality"
    events[0].save()  # forgets the feed

    with mock.patch.object(
        calendar_feeds, "_calendar_event", wraps=calendar_feeds._calendar_event
    ) as serialised:
        found = summaries(client.get(PUBLIC_FEED))

    assert serialised.call_count == 1
    assert "International Day of Neutrality" in found and len(found) == 5


def test_after_a_write_that_changed_none_of_its_events_a_feed_reads_one_entry(client):
    """Most writes that forget the feeds change none of their events (an event or a commitment
    saved with the same dates): the list of texts is kept whole too (caching.cached_each)."""
    events = EventFactory.create_batch(5)
    first = client.get(PUBLIC_FEED)
    events[0].save()  # unchanged, yet it forgets the feed

    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as read_many:
        second = client.get(PUBLIC_FEED)

    # The feed's own entry with its family's token, and not the events' texts one by one.
    assert [len(call.args[0]) for call in read_many.call_args_list] == [2]
    assert summaries(second) == summaries(first)


@pytest.mark.parametrize("count", [2, 20])
def test_a_feed_after_a_write_reads_as_many_queries_whatever_the_events(
    client, liaison, count, django_assert_num_queries
):
    EventFactory.create_batch(count)
    client.get(PUBLIC_FEED), client.get(personal_feed(liaison))
    EventFactory()  # a write: both feeds are made again, their events' texts from the cache

    with django_assert_num_queries(1):  # the events
        client.get(PUBLIC_FEED)
    with django_assert_num_queries(2):  # the person by the feed's token, and their events
        client.get(personal_feed(liaison))


def test_a_commitments_target_date_reaches_the_next_personal_feed(client, secretariat):
    assert summaries(client.get(personal_feed(secretariat))) == set()

    commitment = CommitmentFactory(title="Report", target_date=datetime.date(2027, 3, 1))
    assert summaries(client.get(personal_feed(secretariat))) == {"Target date: Report"}

    commitment.delete()
    assert summaries(client.get(personal_feed(secretariat))) == set()


def test_a_liaison_never_gets_the_secretariats_cached_feed(client, secretariat, liaison):
    EventFactory(title="Internal retreat", is_public=False)
    assert summaries(client.get(personal_feed(secretariat))) == {"Internal retreat"}

    assert summaries(client.get(personal_feed(liaison))) == set()


def test_a_state_joining_a_commitment_sees_its_deadline_in_the_next_feed(client, liaison):
    commitment = CommitmentFactory(title="Ours", target_date=datetime.date(2027, 3, 1))
    assert summaries(client.get(personal_feed(liaison))) == set()

    commitment.lead_actors.add(liaison.actor)

    assert summaries(client.get(personal_feed(liaison))) == {"Target date: Ours"}


def test_an_unchanged_feed_is_a_304_without_a_body(client):
    EventFactory()
    etag = client.get(PUBLIC_FEED)["ETag"]

    response = client.get(PUBLIC_FEED, headers={"if-none-match": etag})

    assert response.status_code == 304
    assert response.content == b""
    EventFactory()
    assert client.get(PUBLIC_FEED, headers={"if-none-match": etag}).status_code == 200


def test_the_etag_kept_with_a_cached_feed_is_its_bodys(client, secretariat):
    """The ETag is kept in the cache with the feed (tracker.event_views._feed_response): it must
    be the one Django makes of the body served, from the cache or not."""
    EventFactory()
    for path in (PUBLIC_FEED, personal_feed(secretariat)):
        for response in (client.get(path), client.get(path)):
            digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
            assert response["ETag"] == f'"{digest}"'


def test_hosts_a_client_makes_up_never_grow_the_cache(client, settings):
    """The public feed needs no login: a Host header with any port or letter case is accepted
    by ALLOWED_HOSTS, and each used to add a cached feed."""
    settings.ALLOWED_HOSTS = ["testserver", "localhost"]
    EventFactory(title="International Day of Neutrality")
    assert client.get("/calendar.ics").status_code == 200  # the site's own name: cached
    before = set(cache._cache)

    for host in ["LOCALHOST", "localhost:1", "localhost:2", "LocalHost:65535", "testserver:8"]:
        response = client.get("/calendar.ics", HTTP_HOST=host)
        assert response.status_code == 200
        assert f"//{host}/" in response.text  # its links still name the site as it was reached

    assert set(cache._cache) == before


# Calendar apps ask for the feed compressed (Accept-Encoding: gzip); it is kept compressed.
GZIP = {"accept-encoding": "gzip, deflate"}


def test_a_feed_is_sent_compressed_to_a_client_that_accepts_gzip_and_plain_to_one_that_does_not(
    client, secretariat
):
    EventFactory(title="International Day of Neutrality")
    for path in (PUBLIC_FEED, personal_feed(secretariat)):
        compressed, plain = client.get(path, headers=GZIP), client.get(path)

        assert compressed["Content-Encoding"] == "gzip"
        assert not plain.has_header("Content-Encoding")
        assert gzip.decompress(compressed.content) == plain.content
        assert summaries(plain) == {"International Day of Neutrality"}
        for response in (compressed, plain):
            assert "Accept-Encoding" in response["Vary"]
            assert response["Content-Type"] == "text/calendar; charset=utf-8"
            assert response["Content-Length"] == str(len(response.content))
        assert compressed["Cache-Control"] == plain["Cache-Control"]


def test_each_form_of_a_feed_has_its_own_etag_and_its_own_304(client, secretariat):
    EventFactory()
    for path in (PUBLIC_FEED, personal_feed(secretariat)):
        compressed, plain = client.get(path, headers=GZIP), client.get(path)
        for response in (compressed, plain):  # as django.utils.cache.set_response_etag
            digest = hashlib.md5(response.content, usedforsecurity=False).hexdigest()
            assert response["ETag"] == f'"{digest}"'

        for get in (client.get, client.head):
            for headers, etag in [(GZIP, compressed["ETag"]), ({}, plain["ETag"])]:
                unchanged = get(path, headers={**headers, "if-none-match": etag})
                assert unchanged.status_code == 304
                assert "Accept-Encoding" in unchanged["Vary"]
                assert not unchanged.has_header("Content-Length")  # not the body's: none
            # Each client's copy is of its own form: the other form's ETag is no match.
            other = get(path, headers={**GZIP, "if-none-match": plain["ETag"]})
            assert other.status_code == 200 and other["ETag"] == compressed["ETag"]
            assert other["Content-Encoding"] == "gzip"


@pytest.mark.parametrize(
    ("accept_encoding", "compressed"),
    [
        ("GZIP;Q=0.5, deflate", True),
        ("x-gzip", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0", False),  # named to refuse it
        ("deflate, gzip;q=0.000", False),
        ("gzip;q=0, *", False),
        ("gzip, gzip;q=0", False),  # named twice: the lower weight
        ("gzip;q=0, gzip", False),
        ("*;q=0", False),
        ("gzip;q=often", False),  # a weight that is no number
        ("br", False),
        ("", False),
    ],
)
def test_a_feed_is_compressed_only_for_a_client_whose_accept_encoding_takes_gzip(
    client, accept_encoding, compressed
):
    EventFactory(title="International Day of Neutrality")
    response = client.get(PUBLIC_FEED, headers={"accept-encoding": accept_encoding})

    assert response.has_header("Content-Encoding") is compressed
    body = gzip.decompress(response.content) if compressed else response.content
    assert (
        Calendar.from_ical(body).walk("VEVENT")[0]["summary"] == "International Day of Neutrality"
    )
    assert event_views.accepts_gzip(accept_encoding) is compressed


def test_a_feed_is_compressed_once_when_it_is_built_not_once_a_request(client):
    EventFactory()
    with mock.patch.object(
        event_views, "compress_string", wraps=event_views.compress_string
    ) as compress:
        for headers in (GZIP, {}, GZIP, {}):
            assert client.get(PUBLIC_FEED, headers=headers).status_code == 200
        assert compress.call_count == 1

        EventFactory()  # a write: the next feed is built and compressed again
        client.get(PUBLIC_FEED, headers=GZIP)
        assert compress.call_count == 2
