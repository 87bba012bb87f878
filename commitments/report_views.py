"""The implementation report of a document as of a day: a print-styled page and a PDF.

Everyone who can log in may read it: it holds only public updates (commitments.reports).
"""

import datetime

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from core.local_time import reader_today
from core.public_downloads import limited_download
from core.public_site import public_record

from . import reports
from .models import Document
from .views import READ_METHODS, allow_methods


class BadDate(ValueError):
    pass


def _as_of(request) -> datetime.date:
    """The day asked for (?as_of=YYYY-MM-DD), today where the reader is when none is given."""
    today = reader_today(request.user)
    raw = request.GET.get("as_of", "").strip()
    if not raw:
        return today
    try:
        as_of = datetime.date.fromisoformat(raw)
    except ValueError:
        raise BadDate(
            _("“%(raw)s” is not a date. Give one as YYYY-MM-DD, e.g. 2025-12-12.") % {"raw": raw}
        ) from None
    if as_of > today:
        raise BadDate(_("A report cannot look ahead: choose today or a day in the past."))
    return as_of


def _report_or_error(request, short_name: str):
    """(report, None) or (None, a 400 page saying what to fix); 404 for an unknown document."""
    if not Document.objects.filter(short_name=short_name).exists():
        raise Http404("No such document.")
    try:
        as_of = _as_of(request)
    except BadDate as error:
        context = {"short_name": short_name, "error": str(error)}
        return None, render(request, "commitments/report_error.html", context, status=400)
    return reports.document_report(short_name=short_name, as_of=as_of), None


@public_record
@allow_methods(*READ_METHODS)
def document_report(request, short_name):
    report, error = _report_or_error(request, short_name)
    if error:
        return error
    return render(request, "commitments/report.html", {"report": report})


def _no_fetching(url: str, *args, **kwargs):
    """WeasyPrint may fetch nothing: the stylesheet is handed over, links stay links."""
    raise ValueError(f"The PDF report does not fetch {url}.")


def report_pdf_bytes(report: reports.Report) -> bytes:
    from weasyprint import CSS, HTML  # imported here: it loads Pango, which only the PDF needs

    html = render_to_string("commitments/report_document.html", {"report": report})
    stylesheet = CSS(filename=finders.find("css/tracker.css"))
    return HTML(string=html, url_fetcher=_no_fetching).write_pdf(stylesheets=[stylesheet])


@public_record
@allow_methods(*READ_METHODS)
@limited_download
def document_report_pdf(request, short_name):
    report, error = _report_or_error(request, short_name)
    if error:
        return error
    response = HttpResponse(report_pdf_bytes(report), content_type="application/pdf")
    filename = f"{report.document.short_name}-report-{report.as_of.isoformat()}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
