"""The secretariat's pages for a commitment's milestones: add, edit, mark done, move, delete.
Liaisons read milestones on the commitment page; every page here refuses them (403)."""

import functools

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from core.editing import StaleVersion, changed_fields, secretariat_only
from core.local_time import reader_today

from . import milestones, selectors
from .commitment_edit_views import retired_page
from .forms import MilestoneDoneForm, MilestoneForm
from .models import Commitment, Milestone
from .services import CommitmentRetired
from .views import READ_METHODS, allow_methods


def _refusing_retired(view):
    """A retired commitment takes no milestone changes: the retired page (409) instead, from
    the view's own check or from commitments.milestones' when it was retired meanwhile."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except CommitmentRetired as refused:
            return retired_page(request, refused.commitment)

    return wrapped


def _open(commitment: Commitment) -> Commitment:
    if commitment.is_retired:
        raise CommitmentRetired(commitment)
    return commitment


def _milestone_or_404(pk: int) -> Milestone:
    """The milestone, of a commitment not retired (CommitmentRetired otherwise)."""
    try:
        milestone = selectors.milestone_get(pk=pk)
    except Milestone.DoesNotExist:
        raise Http404("No such milestone.") from None
    _open(milestone.commitment)
    return milestone


def _back_to(commitment: Commitment):
    return redirect(f"{commitment.get_absolute_url()}#milestones")


def _form_page(
    request,
    form,
    *,
    commitment,
    heading,
    button,
    status=200,
    conflict_rows=None,
    done_milestone=None,
):
    context = {
        "done_milestone": done_milestone,
        "commitment": commitment,
        "form": form,
        "heading": heading,
        "button": button,
        "conflict": conflict_rows is not None,
        "conflict_rows": conflict_rows or [],
    }
    return render(request, "commitments/milestone_form.html", context, status=status)


def _conflict(
    request,
    form,
    milestone: Milestone,
    *,
    heading,
    button,
    form_class,
    done_milestone=None,
    **form_kwargs,
):
    """The form again at the saved version, the other person's change beside the input (409)."""
    rows = changed_fields(form=form, instance=milestone)
    data = request.POST.copy()
    data["version"] = milestone.version
    again = form_class(data, **form_kwargs)
    return _form_page(
        request,
        again,
        commitment=milestone.commitment,
        heading=heading,
        button=button,
        status=409,
        conflict_rows=rows,
        done_milestone=milestone if milestone.done_on else None,
    )


@secretariat_only
@_refusing_retired
@allow_methods(*READ_METHODS, "POST")
def milestone_add(request, slug):
    try:
        commitment = _open(Commitment.objects.get(slug=slug))
    except Commitment.DoesNotExist:
        raise Http404("No such commitment.") from None
    page = {"commitment": commitment, "heading": _("Add a milestone"), "button": _("Add")}
    form = MilestoneForm(request.POST or None)
    if request.method != "POST":
        return _form_page(request, form, **page)
    if form.is_valid():
        data = form.cleaned_data
        try:
            milestones.milestone_create(
                commitment=commitment,
                author=request.user,
                title=data["title"],
                weight=data["weight"],
                due_on=data["due_on"],
            )
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The milestone is added."))
            return _back_to(commitment)
    return _form_page(request, form, status=400, **page)


@secretariat_only
@_refusing_retired
@allow_methods(*READ_METHODS, "POST")
def milestone_edit(request, pk):
    milestone = _milestone_or_404(pk)
    page = {"heading": _("Edit the milestone"), "button": _("Save")}
    if request.method != "POST":
        fields = ("title", "due_on", "weight", "version")
        form = MilestoneForm(initial={name: getattr(milestone, name) for name in fields})
        return _form_page(request, form, commitment=milestone.commitment, **page)
    form = MilestoneForm(request.POST)
    form.fields["version"].required = True
    if form.is_valid():
        data = form.cleaned_data
        try:
            milestones.milestone_update(
                milestone=milestone,
                author=request.user,
                title=data["title"],
                weight=data["weight"],
                due_on=data["due_on"],
                expected_version=data["version"],
            )
        except StaleVersion:
            return _conflict(request, form, milestone, form_class=MilestoneForm, **page)
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The milestone is saved."))
            return _back_to(milestone.commitment)
    return _form_page(request, form, commitment=milestone.commitment, status=400, **page)


@secretariat_only
@_refusing_retired
@allow_methods(*READ_METHODS, "POST")
def milestone_done(request, pk):
    milestone = _milestone_or_404(pk)
    commitment = milestone.commitment
    page = {
        "heading": _("Mark the milestone done"),
        "button": _("Mark done"),
        "done_milestone": milestone if milestone.done_on else None,
    }
    today = reader_today(request.user)
    form_kwargs = {
        "today": today,
        "commitment": commitment,
        "updates": selectors.commitment_proof_choices(commitment=commitment),
    }
    if request.method != "POST":
        initial = {
            "done_on": milestone.done_on or today,
            "evidence_url": milestone.evidence_url,
            "proved_by": milestone.proved_by_id,
            "version": milestone.version,
        }
        form = MilestoneDoneForm(initial=initial, **form_kwargs)
        return _form_page(request, form, commitment=commitment, **page)
    form = MilestoneDoneForm(request.POST, **form_kwargs)
    if form.is_valid():
        data = form.cleaned_data
        try:
            milestones.milestone_done(
                milestone=milestone,
                author=request.user,
                done_on=data["done_on"],
                evidence_url=data["evidence_url"],
                proved_by=data["proved_by"],
                expected_version=data["version"],
            )
        except StaleVersion:
            return _conflict(
                request, form, milestone, form_class=MilestoneDoneForm, **page, **form_kwargs
            )
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The milestone is marked done; the progress follows."))
            return _back_to(commitment)
    return _form_page(request, form, commitment=commitment, status=400, **page)


@secretariat_only
@_refusing_retired
@allow_methods("POST")
def milestone_not_done(request, pk):
    """Undo "mark done" (a wrong click): the day and proof are cleared; the form's version
    guards against undoing a change made meanwhile."""
    milestone = _milestone_or_404(pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponseBadRequest(
            _("The form is out of date or incomplete; nothing was changed. Reload the page.")
        )
    try:
        milestones.milestone_undone(
            milestone=milestone, author=request.user, expected_version=version
        )
    except StaleVersion:
        messages.error(
            request,
            _("The milestone was changed meanwhile, so nothing was changed: see it as saved now."),
        )
        return redirect("commitments:milestone_done", pk=milestone.pk)
    messages.success(request, _("The milestone is marked not done; the progress follows."))
    return _back_to(milestone.commitment)


@secretariat_only
@_refusing_retired
@allow_methods("POST")
def milestone_move(request, pk):
    milestone = _milestone_or_404(pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest(_("Say which way to move the milestone: up or down."))
    milestones.milestone_move(milestone=milestone, author=request.user, direction=direction)
    return _back_to(milestone.commitment)


@secretariat_only
@_refusing_retired
@allow_methods(*READ_METHODS, "POST")
def milestone_delete(request, pk):
    milestone = _milestone_or_404(pk)
    context = {"milestone": milestone, "commitment": milestone.commitment, "refusal": None}
    if request.method != "POST":
        return render(request, "commitments/milestone_delete.html", context)
    try:
        version = int(request.POST.get("version", ""))
        milestones.milestone_delete(
            milestone=milestone, author=request.user, expected_version=version
        )
    except ValueError:
        context["refusal"] = _("The form was incomplete; nothing was deleted. Try again.")
    except StaleVersion:
        context["stale"] = True
        return render(request, "commitments/milestone_delete.html", context, status=409)
    except ValidationError as refusal:
        context["refusal"] = " ".join(refusal.messages)
    else:
        messages.success(request, _("The milestone is deleted."))
        return _back_to(milestone.commitment)
    return render(request, "commitments/milestone_delete.html", context, status=400)
