"""Corrections and withdrawals of status updates: new rows that amend an update, never edit it;
the commitment's state (both audiences), the report, the charts and search follow."""

import datetime

import pytest

from commitments import selectors, services
from commitments.models import StatusUpdate
from commitments.statuses import Status
from tests.factories import CommitmentFactory, LiaisonFactory
from tests.factories import post_status_update as post

PUBLIC, INTERNAL = StatusUpdate.Visibility.PUBLIC, StatusUpdate.Visibility.INTERNAL


@pytest.fixture
def commitment(db):
    return CommitmentFactory()


def correct(update, author, **fields):
    defaults = {
        "status": Status.ACHIEVED,
        "progress": 100,
        "narrative": "The office opened.",
        "reason": "The date of the opening was misread.",
        "expected_version": update.commitment.version,
    }
    return services.status_update_correct(update=update, author=author, **defaults | fields)


def withdraw(update, author, **fields):
    defaults = {"reason": "Posted on the wrong commitment.", "expected_version": None}
    defaults["expected_version"] = update.commitment.version
    return services.status_update_withdraw(update=update, author=author, **defaults | fields)


def state(commitment):
    commitment.refresh_from_db()
    return (commitment.status, commitment.progress), (
        commitment.public_status,
        commitment.public_progress,
    )


def test_a_correction_becomes_the_state_and_keeps_the_original(commitment, secretariat):
    original = post(commitment, secretariat, links=[("Old", "https://example.org/old")])

    correction = correct(original, secretariat, links=[("New", "https://example.org/new")])

    assert state(commitment) == ((Status.ACHIEVED, 100), (Status.ACHIEVED, 100))
    assert correction.amends == original
    assert correction.happened_on == original.happened_on
    assert correction.visibility == original.visibility
    original.refresh_from_db()
    assert (original.status, original.narrative) == (
        Status.IN_PROGRESS,
        "Draft resolution circulated.",
    )
    assert [link.title for link in correction.links.all()] == ["New"]
    assert commitment.version == 3


def test_a_withdrawal_leaves_the_previous_update_as_the_state(commitment, secretariat):
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=20)
    later = post(
        commitment,
        secretariat,
        status=Status.STALLED,
        progress=30,
        happened_on=datetime.date(2021, 6, 1),
    )

    withdraw(later, secretariat)

    assert state(commitment) == ((Status.IN_PROGRESS, 20), (Status.IN_PROGRESS, 20))
    commitment.refresh_from_db()
    assert commitment.last_activity_on == datetime.date(2021, 3, 1)


def test_a_withdrawn_public_update_leaves_the_liaisons_state_only(commitment, secretariat):
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=20)
    public = post(
        commitment,
        secretariat,
        status=Status.ACHIEVED,
        progress=100,
        happened_on=datetime.date(2021, 5, 1),
    )
    post(
        commitment,
        secretariat,
        status=Status.STALLED,
        progress=60,
        visibility=INTERNAL,
        happened_on=datetime.date(2021, 7, 1),
    )

    withdraw(public, secretariat)

    assert state(commitment) == ((Status.STALLED, 60), (Status.IN_PROGRESS, 20))


def test_an_internal_update_is_corrected_as_internal(commitment, secretariat):
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=20)
    note = post(
        commitment,
        secretariat,
        visibility=INTERNAL,
        status=Status.STALLED,
        progress=25,
        happened_on=datetime.date(2021, 6, 1),
    )

    correction = correct(note, secretariat, status=Status.NO_LONGER_PURSUED, progress=30)

    assert correction.visibility == INTERNAL
    assert state(commitment) == ((Status.NO_LONGER_PURSUED, 30), (Status.IN_PROGRESS, 20))


def test_a_stale_version_writes_nothing(commitment, secretariat):
    original = post(commitment, secretariat)
    post(commitment, secretariat, happened_on=datetime.date(2021, 4, 1))

    with pytest.raises(services.EditConflict):
        correct(original, secretariat, expected_version=2)
    with pytest.raises(services.EditConflict):
        withdraw(original, secretariat, expected_version=2)

    assert commitment.updates.count() == 2
    commitment.refresh_from_db()
    assert commitment.version == 3


def test_an_update_is_amended_once(commitment, secretariat):
    original = post(commitment, secretariat)
    correction = correct(original, secretariat)

    for amend in (correct, withdraw):
        with pytest.raises(services.AlreadyAmended) as refused:
            amend(original, secretariat)
        assert refused.value.amendment == correction
    withdrawal = withdraw(correction, secretariat)
    with pytest.raises(services.AlreadyAmended):
        withdraw(correction, secretariat)
    with pytest.raises(services.AlreadyAmended):
        correct(withdrawal, secretariat)

    assert commitment.updates.count() == 3
    assert state(commitment) == ((Status.NOT_STARTED, 0), (Status.NOT_STARTED, 0))


def test_a_correction_of_a_correction_becomes_the_state(commitment, secretariat):
    original = post(commitment, secretariat)
    first = correct(original, secretariat, progress=90, status=Status.IN_PROGRESS)

    correct(first, secretariat, progress=95, status=Status.IN_PROGRESS)

    assert state(commitment)[0] == (Status.IN_PROGRESS, 95)


def test_a_correction_keeps_the_originals_files_unless_told(
    commitment, secretariat, tmp_path, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    original = post(commitment, secretariat)
    upload = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4", content_type="application/pdf")
    services.evidence_file_attach(update=original, upload=upload)

    kept = correct(original, secretariat)
    dropped = correct(kept, secretariat, keep_files=False)

    assert [f.file.name for f in kept.files.all()] == [original.files.get().file.name]
    assert not dropped.files.exists()


def test_the_report_and_search_follow_amendments(commitment, secretariat):
    from commitments import reports
    from tests.factories import ParagraphFactory

    paragraph = ParagraphFactory()
    commitment.paragraphs.add(paragraph)
    kept = post(commitment, secretariat, status=Status.IN_PROGRESS, progress=20, narrative="kept")
    wrong = post(
        commitment,
        secretariat,
        narrative="misprinted figures",
        status=Status.ACHIEVED,
        progress=100,
        happened_on=datetime.date(2021, 4, 1),
    )
    correct(wrong, secretariat, narrative="checked figures", status=Status.IN_PROGRESS, progress=70)

    report = reports.document_report(
        short_name=paragraph.document.short_name, as_of=datetime.date(2021, 12, 31)
    )
    entry = report.paragraphs[0].commitments[0]
    assert (entry.state.status, entry.state.progress) == (Status.IN_PROGRESS, 70)
    assert entry.latest.narrative == "checked figures"
    liaison = LiaisonFactory()
    found = commitment.__class__.objects.filter(
        selectors.commitments_matching_text(user=liaison, text="misprinted")
    )
    assert not found.exists()

    withdraw(kept, secretariat)
    report = reports.document_report(
        short_name=paragraph.document.short_name, as_of=datetime.date(2021, 3, 31)
    )
    assert report.paragraphs[0].commitments[0].latest is None


def test_in_effect_reads_amendments_as_not_exists(commitment, secretariat):
    """Every "latest update" reads in_effect: as a LEFT JOIN with "IS NULL", PostgreSQL
    estimated it at one row and joined all 500,000 updates before sorting (the dashboard's
    latest updates: seconds instead of a millisecond). Corrected and withdrawn ones stay out."""
    original = post(commitment, secretariat)
    withdrawn = post(commitment, secretariat)
    correction = correct(original, secretariat)
    withdraw(withdrawn, secretariat)

    in_effect = StatusUpdate.objects.in_effect()

    sql = str(in_effect.query).upper()
    assert "NOT EXISTS" in sql or "NOT (EXISTS" in sql
    assert "LEFT OUTER JOIN" not in sql
    assert list(in_effect) == [correction]
