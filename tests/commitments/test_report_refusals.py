"""Reports refused without a 500: on a commitment retired since, and with a day before the
commitment's document was adopted (commitments.submissions)."""

import datetime

import pytest
from django.urls import reverse

from commitments import services, submissions
from commitments.models import Commitment, StatusUpdate, SubmittedReport
from tests.commitments.test_submissions import draft, form_data, submitted
from tests.factories import CommitmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def commitment(liaison):
    return CommitmentFactory(title="A UN office", lead_actors=[liaison.actor])


def retire(commitment, by) -> None:
    fresh = Commitment.objects.get(pk=commitment.pk)
    services.commitment_retire(
        commitment=fresh,
        expected_version=fresh.version,
        reason="Merged into another commitment.",
        retired_by=by,
        retired_on=datetime.date(2022, 1, 1),
    )


def test_publishing_a_report_on_a_commitment_retired_since_is_refused(
    secretariat_client, commitment, liaison, secretariat
):
    report = submitted(commitment, liaison)
    retire(commitment, secretariat)

    response = secretariat_client.post(
        reverse("commitments:report_publish", args=[report.pk]), {"version": report.version}
    )

    assert response.status_code == 409
    assert "was retired" in response.content.decode()
    assert not StatusUpdate.objects.exists()
    report.refresh_from_db()
    assert report.state == SubmittedReport.State.SUBMITTED


def test_a_publish_racing_the_retirement_is_refused(commitment, liaison, secretariat, monkeypatch):
    """The commitment retired between the check and the update: the update's own lock says so."""
    report = submitted(commitment, liaison)
    retire(commitment, secretariat)
    # The race: the check saw it open.
    monkeypatch.setattr(submissions, "_commitment_open_check", lambda report: None)
    with pytest.raises(submissions.ReportRefused):
        submissions.report_publish(
            report=report, reviewer=secretariat, expected_version=report.version
        )
    assert not StatusUpdate.objects.exists()


def test_a_draft_on_a_retired_commitment_is_neither_edited_nor_submitted(
    liaison_client, commitment, liaison, secretariat
):
    report = draft(commitment, liaison)
    retire(commitment, secretariat)

    edit = liaison_client.post(
        reverse("commitments:report_edit", args=[report.pk]), form_data(narrative="Changed.")
    )
    submit = liaison_client.post(
        reverse("commitments:report_submit", args=[report.pk]), {"version": report.version}
    )

    assert (edit.status_code, submit.status_code) == (409, 409)
    assert "was retired" in submit.content.decode()
    assert (
        liaison_client.get(reverse("commitments:report_edit", args=[report.pk])).status_code == 409
    )
    report.refresh_from_db()
    assert (report.state, report.narrative, report.version) == ("draft", "Held.", 1)


@pytest.mark.parametrize("day", ["0001-01-01", "2020-12-11"])
def test_a_report_dated_before_the_document_was_adopted_is_refused(liaison_client, commitment, day):
    """The factory's document was adopted on 12 December 2020."""
    response = liaison_client.post(
        reverse("commitments:report_create", args=[commitment.slug]), form_data(happened_on=day)
    )

    assert response.status_code == 400
    assert "when the document was adopted" in response.content.decode()
    assert not SubmittedReport.objects.exists()


def test_a_report_dated_the_adoption_day_is_accepted(liaison_client, commitment):
    response = liaison_client.post(
        reverse("commitments:report_create", args=[commitment.slug]),
        form_data(happened_on="2020-12-12"),
    )

    assert response.status_code == 302


def test_a_report_dated_in_the_future_is_refused(liaison_client, commitment):
    response = liaison_client.post(
        reverse("commitments:report_create", args=[commitment.slug]),
        form_data(happened_on="2999-01-01"),
    )

    assert response.status_code == 400
    assert not SubmittedReport.objects.exists()


def test_an_edit_to_a_day_before_adoption_is_refused(liaison_client, commitment, liaison):
    report = draft(commitment, liaison)

    response = liaison_client.post(
        reverse("commitments:report_edit", args=[report.pk]), form_data(happened_on="1990-01-01")
    )

    assert response.status_code == 400
    report.refresh_from_db()
    assert (report.happened_on, report.version) == (datetime.date(2021, 5, 1), 1)
