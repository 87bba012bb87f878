"""Reports from states and contributors (commitments.submissions): the report form, "My
reports", a report's page with its conversation, and the secretariat's review queue.

A report another state or organisation wrote is not found (404), never "forbidden": its
existence is theirs. A submitted or published report is not changed (409, nothing written).
"""

import logging
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from core.editing import StaleVersion, changed_fields, secretariat_only
from core.local_time import reader_today, reader_zone
from core.roles import role_gate_set, user_can_edit_record

from . import submissions
from .models import ReportFile, SubmittedReport
from .submission_forms import ReportCommentForm, ReportForm, ReportReturnForm, ReportVersionForm
from .views import READ_METHODS, allow_methods, commitment_or_404, stored_file_response

logger = logging.getLogger(__name__)

REPORTING_REFUSED = _(
    "Reports come from the liaisons of the states a commitment concerns, and from "
    "contributors; this account cannot report on this commitment, so nothing was saved."
)
REPORTS_ARE_THE_REPORTERS = _(
    "This page lists the reports of a state's liaisons or of a contributor's organisation; "
    "your account has none. The secretariat reviews reports in the review queue."
)


def reporting(view):
    """Let in liaisons and contributors (who may write a report); refuse everyone else (403)
    before anything else is checked. The secretariat reads reports but writes status updates."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if submissions.user_report_source(request.user) is None:
            raise PermissionDenied(REPORTS_ARE_THE_REPORTERS)
        return view(request, *args, **kwargs)

    return role_gate_set(wrapper, lambda user: submissions.user_report_source(user) is not None)


def _report_or_404(request, pk: int) -> SubmittedReport:
    try:
        return submissions.report_get(user=request.user, pk=pk)
    except SubmittedReport.DoesNotExist:
        raise Http404("No such report.") from None


def _form(request, commitment, *, data=None, files=None, initial=None) -> ReportForm:
    return ReportForm(
        data,
        files,
        initial=initial,
        today=reader_today(request.user),
        has_milestones=submissions.commitment_has_milestones(commitment),
    )


def _form_page(request, form, *, commitment, report=None, status=200, **extra):
    context = {"form": form, "commitment": commitment, "report": report, **extra}
    return render(request, "commitments/report_form.html", context, status=status)


# --- The reporter's pages ---------------------------------------------------------------------


@reporting
@require_http_methods([*READ_METHODS, "POST"])
def report_create(request, slug):
    commitment = commitment_or_404(request, slug)
    if not submissions.user_can_report_on(user=request.user, commitment=commitment):
        raise PermissionDenied(REPORTING_REFUSED)
    if request.method != "POST":
        form = _form(request, commitment, initial={"version": 1, "status": commitment.shown_status})
        return _form_page(request, form, commitment=commitment)
    form = _form(request, commitment, data=request.POST, files=request.FILES)
    if not form.is_valid():
        return _form_page(request, form, commitment=commitment, status=400)
    try:
        report = submissions.report_create(
            commitment=commitment, author=request.user, **form.report_arguments()
        )
    except ValidationError as refusal:
        form.add_error(None, refusal)
        return _form_page(request, form, commitment=commitment, status=400)
    messages.success(request, _("Your report is saved as a draft. Submit it when it is ready."))
    return redirect(report)


@reporting
@require_http_methods([*READ_METHODS, "POST"])
def report_edit(request, pk):
    report = _report_or_404(request, pk)
    commitment = report.commitment
    if not report.editable:
        return _locked_page(request, report)
    if request.method != "POST":
        form = _form(request, commitment, initial=ReportForm.initial_of(report))
        return _form_page(request, form, commitment=commitment, report=report)
    form = _form(request, commitment, data=request.POST, files=request.FILES)
    if not form.is_valid():
        return _form_page(request, form, commitment=commitment, report=report, status=400)
    try:
        submissions.report_update(
            report=report,
            expected_version=form.cleaned_data["version"],
            **form.report_arguments(),
        )
    except submissions.ReportRefused:
        return _locked_page(request, report)
    except StaleVersion:
        return _stale_form_page(request, form, report)
    except ValidationError as refusal:
        form.add_error(None, refusal)
        return _form_page(request, form, commitment=commitment, report=report, status=400)
    messages.success(request, _("Your report is saved."))
    return redirect(report)


def _locked_page(request, report):
    """A report that cannot change now: its page says why (409), nothing was written."""
    report = _report_or_404(request, report.pk)
    refusal = submissions.locked_message(report)
    return _detail_page(request, report, status=409, refusal=refusal)


def _stale_form_page(request, form, report):
    """The reader's input against the version saved now, beside what was saved meanwhile."""
    report = _report_or_404(request, report.pk)
    rows = changed_fields(form=form, instance=report)
    data = request.POST.copy()
    data["version"] = report.version
    fresh = _form(request, report.commitment, data=data)
    fresh.is_valid()
    return _form_page(
        request,
        fresh,
        commitment=report.commitment,
        report=report,
        status=409,
        conflict=True,
        conflict_rows=rows,
    )


@reporting
@require_POST
def report_submit(request, pk):
    report = _report_or_404(request, pk)
    form = ReportVersionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, report, status=400)
    try:
        submissions.report_submit(report=report, expected_version=form.cleaned_data["version"])
    except submissions.ReportRefused:
        return _locked_page(request, report)
    except StaleVersion:
        return _detail_page(request, _report_or_404(request, pk), status=409, stale=True)
    messages.success(request, _("Your report is submitted: the secretariat will review it."))
    return redirect(report)


@reporting
@allow_methods(*READ_METHODS)
def report_mine(request):
    reports = submissions.report_mine_list(user=request.user)
    return render(request, "commitments/report_mine.html", {"reports": reports})


# --- A report's page, for its parties and the secretariat -------------------------------------


@allow_methods(*READ_METHODS)
def report_detail(request, pk):
    return _detail_page(request, _report_or_404(request, pk))


def _detail_page(request, report, *, status=200, comment_form=None, return_form=None, **extra):
    reviewing = user_can_edit_record(request.user)
    context = {
        "report": report,
        "commitment": report.commitment,
        "current": _current_state(request, report) if reviewing else None,
        "reviewing": reviewing,
        "comments": submissions.report_comment_list(report=report),
        "comment_form": comment_form or ReportCommentForm(),
        "return_form": return_form or ReportReturnForm(initial={"version": report.version}),
        "reader_zone": reader_zone(request.user),
        **extra,
    }
    return render(request, "commitments/report_detail.html", context, status=status)


def _current_state(request, report):
    """The commitment as the secretariat sees it now, beside the report under review."""
    return commitment_or_404(request, report.commitment.slug)


# Posting a comment is open to the report's parties (liaisons and contributors, who change
# nothing of the record) and the secretariat: allow_methods would refuse the former. Others
# do not find the report (404).
@require_POST
def report_comment(request, pk):
    report = _report_or_404(request, pk)
    form = ReportCommentForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, report, status=400, comment_form=form)
    submissions.report_comment_add(
        report=report, author=request.user, text=form.cleaned_data["text"]
    )
    messages.success(request, _("Your comment is added."))
    return redirect(f"{report.get_absolute_url()}#conversation")


@allow_methods(*READ_METHODS)
def report_file(request, pk):
    """A report's file, only for its parties and the secretariat."""
    try:
        row = submissions.report_file_get(user=request.user, pk=pk)
    except ReportFile.DoesNotExist:
        raise Http404("No such file.") from None
    return stored_file_response(row)


# --- The secretariat's review -----------------------------------------------------------------


@secretariat_only
@allow_methods(*READ_METHODS)
def report_queue(request):
    reports = submissions.report_queue_list()
    return render(request, "commitments/report_queue.html", {"reports": reports})


@secretariat_only
@allow_methods("POST")
def report_publish(request, pk):
    report = _report_or_404(request, pk)
    form = ReportVersionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, report, status=400)
    try:
        submissions.report_publish(
            report=report, reviewer=request.user, expected_version=form.cleaned_data["version"]
        )
    except submissions.ReportRefused as refusal:
        return _detail_page(request, _report_or_404(request, pk), status=409, refusal=refusal)
    except StaleVersion:
        return _detail_page(request, _report_or_404(request, pk), status=409, stale=True)
    messages.success(request, _("The report is published as a status update."))
    return redirect(report)


@secretariat_only
@allow_methods("POST")
def report_return(request, pk):
    report = _report_or_404(request, pk)
    form = ReportReturnForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, report, status=400, return_form=form)
    try:
        submissions.report_return(
            report=report,
            reviewer=request.user,
            comment=form.cleaned_data["comment"],
            expected_version=form.cleaned_data["version"],
        )
    except submissions.ReportRefused as refusal:
        return _detail_page(request, _report_or_404(request, pk), status=409, refusal=refusal)
    except StaleVersion:
        return _detail_page(request, _report_or_404(request, pk), status=409, stale=True)
    messages.success(request, _("The report is returned to its author with your comment."))
    return redirect("commitments:report_queue")
