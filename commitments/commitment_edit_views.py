"""The secretariat's pages that change a commitment itself: create it from paragraphs, edit it,
retire it, relate it to others. Every one is refused to liaisons, reads included
(core.editing.secretariat_only); the writes go through commitments.services."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from core.editing import changed_fields, secretariat_only
from core.ids import row_ids
from core.local_time import reader_today

from . import services, views
from .forms import CommitmentForm, RelationForm, RetireForm
from .models import DOCUMENT_TEXTS, Commitment, CommitmentRelation, Paragraph
from .views import READ_METHODS, allow_methods

FORM_METHODS = (*READ_METHODS, "POST")


def _commitment(slug: str) -> Commitment:
    try:
        return Commitment.objects.get(slug=slug)
    except Commitment.DoesNotExist:
        raise Http404("No such commitment.") from None


def _form_page(request, form, *, commitment=None, status=200, **extra):
    context = {"form": form, "commitment": commitment, **extra}
    return render(request, "commitments/commitment_form.html", context, status=status)


def _add_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: under its field if the form has it."""
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@secretariat_only
@allow_methods(*FORM_METHODS)
def commitment_create(request):
    """A new commitment, prefilled with the paragraphs chosen on a document's page."""
    if request.method != "POST":
        chosen = Paragraph.objects.filter(pk__in=_ids(request.GET.getlist("paragraphs")))
        chosen = chosen.select_related("document").defer(*DOCUMENT_TEXTS)
        form = CommitmentForm(initial=_initial_from(list(chosen)))
        return _form_page(request, form)
    form = CommitmentForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    try:
        commitment = services.commitment_create(values=form.service_values())
    except ValidationError as error:
        _add_errors(form, error)
        return _form_page(request, form, status=400)
    messages.success(request, _("The commitment is created."))
    return redirect(commitment)


def _ids(values: list[str]) -> list[int]:
    return row_ids(values)


def _initial_from(paragraphs: list[Paragraph]) -> dict:
    """A title and summary to start from: the first paragraph's opening words and the text."""
    if not paragraphs:
        return {}
    first = paragraphs[0]
    words = first.text.split()
    title = " ".join(words[:12]) + ("…" if len(words) > 12 else "")
    return {
        "paragraphs": [p.pk for p in paragraphs],
        "title": title[:200],
        "summary": "\n\n".join(f"¶{p.number}: {p.text}" for p in paragraphs),
    }


@secretariat_only
@allow_methods(*FORM_METHODS)
def commitment_edit(request, slug):
    commitment = _commitment(slug)
    if commitment.is_retired:
        return retired_page(request, commitment)
    if request.method != "POST":
        form = CommitmentForm(instance=commitment, initial={"version": commitment.version})
        return _form_page(request, form, commitment=commitment)
    form = CommitmentForm(request.POST, instance=_commitment(slug))
    if not form.is_valid():
        return _form_page(request, form, commitment=commitment, status=400)
    try:
        services.commitment_update(
            commitment=commitment,
            expected_version=form.cleaned_data["version"],
            values=form.service_values(),
        )
    except services.EditConflict:
        return _conflict(request, form, commitment)
    except services.CommitmentRetired:
        return retired_page(request, _commitment(slug))
    except ValidationError as error:
        _add_errors(form, error)
        return _form_page(request, form, commitment=commitment, status=400)
    messages.success(request, _("Your changes are saved."))
    return redirect(commitment)


def _conflict(request, form, commitment):
    """The other person's change beside the reader's input (core/_conflict.html), 409."""
    rows = changed_fields(form=form, instance=commitment)
    data = request.POST.copy()
    data["version"] = commitment.version  # saving again is then a deliberate choice
    fresh = CommitmentForm(data, instance=commitment)
    fresh.is_valid()
    return _form_page(request, fresh, commitment=commitment, status=409, conflict_rows=rows)


def retired_page(request, commitment):
    """A retired commitment's refusal of an edit, its milestones' included: 409."""
    message = services.retired_refusal_message(commitment)
    return render(
        request,
        "commitments/commitment_retired.html",
        {"commitment": commitment, "message": message},
        status=409,
    )


@secretariat_only
@allow_methods(*FORM_METHODS)
def commitment_retire(request, slug):
    commitment = _commitment(slug)
    if commitment.is_retired:
        return retired_page(request, commitment)
    if request.method != "POST":
        form = RetireForm(initial={"version": commitment.version})
        return _retire_page(request, form, commitment)
    form = RetireForm(request.POST)
    if not form.is_valid():
        return _retire_page(request, form, commitment, status=400)
    try:
        services.commitment_retire(
            commitment=commitment,
            expected_version=form.cleaned_data["version"],
            reason=form.cleaned_data["reason"],
            retired_by=request.user,
            retired_on=reader_today(request.user),
        )
    except services.EditConflict:
        data = request.POST.copy()
        data["version"] = commitment.version  # the claim reloaded it with the newer state
        return _retire_page(request, RetireForm(data), commitment, status=409, conflict=True)
    except services.CommitmentRetired:
        return retired_page(request, _commitment(slug))
    except ValidationError as error:
        _add_errors(form, error)
        return _retire_page(request, form, commitment, status=400)
    messages.success(request, _("The commitment is retired."))
    return redirect(commitment)


def _retire_page(request, form, commitment, *, status=200, **extra):
    context = {"form": form, "commitment": commitment, **extra}
    return render(request, "commitments/commitment_retire.html", context, status=status)


@secretariat_only
@allow_methods("POST")
def commitment_relation_add(request, slug):
    commitment = _commitment(slug)
    form = RelationForm(request.POST, commitment=commitment)
    if form.is_valid():
        try:
            services.commitment_relation_add(
                from_commitment=commitment,
                to_commitment=form.cleaned_data["to_commitment"],
                kind=form.cleaned_data["kind"],
            )
        except services.RelationRefused as refused:
            form.add_error(None, str(refused))
    if form.errors:
        return _relation_refused(request, commitment, form)
    messages.success(request, _("The relation is added."))
    return redirect(commitment)


def _relation_refused(request, commitment, form):
    """The commitment's page again, the relation form with why it was refused (400)."""
    shown = views.commitment_or_404(request, commitment.slug)
    return views.commitment_page(request, shown, None, status=400, relation_form=form)


@secretariat_only
@allow_methods("POST")
def commitment_relation_remove(request, slug, pk):
    commitment = _commitment(slug)
    relation = get_object_or_404(
        CommitmentRelation.objects.filter(from_commitment=commitment)
        | CommitmentRelation.objects.filter(to_commitment=commitment),
        pk=pk,
    )
    services.commitment_relation_remove(relation=relation)
    messages.success(request, _("The relation is removed."))
    return redirect(commitment)
