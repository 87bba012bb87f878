"""Pages about what was promised. Views fetch through selectors, write through services."""

import datetime
import logging
import math
from functools import partial, wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2.export import ExportMixin

from core import caching, page_cache, pagination, visitor_pages
from core.ids import row_id
from core.local_time import reader_today, reader_zone
from core.public_downloads import download_refusal
from core.public_site import public_record
from core.roles import user_can_edit_record, user_can_see_internal

from . import exports, selectors, services, submissions
from .document_forms import DocumentLinkForm
from .filters import (
    CATALOGUE_FILTERS,
    CHOICE_VALUES,
    SHOW_RETIRED,
    TEXT_SUFFIX,
    TYPE_AHEAD_FILTERS,
    CommitmentFilter,
    choices_suggested,
    table_query,
    typed_filters,
)
from .forms import RelationForm, StatusUpdateForm
from .models import Actor, Commitment, Document, EvidenceFile
from .progress import milestone_sums
from .statuses import DEFINITIONS, Status
from .tables import UPDATE_COLUMNS, CommitmentTable

logger = logging.getLogger(__name__)
READ_METHODS = ("GET", "HEAD")
SAFE_METHODS = (*READ_METHODS, "OPTIONS", "TRACE")
# Shown in the browser; anything else is downloaded so an upload can never run as a page.
INLINE_CONTENT_TYPES = {"application/pdf", "image/png", "image/jpeg", "text/plain"}


# Why a write is refused, shown by templates/403.html; in the reader's language when shown.
READ_ONLY = _(
    "Liaisons can read the record but not change it, so nothing was saved. "
    "If something here should change, ask the secretariat to change it."
)


def allow_methods(*methods: str):
    """Refuse every write from someone who may not edit (403) before anything else is checked."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in SAFE_METHODS and not user_can_edit_record(request.user):
                raise PermissionDenied(READ_ONLY)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def status_legend() -> list[tuple[str, str, str]]:
    return [(value, label, DEFINITIONS[value]) for value, label in Status.choices]


# Rows per page unless the query string asks for another of core.pagination.PAGE_SIZES.
TABLE_PAGE_SIZE = 25
# The filter dropdowns written from kept options (CommitmentListView.get_filterset).
KEPT_DROPDOWNS = ("theme",)
SORTABLE_COLUMNS = frozenset(
    name for name, column in CommitmentTable.base_columns.items() if column.orderable is not False
)


class CommitmentListView(ExportMixin, SingleTableMixin, FilterView):
    table_class = CommitmentTable
    filterset_class = CommitmentFilter
    # FilterView renders the filters and rows alone; get() puts them in the page.
    template_name = "commitments/_commitment_table.html"
    page_template_name = "commitments/commitment_list.html"
    table_pagination = {
        "per_page": TABLE_PAGE_SIZE,
        "paginator_class": pagination.NearerEndPaginator,
    }
    export_name = "commitments"
    export_formats = tuple(exports.RESPONSES)
    rows_counted = None  # set by _rows_count
    typed_problems: dict[str, tuple[str, str]] = {}  # set by get: filters.typed_filters

    def get(self, request, *args, **kwargs):
        """The page with its filters and rows from the cache, the same for everyone who sees
        the same state, language and query (selectors.record_cache_parts) until a write; on a
        hit nothing is filtered, counted or read. An export streams instead."""
        typed = any(name + TEXT_SUFFIX in request.GET for name in TYPE_AHEAD_FILTERS)
        if typed:
            # A type-ahead box applied: its text read once, then the page at its own address
            # (`?document=5`), kept like any other; a text that names no single row is shown
            # back with what to do, on a page not kept (the text is whatever was typed).
            request.GET, self.typed_problems = typed_filters(
                request.GET,
                choice_list=partial(kept_filter_choices, reader=request.user),
                paragraph_document=lambda value: self._choice_ids("paragraph").get(row_id(value)),
            )
            if self.typed_problems:
                request.GET.pop(self.export_trigger_param, None)  # the message, not a file
        requested = request.GET.get(self.export_trigger_param)
        # From here on the page (its filters, rows, links and cache key) reads only what the
        # query string validly asks for: junk in it cannot fail the page or grow the cache.
        request.GET = self._validated_query(request)
        for name, (text, _problem) in self.typed_problems.items():
            # Its sort, page and export links ask again with what was typed, not "invalid".
            request.GET[name + TEXT_SUFFIX] = text
        if typed and not self.typed_problems:
            query = request.GET.urlencode()
            return redirect(f"{request.path}?{query}" if query else request.path)
        if requested in self.export_formats and (refusal := download_refusal(request)):
            return refusal  # a visitor over the downloads' limit: nothing built
        if "q" not in request.GET and not self.typed_problems:
            page_cache.query_canonical(request, request.GET.urlencode())  # kept if asked as such
        if requested in self.export_formats:
            return super().get(request, *args, **kwargs)

        def filters_and_rows() -> str:
            return super(CommitmentListView, self).get(request, *args, **kwargs).rendered_content

        context = {
            "filters_and_rows": self._cached_unless_searched(request, filters_and_rows),
            "status_legend": status_legend(),
            "bad_export": requested is not None,  # a format commitments.exports does not make
            "can_import": user_can_edit_record(request.user),
        }
        status = 200 if requested is None else 400
        return render(request, self.page_template_name, context, status=status)

    def _cached_unless_searched(self, request, render_part):
        """The part from the cache, kept per validated query. A free-text search is rendered
        each time: its words are whatever the reader typed, and must not grow the cache; so is
        a page showing a type-ahead box's text that named no single row."""
        if "q" in request.GET or self.typed_problems:
            return render_part()
        # The validated query holds the filters, sorting and page, which the export and
        # pagination links repeat.
        query = selectors.hashed(request.GET.urlencode())
        # The rows' due and freshness badges, and the filters on them, depend on the day.
        details = (query, reader_today(request.user))
        parts = selectors.record_cache_parts(user=request.user, page="table", details=details)
        return caching.cached_html(caching.RECORD, parts, render_part)

    def _validated_query(self, request) -> QueryDict:
        """filters.table_query of the request, its page number at most the last page."""

        # Set at once: the paragraph filter's choices, counted below, read request.GET.
        request.GET = query = table_query(
            request.GET,
            choice_ids=self._choice_ids,
            sortable=SORTABLE_COLUMNS,
            default_size=TABLE_PAGE_SIZE,
            exports=self.export_formats,
        )
        if "page" in query:
            size = int(query.get("per_page", TABLE_PAGE_SIZE))
            last_page = max(1, math.ceil(self._rows_count(request) / size))
            number = min(int(query.pop("page")[-1]), last_page)
            if number > 1:
                query["page"] = str(number)
        return query

    @staticmethod
    def _choice_ids(name: str):
        """The ids a filter offers (selectors.filter_choice_ids), kept with the catalogue; only
        the filters asked for are read."""
        ids = partial(selectors.filter_choice_ids, name=name)
        return caching.cached(caching.CATALOGUE, ("filter-choices", name), ids)

    def _rows_count(self, request) -> int:
        """How many rows the filters find, counted once a request. Kept like the rows, or, when
        every filter is on what the record holds rather than on the commitments' state or the
        day (filters.CATALOGUE_FILTERS: no status, due date, freshness or search), with the
        catalogue (caching.CATALOGUE), which a status update leaves as it is: 200,000 rows
        counted again after each update at ten times the benchmark's data."""
        if self.rows_counted is not None:
            return self.rows_counted
        filters = request.GET.copy()
        typed = [name + TEXT_SUFFIX for name in TYPE_AHEAD_FILTERS]  # shown back, not filters
        for name in ("sort", "per_page", "page", self.export_trigger_param, *typed):
            filters.pop(name, None)

        def count() -> int:
            if state := _deadline_state_alone(filters):
                # What the dashboard counts, read from indexes: the filter's count was a scan
                # of every commitment's freshness after each status update (issue 16).
                today = reader_today(request.user)
                return selectors.commitment_state_count(user=request.user, state=state, today=today)
            found = CommitmentFilter(filters, queryset=self.get_queryset(), request=request)
            return found.qs.count() if found.is_valid() else 0  # FilterView shows no row

        hashed = selectors.hashed(filters.urlencode())
        if "q" in filters:
            self.rows_counted = count()
        elif set(filters) <= CATALOGUE_FILTERS:
            parts = selectors.record_cache_parts(user=request.user, page="count", details=(hashed,))
            self.rows_counted = caching.cached(caching.CATALOGUE, parts, count)
        else:
            details = (hashed, reader_today(request.user))
            parts = selectors.record_cache_parts(user=request.user, page="count", details=details)
            self.rows_counted = caching.cached(caching.RECORD, parts, count)
        return self.rows_counted

    def get_filterset(self, filterset_class):
        """The filters, the dropdowns of rows (all but the paragraphs, which list the chosen
        document's) written from options kept with the catalogue (caching.CATALOGUE), per
        audience and language (an owner's name depends on who reads it)."""
        filterset = super().get_filterset(filterset_class)
        if self.export_trigger_param in self.request.GET:
            return filterset  # no form shown
        for name in TYPE_AHEAD_FILTERS:
            self._type_ahead(filterset.form, name)
        for name in KEPT_DROPDOWNS:
            widget = filterset.form.fields[name].widget
            parts = selectors.record_cache_parts(user=self.request.user, page="dropdown-" + name)
            markup = partial(widget.options_markup, name)
            widget.kept_options = caching.cached(caching.CATALOGUE, parts, markup)
        return filterset

    def _type_ahead(self, form, name: str) -> None:
        """A type-ahead box: its chosen row's label from the kept choices, or the text typed
        that named no single row, with what to do in place of Django's "Select a valid
        choice"."""
        widget = form.fields[name].widget
        widget.choices_url = reverse("commitments:filter_choices", args=[name])
        if name in self.typed_problems:
            widget.typed, problem = self.typed_problems[name]
            form.errors[name] = form.error_class([problem])
        elif (chosen := row_id(self.request.GET.get(name))) is not None:
            choices = kept_filter_choices(name, reader=self.request.user)
            widget.chosen_label = next((c.label for c in choices if c.id == chosen), "")

    def get_queryset(self):
        rows = selectors.commitment_dated_list(user=self.request.user)
        if SHOW_RETIRED not in self.request.GET:  # the table's "Show retired" filter
            rows = rows.filter(retired_on__isnull=True)
        if self.export_trigger_param in self.request.GET:  # the columns only the export has
            rows = selectors.commitment_export_links(rows)
        return rows

    def get_table(self, **kwargs):
        """The table, told the count of its rows (_rows_count) if it is paged: its paginator
        would count them itself, each time."""
        table = self.get_table_class()(data=self.get_table_data(), **kwargs)
        if self.export_trigger_param not in self.request.GET:
            table.data._length = self._rows_count(self.request)  # django-tables2's own count
        return RequestConfig(self.request, paginate=self.get_table_pagination(table)).configure(
            table
        )

    def get_table_pagination(self, table):
        """An export has every row: no page, so no count of them either."""
        if self.export_trigger_param in self.request.GET:
            return False
        return super().get_table_pagination(table)

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        kwargs["due_filter"] = self.request.GET.get("due", "")
        if not user_can_edit_record(self.request.user):
            kwargs["exclude"] = UPDATE_COLUMNS
        return kwargs

    def create_export(self, export_format):
        """Stream the rows (commitments.exports) instead of tablib's export built in memory."""
        table = self.get_table(**self.get_table_kwargs())
        filename = self.get_export_filename(export_format)
        return exports.RESPONSES[export_format](table, filename=filename)


def kept_filter_choices(name: str, *, reader) -> list[selectors.FilterChoice]:
    """What the type-ahead filter `name` offers `reader`, kept with the catalogue per audience
    and language (an owner's name depends on who reads it, a role word on the language)."""
    parts = selectors.record_cache_parts(user=reader, page="choices-" + name)
    choices = partial(selectors.filter_choice_list, name=name, reader=reader)
    return caching.cached(caching.CATALOGUE, parts, choices)


@public_record
@allow_methods(*READ_METHODS)
@never_cache
def filter_choices(request, name):
    """The labels a type-ahead filter of the table suggests for what was typed so far (`?q=`),
    as JSON {"choices": [...]}: static/js/type-ahead.js lists them under the box."""
    if name not in TYPE_AHEAD_FILTERS:
        raise Http404("No such filter.")
    choices = kept_filter_choices(name, reader=request.user)
    suggested = choices_suggested(choices, request.GET.get("q", ""))
    return JsonResponse({"choices": [choice.label for choice in suggested]})


def _deadline_state_alone(filters) -> str | None:
    """The deadline or freshness state (deadlines.OVERDUE ... VERY_LATE) the table's filters
    ask for when it is all they ask for ("Show retired" aside: a retired commitment is in no
    such state), else None."""
    named = set(filters) - {SHOW_RETIRED}
    if len(named) != 1 or (name := named.pop()) not in ("due", "freshness"):
        return None
    value = filters[name]
    return value if value in CHOICE_VALUES[name] else None


commitment_list = public_record(
    allow_methods(*READ_METHODS)(
        visitor_pages.kept_for_visitors("commitment_list", caching.RECORD)(
            page_cache.cached_page("commitment_list", caching.RECORD)(CommitmentListView.as_view())
        )
    )
)


@public_record
@allow_methods(*READ_METHODS, "POST")
@visitor_pages.kept_for_visitors("commitment", caching.RECORD)
@page_cache.cached_page("commitment_detail", caching.RECORD)
def commitment_detail(request, slug):
    commitment = commitment_or_404(request, slug)
    today = reader_today(request.user)
    if request.method == "POST":
        if commitment.is_retired:  # no form on its page; a post is refused, nothing written
            return commitment_page(request, commitment, None, status=409, retired_refusal=True)
        return _status_update_post(request, commitment, today)
    form = None
    if user_can_edit_record(request.user) and not commitment.is_retired:
        initial = {
            "version": commitment.version,
            "status": commitment.status,
            "progress": commitment.progress,
        }
        form = StatusUpdateForm(initial=initial, **_form_rules(commitment, today))
    return commitment_page(request, commitment, form)


def commitment_or_404(request, slug: str) -> Commitment:
    """The commitment with its milestones as the user may see them (`milestone_list`)."""
    try:
        commitment = selectors.commitment_get(user=request.user, slug=slug)
    except Commitment.DoesNotExist:
        raise Http404("No such commitment.") from None
    commitment.milestone_list = selectors.commitment_milestones(
        user=request.user, commitment=commitment
    )
    return commitment


def _has_milestones(commitment: Commitment) -> bool:
    return bool(commitment.milestone_list)


def _form_rules(commitment: Commitment, today: datetime.date) -> dict:
    """What the status update form checks against besides its input."""
    return {
        "today": today,
        "has_milestones": _has_milestones(commitment),
        "adopted_on": selectors.commitment_adopted_on(commitment),
    }


def _status_update_post(request, commitment: Commitment, today: datetime.date):
    form = StatusUpdateForm(request.POST, request.FILES, **_form_rules(commitment, today))
    if not form.is_valid():
        return commitment_page(request, commitment, form, status=400)
    try:
        services.status_update_create_with_evidence(
            commitment=commitment, author=request.user, **form.service_arguments()
        )
    except services.CommitmentRetired:
        commitment = commitment_or_404(request, commitment.slug)
        return commitment_page(request, commitment, None, status=409, retired_refusal=True)
    except services.EditConflict:
        return _conflict_page(request, commitment.slug, form, today)
    except services.ProgressRefused as refusal:
        # Milestones were added or removed between the form's check and the write.
        form.add_error(None, refusal)
        return commitment_page(request, commitment, form, status=400)
    except OSError:
        # The disk refused the evidence file; the transaction left nothing behind.
        logger.exception("Evidence file for %s could not be stored", commitment.slug)
        form.add_error(
            "evidence_file",
            _(
                "The file could not be stored, so nothing was saved. Try again; if it keeps "
                "failing, post the update without the file and tell the administrator."
            ),
        )
        return commitment_page(request, commitment, form, status=503)
    messages.success(request, _("Your status update is posted."))
    return redirect(commitment)


def _conflict_page(request, slug: str, stale_form: StatusUpdateForm, today: datetime.date):
    """Show the newer state beside the user's input; posting again is then a deliberate choice."""
    commitment = commitment_or_404(request, slug)
    data = request.POST.copy()
    data["version"] = commitment.version
    form = StatusUpdateForm(data, **_form_rules(commitment, today))
    had_file = bool(stale_form.cleaned_data.get("evidence_file"))
    return commitment_page(request, commitment, form, status=409, conflict={"had_file": had_file})


# Updates per page of a commitment's history; the chart above still draws all of them.
TIMELINE_PAGE_SIZE = 50


def commitment_page(
    request, commitment, form, *, status=200, conflict=None, relation_form=None, **extra
):
    """The commitment's page; `form` is the status update form (None: not offered),
    `relation_form` the relation form as posted, shown with its errors."""
    user = request.user
    if conflict is not None:
        # What someone else just posted: the newest by recording, which may be about the past.
        timeline = selectors.commitment_timeline(user=user, commitment=commitment)
        conflict["newest"] = timeline.order_by("-recorded_at", "-pk").first()
    curating = user_can_edit_record(user)
    if curating and relation_form is None:
        relation_form = RelationForm(commitment=commitment)
    context = {
        "commitment": commitment,
        "history": _commitment_history(request, commitment),
        "relations": selectors.commitment_relations(commitment=commitment),
        "curating": curating,
        "relation_form": relation_form,
        "milestones": commitment.milestone_list,
        "milestone_sums": milestone_sums(commitment.milestone_list),
        "can_edit": curating,
        "can_report": submissions.user_can_report_on(user=user, commitment=commitment),
        "form": form,
        "conflict": conflict,
        "status_legend": status_legend(),
        "reader_zone": reader_zone(user),
        "internal_reader": user_can_see_internal(user),
        **extra,
    }
    return render(request, "commitments/commitment_detail.html", context, status=status)


def _commitment_history(request, commitment) -> str:
    """The chart and the page of updates asked for, rendered; from the cache, the same for
    every reader with the same audience, language, time zone and day (the chart ends today)."""
    user, zone, today = request.user, reader_zone(request.user), reader_today(request.user)
    number = _history_page_number(request, commitment)

    def render_history() -> str:
        timeline = selectors.commitment_timeline(user=user, commitment=commitment)
        page = Paginator(timeline, TIMELINE_PAGE_SIZE).get_page(number)
        context = {
            "timeline": page.object_list,
            "timeline_page": page,
            # <ol reversed> numbers the page's first (newest) update by its place in history.
            "timeline_first_number": page.paginator.count - page.start_index() + 1,
            "progress_points": selectors.commitment_progress_points(
                user=user, commitment=commitment
            ),
            "other_sources": list(
                selectors.commitment_other_sources(user=user, commitment=commitment)
            ),
            "reader_zone": zone,
            # The same for everyone of the audience the cache keeps it for.
            "internal_reader": user_can_see_internal(user),
            "slug": commitment.slug,
            # Each official update's "Cite this" line names the commitment.
            "cite_commitment": commitment,
        }
        return render_to_string("commitments/_history.html", context, request=request)

    details = (commitment.pk, number, str(zone), today)
    parts = selectors.record_cache_parts(user=user, page="history", details=details)
    return caching.cached_html(caching.RECORD, parts, render_history)


def _history_page_number(request, commitment) -> int:
    """The page of the history asked for, from 1 to the last (anything else is the first): one
    cache entry per page there is, whatever the address says. The count is cached too."""
    number = pagination.page_number(request.GET.get("page"))
    if number is None:
        return 1  # an address with junk for a page is shown, never kept (core.page_cache)

    def count() -> int:
        return selectors.commitment_timeline(user=request.user, commitment=commitment).count()

    parts = selectors.record_cache_parts(
        user=request.user, page="history-count", details=(commitment.pk,)
    )
    updates = caching.cached(caching.RECORD, parts, count)
    number = min(number, max(1, math.ceil(updates / TIMELINE_PAGE_SIZE)))
    # Kept whole only when asked as the pagination links write it ("Newer updates" on page 2
    # links to ?page=1): one entry per page there is.
    page_cache.query_canonical(request, f"page={number}")
    return number


@public_record
@allow_methods(*READ_METHODS)
def evidence_file_download(request, pk):
    """Serve an evidence file only to someone who may read its update (liaisons: public ones)."""
    try:
        evidence = selectors.evidence_file_get(user=request.user, pk=pk)
    except EvidenceFile.DoesNotExist:
        raise Http404("No such file.") from None
    return stored_file_response(evidence)


def stored_file_response(row) -> FileResponse:
    """A stored file (an evidence or a report file) the caller has checked the reader may have:
    shown in the browser if its type is one of INLINE_CONTENT_TYPES, downloaded otherwise."""
    try:
        handle = row.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    return FileResponse(
        handle,
        as_attachment=row.content_type not in INLINE_CONTENT_TYPES,
        filename=row.file.name.rsplit("/", 1)[-1],
        content_type=row.content_type,
    )


@public_record
@allow_methods(*READ_METHODS)
@visitor_pages.kept_for_visitors("document", caching.RECORD)
@page_cache.cached_page("document_detail", caching.RECORD)
def document_detail(request, short_name):
    return document_page(request, document_or_404(short_name))


def document_or_404(short_name: str) -> Document:
    try:
        return selectors.document_page_get(short_name=short_name)
    except Document.DoesNotExist:
        raise Http404("No such document.") from None


def document_page(request, document: Document, *, link_form=None, status: int = 200):
    """The document's page; for the secretariat with the form that links it to another and
    the paragraphs' "track as a commitment" boxes."""
    curating = user_can_edit_record(request.user)
    context = {
        "document": document,
        "curating": curating,
        "paragraphs": _document_paragraphs(request, document, curating=curating),
    }
    if curating:
        context["link_form"] = link_form or DocumentLinkForm()
    return render(request, "commitments/document_detail.html", context, status=status)


def _document_paragraphs(request, document: Document, *, curating: bool) -> str:
    """The paragraphs with what each is tracked as, rendered; from the cache, the same for
    every reader with the same audience, language and day (each "Cite" line's retrieval day).
    It holds no form token: the secretariat's boxes send a GET."""

    def render_paragraphs() -> str:
        context = {
            "document": document,
            "paragraphs": selectors.document_paragraph_list(document=document),
            "curating": curating,
        }
        return render_to_string("commitments/_document_paragraphs.html", context, request=request)

    details = (document.pk, curating, reader_today(request.user))
    parts = selectors.record_cache_parts(user=request.user, page="document", details=details)
    return caching.cached_html(caching.RECORD, parts, render_paragraphs)


@public_record
@allow_methods(*READ_METHODS)
def actor_list(request):
    actors = selectors.actor_list()
    return render(request, "commitments/actor_list.html", {"actors": actors})


# Commitments a page of an actor's page lists (a state leads or supports up to 1,638 of the
# 200,000 at ten times the benchmark's data); the commitments table lists them all.
ACTOR_PAGE_SIZE = 50


@public_record
@allow_methods(*READ_METHODS)
@visitor_pages.kept_for_visitors("actor_detail", caching.RECORD)
@page_cache.cached_page("actor_detail", caching.RECORD)
def actor_detail(request, slug):
    user, actor = request.user, get_object_or_404(Actor, slug=slug)
    if user.is_authenticated and user.actor_id == actor.pk:
        # A liaison's landing: the menu's link to their own state (base.html) needs this row,
        # just read, not a second read of it.
        user.actor = actor
    count = _actor_commitment_count(request, actor)
    number = _actor_page_number(request, count)

    def render_record() -> str:
        page, links = pagination.page_of_count(count, size=ACTOR_PAGE_SIZE, number=number)
        rows = selectors.actor_commitment_page(
            user=user, actor=actor, number=number, size=ACTOR_PAGE_SIZE
        )
        context = {
            "actor": actor,
            "commitments": rows,
            "commitments_page": page,
            "page_links": links,
            "recent_updates": selectors.actor_recent_updates(user=user, actor=actor),
        }
        return render_to_string("commitments/_actor_record.html", context, request=request)

    # What involves the actor, from the cache, a piece per page: a state's liaisons land here.
    # The badges of due and freshness depend on the reader's day.
    details = (actor.pk, number, reader_today(user))
    parts = selectors.record_cache_parts(user=user, page="actor", details=details)
    context = {
        "actor": actor,
        "actor_record": caching.cached_html(caching.RECORD, parts, render_record),
        "status_legend": status_legend(),
    }
    return render(request, "commitments/actor_detail.html", context)


def _actor_commitment_count(request, actor: Actor) -> int:
    """How many commitments involve the actor, cached like the page's rows."""
    parts = selectors.record_cache_parts(user=request.user, page="actor-count", details=(actor.pk,))
    return caching.cached(
        caching.RECORD, parts, partial(selectors.actor_commitment_count, actor=actor)
    )


def _actor_page_number(request, count: int) -> int:
    """The page of the actor's commitments asked for, from 1 to the last (anything else is the
    first): one cache entry per page there is, whatever the address says."""
    number = pagination.page_number(request.GET.get("page"))
    if number is None:
        return 1  # an address with junk for a page is shown, never kept (core.page_cache)
    number = min(number, max(1, math.ceil(count / ACTOR_PAGE_SIZE)))
    # Kept whole only when asked as the page links write it: one entry per page there is.
    page_cache.query_canonical(request, f"page={number}")
    return number
