"""Reports submitted by member states' liaisons and by contributors, and their review.

A report changes nothing of the record until the secretariat publishes it: it is a draft
until its author submits it, then waits in the review queue, where the secretariat returns it
with a comment (it can be edited and submitted again) or publishes it as a status update
through services.status_update_create ("reported by <state>", the reviewer recorded). A
contributor's published report is an update of source CONTRIBUTOR: shown apart, never the
commitment's official state. Each report has a conversation, read by its parties (the people
of the state or organisation it speaks for) and the secretariat alone.

Writes (report_*) and reads (the *_list and *_get functions) of this one feature live here
together; commitments.reports is the implementation report (PDF), something else.
"""

import logging
import mimetypes
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import get_valid_filename
from django.utils.translation import gettext

from core.editing import StaleVersion
from core.local_time import format_day
from core.roles import Role, user_can_edit_record

from . import services
from .milestones import commitment_adopted_on
from .models import (
    Commitment,
    EvidenceFile,
    Milestone,
    ReportComment,
    ReportFile,
    ReportLink,
    Source,
    StatusUpdate,
    SubmittedReport,
)

logger = logging.getLogger(__name__)
State = SubmittedReport.State

# --- Who may report, who reads a report -------------------------------------------------------


def user_report_source(user) -> str | None:
    """The source a user reports as: OFFICIAL for a liaison of a state, CONTRIBUTOR for a
    contributor of an organisation, None for anyone else (the secretariat posts updates)."""
    if not user.is_authenticated or not user.is_active or user.actor_id is None:
        return None
    return {Role.LIAISON: Source.OFFICIAL, Role.CONTRIBUTOR: Source.CONTRIBUTOR}.get(user.role)


def user_can_report_on(*, user, commitment: Commitment) -> bool:
    """A liaison reports on what concerns their state (it leads or supports it); a
    contributor on any commitment. Never on a retired one."""
    source = user_report_source(user)
    if source is None or commitment.is_retired:
        return False
    if source == Source.CONTRIBUTOR:
        return True
    return _concerns_actor(commitment, user.actor_id)


def _concerns_actor(commitment: Commitment, actor_id: int) -> bool:
    return Commitment.objects.filter(
        Q(lead_actors=actor_id) | Q(supporting_actors=actor_id), pk=commitment.pk
    ).exists()


def report_visible_list(*, user) -> QuerySet[SubmittedReport]:
    """The reports the user may read: the secretariat every one but drafts; a liaison or a
    contributor those of their own state or organisation (as that kind of reporter)."""
    reports = SubmittedReport.objects.all()
    if user_can_edit_record(user):
        return reports.exclude(state=State.DRAFT)
    source = user_report_source(user)
    if source is None:
        return reports.none()
    return reports.filter(reporter_id=user.actor_id, source=source)


def report_get(*, user, pk: int) -> SubmittedReport:
    """A report the user may read, with what its page shows; SubmittedReport.DoesNotExist."""
    return (
        report_visible_list(user=user)
        .select_related("commitment", "author", "reporter", "reviewed_by", "published_update")
        .prefetch_related("links", "files")
        .get(pk=pk)
    )


def report_mine_list(*, user) -> QuerySet[SubmittedReport]:
    """The reports of the user's state or organisation, newest first ("My reports")."""
    if user_report_source(user) is None:
        return SubmittedReport.objects.none()
    return report_visible_list(user=user).select_related("commitment", "author", "reporter")


def report_queue_list() -> QuerySet[SubmittedReport]:
    """The submitted reports waiting for review, the longest waiting first."""
    return (
        SubmittedReport.objects.filter(state=State.SUBMITTED)
        .select_related("commitment", "author", "reporter")
        .order_by("submitted_at", "pk")
    )


def report_comment_list(*, report: SubmittedReport) -> QuerySet[ReportComment]:
    """The conversation, oldest first; the caller has checked the reader may read the report."""
    return report.comments.select_related("author", "author__actor")


def report_file_get(*, user, pk: int) -> ReportFile:
    """A report's file the user may read (ReportFile.DoesNotExist otherwise)."""
    visible = report_visible_list(user=user)
    return ReportFile.objects.select_related("report").get(pk=pk, report__in=visible)


def commitment_has_milestones(commitment: Commitment) -> bool:
    return Milestone.objects.filter(commitment=commitment).exists()


# --- Refusals ---------------------------------------------------------------------------------


class ReportRefused(Exception):
    """The report is not in a state that allows this; the message says why. Nothing written."""


def retired_message() -> str:
    return gettext(
        "This commitment was retired, so its reports can no longer be changed, submitted or "
        "published; nothing was saved. Say what you need in the conversation below."
    )


def locked_message(report: SubmittedReport) -> str:
    if report.state != State.PUBLISHED and report.commitment.is_retired:
        return retired_message()
    if report.state == State.SUBMITTED:
        return gettext(
            "This report was submitted, so it waits for the secretariat's review and cannot "
            "be changed; nothing was saved. If something must change, say so in the "
            "conversation below: the secretariat can return it to you."
        )
    if report.state == State.PUBLISHED:
        return gettext(
            "This report was published already, so it cannot be changed or reviewed again; "
            "nothing was saved."
        )
    return gettext(
        "This report is not submitted, so there is nothing to review; nothing was saved."
    )


def _claim(*, report: SubmittedReport, expected_version: int, states: tuple[str, ...]) -> None:
    """Raise the report's version from `expected_version` if it is in one of `states`, in one
    conditional UPDATE (the lock: of two posts, one wins). ReportRefused if its state does not
    allow it, StaleVersion if someone changed it since the form showed that version."""
    claimed = SubmittedReport.objects.filter(
        pk=report.pk, version=expected_version, state__in=states
    ).update(version=F("version") + 1)
    if claimed == 1:
        report.version = expected_version + 1
        return
    report.refresh_from_db()
    if report.state not in states:
        raise ReportRefused(locked_message(report))
    raise StaleVersion(report)


def _commitment_open_check(report: SubmittedReport) -> None:
    """ReportRefused if the report's commitment is retired now (read afresh: it may have been
    retired since the report was loaded)."""
    retired = Commitment.objects.filter(pk=report.commitment_id, retired_on__isnull=False)
    if retired.exists():
        raise ReportRefused(retired_message())


# --- Writes -----------------------------------------------------------------------------------


def report_create(
    *,
    commitment: Commitment,
    author,
    values: dict,
    links: list[tuple[str, str]] = (),
    uploads: list = (),
) -> SubmittedReport:
    """A draft report by `author` for their state or organisation. PermissionError if they
    may not report on the commitment; ValidationError for a refused file (nothing kept)."""
    if not user_can_report_on(user=author, commitment=commitment):
        raise PermissionError("This user may not report on this commitment.")
    report = SubmittedReport(
        commitment=commitment,
        author=author,
        reporter_id=author.actor_id,
        source=user_report_source(author),
        **_checked_values(commitment, values),
    )
    return _saved_with_evidence(report=report, links=links, uploads=uploads, replace_links=False)


def report_update(
    *,
    report: SubmittedReport,
    expected_version: int,
    values: dict,
    links: list[tuple[str, str]] = (),
    uploads: list = (),
) -> SubmittedReport:
    """Change a draft or returned report; a submitted or published one is refused
    (ReportRefused), as is a stale form (StaleVersion). The links are replaced by `links`; new
    files are added to those it has. Refused on a retired commitment (ReportRefused)."""
    with transaction.atomic():
        _commitment_open_check(report)
        _claim(
            report=report, expected_version=expected_version, states=(State.DRAFT, State.RETURNED)
        )
        for name, value in _checked_values(report.commitment, values).items():
            setattr(report, name, value)
        return _saved_with_evidence(report=report, links=links, uploads=uploads, replace_links=True)


def _checked_values(commitment: Commitment, values: dict) -> dict:
    """The report's own fields; where the commitment has milestones, no figure (the reporter
    may name the milestone they believe done instead). ValidationError for a day before the
    commitment's document was adopted (a day in the future the form refuses, in the reader's
    own today)."""
    fields = ("happened_on", "status", "progress", "progress_reason", "milestone_note", "narrative")
    checked = {name: values[name] for name in fields if name in values}
    adopted_on = commitment_adopted_on(commitment=commitment)
    happened_on = checked.get("happened_on")
    if happened_on is not None and adopted_on is not None and happened_on < adopted_on:
        message = gettext(
            "This date is before %(day)s, when the document was adopted: enter that day or a "
            "later one."
        )
        raise ValidationError({"happened_on": message % {"day": format_day(adopted_on)}})
    if commitment_has_milestones(commitment):
        checked["progress"], checked["progress_reason"] = None, ""
    return checked


def _saved_with_evidence(*, report, links, uploads, replace_links: bool) -> SubmittedReport:
    stored: list[ReportFile] = []
    try:
        with transaction.atomic():
            report.save()
            if replace_links:
                report.links.all().delete()
            for title, url in links:
                ReportLink.objects.create(report=report, title=title, url=url)
            for upload in uploads:
                stored.append(_file_attach(report=report, upload=upload))
    except Exception:
        for row in stored:
            row.file.delete(save=False)
        raise
    return report


def _file_attach(*, report: SubmittedReport, upload) -> ReportFile:
    """Store an upload under MEDIA_ROOT; the checks are the evidence files' own."""
    services.evidence_file_check(upload)
    name = get_valid_filename(Path(upload.name).name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    row = ReportFile(report=report, title=name, content_type=content_type, size=upload.size)
    row.file.save(name, upload, save=False)
    try:
        row.save()
    except Exception:
        row.file.delete(save=False)
        raise
    return row


def report_submit(*, report: SubmittedReport, expected_version: int) -> SubmittedReport:
    """Send a draft or returned report to the review queue; refused on a retired commitment."""
    with transaction.atomic():
        _commitment_open_check(report)
        _claim(
            report=report, expected_version=expected_version, states=(State.DRAFT, State.RETURNED)
        )
        report.state, report.submitted_at = State.SUBMITTED, timezone.now()
        report.save(update_fields=["state", "submitted_at"])
    return report


def report_return(
    *, report: SubmittedReport, reviewer, comment: str, expected_version: int
) -> SubmittedReport:
    """Give a submitted report back to its author with the secretariat's comment; its author
    is told by email once the transaction is committed."""
    comment = comment.strip()
    if not comment:
        raise ValidationError(
            {"comment": gettext("Say what should change before it is published.")}
        )
    with transaction.atomic():
        _claim(report=report, expected_version=expected_version, states=(State.SUBMITTED,))
        report.state, report.return_comment, report.reviewed_by = State.RETURNED, comment, reviewer
        report.save(update_fields=["state", "return_comment", "reviewed_by"])
        transaction.on_commit(lambda: _author_told(report.pk, "report_returned"))
    return report


def report_publish(*, report: SubmittedReport, reviewer, expected_version: int) -> StatusUpdate:
    """Make a submitted report a public status update ("reported by" its state or
    organisation, `reviewer` recorded), once: a published report is refused (ReportRefused).
    Where the commitment has milestones the update takes their figure; without, the reported
    one, and a report without one is refused (return it, asking for it). A report on a
    commitment retired since it was submitted is refused too (ReportRefused)."""
    try:
        return _publish(report=report, reviewer=reviewer, expected_version=expected_version)
    except services.CommitmentRetired as retired:
        report.refresh_from_db()
        raise ReportRefused(retired_message()) from retired


def _publish(*, report: SubmittedReport, reviewer, expected_version: int) -> StatusUpdate:
    with transaction.atomic():
        _commitment_open_check(report)
        _claim(report=report, expected_version=expected_version, states=(State.SUBMITTED,))
        update = services.status_update_create(
            commitment=report.commitment,
            author=report.author,
            status=report.status,
            progress=_published_progress(report),
            progress_reason=report.progress_reason,
            narrative=_published_narrative(report),
            happened_on=report.happened_on,
            links=[(link.title, link.url) for link in report.links.all()],
            source=report.source,
            reported_by=report.reporter,
            reviewed_by=reviewer,
        )
        for f in report.files.all():  # the stored file is shared, one row each in the audit trail
            EvidenceFile.objects.create(
                update=update,
                title=f.title,
                file=f.file.name,
                content_type=f.content_type,
                size=f.size,
            )
        report.state, report.reviewed_by, report.published_update = (
            State.PUBLISHED,
            reviewer,
            update,
        )
        report.save(update_fields=["state", "reviewed_by", "published_update"])
        transaction.on_commit(lambda: _author_told(report.pk, "report_published"))
    return update


def _published_progress(report: SubmittedReport) -> int | None:
    if commitment_has_milestones(report.commitment):
        return None
    if report.progress is None:
        raise ReportRefused(
            gettext(
                "This commitment has no milestones, so an update needs a progress figure and "
                "this report gives none; nothing was published. Return it, asking for one."
            )
        )
    return report.progress


def _published_narrative(report: SubmittedReport) -> str:
    if not report.milestone_note:
        return report.narrative
    note = gettext("Milestone reported done: %(note)s") % {"note": report.milestone_note}
    return f"{report.narrative}\n\n{note}"


def report_comment_add(*, report: SubmittedReport, author, text: str) -> ReportComment:
    text = text.strip()
    if not text:
        raise ValidationError({"text": gettext("Write a comment first.")})
    return ReportComment.objects.create(report=report, author=author, text=text)


# --- Emails -----------------------------------------------------------------------------------


def _author_told(report_pk: int, template: str) -> None:
    """One email to the report's author, in their language; a failure is logged, never raised
    (the review is committed already)."""
    report = SubmittedReport.objects.select_related("author", "commitment", "reporter").get(
        pk=report_pk
    )
    author = report.author
    if not author.email:
        return
    link = settings.TRACKER_SITE_URL.rstrip("/") + reverse(
        "commitments:report_detail", kwargs={"pk": report.pk}
    )
    context = {"report": report, "link": link}
    try:
        with translation.override(author.language or settings.LANGUAGE_CODE):
            subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
            body = render_to_string(f"emails/{template}.txt", context)
        send_mail(subject, body, None, [author.email])
    except Exception:
        logger.exception("The email about report %s could not be sent", report_pk)
