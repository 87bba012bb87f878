"""Curating actors and themes: the secretariat's pages (core.editing.secretariat_only)."""

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from core.editing import StaleVersion, changed_fields, secretariat_only

from . import services
from .actor_forms import ActorForm, ActorMergeForm, ThemeForm
from .models import Actor, Theme

EDIT_METHODS = ["GET", "POST"]


@require_http_methods(EDIT_METHODS)
@secretariat_only
def actor_new(request):
    form = ActorForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _form_page(request, form, kind="actor", status=400)
        actor = services.actor_create(**_actor_fields(form))
        messages.success(request, _("The actor is added."))
        return redirect(actor)
    return _form_page(request, form, kind="actor")


@require_http_methods(EDIT_METHODS)
@secretariat_only
def actor_edit(request, slug: str):
    actor = get_object_or_404(Actor, slug=slug)
    form = ActorForm(request.POST or None, instance=actor)
    if request.method == "GET":
        return _form_page(request, form, kind="actor", instance=actor)
    if not form.is_valid():
        return _form_page(request, form, kind="actor", instance=actor, status=400)
    version = form.cleaned_data["version"] or 0
    try:
        services.actor_update(actor=actor, expected_version=version, **_actor_fields(form))
    except StaleVersion:
        return _conflict_page(request, form, ActorForm, kind="actor")
    messages.success(request, _("The actor is saved; its address stays the same."))
    return redirect(actor)


def _actor_fields(form: ActorForm) -> dict:
    return {name: form.cleaned_data[name] for name in ("name", "kind", "iso_code")}


@require_http_methods(EDIT_METHODS)
@secretariat_only
def actor_merge(request, slug: str):
    actor = get_object_or_404(Actor, slug=slug)
    form = ActorMergeForm(request.POST or None, actor=actor)
    if request.method == "GET" or not form.is_valid():
        status = 200 if request.method == "GET" else 400
        return _merge_page(request, form, actor, status=status)
    keep, remove = form.pair()
    try:
        services.actor_merge(
            keep=keep,
            remove=remove,
            expected_versions={actor.pk: form.cleaned_data["version"]},
            author=request.user,
        )
    except StaleVersion:
        actor.refresh_from_db()
        form = ActorMergeForm(request.POST, actor=actor)
        return _merge_page(request, form, actor, status=409, stale=True)
    messages.success(
        request,
        _("%(removed)s is merged into %(kept)s.") % {"removed": remove.name, "kept": keep.name},
    )
    return redirect(keep)


def _merge_page(request, form, actor, *, status=200, stale=False):
    if stale:  # the merge form asks again, at the version saved now
        form.data = form.data.copy()
        form.data["version"] = actor.version
    context = {"form": form, "actor": actor, "stale": stale}
    return render(request, "commitments/actor_merge.html", context, status=status)


@secretariat_only  # first: a liaison is refused whatever the method
@require_GET
def theme_list(request):
    themes = Theme.objects.annotate(commitment_count=Count("commitments")).order_by("name")
    return render(request, "commitments/theme_list.html", {"themes": themes})


@require_http_methods(EDIT_METHODS)
@secretariat_only
def theme_new(request):
    form = ThemeForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _form_page(request, form, kind="theme", status=400)
        services.theme_create(name=form.cleaned_data["name"])
        messages.success(request, _("The theme is added."))
        return redirect("commitments:theme_list")
    return _form_page(request, form, kind="theme")


@require_http_methods(EDIT_METHODS)
@secretariat_only
def theme_edit(request, slug: str):
    theme = get_object_or_404(Theme, slug=slug)
    form = ThemeForm(request.POST or None, instance=theme)
    if request.method == "GET":
        return _form_page(request, form, kind="theme", instance=theme)
    if not form.is_valid():
        return _form_page(request, form, kind="theme", instance=theme, status=400)
    version = form.cleaned_data["version"] or 0
    try:
        services.theme_update(theme=theme, name=form.cleaned_data["name"], expected_version=version)
    except StaleVersion:
        return _conflict_page(request, form, ThemeForm, kind="theme")
    messages.success(request, _("The theme is renamed; its address stays the same."))
    return redirect("commitments:theme_list")


def _conflict_page(request, stale_form, form_class, *, kind: str):
    """The other person's change beside the reader's input, the form at the newer version."""
    instance = stale_form.instance
    instance.refresh_from_db()
    rows = changed_fields(form=stale_form, instance=instance)
    data = request.POST.copy()
    data["version"] = instance.version
    form = form_class(data, instance=instance)
    return _form_page(request, form, kind=kind, instance=instance, status=409, conflict_rows=rows)


def _form_page(request, form, *, kind: str, instance=None, status=200, conflict_rows=None):
    back = instance.get_absolute_url() if kind == "actor" and instance else None
    context = {
        "form": form,
        "kind": kind,
        "instance": instance,
        "back_url": back or reverse(f"commitments:{kind}_list"),
        "conflict": conflict_rows is not None,
        "conflict_rows": conflict_rows or [],
    }
    return render(request, "commitments/actor_form.html", context, status=status)
