"""A visitor's expensive downloads, limited per client address (core.public_downloads,
docs/public-site.md#downloads): the table's exports and the PDF report."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CommitmentFactory, DocumentFactory, LiaisonFactory, ParagraphFactory

VISITOR, NEIGHBOUR = "203.0.113.5", "198.51.100.7"
TABLE = "/commitments/"


@pytest.fixture
def site(db, settings, time_machine):
    """The public site on, two downloads a minute, 45 seconds into 12:00 UTC."""
    settings.TRACKER_PUBLIC_SITE = True
    settings.TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE = 2
    time_machine.move_to(datetime.datetime(2026, 3, 5, 12, 0, 45, tzinfo=datetime.UTC), tick=False)
    document = DocumentFactory(short_name="ashgabat-2020")
    CommitmentFactory(paragraphs=[ParagraphFactory(document=document)])
    return document


def visitor(address: str = VISITOR) -> Client:
    return Client(REMOTE_ADDR=address)


def test_a_visitor_over_the_limit_is_told_when_to_try_again(site):
    client = visitor()
    assert client.get(TABLE + "?_export=csv").status_code == 200
    assert client.get(TABLE + "?status=in_progress&_export=xlsx").status_code == 200

    refused = client.get(TABLE + "?_export=csv")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "15"  # the minute ends at 12:01:00
    page = refused.content.decode()
    assert "Try again in 15 seconds, at 12:01:00 UTC." in page
    assert "Too many downloads" in page and 'class="error-page"' in page
    assert "Content-Disposition" not in refused
    assert "public" not in refused["Cache-Control"]


def test_the_limit_is_per_address_and_spares_the_pages(site):
    client = visitor()
    for _ in range(2):
        client.get(TABLE + "?_export=csv")

    assert client.get(TABLE + "?_export=csv").status_code == 429
    assert visitor(NEIGHBOUR).get(TABLE + "?_export=csv").status_code == 200
    assert client.get(TABLE + "?status=in_progress").status_code == 200  # the table itself


def test_the_next_minute_opens_again(site, time_machine):
    client = visitor()
    for _ in range(2):
        client.get(TABLE + "?_export=csv")
    assert client.get(TABLE + "?_export=csv").status_code == 429

    time_machine.move_to(datetime.datetime(2026, 3, 5, 12, 1, tzinfo=datetime.UTC), tick=False)

    assert client.get(TABLE + "?_export=csv").status_code == 200


def test_logged_in_people_are_not_limited(site):
    client = visitor()
    client.force_login(LiaisonFactory())

    for _ in range(4):
        assert client.get(TABLE + "?_export=csv").status_code == 200


def test_the_pdf_report_counts_with_the_exports(site, settings):
    settings.TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE = 1
    client = visitor()
    pdf = reverse("commitments:document_report_pdf", kwargs={"short_name": site.short_name})

    assert client.get(pdf).status_code == 200
    assert client.get(pdf).status_code == 429
    assert client.get(TABLE + "?_export=csv").status_code == 429
    report = reverse("commitments:document_report", kwargs={"short_name": site.short_name})
    assert client.get(report).status_code == 200  # the HTML report is a page, not limited


def test_no_limit_when_the_setting_is_zero(site, settings):
    settings.TRACKER_PUBLIC_DOWNLOADS_PER_MINUTE = 0
    client = visitor()

    for _ in range(4):
        assert client.get(TABLE + "?_export=csv").status_code == 200


def test_the_refusal_is_in_russian(site):
    client = visitor()
    for _ in range(2):
        client.get(TABLE + "?_export=csv")

    page = client.get(TABLE + "?_export=csv", HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Попробуйте снова через 15 с, в 12:01:00 UTC." in page
