"""Correcting and withdrawing a posted status update: the secretariat's pages, one per kind.

Both append a row (commitments.services.status_update_correct / status_update_withdraw); the
update itself is never changed. Each form carries the commitment's version: posted against an
older one, nothing is written and the page says so (409).
"""

import logging

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from core.editing import secretariat_only
from core.local_time import reader_today, reader_zone

from . import services
from .forms import StatusUpdateCorrectionForm, StatusUpdateWithdrawalForm
from .models import Commitment, StatusUpdate
from .views import READ_METHODS, allow_methods

logger = logging.getLogger(__name__)


def _commitment_and_update(slug: str, pk: int) -> tuple[Commitment, StatusUpdate]:
    """The update of that commitment, with what the page shows of it; 404 otherwise."""
    try:
        update = (
            StatusUpdate.objects.select_related("commitment", "author", "amends", "amended_by")
            .prefetch_related("links", "files")
            .get(pk=pk, commitment__slug=slug)
        )
    except StatusUpdate.DoesNotExist:
        raise Http404("No such status update.") from None
    return update.commitment, update


def _page(
    request,
    update,
    form,
    *,
    kind: str,
    status: int = 200,
    conflict: bool = False,
    proof_refused: bool = False,
):
    context = {
        # Milestones the update proves done: a withdrawal leaves them their link, or is refused.
        "proved_milestones": services.milestones_proved_by(update=update),
        "proof_refused": proof_refused,
        "commitment": update.commitment,
        "update": update,
        "amended": update.amended_with,
        "form": form,
        "kind": kind,
        "conflict": conflict,
        "internal_reader": True,
        "reader_zone": reader_zone(request.user),
    }
    return render(request, "commitments/status_update_amend.html", context, status=status)


def _refused_as_amended(request, update: StatusUpdate, *, kind: str):
    """An update already corrected or withdrawn (or a withdrawal) is not amended again: the
    page says by what, and links to the correction, which may be corrected in turn."""
    return _page(request, update, None, kind=kind, status=409)


def _amendable(update: StatusUpdate) -> bool:
    return update.amended_with is None and update.amendment != StatusUpdate.Amendment.WITHDRAWAL


def _stale(request, slug, pk, form_class, *, kind: str, today=None):
    """The form as posted, against the version saved now, beside what was saved meanwhile."""
    commitment, update = _commitment_and_update(slug, pk)
    data = request.POST.copy()
    data["version"] = commitment.version
    extra = {} if today is None else {"today": today, "has_milestones": _has_milestones(update)}
    form = form_class(data, **extra)
    form.is_valid()
    return _page(request, update, form, kind=kind, status=409, conflict=True)


def _has_milestones(update) -> bool:
    return update.commitment.milestones.exists()


@secretariat_only
@allow_methods(*READ_METHODS, "POST")
def status_update_correct(request, slug, pk):
    commitment, update = _commitment_and_update(slug, pk)
    if not _amendable(update):
        return _refused_as_amended(request, update, kind="correction")
    today = reader_today(request.user)
    # Where milestones compute the figure, a correction has none to type either.
    figure = {"today": today, "has_milestones": _has_milestones(update)}
    if request.method != "POST":
        initial = StatusUpdateCorrectionForm.initial_for(update, version=commitment.version)
        form = StatusUpdateCorrectionForm(initial=initial, **figure)
        return _page(request, update, form, kind="correction")
    form = StatusUpdateCorrectionForm(request.POST, request.FILES, **figure)
    if not form.is_valid():
        return _page(request, update, form, kind="correction", status=400)
    try:
        services.status_update_create_with_evidence(
            write=services.status_update_correct,
            update=update,
            author=request.user,
            **form.service_arguments(),
        )
    except services.EditConflict:
        return _stale(request, slug, pk, StatusUpdateCorrectionForm, kind="correction", today=today)
    except services.AlreadyAmended:
        return _refused_as_amended(request, _commitment_and_update(slug, pk)[1], kind="correction")
    except services.ProgressRefused as refusal:
        # Milestones were added or removed between the form's check and the write.
        form.add_error(None, refusal)
        return _page(request, update, form, kind="correction", status=400)
    except OSError:
        logger.exception("Evidence file for a correction on %s could not be stored", slug)
        form.add_error(
            "evidence_file",
            _(
                "The file could not be stored, so nothing was saved. Try again; if it keeps "
                "failing, correct the update without the file and tell the administrator."
            ),
        )
        return _page(request, update, form, kind="correction", status=503)
    messages.success(request, _("The correction is posted; the original stays in the history."))
    return redirect(commitment)


@secretariat_only
@allow_methods(*READ_METHODS, "POST")
def status_update_withdraw(request, slug, pk):
    commitment, update = _commitment_and_update(slug, pk)
    if not _amendable(update):
        return _refused_as_amended(request, update, kind="withdrawal")
    if request.method != "POST":
        form = StatusUpdateWithdrawalForm(initial={"version": commitment.version})
        return _page(request, update, form, kind="withdrawal")
    form = StatusUpdateWithdrawalForm(request.POST)
    if not form.is_valid():
        return _page(request, update, form, kind="withdrawal", status=400)
    try:
        services.status_update_withdraw(
            update=update, author=request.user, **form.service_arguments()
        )
    except services.EditConflict:
        return _stale(request, slug, pk, StatusUpdateWithdrawalForm, kind="withdrawal")
    except services.AlreadyAmended:
        return _refused_as_amended(request, _commitment_and_update(slug, pk)[1], kind="withdrawal")
    except services.ProofStillNeeded:
        return _page(request, update, form, kind="withdrawal", status=409, proof_refused=True)
    messages.success(request, _("The update is withdrawn; it stays in the history, marked so."))
    return redirect(commitment)
