"""Writes to the record. Each function is one transaction; views, forms and tasks call these."""

import datetime
import mimetypes
from pathlib import Path

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.text import get_valid_filename
from django.utils.translation import gettext, ngettext

from core import caching
from core.editing import StaleVersion

from .models import Commitment, EvidenceFile, EvidenceLink, Milestone, Paragraph, StatusUpdate
from .progress import milestone_progress
from .statuses import Status


class EditConflict(StaleVersion):
    """Someone else changed the commitment after the form was opened."""

    def __init__(self, commitment: Commitment):
        super().__init__(commitment)
        self.commitment = commitment


class ProgressRefused(ValidationError):
    """A figure typed where milestones compute it, or none typed where nothing else does."""


def _progress_checked(*, commitment: Commitment, progress: int | None) -> None:
    has_milestones = Milestone.objects.filter(commitment=commitment).exists()
    if has_milestones and progress is not None:
        raise ProgressRefused(
            gettext(
                "This commitment has milestones, so its progress is computed from them and "
                "cannot be typed. Post the update without a figure, or mark the milestone done."
            ),
            code="progress_computed",
        )
    if not has_milestones and progress is None:
        raise ProgressRefused(
            gettext("This commitment has no milestones: type its progress, with the reason."),
            code="progress_missing",
        )


def status_update_create(
    *,
    commitment: Commitment,
    author,
    status: str,
    progress: int | None,
    narrative: str,
    happened_on: datetime.date,
    progress_reason: str = "",
    expected_version: int | None = None,
    visibility: str = StatusUpdate.Visibility.PUBLIC,
    links: list[tuple[str, str]] = (),
) -> StatusUpdate:
    """Append a status update and make the commitment show its latest state.

    With `expected_version`, refuse the update (EditConflict) if someone else wrote since the
    form showed that version; nothing is written then. On a commitment with milestones the
    progress is None and the update records the figure they give now (commitments.progress);
    a typed one is refused (ProgressRefused), as is None on a commitment without milestones.
    """
    with transaction.atomic():
        _progress_checked(commitment=commitment, progress=progress)
        version_filter = {} if expected_version is None else {"version": expected_version}
        # The conditional UPDATE is the lock: of two posts against one version, one matches.
        claimed = Commitment.objects.filter(pk=commitment.pk, **version_filter).update(
            version=F("version") + 1
        )
        if claimed != 1:
            commitment.refresh_from_db()
            raise EditConflict(commitment)
        update = StatusUpdate.objects.create(
            commitment=commitment,
            author=author,
            happened_on=happened_on,
            status=status,
            progress=progress if progress is not None else _figure_now(commitment),
            progress_reason=progress_reason if progress is not None else "",
            narrative=narrative,
            visibility=visibility,
        )
        EvidenceLink.objects.bulk_create(
            EvidenceLink(update=update, title=title, url=url) for title, url in links
        )
        before = {field: getattr(commitment, field) for field in AUDITED_STATE_FIELDS}
        commitment_current_state_refresh(commitment=commitment)
        _state_change_audit(commitment=commitment, before=before, author=author)
        # The refresh above is an UPDATE no signal reports: the cached pages are told here.
        caching.invalidate(caching.DASHBOARD, caching.RECORD)
    return update


def _figure_now(commitment: Commitment) -> int:
    """The figure the commitment's milestones give, read in the database as the copy is."""
    figure = Commitment.objects.filter(pk=commitment.pk).annotate(figure=milestone_progress())
    return figure.values_list("figure", flat=True).get() or 0


# The current state is written with QuerySet.update(), which django-auditlog does not see, so
# the change of status and progress is put in the commitment's audit trail here.
AUDITED_STATE_FIELDS = ("status", "progress")


def _state_change_audit(*, commitment: Commitment, before: dict, author) -> None:
    changes = {
        field: [str(old), str(getattr(commitment, field))]
        for field, old in before.items()
        if old != getattr(commitment, field)
    }
    if changes:
        LogEntry.objects.log_create(
            commitment, action=LogEntry.Action.UPDATE, changes=changes, actor=author
        )


def commitment_current_state_refresh(*, commitment: Commitment) -> None:
    """Copy the latest update (by the date it happened) onto the commitment, and the latest
    public one onto its public_* fields (what liaisons see).

    An update entered today about something from 2021 must not hide a newer one, so "latest"
    is by happened_on, then by when it was recorded.
    """
    Commitment.objects.filter(pk=commitment.pk).update(**_copied_state())
    commitment.refresh_from_db()


def commitments_copies_refresh() -> int:
    """Recompute, for every commitment at once (one UPDATE), what it copies from elsewhere:
    its state and public state from its history, its first paragraph number from its
    paragraphs. For a restore, and for rows written in bulk (make bench): an archive made
    before a copy existed leaves it at its default. Returns how many commitments it touched."""
    return Commitment.objects.update(
        **_copied_state(), first_paragraph_number=_first_paragraph_number()
    )


def _copied_state() -> dict:
    """status, progress, last_activity_on and their public_* twins, as expressions reading
    each commitment's latest update and latest public update. Where a commitment has
    milestones, both progress figures are theirs (commitments.progress): milestones are public."""
    timeline = StatusUpdate.objects.filter(commitment=OuterRef("pk")).order_by(
        "-happened_on", "-recorded_at", "-pk"
    )
    public = timeline.filter(visibility=StatusUpdate.Visibility.PUBLIC)
    fields = {}
    for prefix, updates in (("", timeline), ("public_", public)):
        fields |= {
            f"{prefix}status": Coalesce(
                Subquery(updates.values("status")[:1]), Value(Status.NOT_STARTED.value)
            ),
            f"{prefix}progress": Coalesce(
                milestone_progress(), Subquery(updates.values("progress")[:1]), Value(0)
            ),
            f"{prefix}last_activity_on": Subquery(updates.values("happened_on")[:1]),
        }
    return fields


def _first_paragraph_number() -> Subquery:
    lowest = Paragraph.objects.filter(commitments=OuterRef("pk")).order_by("number")
    return Subquery(lowest.values("number")[:1])


def commitments_first_paragraph_refresh(*, commitment_ids) -> int:
    """Set Commitment.first_paragraph_number from the paragraphs each commitment comes from
    now (None for one linked to none), in one UPDATE; returns how many rows it touched."""
    touched = Commitment.objects.filter(pk__in=list(commitment_ids)).update(
        first_paragraph_number=_first_paragraph_number()
    )
    # An UPDATE no signal reports: a table cached between the paragraph's save and this one
    # would keep the old order.
    caching.invalidate(caching.RECORD)
    return touched


def evidence_file_check(upload) -> None:
    """Refuse a file of a type or size the tracker does not accept (ValidationError)."""
    allowed = [ext.lower().lstrip(".") for ext in settings.EVIDENCE_ALLOWED_EXTENSIONS]
    extension = Path(upload.name or "").suffix.lower().lstrip(".")
    if extension not in allowed:
        raise ValidationError(
            f"Files of type “.{extension or '?'}” cannot be attached. "
            f"Allowed types: {', '.join(allowed)}.",
            code="file_type",
        )
    limit = settings.EVIDENCE_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ValidationError(
            gettext(
                "The file is %(size)s; the limit is %(limit)s. "
                "Attach a smaller file or link to it instead."
            )
            % {"size": exact_file_size(upload.size), "limit": exact_file_size(limit)},
            code="file_size",
        )


def exact_file_size(size: int) -> str:
    """A size as people read it, with its exact bytes once it is rounded: a file one byte over
    a 10 MB limit is "10.0 MB (10,485,761 bytes)", not "10.0 MB" like the limit."""
    if size < 1024:
        return filesizeformat(size)
    grouped = number_format(size, force_grouping=True)  # 10,485,761; in Russian 10 485 761
    exact = ngettext("%(bytes)s byte", "%(bytes)s bytes", size) % {"bytes": grouped}
    return f"{filesizeformat(size)} ({exact})"


def evidence_file_attach(*, update: StatusUpdate, upload, title: str = "") -> EvidenceFile:
    """Store an uploaded file under MEDIA_ROOT as evidence for the update."""
    evidence_file_check(upload)
    name = get_valid_filename(Path(upload.name).name)
    # The type is taken from the checked extension, never from what the browser claimed.
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    evidence = EvidenceFile(
        update=update, title=title or name, content_type=content_type, size=upload.size
    )
    evidence.file.save(name, upload, save=False)
    try:
        evidence.save()
    except Exception:
        evidence.file.delete(save=False)
        raise
    return evidence


def status_update_create_with_evidence(*, upload=None, upload_title: str = "", **fields):
    """status_update_create plus an optional evidence file, all or nothing.

    If anything fails (an EditConflict, a refused file) no update, link or file row remains;
    a file already written to disk is removed again.
    """
    stored: list[EvidenceFile] = []
    try:
        with transaction.atomic():
            update = status_update_create(**fields)
            if upload is not None:
                stored.append(
                    evidence_file_attach(update=update, upload=upload, title=upload_title)
                )
    except Exception:
        for evidence in stored:
            evidence.file.delete(save=False)
        raise
    return update
