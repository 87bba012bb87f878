"""Writes to the record. Each function is one transaction; views, forms and tasks call these."""

import datetime
import functools
import itertools
import mimetypes
import time
from pathlib import Path

from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, router, transaction
from django.db.models import F, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed
from django.db.models.sql import UpdateQuery
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import get_valid_filename, slugify
from django.utils.translation import gettext, ngettext

from core import caching
from core.compiled import ANY_ID, with_id
from core.editing import StaleVersion, version_claim
from core.local_time import format_day

from .achieved_spans import achieved_spans_refresh
from .changes import public_change_announce
from .models import (
    Actor,
    BulkImport,
    BulkImportRow,
    Commitment,
    CommitmentRelation,
    Document,
    DocumentLink,
    EvidenceFile,
    EvidenceLink,
    Milestone,
    Paragraph,
    Source,
    StatusUpdate,
    Theme,
)
from .progress import milestone_progress
from .statuses import Status


class EditConflict(StaleVersion):
    """Someone else changed the commitment after the form was opened."""

    def __init__(self, commitment: Commitment):
        super().__init__(commitment)
        self.commitment = commitment


class CommitmentRetired(Exception):
    """The commitment is retired: it takes no edits and no status updates; nothing was written."""

    def __init__(self, commitment: Commitment):
        self.commitment = commitment
        super().__init__(retired_refusal_message(commitment))


def retired_refusal_message(commitment: Commitment) -> str:
    return gettext(
        "This commitment was retired on %(day)s, so it takes no edits or status updates and "
        "nothing was saved. If the work goes on, track it as a new commitment."
    ) % {"day": format_day(commitment.retired_on) if commitment.retired_on else "?"}


class ProgressRefused(ValidationError):
    """A figure typed where milestones compute it, or none typed where nothing else does."""


def _progress_checked(*, commitment: Commitment, progress: int | None) -> int:
    """The figure an update records: the one typed, or on a commitment with milestones the
    one they give now (commitments.progress). Refuses a typed figure where milestones
    compute it, and a missing one where nothing else does (ProgressRefused)."""
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
    return progress if progress is not None else _figure_now(commitment)


def _figure_now(commitment: Commitment) -> int:
    """The figure the commitment's milestones give, read in the database as the copy is."""
    figure = Commitment.objects.filter(pk=commitment.pk).annotate(figure=milestone_progress())
    return figure.values_list("figure", flat=True).get() or 0


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
    source: str = Source.OFFICIAL,
    reported_by: Actor | None = None,
    reviewed_by=None,
) -> StatusUpdate:
    """Append a status update and make the commitment show its latest state.

    A contributor's update (`source` CONTRIBUTOR, from a published report) is appended the
    same way but never becomes the commitment's state (StatusUpdateQuerySet.in_effect).

    With `expected_version`, refuse the update (EditConflict) if someone else wrote since the
    form showed that version; nothing is written then. On a commitment with milestones the
    progress is None and the update records the figure they give now (commitments.progress);
    a typed one is refused (ProgressRefused), as is None on a commitment without milestones.
    """
    row = StatusUpdate(
        commitment=commitment,
        author=author,
        happened_on=happened_on,
        status=status,
        progress=_progress_checked(commitment=commitment, progress=progress),
        progress_reason=progress_reason if progress is not None else "",
        narrative=narrative,
        visibility=visibility,
        source=source,
        reported_by=reported_by,
        reviewed_by=reviewed_by,
    )
    _status_update_append(row=row, expected_version=expected_version, links=links)
    public_change_announce(commitment=commitment, kind="update", update=row)
    return row


def _status_update_append(
    *, row: StatusUpdate, expected_version: int | None, links=(), check=lambda: None
) -> StatusUpdate:
    """Claim the commitment's version, run `check`, save the row with its links, and copy the
    new latest state onto the commitment; one transaction."""
    commitment = row.commitment
    with transaction.atomic():
        version_filter = {} if expected_version is None else {"version": expected_version}
        # The conditional UPDATE is the lock: of two posts against one version, one matches;
        # a retired commitment matches none.
        claimed = Commitment.objects.filter(
            pk=commitment.pk, retired_on__isnull=True, **version_filter
        ).update(version=F("version") + 1)
        if claimed != 1:
            commitment.refresh_from_db()
            if commitment.is_retired:
                raise CommitmentRetired(commitment)
            raise EditConflict(commitment)
        check()
        row.save()
        for title, url in links:  # one by one, so each is in the audit trail
            EvidenceLink.objects.create(update=row, title=title, url=url)
        before = {field: getattr(commitment, field) for field in AUDITED_STATE_FIELDS}
        commitment_current_state_refresh(commitment=commitment)
        achieved_spans_refresh(commitment_ids=[commitment.pk])
        _state_change_audit(commitment=commitment, before=before, author=row.author)
        # The refresh above is an UPDATE no signal reports: the cached pages are told here.
        caching.invalidate(caching.DASHBOARD, caching.RECORD)
    return row


class AlreadyAmended(Exception):
    """The update was corrected or withdrawn already; nothing was written."""

    def __init__(self, update: StatusUpdate):
        super().__init__(f"Status update {update.pk} was amended already.")
        self.update = update
        self.amendment = update.amended_with


def _not_amended_yet(update: StatusUpdate):
    """A check for _status_update_append: refuse amending an update amended since the form
    was read, or a withdrawal. Run after the version claim, which orders amendments of one
    commitment; the one-to-one `amends` refuses a second amendment in any case."""

    def check() -> None:
        fresh = StatusUpdate.objects.select_related("amended_by").get(pk=update.pk)
        if fresh.amended_with is not None or fresh.amendment == StatusUpdate.Amendment.WITHDRAWAL:
            raise AlreadyAmended(fresh)

    return check


class ProofStillNeeded(Exception):
    """A withdrawal refused: done milestones have the update as their only proof."""

    def __init__(self, milestones: list[Milestone]):
        super().__init__("The update is the only proof of done milestones.")
        self.milestones = milestones


def milestones_proved_by(*, update: StatusUpdate) -> list[Milestone]:
    """The milestones the update proves done, in the commitment's order."""
    return list(Milestone.objects.filter(proved_by=update).order_by("position", "pk"))


def _proof_handed_on(*, update: StatusUpdate, to: StatusUpdate | None) -> None:
    """Milestones proved by an update that is corrected are proved by the correction (same day,
    same visibility); by one that is withdrawn, by their link alone. Saved one by one, so each
    is in the commitment's history."""
    for milestone in milestones_proved_by(update=update):
        milestone.proved_by = to
        milestone.save(update_fields=["proved_by"])


def _proof_not_lost(update: StatusUpdate):
    """A check for a withdrawal: refuse it while a done milestone has no other proof (liaisons
    would read it done on nothing); the milestone is marked not done or given a link first."""

    def check() -> None:
        alone = [m for m in milestones_proved_by(update=update) if not m.evidence_url]
        if alone:
            raise ProofStillNeeded(alone)

    return check


def status_update_correct(
    *,
    update: StatusUpdate,
    author,
    status: str,
    progress: int | None,
    narrative: str,
    reason: str,
    expected_version: int,
    progress_reason: str = "",
    reason_public: bool = False,
    links: list[tuple[str, str]] = (),
    keep_files: bool = True,
) -> StatusUpdate:
    """Append a correction of `update`: the corrected status, progress, narrative and evidence
    about the same day, with the same visibility. The original stays in the history, marked
    as corrected; the commitment's state follows the correction. With `keep_files`, the
    original's evidence files are cited by the correction too (the stored file is shared).
    Raises EditConflict for a stale version, AlreadyAmended if the update was amended."""
    row = StatusUpdate(
        commitment=update.commitment,
        author=author,
        happened_on=update.happened_on,
        status=status,
        progress=_progress_checked(commitment=update.commitment, progress=progress),
        progress_reason=progress_reason if progress is not None else "",
        narrative=narrative,
        visibility=update.visibility,
        source=update.source,
        reported_by=update.reported_by,
        amends=update,
        amendment=StatusUpdate.Amendment.CORRECTION,
        reason=reason,
        reason_public=reason_public,
    )
    with transaction.atomic():
        _status_update_append(
            row=row, expected_version=expected_version, links=links, check=_not_amended_yet(update)
        )
        _proof_handed_on(update=update, to=row)
        if keep_files:
            for f in update.files.all():  # one by one, so each is in the audit trail
                EvidenceFile.objects.create(
                    update=row,
                    title=f.title,
                    file=f.file.name,
                    content_type=f.content_type,
                    size=f.size,
                )
        public_change_announce(commitment=update.commitment, kind="correction", update=row)
    return row


def status_update_withdraw(
    *,
    update: StatusUpdate,
    author,
    reason: str,
    expected_version: int,
    reason_public: bool = False,
) -> StatusUpdate:
    """Append a withdrawal of `update`: it stays in the history, marked as withdrawn with the
    reason, and no longer counts for the commitment's state (nor, for a public update, for the
    state liaisons see, which falls back to the previous public update).
    Raises EditConflict for a stale version, AlreadyAmended if the update was amended,
    ProofStillNeeded if it is the only proof of a done milestone."""
    row = StatusUpdate(
        commitment=update.commitment,
        author=author,
        happened_on=update.happened_on,
        status=update.status,
        progress=update.progress,
        narrative="",
        visibility=update.visibility,
        source=update.source,
        reported_by=update.reported_by,
        amends=update,
        amendment=StatusUpdate.Amendment.WITHDRAWAL,
        reason=reason,
        reason_public=reason_public,
    )
    not_amended, proof_kept = _not_amended_yet(update), _proof_not_lost(update)

    def check() -> None:
        not_amended()
        proof_kept()

    with transaction.atomic():
        _status_update_append(row=row, expected_version=expected_version, check=check)
        _proof_handed_on(update=update, to=None)
    public_change_announce(commitment=update.commitment, kind="withdrawal", update=row)
    return row


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
    _one_commitment_update(_current_state_statement(connection.vendor), commitment.pk)
    commitment.refresh_from_db()


@functools.cache
def _current_state_statement(vendor: str) -> tuple[str, tuple]:
    """The UPDATE of commitment_current_state_refresh, written by the ORM once per process
    (core.compiled): its six subqueries took 5-10 ms of Python to resolve and compile on every
    status update, a quarter of a bulk import's time. It reads nothing but the id."""
    return _one_commitment_statement(_copied_state())


def _one_commitment_statement(values: dict) -> tuple[str, tuple]:
    query = Commitment.objects.filter(pk=ANY_ID).query.chain(UpdateQuery)
    query.add_update_values(values)
    statement, params = query.get_compiler(connection=connection).as_sql()
    return statement, tuple(params)


def _one_commitment_update(compiled: tuple[str, tuple], commitment_id: int) -> int:
    """Run a statement compiled by _one_commitment_statement for this commitment."""
    statement, params = compiled
    with connection.cursor() as cursor:
        cursor.execute(statement, with_id(params, commitment_id))
        return cursor.rowcount


def commitments_copies_refresh() -> int:
    """Recompute, for every commitment at once (one UPDATE), what it copies from elsewhere:
    its state and public state from its history, its first paragraph number from its
    paragraphs, its earliest undone milestone's due date from its milestones, and the days
    each stood achieved (AchievedSpan). For a restore, and for rows written in bulk (make
    bench): an archive made before a copy existed leaves it at its default. Returns how many
    commitments it touched."""
    touched = Commitment.objects.update(
        **_copied_state(),
        first_paragraph_number=_first_paragraph_number(),
        undone_milestone_due_on=undone_milestone_due(),
    )
    achieved_spans_refresh()
    return touched


def _copied_state() -> dict:
    """status, progress, last_activity_on and their public_* twins, as expressions reading
    each commitment's latest update and latest public update. Where a commitment has
    milestones, both progress figures are theirs (commitments.progress): milestones are public."""
    timeline = (
        StatusUpdate.objects.in_effect()
        .filter(commitment=OuterRef("pk"))
        .order_by("-happened_on", "-recorded_at", "-pk")
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


def undone_milestone_due() -> Subquery:
    """The earliest due date of the commitment's milestones not done (null if none has one)."""
    undone = Milestone.objects.filter(
        commitment=OuterRef("pk"), done_on__isnull=True, due_on__isnull=False
    )
    return Subquery(undone.order_by("due_on").values("due_on")[:1])


def commitments_undone_milestone_due_refresh(*, commitment_ids) -> int:
    """Set Commitment.undone_milestone_due_on from the milestones each commitment has now, in
    one UPDATE; returns how many rows it touched. The pages' cache is told by the milestone
    services (commitments.milestones), which write milestones."""
    return Commitment.objects.filter(pk__in=list(commitment_ids)).update(
        undone_milestone_due_on=undone_milestone_due()
    )


def commitments_first_paragraph_refresh(*, commitment_ids) -> int:
    """Set Commitment.first_paragraph_number from the paragraphs each commitment comes from
    now (None for one linked to none), in one UPDATE; returns how many rows it touched."""
    ids = list(commitment_ids)
    if len(ids) == 1:  # a commitment's own links changed: the statement compiled once
        touched = _one_commitment_update(_first_paragraph_statement(connection.vendor), ids[0])
    else:
        touched = Commitment.objects.filter(pk__in=ids).update(
            first_paragraph_number=_first_paragraph_number()
        )
    # An UPDATE no signal reports: a table cached between the paragraph's save and this one
    # would keep the old order.
    caching.invalidate(caching.RECORD)
    return touched


@functools.cache
def _first_paragraph_statement(vendor: str) -> tuple[str, tuple]:
    """commitments_first_paragraph_refresh's UPDATE for one commitment, written by the ORM
    once per process (core.compiled): each new commitment's paragraphs run it."""
    return _one_commitment_statement({"first_paragraph_number": _first_paragraph_number()})


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


def status_update_create_with_evidence(
    *, upload=None, upload_title: str = "", write=status_update_create, **fields
):
    """status_update_create (or another `write` of an update: a correction) plus an optional
    evidence file, all or nothing.

    If anything fails (an EditConflict, a refused file) no update, link or file row remains;
    a file already written to disk is removed again.
    """
    stored: list[EvidenceFile] = []
    try:
        with transaction.atomic():
            update = write(**fields)
            if upload is not None:
                stored.append(
                    evidence_file_attach(update=update, upload=upload, title=upload_title)
                )
    except Exception:
        for evidence in stored:
            evidence.file.delete(save=False)
        raise
    return update


# --- Curating commitments ---------------------------------------------------------------------

# What the edit form may change: its own columns, then its links. A new editable field is added
# here and to commitments.forms.CommitmentForm.
EDITABLE_FIELDS = (
    "title",
    "summary",
    "kind",
    "owner",
    "supervisor",
    "target_date",
    "reporting_cadence_months",
)
EDITABLE_LINKS = ("paragraphs", "lead_actors", "supporting_actors", "themes")
# Slugs the URLs use for pages of their own ("/commitments/new/", "/actors/new/",
# "/themes/new/"), so never a commitment's, an actor's or a theme's address.
# "import" is the bulk import's page ("/commitments/import/").
RESERVED_SLUGS = frozenset({"new", "import"})


def commitment_slug_unique(*, title: str) -> str:
    """A slug made from the title that no other commitment has: "x", then "x-2", "x-3"..."""
    field_length = Commitment._meta.get_field("slug").max_length
    base = slugify(title)[: field_length - 4].strip("-") or "commitment"
    taken = (
        set(Commitment.objects.filter(slug__startswith=base).values_list("slug", flat=True))
        | RESERVED_SLUGS
    )
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def _split_values(values: dict) -> tuple[dict, dict]:
    unknown = set(values) - set(EDITABLE_FIELDS) - set(EDITABLE_LINKS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    columns = {name: values[name] for name in EDITABLE_FIELDS if name in values}
    links = {name: values[name] for name in EDITABLE_LINKS if name in values}
    return columns, links


def _linked(commitment: Commitment, links: dict, *, new: bool = False) -> None:
    # set() sends m2m_changed: the audit trail records the links, and commitments.receivers
    # keeps first_paragraph_number in step with the paragraphs. A new commitment has no links
    # to compare with: add() skips set()'s read of them, and an empty list costs nothing.
    for name, rows in links.items():
        if not new:
            getattr(commitment, name).set(rows)
        elif rows:
            _links_added(getattr(commitment, name), rows)


def _links_added(manager, rows: list) -> None:
    """manager.add(*rows) for a commitment created in this transaction: the same m2m_changed
    signals around the same INSERT, without add()'s read of which of them it already has
    (none: it was just created, and only this adds its links)."""
    ids = {row.pk for row in rows}
    db = router.db_for_write(manager.through, instance=manager.instance)
    signal = {
        "sender": manager.through,
        "instance": manager.instance,
        "reverse": False,
        "model": manager.model,
        "pk_set": ids,
        "using": db,
    }
    source = f"{manager.source_field_name}_id"
    target = f"{manager.target_field_name}_id"
    through = [manager.through(**{source: manager.instance.pk, target: pk}) for pk in ids]
    m2m_changed.send(action="pre_add", **signal)
    manager.through._default_manager.using(db).bulk_create(through, ignore_conflicts=True)
    m2m_changed.send(action="post_add", **signal)


# The latest day a plan may name (a target or due date): later ones are typing slips, and
# calendars and feeds cannot show them (year 9999 has no day after it).
LATEST_PLANNED_DAY = datetime.date(2200, 12, 31)


def planned_days_checked(*, adopted_on: datetime.date | None, **days) -> None:
    """Refuse a planned or done day before the document asked for it, or after
    LATEST_PLANNED_DAY (ValidationError naming each field)."""
    errors = {}
    for name, day in days.items():
        if day is None:
            continue
        if adopted_on is not None and day < adopted_on:
            errors[name] = gettext(
                "This date is before %(day)s, when the document was adopted: enter that day or "
                "a later one."
            ) % {"day": format_day(adopted_on)}
        elif day > LATEST_PLANNED_DAY:
            errors[name] = gettext(
                "This date is after %(day)s: check the year, and enter that day or an earlier one."
            ) % {"day": format_day(LATEST_PLANNED_DAY)}
    if errors:
        raise ValidationError(errors)


def _target_date_checked(*, columns: dict, links: dict, commitment: Commitment | None) -> None:
    """The target date against the documents of the paragraphs it will come from."""
    if columns.get("target_date") is None:
        return
    if "paragraphs" in links:
        paragraphs = Q(paragraphs__in=[row.pk for row in links["paragraphs"]])
    else:
        paragraphs = Q(paragraphs__commitments=commitment)
    adopted_on = Document.objects.filter(paragraphs).aggregate(first=Min("adopted_on"))["first"]
    planned_days_checked(adopted_on=adopted_on, target_date=columns["target_date"])


def commitment_create(*, values: dict) -> Commitment:
    """A new commitment from the form's values (EDITABLE_FIELDS and EDITABLE_LINKS), with a
    unique slug from its title. Raises ValidationError (nothing written) if it is not valid,
    e.g. an owner outside the secretariat."""
    columns, links = _split_values(values)
    if not links.get("paragraphs"):
        raise ValidationError({"paragraphs": gettext("Choose at least one paragraph.")})
    _target_date_checked(columns=columns, links=links, commitment=None)
    with transaction.atomic():
        commitment = Commitment(**columns)
        commitment.slug = commitment_slug_unique(title=commitment.title)
        # The slug was read as free just now, in this transaction: not read again (the
        # unique index still refuses one taken since). Its one check constraint is on the
        # progress, which comes from status updates and is not set here: not asked of the
        # database (a savepoint and a query for each commitment a bulk import creates).
        commitment.full_clean(validate_unique=False, validate_constraints=False)
        commitment.validate_unique(exclude=["slug"])
        commitment.save()  # tracker makes the target-date event on post_save
        _linked(commitment, links, new=True)
    return commitment


def commitment_update(*, commitment: Commitment, expected_version: int, values: dict) -> None:
    """Change what the form edits, or nothing: EditConflict if someone else saved since the
    form showed `expected_version`, CommitmentRetired if it is retired, ValidationError if the
    values are not valid."""
    columns, links = _split_values(values)
    if "paragraphs" in links and not links["paragraphs"]:
        raise ValidationError({"paragraphs": gettext("Choose at least one paragraph.")})
    _target_date_checked(columns=columns, links=links, commitment=commitment)
    with transaction.atomic():
        _claim_open(commitment=commitment, expected_version=expected_version)
        for name, value in columns.items():
            setattr(commitment, name, value)
        commitment.full_clean()
        # post_save: the audit trail records the change, tracker moves the target-date event.
        commitment.save(update_fields=[*columns, "version"])
        _linked(commitment, links)


def _claim_open(*, commitment: Commitment, expected_version: int) -> None:
    """Raise the version (core.editing.version_claim) of a commitment that is not retired."""
    try:
        version_claim(instance=commitment, expected_version=expected_version)
    except StaleVersion:
        raise EditConflict(commitment) from None
    # The claim's UPDATE holds the row: a retirement is committed before it or waits after it.
    retired = Commitment.objects.filter(pk=commitment.pk, retired_on__isnull=False).first()
    if retired is not None:
        raise CommitmentRetired(retired)


def commitment_retire(
    *,
    commitment: Commitment,
    expected_version: int,
    reason: str,
    retired_by,
    retired_on: datetime.date,
) -> None:
    """Retire the commitment instead of deleting it: its history stays, it takes no edits or
    status updates, and its owner gets no more "gone quiet" reminders."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": gettext("Say why it is retired.")})
    with transaction.atomic():
        _claim_open(commitment=commitment, expected_version=expected_version)
        commitment.retired_on = retired_on
        commitment.retired_reason = reason
        commitment.retired_by = retired_by
        # post_save: the audit trail records it, tracker removes the target-date event.
        commitment.save(update_fields=["retired_on", "retired_reason", "retired_by", "version"])


class RelationRefused(Exception):
    """A relation that would be wrong (to itself, a cycle of dependencies, a repeat)."""


def commitment_relation_add(
    *, from_commitment: Commitment, to_commitment: Commitment, kind: str
) -> CommitmentRelation:
    """Relate two commitments; RelationRefused (nothing written) for a relation to itself, one
    that exists already, or a "depends on" that would close a cycle."""
    if from_commitment.pk == to_commitment.pk:
        raise RelationRefused(gettext("A commitment cannot relate to itself."))
    if kind == CommitmentRelation.Kind.DEPENDS_ON and to_commitment.is_retired:
        raise RelationRefused(
            gettext(
                "“%(title)s” was retired on %(day)s: nothing can depend on it any more. "
                "Choose the commitment that carries its work on."
            )
            % {"title": to_commitment.title, "day": format_day(to_commitment.retired_on)}
        )
    with transaction.atomic():
        if kind == CommitmentRelation.Kind.DEPENDS_ON:
            _dependency_cycle_check(from_commitment=from_commitment, to_commitment=to_commitment)
        if kind == CommitmentRelation.Kind.SUPERSEDED_BY:
            _supersession_cycle_check(from_commitment=from_commitment, to_commitment=to_commitment)
        relation, created = CommitmentRelation.objects.get_or_create(
            from_commitment=from_commitment, to_commitment=to_commitment, kind=kind
        )
    if not created:
        raise RelationRefused(gettext("These two commitments are related so already."))
    return relation


def _dependency_cycle_check(*, from_commitment: Commitment, to_commitment: Commitment) -> None:
    """Refuse A depends on B if B already depends, directly or not, on A, naming the cycle."""
    # Every dependency at once (one query): a record has hundreds, not millions.
    needs: dict[int, list[int]] = {}
    pairs = CommitmentRelation.objects.filter(kind=CommitmentRelation.Kind.DEPENDS_ON)
    for source, target in pairs.values_list("from_commitment", "to_commitment"):
        needs.setdefault(source, []).append(target)
    path = _dependency_path(needs, start=to_commitment.pk, goal=from_commitment.pk)
    if path is None:
        return
    titles = dict(Commitment.objects.filter(pk__in=path).values_list("pk", "title"))
    cycle = [from_commitment.title, *(titles[pk] for pk in path)]
    raise RelationRefused(
        gettext(
            "This would make a cycle of dependencies: %(cycle)s. A commitment cannot wait, "
            "through others, for itself; remove one of these dependencies first."
        )
        % {"cycle": gettext(" depends on ").join(f"“{title}”" for title in cycle)}
    )


def _supersession_cycle_check(*, from_commitment: Commitment, to_commitment: Commitment) -> None:
    """Refuse A superseded by B if B is already superseded, directly or not, by A (the reverse
    of a link, or a longer circle), naming the links that exist."""
    following: dict[int, list[int]] = {}
    pairs = CommitmentRelation.objects.filter(kind=CommitmentRelation.Kind.SUPERSEDED_BY)
    for source, target in pairs.values_list("from_commitment", "to_commitment"):
        following.setdefault(source, []).append(target)
    path = _dependency_path(following, start=to_commitment.pk, goal=from_commitment.pk)
    if path is None:
        return
    titles = dict(Commitment.objects.filter(pk__in=path).values_list("pk", "title"))
    raise RelationRefused(
        gettext(
            "This contradicts what is recorded: %(chain)s. Two commitments cannot supersede "
            "each other; remove the wrong link first."
        )
        % {"chain": gettext(" is superseded by ").join(f"“{titles[pk]}”" for pk in path)}
    )


def _dependency_path(needs: dict[int, list[int]], *, start: int, goal: int) -> list[int] | None:
    """The commitments from `start` to `goal` along dependencies (breadth first), or None."""
    came_from: dict[int, int | None] = {start: None}
    queue = [start]
    while queue:
        current = queue.pop(0)
        if current == goal:
            path = []
            while current is not None:
                path.append(current)
                current = came_from[current]
            return path[::-1]
        for following in needs.get(current, ()):
            if following not in came_from:
                came_from[following] = current
                queue.append(following)
    return None


def commitment_relation_remove(*, relation: CommitmentRelation) -> None:
    relation.delete()


# --- Curating actors and themes --------------------------------------------------------------


def _slug_new(model, name: str, *, max_length: int) -> str:
    """A slug from the name, unique for the model; it stays when the name changes later."""
    base = slugify(name)[: max_length - 4].strip("-") or model._meta.model_name
    slug, number = base, 1
    while slug in RESERVED_SLUGS or model.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def actor_create(*, name: str, kind: str, iso_code: str = "") -> Actor:
    with transaction.atomic():
        slug = _slug_new(Actor, name, max_length=Actor._meta.get_field("slug").max_length)
        return Actor.objects.create(name=name, slug=slug, kind=kind, iso_code=iso_code)


def actor_update(
    *, actor: Actor, name: str, kind: str, iso_code: str, expected_version: int
) -> Actor:
    """Rename or reclassify the actor; its slug, and so its address, stays. A stale form is
    refused (StaleVersion) and nothing is written."""
    with transaction.atomic():
        version_claim(instance=actor, expected_version=expected_version)
        actor.name, actor.kind, actor.iso_code = name, kind, iso_code
        actor.save()
    return actor


class SelfMerge(ValueError):
    """An actor cannot be merged with itself."""


def actor_merge(
    *, keep: Actor, remove: Actor, expected_versions: dict[int, int], author=None
) -> Actor:
    """Fold `remove` into `keep`, then delete `remove`, in one transaction.

    Everything that points to `remove` follows to `keep`: the commitments it leads or supports
    (without a second link where `keep` is linked already; a lead stays a lead), the liaisons
    who follow it, and any other row of another app (found through the model's relations, so a
    layer above needs no code here). Every move is a save or a link change, so each lands in
    the audit trail. `expected_versions` maps an actor's pk to the version the form showed;
    either actor's is claimed when given (StaleVersion: nothing written), raised otherwise.
    """
    if keep.pk == remove.pk:
        raise SelfMerge(gettext("An actor cannot be merged with itself: choose another actor."))
    with transaction.atomic():
        for actor in (keep, remove):
            if actor.pk in expected_versions:
                version_claim(instance=actor, expected_version=expected_versions[actor.pk])
            else:
                Actor.objects.filter(pk=actor.pk).update(version=F("version") + 1)
        for relation in Actor._meta.related_objects:
            _relation_follow(relation, keep=keep, remove=remove)
        _lead_not_also_supporting(keep)
        LogEntry.objects.log_create(
            keep,
            action=LogEntry.Action.UPDATE,
            changes={"merged": [remove.name, keep.name]},
            actor=author,
        )
        remove.delete()
        caching.invalidate(*caching.FAMILIES)
    keep.refresh_from_db()
    return keep


def _relation_follow(relation, *, keep: Actor, remove: Actor) -> None:
    """Move the rows on the other side of one of Actor's relations from `remove` to `keep`."""
    name = relation.field.name
    rows = relation.related_model._default_manager.filter(**{name: remove})
    if relation.many_to_many:
        for row in rows:
            links = getattr(row, name)
            links.remove(remove)
            links.add(keep)  # a no-op where `keep` is linked already
        return
    for row in rows:
        setattr(row, name, keep)
        row.save(update_fields=[name])


def _lead_not_also_supporting(actor: Actor) -> None:
    for commitment in actor.supported_commitments.filter(lead_actors=actor):
        commitment.supporting_actors.remove(actor)


def theme_create(*, name: str) -> Theme:
    with transaction.atomic():
        slug = _slug_new(Theme, name, max_length=Theme._meta.get_field("slug").max_length)
        return Theme.objects.create(name=name, slug=slug)


def theme_update(*, theme: Theme, name: str, expected_version: int) -> Theme:
    """Rename the theme; its slug stays. A stale form is refused (StaleVersion)."""
    with transaction.atomic():
        version_claim(instance=theme, expected_version=expected_version)
        theme.name = name
        theme.save()
    return theme


# --- Curating documents ----------------------------------------------------------------------
# What the document form edits; the text itself (title included) is also the importer's.
DOCUMENT_EDITABLE_FIELDS = (
    "title",
    "symbol",
    "alternative_title",
    "place",
    "adopted_on",
    "published_on",
    "source_url",
    "language",
)


class DocumentLinkRefused(Exception):
    """A link that cannot be made (to the document itself, or one that exists); the message
    says which. Nothing was written."""


def document_update(*, document: Document, expected_version: int, **fields) -> Document:
    """Change a document's metadata; StaleVersion if someone saved it since expected_version."""
    unknown = set(fields) - set(DOCUMENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable here: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        version_claim(instance=document, expected_version=expected_version)
        for name, value in fields.items():
            setattr(document, name, value)
        document.save()  # the signal forgets the cached pages that name the document
    return document


def document_link_create(
    *, from_document: Document, to_document: Document, kind: str, author, note: str = ""
) -> DocumentLink:
    """Record that from_document relates to to_document (kind: DocumentLink.Kind)."""
    if from_document.pk == to_document.pk:
        raise DocumentLinkRefused(gettext("A document cannot be linked to itself."))
    if kind not in DocumentLink.Kind.values:
        raise DocumentLinkRefused(gettext("Choose what kind of link this is."))
    _document_link_reverse_check(from_document=from_document, to_document=to_document, kind=kind)
    with transaction.atomic():
        link, created = DocumentLink.objects.get_or_create(
            from_document=from_document,
            to_document=to_document,
            kind=kind,
            defaults={"note": note, "created_by": author},
        )
    if not created:
        raise DocumentLinkRefused(
            gettext("This link exists already: “%(from)s” %(kind)s “%(to)s”.")
            % {"from": from_document, "kind": link.get_kind_display(), "to": to_document}
        )
    return link


# Links whose reverse contradicts them: a document cannot follow up, implement or supersede a
# document that follows up, implements or supersedes it.
ONE_WAY_DOCUMENT_LINKS = (
    DocumentLink.Kind.FOLLOWS_UP,
    DocumentLink.Kind.IMPLEMENTS,
    DocumentLink.Kind.SUPERSEDES,
)


def _document_link_reverse_check(*, from_document: Document, to_document: Document, kind: str):
    if kind not in ONE_WAY_DOCUMENT_LINKS:
        return
    reverse = DocumentLink.objects.filter(
        from_document=to_document, to_document=from_document, kind=kind
    ).first()
    if reverse is not None:
        raise DocumentLinkRefused(
            gettext(
                "This contradicts a link that exists: “%(from)s” %(kind)s “%(to)s”. Both "
                "cannot hold; remove that link first if it is wrong."
            )
            % {"from": to_document, "kind": reverse.get_kind_display(), "to": from_document}
        )


def document_link_delete(*, link: DocumentLink) -> None:
    """Remove a link between documents (the audit trail keeps what it was)."""
    with transaction.atomic():
        link.delete()


# --- Bulk import (commitments.bulk_import plans; these write) ---------------------------------


def bulk_import_create(*, author, name: str, content: bytes, today: datetime.date) -> BulkImport:
    """Read and plan a file (the dry run) and store the plan, which applying will write as it
    is. FileRefused (nothing stored) for a file that cannot be imported at all."""
    from .bulk_import import file_rows, plan_make  # it reads this module's checks

    plan = plan_make(rows=file_rows(name=name, content=content), today=today)
    with transaction.atomic():
        bulk_import = BulkImport.objects.create(
            created_by=author,
            file_name=name[:255],
            ignored_columns=plan.ignored_columns,
            rows_total=len(plan.rows),
        )
        BulkImportRow.objects.bulk_create(
            (
                BulkImportRow(
                    bulk_import=bulk_import,
                    number=row.number,
                    action=row.action,
                    commitment=row.commitment,
                    expected_version=row.commitment.version if row.commitment else None,
                    title=row.title[:500],
                    values=row.values,
                    update=row.update,
                    changes=row.changes,
                    notes=row.notes,
                    reason=row.reason,
                )
                for row in plan.rows
            ),
            batch_size=1000,
        )
    return bulk_import


# The planned actions that write: a dry run with none of them has nothing to apply.
BULK_IMPORT_WRITING = (BulkImportRow.Action.CREATE, BulkImportRow.Action.CHANGE)


class BulkImportNotPending(Exception):
    """The import was applied (or queued) already: a second apply writes nothing."""


class BulkImportNothingToApply(Exception):
    """Every row of the dry run was refused or unchanged: applying it would write nothing."""


def bulk_import_queue(*, bulk_import: BulkImport, user) -> None:
    """Mark a dry run to be applied; the next run of commitments.tasks.apply_bulk_imports
    (beat, every BULK_IMPORT_POLL_SECONDS) takes it. The page never publishes to the broker.
    A dry run with no row to create or change is refused (BulkImportNothingToApply)."""
    if not bulk_import.rows.filter(action__in=BULK_IMPORT_WRITING).exists():
        raise BulkImportNothingToApply(bulk_import)
    now = timezone.now()
    queued = BulkImport.objects.filter(pk=bulk_import.pk, state=BulkImport.State.PREVIEWED).update(
        state=BulkImport.State.QUEUED, applied_by=user, queued_at=now, touched_at=now
    )
    if queued != 1:
        raise BulkImportNotPending(bulk_import)
    bulk_import.refresh_from_db()


def _bulk_imports_claimable(now: datetime.datetime) -> Q:
    stalled = now - datetime.timedelta(seconds=settings.BULK_IMPORT_STALL_SECONDS)
    return Q(state=BulkImport.State.QUEUED) | Q(
        state=BulkImport.State.APPLYING, touched_at__lt=stalled
    )


def bulk_imports_claim(*, now: datetime.datetime) -> list[int]:
    """Claim the queued imports, and those whose run stopped moving (a worker lost), for this
    run; each by a conditional UPDATE, so two runs never apply one import at once."""
    waiting = BulkImport.objects.filter(_bulk_imports_claimable(now)).order_by("queued_at")
    claimed = []
    for pk in waiting.values_list("pk", flat=True)[:10]:
        moved = (
            BulkImport.objects.filter(_bulk_imports_claimable(now), pk=pk)
            .update(state=BulkImport.State.APPLYING, touched_at=now)
        )  # fmt: skip
        if moved == 1:
            claimed.append(pk)
    return claimed


# Progress is saved (and the pages' cache told) at most this often: a second of rows is what a
# reader of the progress bar or of a cached page can be behind by.
PROGRESS_EVERY_SECONDS = 1.0
# Rows read at a time; what they name (commitments, paragraphs, actors, themes) is read with
# them in one query per kind, not per row (_BulkImportKnown).
BULK_IMPORT_CHUNK_ROWS = 200


def bulk_import_apply(*, bulk_import_id: int) -> BulkImport:
    """Write every row of a claimed import that has no result yet, each in its own
    transaction, moving the progress every PROGRESS_EVERY_SECONDS; then mark it done.

    The pages' cache is told once a progress step rather than by each row's writes
    (caching.invalidations_deferred), and for the last time when the run ends."""
    bulk_import = BulkImport.objects.select_related("applied_by").get(pk=bulk_import_id)
    done = bulk_import.rows.exclude(result="").count()
    pending = bulk_import.rows.filter(result="").order_by("number").iterator(chunk_size=500)
    saved_at = time.monotonic()
    with caching.invalidations_deferred() as flush:
        # A run taking over from a lost worker follows writes whose invalidation was lost
        # with it: the end of every run tells every family.
        caching.invalidate(*caching.FAMILIES)
        while chunk := list(itertools.islice(pending, BULK_IMPORT_CHUNK_ROWS)):
            known = _BulkImportKnown(chunk)
            for row in chunk:
                _bulk_import_row_apply(row=row, author=bulk_import.applied_by, known=known)
                done += 1
                if time.monotonic() - saved_at >= PROGRESS_EVERY_SECONDS:
                    _bulk_import_progress_save(bulk_import_id, done=done)
                    flush()
                    saved_at = time.monotonic()
    now = timezone.now()
    BulkImport.objects.filter(pk=bulk_import_id).update(
        rows_done=done, state=BulkImport.State.DONE, touched_at=now, finished_at=now
    )
    bulk_import.refresh_from_db()
    return bulk_import


def _bulk_import_progress_save(bulk_import_id: int, *, done: int) -> None:
    BulkImport.objects.filter(pk=bulk_import_id).update(rows_done=done, touched_at=timezone.now())


class _BulkImportKnown:
    """What a chunk of rows names, read in one query per kind. A row naming one that is gone
    is refused; one deleted after this read fails that row's commit (a foreign key), and the
    row is refused then (_bulk_import_row_apply)."""

    def __init__(self, rows: list[BulkImportRow]):
        changed = [row.commitment_id for row in rows if row.action == BulkImportRow.Action.CHANGE]
        self.commitments = Commitment.objects.in_bulk(changed) if changed else {}
        self.links = {}
        for model in {*BULK_IMPORT_LINKS.values()}:
            ids = {
                pk
                for row in rows
                for name, value in (row.values or {}).items()
                if BULK_IMPORT_LINKS.get(name) is model
                for pk in value
            }
            self.links[model] = model.objects.in_bulk(ids) if ids else {}


class BulkRowRefused(Exception):
    """Applying one row was refused; nothing of it was written."""


class _RowTaken(Exception):
    """Another run recorded this row's result first: this run's writes are undone."""


def _bulk_import_row_apply(*, row: BulkImportRow, author, known: _BulkImportKnown) -> None:
    Action = BulkImportRow.Action
    if row.action in (Action.UNCHANGED, Action.REFUSED):
        _bulk_import_row_result(row=row, result=row.action, reason=row.reason)
        return
    result = Action.CREATE if row.action == Action.CREATE else Action.CHANGE
    try:
        with transaction.atomic():
            _commit_without_waiting_for_disk()
            commitment = _bulk_import_row_write(row=row, author=author, known=known)
            if not _bulk_import_row_result(row=row, result=result, commitment=commitment):
                raise _RowTaken
    except _RowTaken:
        return
    except (BulkRowRefused, CommitmentRetired) as refused:
        _bulk_import_row_result(row=row, result=Action.REFUSED, reason=str(refused))
    except Commitment.DoesNotExist:  # deleted after the chunk was read (a conflict's reload)
        _bulk_import_row_result(row=row, result=Action.REFUSED, reason=_row_gone_message())
    except IntegrityError:  # the commit found a row it links deleted, or its address taken
        reason = gettext(
            "Something the row names was deleted, or its ID taken, while it was written: "
            "nothing of this row was written. Import the file again."
        )
        _bulk_import_row_result(row=row, result=Action.REFUSED, reason=reason)
    except EditConflict as conflict:
        reason = gettext(
            "The commitment was changed since the dry run (version %(then)s, now %(now)s), so "
            "nothing of this row was written. Export again and import that file."
        ) % {"then": row.expected_version, "now": conflict.commitment.version}
        _bulk_import_row_result(row=row, result=Action.REFUSED, reason=reason)
    except ValidationError as invalid:
        _bulk_import_row_result(row=row, result=Action.REFUSED, reason=" ".join(invalid.messages))


def _commit_without_waiting_for_disk() -> None:
    """PostgreSQL: this row's transaction does not wait for its commit to reach the disk
    (synchronous_commit off for it alone), a wait that is most of a row's time. A crash of the
    server can lose the last fraction of a second of rows, their writes and result together, so
    a taken-over run writes them again (bulk_imports_claim); the import's final UPDATE, an
    ordinary commit, makes every row before it durable."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _bulk_import_row_result(*, row: BulkImportRow, result: str, reason: str = "", commitment=None):
    """Record the row's result unless a run did already (the conditional UPDATE the exactly
    once of _bulk_import_row_apply relies on); whether this run recorded it."""
    fields = {"result": result, "result_reason": reason}
    if commitment is not None:
        fields["commitment"] = commitment
    return BulkImportRow.objects.filter(pk=row.pk, result="").update(**fields) == 1


def _row_gone_message() -> str:
    return gettext("The commitment was deleted since the dry run.")


def _bulk_import_row_write(*, row: BulkImportRow, author, known: _BulkImportKnown) -> Commitment:
    values = _bulk_import_values(row.values, known=known)
    if row.action == BulkImportRow.Action.CREATE:
        if Commitment.objects.filter(title=values["title"], retired_on__isnull=True).exists():
            raise BulkRowRefused(
                gettext("A commitment with this title was added since the dry run: not created.")
            )
        commitment = commitment_create(values=values)
        version = commitment.version
    else:
        # Read with its chunk: a write since is caught by the version claims below.
        commitment = known.commitments.get(row.commitment_id)
        if commitment is None:
            raise BulkRowRefused(_row_gone_message())
        version = row.expected_version
        if values:
            commitment_update(commitment=commitment, expected_version=version, values=values)
            version = commitment.version
    if row.update:
        status_update_create(
            commitment=commitment,
            author=author,
            status=row.update["status"],
            progress=row.update["progress"],
            narrative=row.update["narrative"],
            happened_on=datetime.date.fromisoformat(row.update["happened_on"]),
            visibility=row.update["visibility"],
            expected_version=version,
        )
    return commitment


BULK_IMPORT_LINKS = {
    "paragraphs": Paragraph,
    "lead_actors": Actor,
    "supporting_actors": Actor,
    "themes": Theme,
}


def _bulk_import_values(stored: dict, *, known: _BulkImportKnown) -> dict:
    """A row's stored values as the commitment services take them: rows for ids (refused if
    one was deleted since the dry run), days for ISO text."""
    from django.contrib.auth import get_user_model

    values = {}
    for name, value in stored.items():
        if name in BULK_IMPORT_LINKS:
            found = known.links[BULK_IMPORT_LINKS[name]]
            rows = [found[pk] for pk in dict.fromkeys(value) if pk in found]
            if len(rows) != len(set(value)):
                raise BulkRowRefused(
                    gettext("Something the row names was deleted since the dry run.")
                )
            values[name] = rows
        elif name == "owner":
            values[name] = get_user_model().objects.filter(pk=value).first() if value else None
        elif name == "target_date":
            values[name] = datetime.date.fromisoformat(value) if value else None
        else:
            values[name] = value
    return values
