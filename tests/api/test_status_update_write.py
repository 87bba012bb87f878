"""POST /api/v1/commitments/<slug>/updates/: the secretariat's status update through the API,
with the page form's rules, the version check and the audit trail (api.write_views)."""

import datetime

import pytest
import time_machine
from auditlog.models import LogEntry
from django.urls import reverse
from rest_framework.test import APIClient

from commitments import milestones
from commitments.models import Commitment, StatusUpdate
from tests.api.helpers import token_client
from tests.factories import CommitmentFactory, ContributorFactory, post_status_update
from tracker.audit import audit_entries_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    """10 March 2026 in Ashgabat, the poster's zone."""
    with time_machine.travel("2026-03-10 12:00Z", tick=False):
        yield


@pytest.fixture
def commitment(secretariat):
    commitment = CommitmentFactory(title="OCHA office")
    post_status_update(commitment, secretariat)
    commitment.refresh_from_db()
    return commitment


def url(commitment) -> str:
    return reverse("api:commitment_updates", kwargs={"slug": commitment.slug})


def update(commitment, **fields) -> dict:
    return {
        "version": commitment.version,
        "status": "in_progress",
        "progress": 60,
        "progress_reason": "Three of five workshops held.",
        "happened_on": "2026-03-09",
        "narrative": "The host agreement was signed.",
        "visibility": "public",
        "links": [{"title": "Press release", "url": "https://example.org/ocha"}],
    } | fields


def test_the_secretariat_posts_an_update_and_gets_the_new_version(secretariat, commitment):
    client = token_client(secretariat)

    response = client.post(url(commitment), update(commitment), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    commitment.refresh_from_db()
    assert body["commitment"] == {"slug": commitment.slug, "version": commitment.version}
    assert body["update"]["narrative"] == "The host agreement was signed."
    assert body["update"]["links"] == [
        {"title": "Press release", "url": "https://example.org/ocha"}
    ]
    posted = StatusUpdate.objects.get(pk=body["update"]["id"])
    assert posted.author == secretariat
    assert (commitment.progress, posted.links.count()) == (60, 1)


def test_a_stale_version_gets_409_with_the_current_one_and_writes_nothing(secretariat, commitment):
    client = token_client(secretariat)
    read_version = commitment.version
    post_status_update(commitment, secretariat, narrative="Someone else's update.")
    commitment.refresh_from_db()
    before = StatusUpdate.objects.count()

    response = client.post(url(commitment), update(commitment, version=read_version), format="json")

    assert response.status_code == 409
    assert response.json()["current_version"] == commitment.version
    assert "nothing was written" in response.json()["detail"]
    assert StatusUpdate.objects.count() == before
    assert Commitment.objects.get(pk=commitment.pk).version == commitment.version


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"happened_on": "2026-03-11"}, "happened_on", "This date is in the future"),
        ({"happened_on": "1850-01-01"}, "happened_on", "when the document was adopted"),
        ({"progress": None}, "progress", "This field is required"),
        ({"progress_reason": ""}, "progress_reason", "This field is required"),
        ({"narrative": "x" * 11}, "narrative", "the limit is 10"),
        ({"visibility": "everyone"}, "visibility", "not a valid choice"),
        ({"version": None}, "version", "may not be null"),
        ({"status": "done"}, "status", "not a valid choice"),
    ],
)
def test_refused_input_gets_400_with_the_fields_message_and_writes_nothing(
    secretariat, commitment, settings, fields, field, words
):
    settings.NARRATIVE_MAX_CHARACTERS = 10
    client = token_client(secretariat)
    before = (StatusUpdate.objects.count(), commitment.version)

    response = client.post(url(commitment), update(commitment, **fields), format="json")

    assert response.status_code == 400
    assert words in " ".join(response.json()[field]), response.json()
    commitment.refresh_from_db()
    assert (StatusUpdate.objects.count(), commitment.version) == before


def test_a_link_without_a_title_is_refused_at_its_place_in_the_list(secretariat, commitment):
    links = [
        {"title": "Press release", "url": "https://example.org/a"},
        {"title": " ", "url": "https://example.org/b"},
    ]

    response = token_client(secretariat).post(
        url(commitment), update(commitment, links=links), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["links"]) == ["1"]
    assert response.json()["links"]["1"]["title"] == [
        "Give this link a title, e.g. the source's name."
    ]


def test_a_figure_is_refused_where_milestones_compute_it(secretariat, commitment):
    milestones.milestone_create(commitment=commitment, author=secretariat, title="Office", weight=1)
    commitment.refresh_from_db()
    client = token_client(secretariat)

    typed = client.post(url(commitment), update(commitment), format="json")
    computed = client.post(
        url(commitment), update(commitment, progress=None, progress_reason=""), format="json"
    )

    assert typed.status_code == 400
    refusal = typed.json()["progress"][0]
    assert "computed from them" in refusal and "send the update without" in refusal
    assert "now has" not in refusal  # nothing changed since the client read it
    assert computed.status_code == 201, computed.json()


def test_a_stale_version_is_409_even_with_a_figure_milestones_now_compute(secretariat, commitment):
    """The version is checked first: a client whose copy is out of date learns that it
    changed (409), not that its figure is refused (400)."""
    read_version = commitment.version
    milestones.milestone_create(commitment=commitment, author=secretariat, title="Office", weight=1)
    post_status_update(commitment, secretariat, progress=None, narrative="Someone else's.")
    commitment.refresh_from_db()
    before = StatusUpdate.objects.count()

    response = token_client(secretariat).post(
        url(commitment), update(commitment, version=read_version), format="json"
    )

    assert response.status_code == 409, response.json()
    assert response.json()["current_version"] == commitment.version
    assert StatusUpdate.objects.count() == before


def test_a_stale_version_is_409_whatever_else_is_refused(secretariat, commitment):
    read_version = commitment.version
    post_status_update(commitment, secretariat, narrative="Someone else's update.")
    commitment.refresh_from_db()

    response = token_client(secretariat).post(
        url(commitment),
        update(commitment, version=read_version, happened_on="2026-03-11"),
        format="json",
    )

    assert response.status_code == 409, response.json()
    assert response.json()["current_version"] == commitment.version


def test_a_retired_commitment_refuses_the_update(secretariat, commitment):
    Commitment.objects.filter(pk=commitment.pk).update(retired_on=datetime.date(2026, 1, 5))
    before = StatusUpdate.objects.count()

    response = token_client(secretariat).post(url(commitment), update(commitment), format="json")

    assert response.status_code == 409
    assert "was retired on 5 January 2026" in response.json()["detail"]
    assert StatusUpdate.objects.count() == before


def test_an_unknown_commitment_is_404(secretariat, commitment):
    commitment.slug = "no-such-commitment"

    response = token_client(secretariat).post(url(commitment), update(commitment), format="json")

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["liaison", "contributor"])
def test_only_the_secretariat_writes(request, commitment, who):
    user = request.getfixturevalue("liaison") if who == "liaison" else ContributorFactory()
    before = StatusUpdate.objects.count()

    response = token_client(user).post(url(commitment), update(commitment), format="json")

    assert response.status_code == 403
    assert "Only the secretariat writes the record" in response.json()["detail"]
    assert StatusUpdate.objects.count() == before


def test_an_anonymous_post_is_asked_for_a_token(commitment, settings):
    settings.TRACKER_PUBLIC_SITE = True
    before = StatusUpdate.objects.count()

    response = APIClient().post(url(commitment), update(commitment), format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert StatusUpdate.objects.count() == before


def test_the_write_is_in_the_audit_trail_under_the_tokens_owner(secretariat, commitment):
    client = token_client(secretariat)

    response = client.post(
        url(commitment), update(commitment), format="json", REMOTE_ADDR="203.0.113.7"
    )

    posted = LogEntry.objects.get_for_object(
        StatusUpdate.objects.get(pk=response.json()["update"]["id"])
    )
    assert [(entry.actor, entry.remote_addr) for entry in posted] == [(secretariat, "203.0.113.7")]
    trail = [
        s for entry in audit_entries_for(commitment, viewer=secretariat) for s in entry.sentences
    ]
    assert any(sentence.endswith("by officer") and "Progress" in sentence for sentence in trail), (
        trail
    )


def test_json_nested_too_deeply_is_400_with_a_message_and_writes_nothing(secretariat, commitment):
    client = token_client(secretariat)
    version = commitment.version
    body = "[" * 100_000 + "]" * 100_000

    response = client.post(url(commitment), body, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    commitment.refresh_from_db()
    assert commitment.version == version
