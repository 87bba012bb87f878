import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from commitments.forms import StatusUpdateForm
from commitments.models import StatusUpdate
from commitments.statuses import Status

TODAY = datetime.date(2025, 12, 12)


def make_form(files=None, **overrides):
    data = {
        "status": Status.ACHIEVED,
        "progress": "100",
        "progress_reason": "As the latest report says.",
        "happened_on": "2025-12-12",
        "narrative": "The forum took place in Ashgabat.",
        "visibility": StatusUpdate.Visibility.PUBLIC,
        "version": "3",
    }
    return StatusUpdateForm(data | overrides, files or {}, today=TODAY)


def test_valid_input_becomes_the_services_arguments():
    form = make_form(
        link_1_title=" Ashgabat Declaration ",
        link_1_url="https://example.org/declaration",
        link_3_title="MFA",
        link_3_url="https://example.org/mfa",
    )

    assert form.is_valid(), form.errors
    arguments = form.service_arguments()
    assert arguments["expected_version"] == 3
    assert arguments["happened_on"] == TODAY
    assert arguments["links"] == [
        ("Ashgabat Declaration", "https://example.org/declaration"),
        ("MFA", "https://example.org/mfa"),
    ]
    assert arguments["upload"] is None


def test_today_is_allowed_and_tomorrow_is_not():
    assert make_form(happened_on="2025-12-12").is_valid()

    tomorrow = make_form(happened_on="2025-12-13")

    assert not tomorrow.is_valid()
    assert "12 December 2025 or an earlier date" in tomorrow.errors["happened_on"][0]


def test_history_from_years_ago_is_allowed():
    assert make_form(happened_on="2021-04-16").is_valid()


@pytest.mark.parametrize("progress", ["-1", "101", "half"])
def test_progress_must_be_0_to_100(progress):
    assert "progress" in make_form(progress=progress).errors


def test_a_status_outside_the_vocabulary_is_refused():
    assert "status" in make_form(status="done").errors


def test_the_version_is_required():
    assert "version" in make_form(version="").errors


def test_a_link_needs_a_title_and_a_title_needs_a_link():
    form = make_form(link_1_url="https://example.org/a", link_2_title="Orphan title")

    assert "link_1_title" in form.errors
    assert "link_2_url" in form.errors


def test_a_file_of_an_allowed_type_passes(settings):
    settings.EVIDENCE_ALLOWED_EXTENSIONS = ["pdf"]
    upload = SimpleUploadedFile("Resolution.PDF", b"%PDF-1.7")

    form = make_form(files={"evidence_file": upload})

    assert form.is_valid(), form.errors
    assert form.service_arguments()["upload"] is upload


def test_a_file_of_another_type_is_refused_whatever_the_browser_claims(settings):
    settings.EVIDENCE_ALLOWED_EXTENSIONS = ["pdf", "png"]
    upload = SimpleUploadedFile("script.svg", b"<svg/>", content_type="application/pdf")

    form = make_form(files={"evidence_file": upload})

    assert form.errors["evidence_file"] == [
        "Files of type “.svg” cannot be attached. Allowed types: pdf, png."
    ]


def test_a_file_over_the_limit_is_refused(settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", b"x" * 1025)

    form = make_form(files={"evidence_file": upload})

    assert "the limit is 1.0\xa0KB" in form.errors["evidence_file"][0]


def test_the_file_field_says_what_is_accepted(settings):
    settings.EVIDENCE_ALLOWED_EXTENSIONS = ["pdf", "PNG"]
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 2 * 1024 * 1024

    field = StatusUpdateForm(today=TODAY)["evidence_file"]

    assert field.field.widget.attrs["accept"] == ".pdf,.png"
    assert "Types: .pdf, .png; up to 2.0\xa0MB." in field.help_text
