import datetime
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from commitments import reports, services
from commitments.models import Milestone, StatusUpdate
from commitments.statuses import Status
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    post_status_update,
)

pytestmark = pytest.mark.django_db

ADOPTED = datetime.date(2020, 12, 12)
AS_OF = datetime.date(2023, 12, 31)
ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture
def document():
    return DocumentFactory(short_name="ashgabat-2020", adopted_on=ADOPTED)


@pytest.fixture
def commitment(document):
    paragraph = ParagraphFactory(document=document, number=5, operative_verb="Noted")
    return CommitmentFactory(title="OCHA office in Central Asia", paragraphs=[paragraph])


def post(commitment, author, day, status, progress, narrative, **fields):
    return post_status_update(
        commitment,
        author,
        happened_on=day,
        status=status,
        progress=progress,
        narrative=narrative,
        **fields,
    )


@pytest.fixture
def history(commitment, secretariat):
    """Public progress in 2021, an internal note in 2022, public achievement in 2024."""
    post(
        commitment,
        secretariat,
        datetime.date(2021, 6, 1),
        Status.IN_PROGRESS,
        40,
        "Talks on the office began.",
        links=[("Press release", "https://example.org/talks")],
    )
    post(
        commitment,
        secretariat,
        datetime.date(2022, 3, 1),
        Status.STALLED,
        40,
        "Internal: funding unclear.",
        visibility=StatusUpdate.Visibility.INTERNAL,
    )
    post(
        commitment,
        secretariat,
        datetime.date(2024, 5, 1),
        Status.ACHIEVED,
        100,
        "The office opened in Almaty.",
    )


def only_commitment(report):
    [row] = report.paragraphs
    [item] = row.commitments
    return item


def test_report_shows_the_public_record_as_it_stood_on_the_day(history):
    report = reports.document_report(short_name="ashgabat-2020", as_of=AS_OF)

    item = only_commitment(report)
    assert item.state.status == Status.IN_PROGRESS  # not the internal "stalled", not 2024's
    assert item.latest.narrative == "Talks on the office began."
    assert [link.title for link in item.evidence.links.all()] == ["Press release"]
    counts = {count.status: count.count for count in report.status_counts}
    assert counts[Status.IN_PROGRESS] == 1 and counts[Status.ACHIEVED] == 0


def test_a_commitment_retired_by_the_day_is_in_none_of_the_rows_and_counts(
    history, commitment, secretariat
):
    """As the dashboard and the table leave retired commitments out; one retired after the
    day was in the record then."""
    retired_on = datetime.date(2023, 6, 1)
    commitment.refresh_from_db()
    services.commitment_retire(
        commitment=commitment,
        expected_version=commitment.version,
        reason="Merged into the OCHA office's own commitment.",
        retired_by=secretariat,
        retired_on=retired_on,
    )

    before = reports.document_report(short_name="ashgabat-2020", as_of=retired_on - ONE_DAY)
    on_the_day = reports.document_report(short_name="ashgabat-2020", as_of=retired_on)

    assert only_commitment(before).commitment == commitment
    assert sum(count.count for count in before.status_counts) == 1
    assert [row.commitments for row in on_the_day.paragraphs] == [[]]
    assert sum(count.count for count in on_the_day.status_counts) == 0


def test_an_update_that_happened_after_the_day_shows_from_that_day_on(history):
    report = reports.document_report(short_name="ashgabat-2020", as_of=datetime.date(2024, 5, 1))

    assert only_commitment(report).state.status == Status.ACHIEVED
    assert report.over_time_chart.rows[-1] == ("May 2024", "1")


def test_before_any_update_a_commitment_is_not_started(history):
    report = reports.document_report(short_name="ashgabat-2020", as_of=datetime.date(2021, 1, 1))

    item = only_commitment(report)
    assert item.state == reports.history.NOT_STARTED
    assert item.latest is None and item.evidence is None


def test_report_query_count_does_not_grow_with_the_document(
    document, secretariat, django_assert_num_queries
):
    for number in range(1, 6):
        paragraph = ParagraphFactory(document=document, number=number)
        for n in range(3):
            commitment = CommitmentFactory(paragraphs=[paragraph])
            post(commitment, secretariat, ADOPTED, Status.IN_PROGRESS, 10 * n, "Begun.")
            Milestone.objects.create(commitment=commitment, title="Step", due_on=AS_OF)

    # document, updates, their links, their files, paragraphs, commitments, lead actors,
    # milestones
    with django_assert_num_queries(8):
        report = reports.document_report(short_name="ashgabat-2020", as_of=AS_OF)

    assert report.total == 15


def test_report_page_never_shows_internal_or_later_updates(liaison_client, history):
    url = reverse("commitments:document_report", kwargs={"short_name": "ashgabat-2020"})

    response = liaison_client.get(url, {"as_of": "2023-12-31"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "Talks on the office began." in content
    assert "Internal: funding unclear." not in content
    assert "The office opened in Almaty." not in content
    assert 'aria-labelledby="chart-report-status-title"' in content


def test_even_the_secretariat_gets_only_public_updates(secretariat_client, history):
    url = reverse("commitments:document_report", kwargs={"short_name": "ashgabat-2020"})

    content = secretariat_client.get(url, {"as_of": "2023-12-31"}).content.decode()

    assert "Internal: funding unclear." not in content


@pytest.mark.parametrize(
    ("as_of", "message"),
    [("31/12/2023", "is not a date"), ("2999-01-01", "cannot look ahead")],
)
def test_a_bad_day_says_what_to_do(secretariat_client, document, as_of, message):
    for name in ("document_report", "document_report_pdf"):
        url = reverse(f"commitments:{name}", kwargs={"short_name": "ashgabat-2020"})
        response = secretariat_client.get(url, {"as_of": as_of})

        assert response.status_code == 400
        assert message in response.content.decode()


def test_an_unknown_document_is_404(secretariat_client):
    url = reverse("commitments:document_report", kwargs={"short_name": "no-such-document"})

    assert secretariat_client.get(url).status_code == 404


def test_pdf_is_a_real_pdf_of_the_record_as_of_the_day(liaison_client, history):
    url = reverse("commitments:document_report_pdf", kwargs={"short_name": "ashgabat-2020"})

    response = liaison_client.get(url, {"as_of": "2023-12-31"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "ashgabat-2020-report-2023-12-31.pdf" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(response.content))
    assert len(pdf.pages) > 0
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Talks on the office began." in text
    assert "funding unclear" not in text
    assert "opened in Almaty" not in text


def test_the_report_marks_what_was_overdue_or_due_soon_on_its_day(liaison_client, document):
    """The "as of" day is the day of the rule: a target missed by then is overdue, one a week
    ahead is due soon; a milestone done only after that day was still missed on it."""
    paragraph = ParagraphFactory(document=document, number=7)
    missed = CommitmentFactory(title="Missed", paragraphs=[paragraph], target_date=AS_OF)
    Milestone.objects.create(
        commitment=missed,
        title="Step",
        due_on=datetime.date(2023, 6, 1),
        done_on=datetime.date(2024, 2, 1),
    )
    CommitmentFactory(
        title="Soon", paragraphs=[paragraph], target_date=AS_OF + datetime.timedelta(days=7)
    )
    CommitmentFactory(title="Later", paragraphs=[paragraph], target_date=datetime.date(2026, 1, 1))
    url = reverse("commitments:document_report", kwargs={"short_name": "ashgabat-2020"})

    content = liaison_client.get(url, {"as_of": AS_OF.isoformat()}).content.decode()

    assert content.count('class="deadline deadline-overdue">Overdue since 1 June 2023') == 1
    assert content.count('class="deadline deadline-due_soon">Due 7 January 2024') == 1
    assert "1 January 2026" not in content


def test_the_report_gives_the_progress_of_the_milestones_done_by_its_day(liaison_client, document):
    """The written rule on the "as of" day, whatever the last update typed: weights 1 and 3,
    the first done by then (25 %), the second only after it."""
    paragraph = ParagraphFactory(document=document, number=7)
    commitment = CommitmentFactory(title="Stepwise", paragraphs=[paragraph])
    for weight, done_on in ((1, datetime.date(2023, 3, 1)), (3, datetime.date(2024, 2, 1))):
        Milestone.objects.create(commitment=commitment, title=f"Step {weight}", weight=weight,
                                 done_on=done_on)  # fmt: skip
    url = reverse("commitments:document_report", kwargs={"short_name": "ashgabat-2020"})

    on_the_day = liaison_client.get(url, {"as_of": AS_OF.isoformat()}).content.decode()
    later = liaison_client.get(url, {"as_of": "2024-02-01"}).content.decode()

    assert "Not started</span>, 25%" in on_the_day
    assert "Not started</span>, 100%" in later
