"""The cold rounds' writer and reader against the tracker served on loopback (live_server): the
writer posts through the real API with its token, the reader's first request after each write
is timed, and what fails is counted, not hidden."""

import datetime

import pytest

from bench.cold_http import Writer, cold_rounds, update_payload
from commitments.models import StatusUpdate
from tests.factories import CommitmentFactory, SecretariatFactory, post_status_update
from tracker.api_tokens import api_token_create

DAY = datetime.date(2024, 5, 2)


@pytest.fixture
def officer(transactional_db):
    return SecretariatFactory()


@pytest.fixture
def writer(live_server, officer):
    return Writer(live_server.url, api_token_create(user=officer, name="bench")[1], DAY)


def test_the_writer_finds_the_version_from_the_conflict_and_keeps_it(writer):
    commitment = CommitmentFactory()
    post_status_update(commitment, commitment.owner)  # version 2: the writer's 1 is stale
    commitment.refresh_from_db()
    assert commitment.version == 2

    assert writer.post(commitment.slug) and writer.post(commitment.slug)

    updates = StatusUpdate.objects.filter(commitment=commitment, narrative__startswith="Bench")
    assert updates.count() == writer.posted == 2
    assert writer.versions[commitment.slug] == 4
    assert set(updates.values_list("visibility", flat=True)) == {"public"}
    assert writer.failures == []


def test_a_refused_write_is_counted_as_a_failure(live_server, officer):
    commitment = CommitmentFactory()
    stranger = Writer(live_server.url, "ctk_000000000000_not-a-token", DAY)
    assert not stranger.post(commitment.slug)
    assert stranger.failures and stranger.failures[0].startswith("HTTP 401")
    assert not StatusUpdate.objects.exists()


def test_each_round_writes_then_reads_and_the_first_is_not_counted(writer, live_server):
    commitment = CommitmentFactory()
    headers = {"Authorization": f"Bearer {writer.token}"}
    url = f"{live_server.url}/api/v1/commitments/{commitment.slug}/"

    result = cold_rounds(writer, commitment.slug, url, headers, rounds=3, target_ms=1e9)

    assert StatusUpdate.objects.filter(commitment=commitment).count() == 4
    assert len(result["rounds_ms"]) == 3 and result["met"]
    assert "errors" not in result


def test_a_read_sent_to_the_login_page_is_an_error_not_a_time(writer, live_server):
    commitment = CommitmentFactory()
    result = cold_rounds(writer, commitment.slug, f"{live_server.url}/", {}, rounds=2,
                         target_ms=150)  # fmt: skip
    assert result["error"] == "no read succeeded"
    assert result["errors"] == ["HTTP 302"] * 3


def test_the_payload_is_a_public_update_of_this_day():
    payload = update_payload(7, 3, DAY)
    assert (payload["version"], payload["happened_on"], payload["visibility"]) == (
        7,
        "2024-05-02",
        "public",
    )
