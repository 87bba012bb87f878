"""Reports from states' liaisons and contributors: drafts, submission, review, the
conversation, and every refusal (commitments.submissions, commitments.submission_views)."""

import datetime

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from commitments import milestones, services, submissions
from commitments.models import Commitment, Source, StatusUpdate, SubmittedReport
from core import caching
from tests.factories import CommitmentFactory, ContributorFactory, LiaisonFactory

DAY = datetime.date(2021, 5, 1)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def commitment(liaison):
    return CommitmentFactory(title="A UN office", lead_actors=[liaison.actor])


@pytest.fixture
def contributor(db):
    return ContributorFactory(username="researcher", actor__name="Neutrality Institute")


def form_data(**extra) -> dict:
    data = {
        "version": 1,
        "status": "in_progress",
        "progress": 40,
        "progress_reason": "2 of 5 workshops",
        "happened_on": DAY.isoformat(),
        "narrative": "Workshops held.",
    }
    return data | extra


def draft(commitment, author, **values) -> SubmittedReport:
    values = {"status": "in_progress", "progress": 40, "happened_on": DAY, "narrative": "Held."}
    return submissions.report_create(commitment=commitment, author=author, values=values)


def submitted(commitment, author) -> SubmittedReport:
    report = draft(commitment, author)
    return submissions.report_submit(report=report, expected_version=report.version)


def exported(client) -> bytes:
    response = client.get(reverse("commitments:commitment_list") + "?_export=csv")
    return b"".join(response.streaming_content)


def state_of(commitment) -> tuple:
    fresh = Commitment.objects.get(pk=commitment.pk)
    return (fresh.status, fresh.progress, fresh.public_status, fresh.public_progress)


# --- Writing and submitting -------------------------------------------------------------------


def test_a_liaison_writes_a_draft_then_submits_it(liaison_client, commitment):
    response = liaison_client.post(
        reverse("commitments:report_create", args=[commitment.slug]), form_data()
    )

    report = SubmittedReport.objects.get()
    assert response.status_code == 302
    assert (report.state, report.reporter.name, report.source) == (
        "draft",
        "Turkmenistan",
        "official",
    )
    response = liaison_client.post(
        reverse("commitments:report_submit", args=[report.pk]), {"version": 1}
    )
    report.refresh_from_db()
    assert report.state == "submitted" and report.submitted_at is not None


def test_nothing_a_liaison_submits_changes_the_record(liaison_client, commitment, liaison):
    before = state_of(commitment)
    generation = caching.generation(caching.RECORD)
    page = liaison_client.get(commitment.get_absolute_url()).content.decode()
    csv = exported(liaison_client)

    report = draft(commitment, liaison)
    submissions.report_submit(report=report, expected_version=report.version)

    assert state_of(commitment) == before
    assert caching.generation(caching.RECORD) == generation
    assert StatusUpdate.objects.count() == 0
    assert exported(liaison_client) == csv
    assert "Held." not in page


def test_a_liaison_cannot_report_on_another_states_commitment(liaison_client, liaison):
    elsewhere = CommitmentFactory(lead_actors=[LiaisonFactory().actor])

    url = reverse("commitments:report_create", args=[elsewhere.slug])

    assert liaison_client.get(url).status_code == 403
    assert liaison_client.post(url, form_data()).status_code == 403
    assert not SubmittedReport.objects.exists()
    with pytest.raises(PermissionError):
        draft(elsewhere, liaison)


def test_a_submitted_report_is_not_edited(liaison_client, commitment, liaison):
    report = submitted(commitment, liaison)

    response = liaison_client.post(
        reverse("commitments:report_edit", args=[report.pk]),
        form_data(version=report.version, narrative="Changed."),
    )

    assert response.status_code == 409
    assert "cannot be changed" in response.content.decode()
    report.refresh_from_db()
    assert report.narrative == "Held." and report.state == "submitted"


def test_a_stale_version_writes_nothing(liaison_client, commitment, liaison):
    report = draft(commitment, liaison)
    submissions.report_update(report=report, expected_version=1, values={"narrative": "Newer."})

    response = liaison_client.post(
        reverse("commitments:report_edit", args=[report.pk]), form_data(narrative="Older.")
    )

    assert response.status_code == 409
    report.refresh_from_db()
    assert report.narrative == "Newer."


def test_a_file_of_a_refused_type_is_refused(liaison_client, commitment):
    upload = SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream")

    response = liaison_client.post(
        reverse("commitments:report_create", args=[commitment.slug]),
        form_data(evidence_file=upload),
    )

    assert response.status_code == 400
    assert "cannot be attached" in response.content.decode()
    assert not SubmittedReport.objects.exists()


def test_where_milestones_compute_progress_a_report_names_a_milestone(
    liaison, commitment, secretariat
):
    milestones.milestone_create(commitment=commitment, author=secretariat, title="Office", weight=1)
    values = {
        "status": "in_progress",
        "progress": 90,
        "milestone_note": "Office",
        "happened_on": DAY,
        "narrative": "Open.",
    }

    report = submissions.report_create(commitment=commitment, author=liaison, values=values)

    assert report.progress is None and report.milestone_note == "Office"


# --- Who reads a report -----------------------------------------------------------------------


def test_a_liaison_of_another_state_finds_neither_report_nor_conversation(
    client, commitment, liaison
):
    report = submitted(commitment, liaison)
    submissions.report_comment_add(report=report, author=liaison, text="Our minister attended.")
    client.force_login(LiaisonFactory())

    assert client.get(report.get_absolute_url()).status_code == 404
    response = client.post(reverse("commitments:report_comment", args=[report.pk]), {"text": "Hi"})
    assert response.status_code == 404
    assert report.comments.count() == 1


def test_a_colleague_of_the_same_state_reads_the_conversation(
    client, commitment, liaison, secretariat
):
    report = submitted(commitment, liaison)
    submissions.report_comment_add(report=report, author=secretariat, text="Which date?")
    client.force_login(LiaisonFactory(actor=liaison.actor))

    response = client.get(report.get_absolute_url())

    assert response.status_code == 200
    assert "Which date?" in response.content.decode()


def test_the_secretariat_does_not_see_drafts(secretariat_client, commitment, liaison):
    report = draft(commitment, liaison)

    assert secretariat_client.get(report.get_absolute_url()).status_code == 404


# --- Review -----------------------------------------------------------------------------------


def test_publishing_makes_an_attributed_public_update(
    secretariat_client, commitment, liaison, secretariat, django_capture_on_commit_callbacks
):
    report = submitted(commitment, liaison)

    with django_capture_on_commit_callbacks(execute=True):
        response = secretariat_client.post(
            reverse("commitments:report_publish", args=[report.pk]), {"version": report.version}
        )

    assert response.status_code == 302
    update = StatusUpdate.objects.get()
    assert (update.reported_by, update.reviewed_by, update.source) == (
        liaison.actor,
        secretariat,
        "official",
    )
    assert update.visibility == "public"
    assert state_of(commitment) == ("in_progress", 40, "in_progress", 40)
    page = secretariat_client.get(commitment.get_absolute_url()).content.decode()
    assert "Reported by Turkmenistan, reviewed by officer." in page
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [liaison.email]
    assert "published" in mail.outbox[0].subject


def test_publishing_twice_is_refused(secretariat_client, commitment, liaison, secretariat):
    report = submitted(commitment, liaison)
    url = reverse("commitments:report_publish", args=[report.pk])
    secretariat_client.post(url, {"version": report.version})

    response = secretariat_client.post(url, {"version": report.version + 1})

    assert response.status_code == 409
    assert StatusUpdate.objects.count() == 1
    with pytest.raises(submissions.ReportRefused):
        submissions.report_publish(report=report, reviewer=secretariat, expected_version=3)


def test_returning_asks_the_author_who_edits_and_resubmits(
    secretariat_client, client, commitment, liaison, django_capture_on_commit_callbacks
):
    report = submitted(commitment, liaison)

    with django_capture_on_commit_callbacks(execute=True):
        response = secretariat_client.post(
            reverse("commitments:report_return", args=[report.pk]),
            {"version": report.version, "comment": "Add the date of the opening."},
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "Add the date" in mail.outbox[0].body
    client.force_login(liaison)
    assert (
        "Add the date of the opening."
        in client.get(reverse("commitments:report_mine")).content.decode()
    )
    report.refresh_from_db()
    edit = client.post(
        reverse("commitments:report_edit", args=[report.pk]),
        form_data(version=report.version, narrative="Opened on 1 May."),
    )
    assert edit.status_code == 302
    report.refresh_from_db()
    submissions.report_submit(report=report, expected_version=report.version)
    assert SubmittedReport.objects.get().state == "submitted"


def test_a_return_email_is_in_the_authors_language(
    commitment, liaison, secretariat, django_capture_on_commit_callbacks
):
    liaison.language = "ru"
    liaison.save()
    report = submitted(commitment, liaison)

    with django_capture_on_commit_callbacks(execute=True):
        submissions.report_return(
            report=report, reviewer=secretariat, comment="Дата?", expected_version=report.version
        )

    assert "возвращ" in mail.outbox[0].subject.lower()


# --- Contributors -----------------------------------------------------------------------------


def test_a_contributors_published_report_is_shown_apart_and_never_the_state(
    client, commitment, contributor, secretariat
):
    services.status_update_create(
        commitment=commitment,
        author=secretariat,
        status="in_progress",
        progress=30,
        progress_reason="start",
        narrative="Official.",
        happened_on=datetime.date(2021, 4, 1),
    )
    before = state_of(commitment)
    report = draft(commitment, contributor)
    report = submissions.report_submit(report=report, expected_version=report.version)
    report.status = "achieved"
    submissions.report_publish(report=report, reviewer=secretariat, expected_version=report.version)

    assert state_of(commitment) == before
    update = StatusUpdate.objects.get(source=Source.CONTRIBUTOR)
    assert update.reported_by == contributor.actor
    client.force_login(LiaisonFactory())
    page = client.get(commitment.get_absolute_url()).content.decode()
    other_sources = page[page.index('id="other-sources"') :]
    assert "Reported by Neutrality Institute" in other_sources
    assert "Reported by Neutrality Institute" not in page[: page.index('id="other-sources"')]


def test_a_contributor_never_reads_internal_updates(client, commitment, contributor, secretariat):
    services.status_update_create(
        commitment=commitment,
        author=secretariat,
        status="achieved",
        progress=100,
        progress_reason="done",
        narrative="Secret note.",
        happened_on=DAY,
        visibility=StatusUpdate.Visibility.INTERNAL,
    )
    client.force_login(contributor)
    pages = [
        commitment.get_absolute_url(),
        reverse("dashboard"),
        reverse("commitments:commitment_list"),
        reverse("commitments:commitment_list") + "?_export=csv",
        commitment.lead_actors.get().get_absolute_url(),
        reverse("commitments:commitment_list") + "?q=Secret",
    ]
    for url in pages:
        response = client.get(url)
        content = response.streaming_content if response.streaming else [response.content]
        body = b"".join(content).decode()
        assert "Secret note." not in body, url
        if url == pages[0]:  # rendered: asked again, it is served as kept, with no context
            assert not response.context["internal_reader"]


def test_a_contributor_reports_on_any_commitment(client, contributor):
    anywhere = CommitmentFactory()
    client.force_login(contributor)

    response = client.post(reverse("commitments:report_create", args=[anywhere.slug]), form_data())

    assert response.status_code == 302
    assert SubmittedReport.objects.get().source == "contributor"


# --- Query counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 20])
def test_the_review_queue_reads_in_constant_queries(
    secretariat_client, liaison, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        submitted(CommitmentFactory(lead_actors=[liaison.actor]), liaison)

    with django_assert_max_num_queries(9):
        response = secretariat_client.get(reverse("commitments:report_queue"))

    assert response.content.decode().count("/reports/") >= rows


@pytest.mark.parametrize("rows", [2, 20])
def test_my_reports_reads_in_constant_queries(
    liaison_client, liaison, rows, django_assert_max_num_queries
):
    for _ in range(rows):
        draft(CommitmentFactory(lead_actors=[liaison.actor]), liaison)

    with django_assert_max_num_queries(8):
        response = liaison_client.get(reverse("commitments:report_mine"))

    assert response.content.decode().count("Edit it") == rows


def test_the_queue_counts_the_reports_waiting(secretariat_client, commitment, liaison, secretariat):
    assert "Reports to review" in secretariat_client.get(reverse("dashboard")).content.decode()
    report = submitted(commitment, liaison)

    page = secretariat_client.get(reverse("commitments:report_queue")).content.decode()
    assert '<span class="badge count">1</span>' in page
    submissions.report_publish(report=report, reviewer=secretariat, expected_version=report.version)
    page = secretariat_client.get(reverse("commitments:report_queue")).content.decode()
    assert '<span class="badge count">0</span>' in page
