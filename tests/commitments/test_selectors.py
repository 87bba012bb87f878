import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commitments import selectors
from commitments.models import StatusUpdate
from commitments.services import status_update_create_with_evidence
from commitments.statuses import Status
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
)
from tests.factories import post_status_update as post

INTERNAL = StatusUpdate.Visibility.INTERNAL


@pytest.fixture
def commitment(db, secretariat):
    """Public: in progress (Mar 2021). Then internal: stalled (Jun 2021)."""
    commitment = CommitmentFactory()
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=40)
    post(
        commitment,
        secretariat,
        status=Status.STALLED,
        progress=45,
        happened_on=datetime.date(2021, 6, 1),
        visibility=INTERNAL,
    )
    return commitment


def test_a_liaison_sees_the_state_of_the_latest_public_update(commitment, liaison):
    shown = selectors.commitment_list(user=liaison).get()

    assert (shown.shown_status, shown.shown_progress) == (Status.IN_PROGRESS, 40)
    assert shown.shown_last_activity == datetime.date(2021, 3, 1)


def test_the_secretariat_sees_the_latest_update_of_any_visibility(commitment, secretariat):
    shown = selectors.commitment_list(user=secretariat).get()

    assert (shown.shown_status, shown.shown_progress) == (Status.STALLED, 45)


def test_a_commitment_with_only_internal_updates_is_not_started_for_a_liaison(liaison, secretariat):
    commitment = CommitmentFactory()
    post(commitment, secretariat, status=Status.ACHIEVED, progress=100, visibility=INTERNAL)

    shown = selectors.commitment_get(user=liaison, slug=commitment.slug)

    assert (shown.shown_status, shown.shown_progress) == (Status.NOT_STARTED, 0)
    assert shown.shown_last_activity is None


def test_the_timeline_of_a_liaison_leaves_out_internal_updates(commitment, liaison, secretariat):
    liaisons = selectors.commitment_timeline(user=liaison, commitment=commitment)
    secretariats = selectors.commitment_timeline(user=secretariat, commitment=commitment)

    assert [u.status for u in liaisons] == [Status.IN_PROGRESS]
    assert [u.status for u in secretariats] == [Status.STALLED, Status.IN_PROGRESS]


def test_an_actor_both_lead_and_supporting_appears_once(db):
    actor = ActorFactory()
    commitment = CommitmentFactory(lead_actors=[actor, ActorFactory()])
    commitment.supporting_actors.set([actor, ActorFactory()])

    involved = selectors.actor_commitment_list(user=SecretariatFactory(), actor=actor)

    assert [c.pk for c in involved] == [commitment.pk]
    assert involved[0].is_lead


def test_recent_updates_of_an_actor_respect_visibility(commitment, liaison, secretariat):
    actor = ActorFactory()
    commitment.supporting_actors.add(actor)

    for_liaison = selectors.actor_recent_updates(user=liaison, actor=actor)
    for_secretariat = selectors.actor_recent_updates(user=secretariat, actor=actor)

    assert [u.visibility for u in for_liaison] == [StatusUpdate.Visibility.PUBLIC]
    assert len(for_secretariat) == 2


def test_evidence_files_of_internal_updates_are_out_of_a_liaisons_reach(
    db, liaison, secretariat, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    update = status_update_create_with_evidence(
        commitment=CommitmentFactory(),
        author=secretariat,
        status=Status.IN_PROGRESS,
        progress=5,
        narrative="Internal scan.",
        happened_on=datetime.date(2021, 1, 1),
        visibility=INTERNAL,
        upload=SimpleUploadedFile("scan.pdf", b"%PDF"),
    )
    evidence = update.files.get()

    assert selectors.evidence_file_get(user=secretariat, pk=evidence.pk) == evidence
    with pytest.raises(type(evidence).DoesNotExist):
        selectors.evidence_file_get(user=liaison, pk=evidence.pk)


def test_filter_choices_list_only_what_commitments_use(db, secretariat, liaison):
    used_actor, used_theme = ActorFactory(), ThemeFactory()
    ActorFactory(), ThemeFactory()
    commitment = CommitmentFactory(owner=secretariat)
    commitment.supporting_actors.set([used_actor])
    commitment.themes.set([used_theme])

    assert list(selectors.filter_choices_actors()) == [used_actor]
    assert list(selectors.filter_choices_themes()) == [used_theme]
    assert list(selectors.filter_choices_owners()) == [secretariat]
    document = commitment.paragraphs.first().document
    assert list(selectors.filter_choices_documents()) == [document]
    assert list(selectors.filter_choices_paragraphs(document=document.pk)) == list(
        commitment.paragraphs.all()
    )


def test_the_actor_index_counts_each_commitment_once(db):
    actor = ActorFactory()
    for commitment in CommitmentFactory.create_batch(3, lead_actors=[actor]):
        commitment.supporting_actors.set([ActorFactory(), ActorFactory()])
    CommitmentFactory().supporting_actors.set([actor])

    counted = selectors.actor_list().get(pk=actor.pk)

    assert (counted.lead_count, counted.supporting_count) == (3, 1)


def test_the_actor_index_counts_links_from_the_actor_index_alone(db):
    """COUNT(*), which the actor_id index answers by itself on PostgreSQL; COUNT(id) read
    every link row of the 25 actors shown (43 against 15 ms at 200,000 commitments)."""
    sql = str(selectors.actor_list().query)

    assert sql.count("COUNT(*)") == 2
    assert "COUNT(U0" not in sql


def test_the_document_index_counts_each_documents_paragraphs(db):
    document = DocumentFactory()
    ParagraphFactory.create_batch(3, document=document)
    empty = DocumentFactory()

    counts = {d.pk: d.paragraph_count for d in selectors.document_list()}

    assert (counts[document.pk], counts[empty.pk]) == (3, 0)


def test_the_document_index_is_counted_without_reading_paragraphs(db, django_assert_num_queries):
    """The API's paginator counts the list: a join grouped by document made it read every
    paragraph of the record (17 ms at 50,000); the count of documents needs none."""
    with django_assert_num_queries(1) as captured:
        selectors.document_list().count()

    assert "paragraph" not in captured.captured_queries[0]["sql"]


def test_the_actor_index_counts_without_joining_both_link_tables(db):
    """Joining the lead and the supporting links together gives each actor (leads x supports)
    rows to count: 280 ms for 250 actors on the benchmark's data. A subquery per table does not."""
    sql = str(selectors.actor_list().query)

    assert "JOIN" not in sql
    assert sql.count("commitments_commitment_lead_actors") == 1
    assert sql.count("commitments_commitment_supporting_actors") == 1
