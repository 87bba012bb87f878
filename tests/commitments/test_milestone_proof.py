"""What may prove a milestone done (liaisons read milestones: only what they may read too),
what becomes of the proof when its update is corrected or withdrawn, marking a milestone not
done again, and the change history of all of it, through the pages."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from commitments.models import StatusUpdate
from commitments.services import status_update_correct, status_update_withdraw
from tests.commitments.test_milestones import add, done
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory, post_status_update

INTERNAL = StatusUpdate.Visibility.INTERNAL


@pytest.fixture
def commitment(db):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    return CommitmentFactory(title="OCHA office", paragraphs=[paragraph])


def done_url(milestone):
    return reverse("commitments:milestone_done", args=[milestone.pk])


def mark_done(client, milestone, **proof):
    milestone.refresh_from_db()
    data = {"done_on": "2022-05-01", "version": milestone.version, "evidence_url": ""} | proof
    return client.post(done_url(milestone), data)


def as_liaison(liaison):
    reader = Client()
    reader.force_login(liaison)
    return reader


def page(client, commitment) -> str:
    response = client.get(commitment.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_an_internal_update_is_refused_as_proof_and_liaisons_see_nothing_done(
    secretariat_client, liaison, secretariat, commitment
):
    internal = post_status_update(commitment, secretariat, visibility=INTERNAL)
    milestone = add(commitment, secretariat, "Host agreement signed")

    response = mark_done(secretariat_client, milestone, proved_by=internal.pk)

    assert response.status_code == 400
    assert "choose a public update or give a link, because liaisons see milestones" in (
        response.content.decode()
    )
    milestone.refresh_from_db()
    assert milestone.done_on is None and milestone.proved_by is None
    html = page(as_liaison(liaison), commitment)
    assert "Here: 0 of 1 milestones done" in html


def test_a_corrected_or_withdrawn_update_or_a_withdrawal_is_refused_as_proof(
    secretariat_client, secretariat, commitment
):
    corrected = post_status_update(commitment, secretariat)
    correct(corrected, secretariat)
    withdrawn = post_status_update(commitment, secretariat)
    withdrawal = withdraw(withdrawn, secretariat)
    milestone = add(commitment, secretariat)

    for proof in (corrected, withdrawn, withdrawal):
        response = mark_done(secretariat_client, milestone, proved_by=proof.pk)
        assert response.status_code == 400
        assert "This update was corrected or withdrawn" in response.content.decode()
    milestone.refresh_from_db()
    assert milestone.done_on is None


def test_the_proof_list_offers_this_commitments_public_updates_in_effect(
    secretariat_client, secretariat, commitment
):
    shown = post_status_update(commitment, secretariat, narrative="Shown update")
    internal = post_status_update(commitment, secretariat, visibility=INTERNAL)
    corrected = post_status_update(commitment, secretariat)
    correction = correct(corrected, secretariat)
    withdrawn = post_status_update(commitment, secretariat)
    withdrawal = withdraw(withdrawn, secretariat)
    other = post_status_update(CommitmentFactory(), secretariat)
    milestone = add(commitment, secretariat)

    html = secretariat_client.get(done_url(milestone)).content.decode()

    for offered in (shown, correction):
        assert f'<option value="{offered.pk}"' in html
    for refused in (internal, corrected, withdrawn, withdrawal, other):
        assert f'<option value="{refused.pk}"' not in html


def correct(update, author):
    update.commitment.refresh_from_db()
    return status_update_correct(
        update=update,
        author=author,
        status=update.status,
        progress=None if update.commitment.milestones.exists() else update.progress,
        narrative="As it should read.",
        reason="A typo.",
        expected_version=update.commitment.version,
    )


def withdraw(update, author):
    update.commitment.refresh_from_db()
    return status_update_withdraw(
        update=update,
        author=author,
        reason="Wrong commitment.",
        expected_version=update.commitment.version,
    )


def withdraw_page(client, update):
    return reverse("commitments:status_update_withdraw", args=[update.commitment.slug, update.pk])


def test_withdrawing_the_only_proof_of_a_done_milestone_is_refused_and_names_it(
    secretariat_client, secretariat, commitment
):
    proof = post_status_update(commitment, secretariat)
    milestone = done(
        add(commitment, secretariat, "Host agreement signed"),
        secretariat,
        evidence_url="",
        proved_by=proof,
    )
    url = withdraw_page(secretariat_client, proof)
    assert (
        "Host agreement signed: it has no other proof"
        in secretariat_client.get(url).content.decode()
    )
    commitment.refresh_from_db()

    response = secretariat_client.post(url, {"reason": "Wrong.", "version": commitment.version})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Nothing was withdrawn." in html and "Host agreement signed" in html
    assert not StatusUpdate.objects.filter(amends=proof).exists()
    milestone.refresh_from_db()
    assert milestone.proved_by == proof and milestone.done_on is not None


def test_withdrawing_a_proof_leaves_the_milestone_its_link(
    secretariat_client, secretariat, commitment
):
    proof = post_status_update(commitment, secretariat)
    milestone = done(
        add(commitment, secretariat),
        secretariat,
        evidence_url="https://example.org/signed",
        proved_by=proof,
    )
    commitment.refresh_from_db()

    response = secretariat_client.post(
        withdraw_page(secretariat_client, proof),
        {"reason": "Wrong.", "version": commitment.version},
    )

    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.proved_by is None and milestone.evidence_url == "https://example.org/signed"
    assert milestone.done_on is not None


def test_a_corrected_proof_is_handed_on_to_its_correction(secretariat, commitment):
    proof = post_status_update(commitment, secretariat)
    milestone = done(add(commitment, secretariat), secretariat, evidence_url="", proved_by=proof)

    correction = correct(proof, secretariat)

    milestone.refresh_from_db()
    assert milestone.proved_by == correction


def test_marking_done_and_not_done_is_in_the_history_and_moves_the_progress(
    secretariat_client, liaison, secretariat, commitment
):
    milestone = add(commitment, secretariat, "Centre founded")
    add(commitment, secretariat, "Second step")
    assert (
        mark_done(secretariat_client, milestone, evidence_url="https://example.org/f").status_code
        == 302
    )
    assert "Milestone &quot;Centre founded&quot; marked done on 1 May 2022" in page(
        secretariat_client, commitment
    )
    assert "Here: 1 of 2 milestones done" in page(as_liaison(liaison), commitment)
    assert "Mark not done" in secretariat_client.get(done_url(milestone)).content.decode()
    milestone.refresh_from_db()

    response = secretariat_client.post(
        reverse("commitments:milestone_not_done", args=[milestone.pk]),
        {"version": milestone.version},
    )

    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.done_on is None and milestone.evidence_url == ""
    html = page(secretariat_client, commitment)
    assert (
        "Milestone &quot;Centre founded&quot; no longer marked done (was done on 1 May 2022)"
        in html
    )
    assert "Here: 0 of 2 milestones done" in page(as_liaison(liaison), commitment)
    commitment.refresh_from_db()
    assert commitment.progress == 0


def test_an_edit_of_a_milestone_is_in_the_history(secretariat_client, secretariat, commitment):
    milestone = add(commitment, secretariat, "Centre founded")
    response = secretariat_client.post(
        reverse("commitments:milestone_edit", args=[milestone.pk]),
        {"title": "Centre opened", "weight": 2, "due_on": "", "version": milestone.version},
    )
    assert response.status_code == 302
    assert "Centre opened" in page(secretariat_client, commitment)
    html = page(secretariat_client, commitment)
    assert "Milestone &quot;Centre opened&quot;: weight changed from 1 to 2" in html


def test_marking_not_done_against_an_old_version_changes_nothing(
    secretariat_client, secretariat, commitment
):
    milestone = done(add(commitment, secretariat), secretariat)
    stale = milestone.version - 1

    response = secretariat_client.post(
        reverse("commitments:milestone_not_done", args=[milestone.pk]), {"version": stale}
    )

    assert response.status_code == 302 and response.url == done_url(milestone)
    milestone.refresh_from_db()
    assert milestone.done_on is not None
    junk = secretariat_client.post(
        reverse("commitments:milestone_not_done", args=[milestone.pk]), {"version": "x"}
    )
    assert junk.status_code == 400
