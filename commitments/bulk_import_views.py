"""The secretariat's bulk import pages: upload a file in the export's format (the dry run), read
the per-row preview, apply it (a Celery task writes it; the page shows its progress), download
the result. Thin: commitments.bulk_import plans, commitments.services writes."""

import contextlib
import csv

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from core.editing import secretariat_only
from core.local_time import reader_today

from . import selectors, services
from .bulk_import import FileRefused
from .exports import _Echo, _spreadsheet_safe
from .models import BulkImport
from .services import exact_file_size


class BulkImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("A CSV (UTF-8) or Excel (.xlsx) file in the commitments export's format."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.BULK_IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                gettext("The file is %(size)s; the limit is %(limit)s. Split it into several.")
                % {"size": exact_file_size(upload.size), "limit": exact_file_size(limit)}
            )
        return upload


@secretariat_only
def bulk_import_upload(request):
    """GET: the form and the recent imports. POST: the dry run, stored, then its page."""
    form = BulkImportForm()
    if request.method == "POST":
        form = BulkImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                bulk_import = services.bulk_import_create(
                    author=request.user,
                    name=upload.name,
                    content=upload.read(),
                    today=reader_today(request.user),
                )
            except FileRefused as refused:
                form.add_error("file", str(refused))
            else:
                return redirect(bulk_import)
    context = {
        "form": form,
        "imports": selectors.bulk_import_recent_list(),
        "max_rows": number_format(settings.BULK_IMPORT_MAX_ROWS, force_grouping=True),
        "max_size": filesizeformat(settings.BULK_IMPORT_MAX_UPLOAD_BYTES),
    }
    status = 400 if form.is_bound else 200
    return render(request, "commitments/bulk_import_upload.html", context, status=status)


ROWS_SHOWN = 500  # of a dry run on its page; the report has them all


@secretariat_only
@require_GET
def bulk_import_detail(request, pk):
    bulk_import = get_object_or_404(BulkImport, pk=pk)
    counts = selectors.bulk_import_counts(bulk_import=bulk_import)
    context = {
        "bulk_import": bulk_import,
        "counts": counts,
        # Before applying, counts are the planned actions (selectors.bulk_import_counts).
        "nothing_to_apply": "" if counts["create"] or counts["change"] else _nothing_to_apply(),
        "rows": selectors.bulk_import_rows(bulk_import=bulk_import)[:ROWS_SHOWN],
        "rows_shown": ROWS_SHOWN,
        "applied": bulk_import.state == BulkImport.State.DONE,
        "queued": bulk_import.state == BulkImport.State.QUEUED,
        "running": bulk_import.state in (BulkImport.State.QUEUED, BulkImport.State.APPLYING),
    }
    return render(request, "commitments/bulk_import_detail.html", context)


@secretariat_only
@require_POST
def bulk_import_apply(request, pk):
    bulk_import = get_object_or_404(BulkImport, pk=pk)
    # Applied or being applied already: its page says so, and nothing is queued twice.
    try:
        with contextlib.suppress(services.BulkImportNotPending):
            services.bulk_import_queue(bulk_import=bulk_import, user=request.user)
    except services.BulkImportNothingToApply:
        messages.error(request, _nothing_to_apply())
    return redirect(bulk_import)


def _nothing_to_apply() -> str:
    return gettext(
        "Nothing to apply: every row was refused or is unchanged. Correct the file and upload "
        "it again."
    )


@secretariat_only
@require_GET
def bulk_import_status(request, pk):
    """The progress, for static/js/bulk-import-progress.js."""
    bulk_import = get_object_or_404(BulkImport, pk=pk)
    return JsonResponse(
        {
            "state": bulk_import.state,
            "done": bulk_import.rows_done,
            "total": bulk_import.rows_total,
            "finished": bulk_import.state == BulkImport.State.DONE,
        }
    )


@secretariat_only
@require_GET
def bulk_import_report(request, pk):
    """Every row: its number, ID, title, what the dry run planned, what applying did, why."""
    bulk_import = get_object_or_404(BulkImport, pk=pk)
    writer = csv.writer(_Echo())
    lines = (
        writer.writerow([_spreadsheet_safe(str(cell)) for cell in row])
        for row in selectors.bulk_import_report_rows(bulk_import=bulk_import)
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"import-{bulk_import.pk}-report.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
