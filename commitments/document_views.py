"""The secretariat's pages for documents: the list (for everyone), importing a text with a
preview, editing the metadata, and linking documents to each other. Thin: forms check the
input, commitments.services and commitments.import_preview write."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.editing import StaleVersion, changed_fields, secretariat_only
from core.local_time import reader_today
from core.public_site import public_record

from . import selectors, services
from .document_forms import (
    DocumentForm,
    DocumentImportApplyForm,
    DocumentImportForm,
    DocumentLinkForm,
)
from .import_preview import StalePreview, document_import_apply, document_import_preview
from .importers import DocumentImportError
from .models import Document, DocumentLink
from .views import READ_METHODS, allow_methods, document_or_404, document_page


@public_record
@allow_methods(*READ_METHODS)
def document_list(request):
    documents = selectors.document_list()
    return render(request, "commitments/document_list.html", {"documents": documents})


@secretariat_only
def document_import(request):
    """GET: the form (?short_name= fills it in to replace that document's text).
    POST: the preview of what importing would do, or the form with the importer's message."""
    if request.method != "POST":
        initial = {"short_name": request.GET.get("short_name", "")}
        return _import_form_page(request, DocumentImportForm(initial=initial))
    form = DocumentImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        preview = document_import_preview(
            text=data["text"], short_name=data["short_name"], source_url=data["source_url"]
        )
    except DocumentImportError as error:
        form.add_error(None, str(error))
        return _import_form_page(request, form, status=400)
    apply_form = DocumentImportApplyForm(
        initial={"text": preview.text, "fingerprint": preview.fingerprint}
    )
    context = {"preview": preview, "apply_form": apply_form}
    return render(request, "commitments/document_import_preview.html", context)


def _import_form_page(request, form, *, status: int = 200, refused: str = ""):
    context = {"form": form, "refused": refused}
    return render(request, "commitments/document_import.html", context, status=status)


@secretariat_only
@require_POST
def document_import_apply_view(request):
    form = DocumentImportApplyForm(request.POST)
    if not form.is_valid():
        refused = _("The preview was not sent whole, so nothing was imported. Preview again.")
        return _import_form_page(request, DocumentImportForm(), status=400, refused=refused)
    try:
        report = document_import_apply(**form.cleaned_data)
    except StalePreview as error:
        return _import_form_page(request, DocumentImportForm(), status=409, refused=str(error))
    except DocumentImportError as error:
        return _import_form_page(request, DocumentImportForm(), status=400, refused=str(error))
    if report.up_to_date:
        messages.info(request, _("The document was already up to date; nothing changed."))
    else:
        messages.success(request, _("The text is imported."))
    return redirect("commitments:document_detail", short_name=report.short_name)


@secretariat_only
def document_edit(request, short_name):
    document = get_object_or_404(Document, short_name=short_name)
    today = reader_today(request.user)
    if request.method != "POST":
        form = DocumentForm(instance=document, initial={"version": document.version}, today=today)
        return _edit_page(request, document, form)
    form = DocumentForm(request.POST, instance=document, today=today)
    if not form.is_valid():
        return _edit_page(request, document, form, status=400)
    try:
        services.document_update(document=document, **form.service_arguments())
    except StaleVersion:
        rows = changed_fields(form=form, instance=document)
        data = request.POST.copy()
        data["version"] = document.version
        fresh = DocumentForm(data, instance=Document.objects.get(pk=document.pk), today=today)
        return _edit_page(request, document, fresh, status=409, conflict_rows=rows)
    messages.success(request, _("The document's details are saved."))
    return redirect(document)


def _edit_page(request, document, form, *, status: int = 200, conflict_rows=None):
    context = {"document": document, "form": form, "conflict_rows": conflict_rows}
    return render(request, "commitments/document_edit.html", context, status=status)


@secretariat_only
@require_POST
def document_link_create(request, short_name):
    document = document_or_404(short_name)
    form = DocumentLinkForm(request.POST)
    if not form.is_valid():
        return document_page(request, document, link_form=form, status=400)
    try:
        services.document_link_create(
            from_document=document,
            to_document=form.cleaned_data["to_document"],
            kind=form.cleaned_data["kind"],
            note=form.cleaned_data["note"],
            author=request.user,
        )
    except services.DocumentLinkRefused as error:
        form.add_error(None, str(error))
        return document_page(request, document, link_form=form, status=400)
    messages.success(request, _("The link is added."))
    return redirect(f"{document.get_absolute_url()}#links")


@secretariat_only
@require_POST
def document_link_delete(request, short_name, pk):
    document = get_object_or_404(Document, short_name=short_name)
    # Shown on both documents' pages, so either may remove it.
    either_way = Q(from_document=document) | Q(to_document=document)
    link = get_object_or_404(DocumentLink.objects.filter(either_way), pk=pk)
    services.document_link_delete(link=link)
    messages.success(request, _("The link is removed."))
    return redirect(f"{document.get_absolute_url()}#links")
