"""The pages that correct and withdraw a status update, and what each reader then sees: the
commitment page, the dashboard, the export, the report, the charts and the owner's digest."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import services
from commitments.models import StatusUpdate
from commitments.statuses import Status
from tests.factories import CommitmentFactory, ParagraphFactory
from tests.factories import post_status_update as post

INTERNAL = StatusUpdate.Visibility.INTERNAL
SECRET_REASON = "The ministry asked us to hold this back."
OPEN_REASON = "The figure was a typing error."


@pytest.fixture
def commitment(db):
    return CommitmentFactory(paragraphs=[ParagraphFactory()])


def amend_url(kind: str, update) -> str:
    name = "status_update_correct" if kind == "correct" else "status_update_withdraw"
    return reverse(f"commitments:{name}", args=[update.commitment.slug, update.pk])


def correction_form(commitment, **fields) -> dict:
    return {
        "status": Status.ACHIEVED,
        "progress": "100",
        "progress_reason": "The office opened.",
        "narrative": "The centre opened its doors.",
        "reason": OPEN_REASON,
        "keep_files": "on",
        "version": str(commitment.version),
    } | fields


def test_the_secretariat_corrects_an_update_from_its_page(
    secretariat_client, secretariat, commitment
):
    original = post(commitment, secretariat, links=[("Minutes", "https://example.org/m")])

    page = secretariat_client.get(amend_url("correct", original))
    assert page.status_code == 200
    assert page.context["form"]["link_1_url"].value() == "https://example.org/m"
    commitment.refresh_from_db()
    response = secretariat_client.post(amend_url("correct", original), correction_form(commitment))

    assert response.status_code == 302
    correction = StatusUpdate.objects.get(amends=original)
    assert (correction.status, correction.narrative) == (
        Status.ACHIEVED,
        "The centre opened its doors.",
    )
    commitment.refresh_from_db()
    assert (commitment.status, commitment.public_status) == (Status.ACHIEVED, Status.ACHIEVED)


def test_a_stale_form_is_refused_with_409_and_writes_nothing(
    secretariat_client, secretariat, commitment
):
    original = post(commitment, secretariat)
    opened_at = commitment.version
    post(commitment, secretariat, happened_on=datetime.date(2021, 5, 1))

    corrected = secretariat_client.post(
        amend_url("correct", original), correction_form(commitment, version=str(opened_at))
    )
    withdrawn = secretariat_client.post(
        amend_url("withdraw", original), {"reason": "Wrong.", "version": str(opened_at)}
    )

    assert (corrected.status_code, withdrawn.status_code) == (409, 409)
    assert b"Someone else changed this after you opened the form." in withdrawn.content
    assert not StatusUpdate.objects.filter(amends=original).exists()
    commitment.refresh_from_db()
    assert withdrawn.context["form"]["version"].value() == commitment.version


def test_an_update_amended_already_is_refused_pointing_to_the_correction(
    secretariat_client, secretariat, commitment
):
    original = post(commitment, secretariat)
    correction = services.status_update_correct(
        update=original,
        author=secretariat,
        status=Status.ACHIEVED,
        progress=100,
        narrative="Done.",
        reason="Typo.",
        expected_version=commitment.version,
    )

    page = secretariat_client.get(amend_url("withdraw", original))
    posted = secretariat_client.post(
        amend_url("withdraw", original), {"reason": "Wrong.", "version": str(commitment.version)}
    )

    assert (page.status_code, posted.status_code) == (409, 409)
    assert amend_url("correct", correction).encode() in page.content
    assert StatusUpdate.objects.filter(commitment=commitment).count() == 2


def test_a_withdrawal_needs_a_reason(secretariat_client, secretariat, commitment):
    original = post(commitment, secretariat)

    response = secretariat_client.post(
        amend_url("withdraw", original), {"reason": " ", "version": str(commitment.version)}
    )

    assert response.status_code == 400
    assert not StatusUpdate.objects.filter(amends=original).exists()


def test_an_update_of_another_commitment_is_not_found(secretariat_client, secretariat, commitment):
    original = post(commitment, secretariat)
    other = CommitmentFactory()

    url = reverse("commitments:status_update_withdraw", args=[other.slug, original.pk])

    assert secretariat_client.get(url).status_code == 404


def withdraw(update, author, *, reason=SECRET_REASON, public=False):
    update.commitment.refresh_from_db()
    return services.status_update_withdraw(
        update=update,
        author=author,
        reason=reason,
        reason_public=public,
        expected_version=update.commitment.version,
    )


@pytest.fixture
def amended_record(commitment, secretariat):
    """A public update kept, one withdrawn for an internal reason, one corrected for a public
    reason, and an internal note corrected: as both audiences then read it."""
    post(commitment, secretariat, status=Status.IN_PROGRESS, progress=20, narrative="Kept entry.")
    withdrawn = post(
        commitment,
        secretariat,
        status=Status.ACHIEVED,
        progress=100,
        narrative="Premature entry.",
        happened_on=datetime.date(2021, 6, 1),
    )
    withdraw(withdrawn, secretariat)
    corrected = post(
        commitment,
        secretariat,
        status=Status.IN_PROGRESS,
        progress=35,
        narrative="Misread entry.",
        happened_on=datetime.date(2021, 4, 1),
    )
    commitment.refresh_from_db()
    services.status_update_correct(
        update=corrected,
        author=secretariat,
        status=Status.IN_PROGRESS,
        progress=45,
        narrative="Checked entry.",
        reason=OPEN_REASON,
        reason_public=True,
        expected_version=commitment.version,
    )
    note = post(
        commitment,
        secretariat,
        visibility=INTERNAL,
        status=Status.STALLED,
        progress=45,
        narrative="Internal note.",
        happened_on=datetime.date(2021, 7, 1),
    )
    commitment.refresh_from_db()
    services.status_update_correct(
        update=note,
        author=secretariat,
        status=Status.STALLED,
        progress=40,
        narrative="Internal note, corrected.",
        reason="Internal correction reason.",
        expected_version=commitment.version,
    )
    commitment.refresh_from_db()
    return commitment


def test_a_liaison_sees_the_correction_and_the_withdrawal_never_an_internal_reason(
    liaison_client, amended_record
):
    response = liaison_client.get(amended_record.get_absolute_url())
    page = response.content.decode()

    assert "Withdrawn by the secretariat on" in page
    assert "Premature entry." in page  # the original stays visible, marked
    assert "Corrected by the secretariat on" in page and OPEN_REASON in page
    assert "Checked entry." in page
    assert SECRET_REASON not in page
    assert "Internal note" not in page and "Internal correction reason." not in page
    state = response.context["commitment"]  # a second request is served as kept, no context
    assert (state.shown_status, state.shown_progress) == (Status.IN_PROGRESS, 45)


def test_the_secretariat_sees_every_reason_and_the_links_to_amend(
    secretariat_client, amended_record
):
    response = secretariat_client.get(amended_record.get_absolute_url())
    page = response.content.decode()

    assert SECRET_REASON in page and "Internal correction reason." in page
    assert (
        response.context["commitment"].shown_status,
        response.context["commitment"].shown_progress,
    ) == (Status.STALLED, 40)
    in_effect = StatusUpdate.objects.in_effect().filter(commitment=amended_record)
    for update in in_effect:
        assert amend_url("withdraw", update) in page
    for update in StatusUpdate.objects.filter(amended_by__isnull=False):
        assert amend_url("withdraw", update) not in page


def test_the_dashboard_lists_only_what_still_holds(liaison, secretariat, amended_record):
    from tracker.selectors import dashboard_recent_updates

    for user in (liaison, secretariat):
        recent = dashboard_recent_updates(user=user)
        narratives = {update.narrative for update in recent}
        assert "Premature entry." not in narratives and "Misread entry." not in narratives
        assert "Checked entry." in narratives


def test_the_export_and_the_report_follow_and_hold_no_reason(liaison_client, amended_record):
    csv = b"".join(
        liaison_client.get(
            reverse("commitments:commitment_list"), {"_export": "csv"}
        ).streaming_content
    ).decode()
    paragraph = amended_record.paragraphs.get()
    report = liaison_client.get(
        reverse("commitments:document_report", args=[paragraph.document.short_name]),
        {"as_of": "2021-12-31"},
    ).content.decode()

    row = next(line for line in csv.splitlines() if amended_record.title in line)
    assert "In progress" in row and "45" in row
    assert "Checked entry." in report and "Premature entry." not in report
    for text in (csv, report):
        assert SECRET_REASON not in text and OPEN_REASON not in text


def test_the_achieved_chart_forgets_a_withdrawn_achievement(secretariat, commitment):
    from tracker import chart_selectors

    achieved = post(commitment, secretariat, status=Status.ACHIEVED, progress=100)
    today = datetime.date(2021, 12, 31)
    before = chart_selectors.chart_achieved_over_time(user=secretariat, today=today, total=1)
    withdraw(achieved, secretariat)
    after = chart_selectors.chart_achieved_over_time(user=secretariat, today=today, total=1)

    assert before.rows[-1][1] == "1"
    assert after.rows[-1][1] == "0"


def test_the_owners_digest_counts_a_commitment_quiet_again_once_its_news_is_withdrawn(
    secretariat,
):
    from tracker.reminders.messages import digest_contents

    commitment = CommitmentFactory(owner=secretariat, reporting_cadence_months=1)
    post(commitment, secretariat, happened_on=datetime.date(2026, 1, 5))
    news = post(commitment, secretariat, happened_on=datetime.date(2026, 11, 20))
    day = datetime.date(2026, 12, 1)
    assert commitment not in digest_contents(user=secretariat, day=day)["quiet"]

    withdraw(news, secretariat)

    assert commitment in digest_contents(user=secretariat, day=day)["quiet"]


def page_queries(client, url) -> int:
    cache.clear()  # built from the database, not the cached history
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def amend_many(commitment, author, count: int, start: int) -> None:
    for n in range(start, start + count):
        update = post(
            commitment, author, happened_on=datetime.date(2021, 1, 1) + datetime.timedelta(days=n)
        )
        commitment.refresh_from_db()
        if n % 2:
            withdraw(update, author)
        else:
            services.status_update_correct(
                update=update,
                author=author,
                status=Status.IN_PROGRESS,
                progress=50,
                narrative="Corrected.",
                reason="Typo.",
                expected_version=commitment.version,
            )


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_commitment_pages_query_count_does_not_grow_with_amendments(
    client, secretariat, liaison, commitment, role
):
    client.force_login(secretariat if role == "secretariat" else liaison)
    url = commitment.get_absolute_url()
    amend_many(commitment, secretariat, 2, start=0)
    page_queries(client, url)  # the session is written
    few = page_queries(client, url)

    amend_many(commitment, secretariat, 20, start=2)

    assert page_queries(client, url) == few


def test_a_page_cached_before_a_withdrawal_shows_it_after(liaison_client, secretariat, commitment):
    update = post(commitment, secretariat, narrative="Soon withdrawn.")
    url = commitment.get_absolute_url()
    assert b"Withdrawn by the secretariat" not in liaison_client.get(url).content

    withdraw(update, secretariat)

    response = liaison_client.get(url)
    assert b"Withdrawn by the secretariat" in response.content
    assert response.context["commitment"].shown_status == Status.NOT_STARTED


def test_an_actors_recent_updates_list_only_what_still_holds(liaison, amended_record):
    from commitments.selectors import actor_recent_updates

    amended_record.lead_actors.add(liaison.actor)

    recent = actor_recent_updates(user=liaison, actor=liaison.actor)

    assert {u.narrative for u in recent} == {"Kept entry.", "Checked entry."}
