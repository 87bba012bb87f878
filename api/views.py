"""The API's reads (docs/api.md): thin views over the pages' selectors, so each reader gets
exactly what the pages show them (commitments.selectors, tracker.events), in JSON.

Every view here is read-only: a write is refused by api.permissions (403) for everyone but the
secretariat, and answered 405 for them. Lists are paginated (api.pagination) in a stable order.
"""

from urllib.parse import urlencode

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from commitments import selectors
from commitments.filters import CHOICE_VALUES
from commitments.models import (
    DOCUMENT_TEXTS,
    Commitment,
    Document,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.statuses import Status
from core import caching
from core.local_time import reader_today
from core.roles import liaison_state_id, user_can_edit_record, user_can_see_internal
from tracker.events import event_next_occurrences, events_visible_to
from tracker.models import Event

from . import serializers
from .filters import (
    CATALOGUE_PARAMETERS,
    DEFAULT_SORT,
    FALSE_WORDS,
    LISTING,
    ROW_FILTERS,
    SORT_VALUES,
    TRUE_WORDS,
    commitment_filtered,
)
from .kept_lists import PAGES, SLUG, KeptListMixin, number, one_of
from .pagination import KeptCountPagination, RecordPagination
from .permissions import RecordPermission

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Each refused parameter with what it takes.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
READ_ERRORS = {
    401: OpenApiResponse(
        ERROR,
        description="No token or login while the record is not public, or a token refused "
        "(malformed, unknown, revoked, or its account's role changed).",
    ),
    403: OpenApiResponse(ERROR, description="Refused to this reader."),
}
NOT_FOUND = {404: OpenApiResponse(ERROR, description="No such object, or not yours to see.")}
BAD_QUERY = {400: OpenApiResponse(FIELD_ERRORS, description="A parameter's value was refused.")}
# Every list is paginated (api.pagination): a bad page or size is a 400, a page past the last a 404.
LIST_ERRORS = {
    **READ_ERRORS,
    **BAD_QUERY,
    404: OpenApiResponse(ERROR, description="A page past the last, or no such object."),
}


class RecordReadMixin:
    """What every read shares: the pages' permissions, the pages' pagination, and whether
    the reader sees the secretariat's internal record (the serializers ask)."""

    permission_classes = [RecordPermission]
    pagination_class = RecordPagination

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["internal_reader"] = user_can_see_internal(self.request.user)
        return context


def _found(queryset: QuerySet, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None


@extend_schema(tags=["documents"], responses={200: serializers.DocumentSerializer, **LIST_ERRORS})
class DocumentList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """Every document, the most recently adopted first."""

    serializer_class = serializers.DocumentSerializer

    def get_queryset(self):
        # document_list's order ends on the short name, unique: a stable order. The texts,
        # megabytes each, are the detail's.
        return selectors.document_list().defer("full_text", "preamble")


@extend_schema(
    tags=["documents"],
    responses={200: serializers.DocumentDetailSerializer, **READ_ERRORS, **NOT_FOUND},
)
class DocumentDetail(RecordReadMixin, generics.RetrieveAPIView):
    """A document with its paragraphs, each with the commitments it gives rise to."""

    serializer_class = serializers.DocumentDetailSerializer

    def get_object(self):
        try:
            return selectors.document_get(short_name=self.kwargs["short_name"])
        except Document.DoesNotExist:
            raise Http404 from None


DOCUMENT_PARAMETER = OpenApiParameter(
    "document", OpenApiTypes.STR, description="Only this document's (its short name)."
)


@extend_schema(
    tags=["documents"],
    parameters=[DOCUMENT_PARAMETER],
    responses={200: serializers.ParagraphSerializer, **LIST_ERRORS},
)
class ParagraphList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """Paragraphs by document and number, each with the commitments drawn from it."""

    serializer_class = serializers.ParagraphSerializer
    kept_parameters = {**PAGES, "document": SLUG}

    def get_queryset(self):
        paragraphs = (
            Paragraph.objects.select_related("document")
            .defer(*DOCUMENT_TEXTS)
            .prefetch_related(Prefetch("commitments", Commitment.objects.order_by("slug")))
            .order_by("document__short_name", "number", "pk")
        )
        if (short_name := self.request.query_params.get("document")) is not None:
            document = Document.objects.filter(short_name=short_name[:80]).first()
            if document is None:
                raise ValidationError({"document": [_no_such("document", short_name)]})
            paragraphs = paragraphs.filter(document=document)
        return paragraphs


def _no_such(thing: str, value: str) -> str:
    return _("No %(thing)s is called “%(value)s”.") % {"thing": thing, "value": value[:100]}


@extend_schema(tags=["actors"], responses={200: serializers.ActorSerializer, **LIST_ERRORS})
class ActorList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """Every actor, by kind and name, with how many commitments each leads and supports."""

    serializer_class = serializers.ActorSerializer

    def get_queryset(self):
        return selectors.actor_list().order_by("kind", "name", "pk")


@extend_schema(
    tags=["actors"], responses={200: serializers.ActorSerializer, **READ_ERRORS, **NOT_FOUND}
)
class ActorDetail(RecordReadMixin, generics.RetrieveAPIView):
    serializer_class = serializers.ActorSerializer

    def get_object(self):
        return _found(selectors.actor_list(), slug=self.kwargs["slug"])


@extend_schema(tags=["themes"], responses={200: serializers.ThemeSerializer, **LIST_ERRORS})
class ThemeList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    serializer_class = serializers.ThemeSerializer

    def get_queryset(self):
        return Theme.objects.order_by("name", "pk")


COMMITMENT_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Words in the title, summary, "
        "paragraphs, or the status updates and evidence the reader may read.",
    ),
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=Status.values, description="The status the reader sees."
    ),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Commitment.Kind.values),
    OpenApiParameter("due", OpenApiTypes.STR, enum=["overdue", "due_soon"]),
    OpenApiParameter("freshness", OpenApiTypes.STR, enum=["on_time", "late", "very_late"]),
    OpenApiParameter("actor", OpenApiTypes.STR, description="Led or supported by (its slug)."),
    OpenApiParameter("document", OpenApiTypes.STR, description="From (its short name)."),
    OpenApiParameter(
        "paragraph", OpenApiTypes.INT, description="From this paragraph (its number) of `document`."
    ),
    OpenApiParameter("theme", OpenApiTypes.STR, description="Of this theme (its slug)."),
    OpenApiParameter("retired", OpenApiTypes.BOOL, description="Include retired ones."),
    OpenApiParameter(
        "sort",
        OpenApiTypes.STR,
        enum=SORT_VALUES,
        description=f"Order; '-' for descending (default {DEFAULT_SORT}).",
    ),
]


@extend_schema(
    tags=["commitments"],
    parameters=COMMITMENT_PARAMETERS,
    responses={200: serializers.CommitmentSerializer, **LIST_ERRORS},
)
class CommitmentList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """The commitments table: its filters and sorting, in the state the reader may see."""

    serializer_class = serializers.CommitmentSerializer
    # Every filter but the search `q`, whose words are whatever the reader typed.
    kept_parameters = {
        **PAGES,
        **{name: one_of(values) for name, values in CHOICE_VALUES.items()},
        **dict.fromkeys(ROW_FILTERS, SLUG),
        "paragraph": number,
        "retired": one_of((*TRUE_WORDS, *FALSE_WORDS)),
        "sort": one_of(SORT_VALUES),
    }

    pagination_class = KeptCountPagination

    def kept_details(self, request) -> tuple:
        return (reader_today(request.user),)  # the rows' deadlines and freshness

    def row_count(self, request, rows: QuerySet) -> int:
        """How many rows the filters find. When every filter is on what the record holds
        (api.filters.CATALOGUE_PARAMETERS: no status, due date, freshness or search), the count
        is kept with the catalogue (caching.CATALOGUE), per audience, as the table keeps its
        own (commitments.views.CommitmentListView._rows_count): a status update leaves it as
        it is, where the list itself is made again, and 200,000 commitments were counted again
        after each update at ten times the benchmark's data."""
        kept = self._kept_query(request)  # None: a parameter never kept (a search, junk)
        if kept is None:
            return rows.count()
        filters = tuple((name, value) for name, value in kept if name not in LISTING)
        if not {name for name, _value in filters} <= CATALOGUE_PARAMETERS:
            return rows.count()
        details = (selectors.hashed(urlencode(filters)),)
        parts = selectors.record_cache_parts(user=request.user, page="api-count", details=details)
        return caching.cached(caching.CATALOGUE, parts, rows.count)

    def get_queryset(self):
        rows = selectors.commitment_dated_list(user=self.request.user)
        return commitment_filtered(self.request.query_params, queryset=rows, request=self.request)


def commitment_or_404(request, slug: str) -> Commitment:
    try:
        commitment = selectors.commitment_get(user=request.user, slug=slug)
    except Commitment.DoesNotExist:
        raise Http404 from None
    commitment.milestone_list = selectors.commitment_milestones(
        user=request.user, commitment=commitment
    )
    return commitment


@extend_schema(
    tags=["commitments"],
    responses={200: serializers.CommitmentDetailSerializer, **READ_ERRORS, **NOT_FOUND},
)
class CommitmentDetail(RecordReadMixin, generics.RetrieveAPIView):
    """One commitment with its milestones, as its page shows it."""

    serializer_class = serializers.CommitmentDetailSerializer

    def get_object(self):
        return commitment_or_404(self.request, self.kwargs["slug"])


@extend_schema(
    tags=["commitments"],
    responses={200: serializers.MilestoneSerializer(many=True), **READ_ERRORS, **NOT_FOUND},
)
class CommitmentMilestones(RecordReadMixin, generics.GenericAPIView):
    """A commitment's milestones in their order (few: not paginated)."""

    serializer_class = serializers.MilestoneSerializer
    pagination_class = None

    def get(self, request, slug):
        commitment = commitment_or_404(request, slug)
        data = self.get_serializer(commitment.milestone_list, many=True).data
        return Response(data)


def status_updates(user) -> QuerySet[StatusUpdate]:
    """The history entries the user may read (liaisons: public ones), as the commitment pages
    list them: withdrawals are shown on the update they withdraw, not as entries."""
    return (
        selectors.status_update_visible_list(user=user)
        .shown_in_timeline()
        .select_related("commitment", "author", "amended_by__author", "reported_by")
        .prefetch_related("links", "files")
        .order_by(*selectors.TIMELINE_ORDER)
    )


@extend_schema(
    tags=["status updates"],
    responses={200: serializers.StatusUpdateSerializer, **LIST_ERRORS},
)
class CommitmentUpdates(RecordReadMixin, generics.ListAPIView):
    """A commitment's history, newest first: the official record and other sources."""

    serializer_class = serializers.StatusUpdateSerializer

    def get_queryset(self):
        commitment = _found(Commitment.objects.all(), slug=self.kwargs["slug"])
        return status_updates(self.request.user).filter(commitment=commitment)


@extend_schema(
    tags=["status updates"],
    responses={200: serializers.StatusUpdateSerializer, **LIST_ERRORS},
)
class UpdateList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """Every status update the reader may read, across the record, newest first."""

    serializer_class = serializers.StatusUpdateSerializer
    # Counted as written, not by reading every update of the record for each first page.
    pagination_class = KeptCountPagination

    def row_count(self, request, rows: QuerySet) -> int:
        return selectors.status_update_timeline_count(user=request.user)

    def get_queryset(self):
        return status_updates(self.request.user)


@extend_schema(
    tags=["events"],
    parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=Event.Kind.values)],
    responses={200: serializers.EventSerializer, **LIST_ERRORS},
)
class EventList(KeptListMixin, RecordReadMixin, generics.ListAPIView):
    """The events the reader may see (public ones, and a liaison's state's), by first date."""

    serializer_class = serializers.EventSerializer
    # Events, their commitments and the actors' links deciding a liaison's (core.caching).
    kept_families = (caching.CALENDAR,)
    kept_parameters = {**PAGES, "kind": one_of(Event.Kind.values)}

    def kept_audience(self, request) -> tuple:
        # events_visible_to's audiences: everything, a liaison's state's and the public ones.
        if user_can_edit_record(request.user):
            return ("secretariat",)
        return ("state", liaison_state_id(request.user))

    def get_queryset(self):
        events = (
            events_visible_to(user=self.request.user)
            .prefetch_related(Prefetch("commitments", Commitment.objects.order_by("slug")))
            .order_by("start_date", "title", "pk")
        )
        if (kind := self.request.query_params.get("kind")) is not None:
            if kind not in Event.Kind.values:
                message = ", ".join(Event.Kind.values)
                raise ValidationError({"kind": [_use_one_of(message)]})
            events = events.filter(kind=kind)
        return events


def _use_one_of(values: str) -> str:
    return _("Use one of: %(values)s.") % {"values": values}


@extend_schema(
    tags=["events"],
    responses={200: serializers.EventDetailSerializer, **READ_ERRORS, **NOT_FOUND},
)
class EventDetail(RecordReadMixin, generics.RetrieveAPIView):
    """An event with its next occurrences (from the reader's today)."""

    serializer_class = serializers.EventDetailSerializer

    def get_object(self):
        events = events_visible_to(user=self.request.user).prefetch_related(
            Prefetch("commitments", Commitment.objects.order_by("slug"))
        )
        event = _found(events, slug=self.kwargs["slug"])
        today = reader_today(self.request.user)
        event.next_occurrences = event_next_occurrences(event=event, today=today)
        return event
