"""What curating refuses, with a message saying why, and writes nothing: milestones of a
retired commitment, a dependency on one, contradictory relations and links, a commitment
related to itself."""

import datetime

import pytest
from django.urls import reverse

from commitments import services
from commitments.models import CommitmentRelation, DocumentLink, Milestone
from tests.commitments.test_milestones import add
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

DEPENDS_ON = CommitmentRelation.Kind.DEPENDS_ON
SUPERSEDED_BY = CommitmentRelation.Kind.SUPERSEDED_BY


def retire(commitment, by):
    commitment.refresh_from_db()
    services.commitment_retire(
        commitment=commitment,
        expected_version=commitment.version,
        reason="Merged into the regional centre.",
        retired_by=by,
        retired_on=datetime.date(2026, 12, 1),
    )
    commitment.refresh_from_db()
    return commitment


@pytest.fixture
def retired(db, secretariat):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    commitment = CommitmentFactory(title="Old centre", paragraphs=[paragraph])
    milestone = add(commitment, secretariat, "Charter drafted")
    retire(commitment, secretariat)
    milestone.refresh_from_db()
    commitment.milestone = milestone
    return commitment


def test_a_retired_commitment_takes_no_milestone(secretariat_client, retired):
    url = reverse("commitments:milestone_add", args=[retired.slug])

    response = secretariat_client.post(url, {"title": "Late step", "weight": 1})

    assert response.status_code == 409
    assert "This commitment was retired on 1 December 2026" in response.content.decode()
    assert secretariat_client.get(url).status_code == 409
    assert Milestone.objects.filter(commitment=retired).count() == 1


@pytest.mark.parametrize(
    "name, data",
    [
        ("milestone_edit", {"title": "x", "weight": 1}),
        ("milestone_done", {"done_on": "2022-01-01", "evidence_url": "https://example.org"}),
        ("milestone_not_done", {}),
        ("milestone_move", {"direction": "up"}),
        ("milestone_delete", {}),
    ],
)
def test_a_retired_commitments_milestones_take_no_change(secretariat_client, retired, name, data):
    milestone = retired.milestone
    url = reverse(f"commitments:{name}", args=[milestone.pk])

    response = secretariat_client.post(url, data | {"version": milestone.version})

    assert response.status_code == 409
    saved = Milestone.objects.get(pk=milestone.pk)
    assert (saved.title, saved.done_on, saved.version) == ("Charter drafted", None, 1)


def test_a_retired_commitments_page_offers_no_milestone_buttons(secretariat_client, retired):
    html = secretariat_client.get(retired.get_absolute_url()).content.decode()

    assert "Charter drafted" in html
    assert reverse("commitments:milestone_add", args=[retired.slug]) not in html
    assert reverse("commitments:milestone_edit", args=[retired.milestone.pk]) not in html
    assert "Dec. 1, 2026" not in html and "1 December 2026" in html


def test_the_retired_refusal_writes_the_day_as_the_site_does(retired):
    assert "retired on 1 December 2026," in services.retired_refusal_message(retired)


def relate(client, source, target, kind=DEPENDS_ON):
    url = reverse("commitments:commitment_relation_add", kwargs={"slug": source.slug})
    return client.post(url, {"to_commitment": target.slug, "kind": kind})


def test_nothing_can_depend_on_a_retired_commitment(secretariat_client, retired):
    forum = CommitmentFactory(title="Forum")

    response = relate(secretariat_client, forum, retired)

    assert response.status_code == 400
    assert "“Old centre” was retired on 1 December 2026" in response.content.decode()
    assert not CommitmentRelation.objects.exists()
    # Pointing the retired one at its successor is what retiring asks for.
    assert relate(secretariat_client, retired, forum, SUPERSEDED_BY).status_code == 302


def test_two_commitments_cannot_supersede_each_other(secretariat_client):
    a, b, c = (CommitmentFactory(title=t) for t in ("Alpha", "Beta", "Gamma"))
    assert relate(secretariat_client, a, b, SUPERSEDED_BY).status_code == 302

    reverse_link = relate(secretariat_client, b, a, SUPERSEDED_BY)
    assert reverse_link.status_code == 400
    assert "“Alpha” is superseded by “Beta”" in reverse_link.content.decode()

    assert relate(secretariat_client, b, c, SUPERSEDED_BY).status_code == 302
    circle = relate(secretariat_client, c, a, SUPERSEDED_BY)
    assert circle.status_code == 400
    assert "“Alpha” is superseded by “Beta” is superseded by “Gamma”" in circle.content.decode()
    assert CommitmentRelation.objects.count() == 2


def test_a_commitment_related_to_itself_is_told_so(secretariat_client):
    alpha = CommitmentFactory(title="Alpha")

    response = relate(secretariat_client, alpha, alpha, CommitmentRelation.Kind.RELATED_TO)

    assert response.status_code == 400
    html = response.content.decode()
    assert "A commitment cannot relate to itself." in html
    assert "Select a valid choice" not in html
    assert not CommitmentRelation.objects.exists()


@pytest.mark.parametrize("kind", ["follows_up", "implements", "supersedes"])
def test_a_document_link_and_its_reverse_cannot_both_hold(secretariat_client, kind):
    treaty = DocumentFactory(short_name="t", title="Treaty")
    other = DocumentFactory(short_name="x", title="Programme")

    def link(source, target):
        url = reverse("commitments:document_link_create", kwargs={"short_name": source.short_name})
        return secretariat_client.post(url, {"to_document": target.pk, "kind": kind})

    assert link(treaty, other).status_code == 302
    response = link(other, treaty)

    assert response.status_code == 400
    assert "This contradicts a link that exists: “Treaty”" in response.content.decode()
    assert DocumentLink.objects.count() == 1
