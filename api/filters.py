"""The commitments list's query string: the table's filters and sorting (commitments.filters),
with the record's public ids where the table's dropdowns send row ids, checked before any row
is read. A value the table would show as "Select a valid choice" is a 400 here that names the
parameter and says what it takes, never a 500 and never a silently ignored filter."""

from types import SimpleNamespace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from commitments import selectors
from commitments.filters import CHOICE_VALUES, INVALID, CommitmentFilter, table_query
from commitments.models import Actor, Document, Paragraph, Theme
from core.pagination import whole_number

from .pagination import DEFAULT_PAGE_SIZE

# sort -> the order it stands for, as the table's columns sort (commitments.tables); the id
# comes last in every order, so that rows equal on the sort keep one place between pages.
# Status, progress, due, freshness and target date are the table's own orders
# (commitments.selectors.commitments_ordered), each read from an index.
SORTS = {
    "paragraphs": ("first_paragraph_number", "title"),
    "title": ("title",),
    "last_activity": ("shown_last_activity", "title"),
}
SORT_NAMES = frozenset({*SORTS, *selectors.INDEXED_ORDERS})
DEFAULT_SORT = "paragraphs"
SORT_VALUES = sorted([*SORT_NAMES, *(f"-{name}" for name in SORT_NAMES)])
TRUE_WORDS, FALSE_WORDS = ("true", "on", "1"), ("false", "off", "0")
# The parameters that choose which page of the rows and in what order, not which rows.
LISTING = frozenset({"page", "per_page", "sort"})

# The row filters, by the public id the API takes: parameter -> (model, the id's field).
ROW_FILTERS = {
    "actor": (Actor, "slug"),
    "document": (Document, "short_name"),
    "theme": (Theme, "slug"),
}
# The filters on what the record holds (caching.CATALOGUE), not on the commitments' state or
# the day, as commitments.filters.CATALOGUE_FILTERS: the rows they find change only with the
# catalogue (api.views.CommitmentList.row_count).
CATALOGUE_PARAMETERS = frozenset({*ROW_FILTERS, "paragraph", "kind", "retired"})


def commitment_filtered(params: QueryDict, *, queryset: QuerySet, request) -> QuerySet:
    """The commitments `params` ask for, in their order; ValidationError (400) for a bad value."""
    errors: dict[str, list[str]] = {}
    ids = _row_ids(params, errors)
    query = table_query(
        ids,
        choice_ids=lambda name: selectors.filter_choice_ids(name=name),
        sortable=SORT_NAMES,
        default_size=DEFAULT_PAGE_SIZE,
        exports=(),
    )
    for name, values in CHOICE_VALUES.items():
        if query.get(name) == INVALID:
            errors[name] = [_choice_message(values)]
    if "sort" in params and params["sort"] not in SORT_VALUES:
        errors["sort"] = [_("Sort by one of: %(values)s.") % {"values": ", ".join(SORT_VALUES)}]
    retired = str(params.get("retired", "false")).lower()
    if retired not in (*TRUE_WORDS, *FALSE_WORDS):
        errors["retired"] = [_("Say true or false.")]
    if "\x00" in str(params.get("q", "")):
        errors["q"] = [_("A search may not contain a NUL character.")]
    if errors:
        raise ValidationError(errors)
    if retired not in TRUE_WORDS:
        queryset = queryset.filter(retired_on__isnull=True)
    # A row filter naming a real actor, document or theme no commitment uses finds nothing.
    if any(query.get(name) == INVALID for name in (*ROW_FILTERS, "paragraph")):
        return queryset.none()
    # The filters read the query from the request (the paragraph list, the search's reader).
    reading = SimpleNamespace(GET=query, user=request.user)
    found = CommitmentFilter(_filters_only(query), queryset=queryset, request=reading)
    if not found.is_valid():  # table_query let only valid choices through
        raise ValidationError(found.errors)
    return _sorted(found.qs, params.get("sort", DEFAULT_SORT))


def _row_ids(params: QueryDict, errors: dict) -> QueryDict:
    """The query string with each row filter's public id replaced by the row's id."""
    ids = params.copy()
    ids.pop("owner", None)  # owners are people, named by display name only: no filter on them
    for name, (model, field) in ROW_FILTERS.items():
        if not (value := str(params.get(name, "")).strip()):
            continue
        pk = _pk_of(model, field, value)
        if pk is None:
            errors[name] = [
                _("No %(thing)s is called “%(value)s”.")
                % {"thing": model._meta.verbose_name, "value": value[:100]}
            ]
        ids[name] = str(pk or "")
    ids.pop("paragraph", None)
    if value := str(params.get("paragraph", "")).strip():
        paragraph = _paragraph_pk(params.get("document", ""), value)
        if paragraph is None:
            errors["paragraph"] = [
                _("Give a paragraph's number with its document (document=short name).")
            ]
        ids["paragraph"] = str(paragraph or "")
    return ids


def _pk_of(model, field: str, value: str) -> int | None:
    try:
        validate_slug(value)
    except DjangoValidationError:  # no row's id, and never sent to the database
        return None
    return model.objects.filter(**{field: value}).values_list("pk", flat=True).first()


def _paragraph_pk(document: str, number: str) -> int | None:
    number_value = whole_number(number)
    document_pk = _pk_of(Document, "short_name", str(document).strip())
    if number_value is None or document_pk is None:
        return None
    paragraphs = Paragraph.objects.filter(document_id=document_pk, number=number_value)
    return paragraphs.values_list("pk", flat=True).first()


def _filters_only(query: QueryDict) -> QueryDict:
    filters = query.copy()
    for name in ("sort", "per_page", "page", "retired"):
        filters.pop(name, None)
    return filters


def _sorted(queryset: QuerySet, sort: str) -> QuerySet:
    descending = sort.startswith("-")
    name = sort.removeprefix("-")
    if name in selectors.INDEXED_ORDERS:  # the table's own order, read from its index
        return selectors.commitments_ordered(queryset, name, descending=descending)
    keys = SORTS[name]
    # Dates not yet known sort last either way, as the table's due and target date columns do.
    first = F(keys[0]).desc(nulls_last=True) if descending else F(keys[0]).asc(nulls_last=True)
    return queryset.order_by(first, *keys[1:], "pk")


def _choice_message(values) -> str:
    return _("Use one of: %(values)s.") % {"values": ", ".join(sorted(values))}
