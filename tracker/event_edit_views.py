"""Creating and editing events: the secretariat's pages (core.editing.secretariat_only)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from core.editing import StaleVersion, changed_fields, secretariat_only

from .event_forms import EventForm
from .events import event_create, event_update
from .models import Event


@require_http_methods(["GET", "POST"])
@secretariat_only
def event_new(request):
    form = EventForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _form_page(request, form, status=400)
        event = event_create(**_service_arguments(form))
        messages.success(request, _("The event is added."))
        return redirect(event)
    return _form_page(request, form)


@require_http_methods(["GET", "POST"])
@secretariat_only
def event_edit(request, slug: str):
    event = get_object_or_404(Event.objects.select_related("deadline_of"), slug=slug)
    if event.deadline_of_id is not None:
        # Kept by tracker.events from the commitment's target date; nothing to edit here.
        status = 200 if request.method == "GET" else 409
        return render(request, "tracker/event_deadline.html", {"event": event}, status=status)
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST":
        return _event_edit_post(request, event, form)
    return _form_page(request, form, event=event)


def _event_edit_post(request, event: Event, form: EventForm):
    if not form.is_valid():
        return _form_page(request, form, event=event, status=400)
    try:
        event_update(
            event=event,
            expected_version=form.cleaned_data["version"] or 0,
            **_service_arguments(form),
        )
    except StaleVersion:
        return _conflict_page(request, event.slug, form)
    messages.success(request, _("The event is saved."))
    return redirect(event)


def _conflict_page(request, slug: str, stale_form: EventForm):
    """The other person's change beside the reader's input, the form at the newer version."""
    event = Event.objects.get(slug=slug)
    rows = changed_fields(form=stale_form, instance=event)
    data = request.POST.copy()
    data["version"] = event.version
    form = EventForm(data, instance=event)
    return _form_page(request, form, event=event, status=409, conflict_rows=rows)


def _service_arguments(form: EventForm) -> dict:
    return {
        "fields": form.service_fields(),
        "commitments": form.cleaned_data["commitments"],
        "paragraphs": form.cleaned_data["paragraphs"],
    }


def _form_page(request, form, *, event=None, status=200, conflict_rows=None):
    context = {"form": form, "event": event, "conflict": conflict_rows is not None}
    context["conflict_rows"] = conflict_rows or []
    return render(request, "tracker/event_form.html", context, status=status)
