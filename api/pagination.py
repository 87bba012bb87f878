"""Pages of the API's lists: a bounded size (core.pagination.PAGE_SIZES) and a page number
checked before any row is read, so a bad one is a 400 that says what to send, never a 500.
Every list is ordered with its id last, so a row appears on one page only."""

from functools import partial

from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

from core import pagination

DEFAULT_PAGE_SIZE = 25


class RecordPagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "per_page"
    max_page_size = max(pagination.PAGE_SIZES)

    def get_page_size(self, request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        size = pagination.whole_number(value)
        if size not in pagination.PAGE_SIZES:
            sizes = ", ".join(str(size) for size in pagination.PAGE_SIZES)
            message = _("A page holds one of these numbers of rows: %(sizes)s.") % {"sizes": sizes}
            raise ValidationError({self.page_size_query_param: [message]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        value = request.query_params.get(self.page_query_param)
        if value is not None and pagination.page_number(value) is None:
            message = _("A page number is a whole number from 1.")
            raise ValidationError({self.page_query_param: [message]})
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                # Any number of pages past the last is a 404, however large (core.pagination).
                "description": "The page, from 1 (a page past the last is 404).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {DEFAULT_PAGE_SIZE}).",
                "schema": {"type": "integer", "enum": list(pagination.PAGE_SIZES)},
            },
        ]


class CountedPaginator(Paginator):
    """A paginator told how many rows there are rather than counting them."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


class KeptCountPagination(RecordPagination):
    """Pages of a list whose rows are counted as they are written, or kept once counted: the
    view's `row_count(request, rows)` gives the figure COUNT(*) of the rows would (the updates
    list's, kept with each write: commitments.selectors.status_update_timeline_count; the
    commitments list's, kept with the catalogue: api.views.CommitmentList.row_count)."""

    def paginate_queryset(self, queryset, request, view=None):
        count = view.row_count(request, queryset)
        self.django_paginator_class = partial(CountedPaginator, count=count)
        return super().paginate_queryset(queryset, request, view)
