"""The commitments table's export read as tuples: the cells CommitmentTable's `value_*` methods
give, without a model object per row or a method call per cell.

The table's own filtered and ordered queryset is read with `values_list` in chunks (a
server-side cursor on PostgreSQL), and each chunk's paragraphs, actors and themes with one
query per kind, as (commitment, name) pairs in the table's order. What a cell shows is the
table's: a status's and freshness's label, `deadline_text`, `person_shown` for the owner.
tests/commitments/test_exports.py holds this to django-tables2's own `as_values()` of the
table, row for row.
"""

from collections import defaultdict
from collections.abc import Iterator
from itertools import islice
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.urls import reverse

from core.roles import person_shown

from .deadlines import FRESHNESS_LABELS
from .models import Commitment
from .statuses import Status
from .tables import CommitmentTable, deadline_text

# The row's fields, as named on the table's queryset (selectors.commitment_dated_list).
FIELDS = (
    "slug", "title", "first_paragraph_number", "shown_status", "shown_progress", "target_date",
    "shown_last_activity", "deadline", "overdue_since", "next_due", "freshness", "owner_id",
    "owner__first_name", "owner__last_name", "owner__username", "owner__is_superuser",
    "owner__role",
)  # fmt: skip
# Each linked kind: the through table's field to the related row, the name shown, the order.
LINKS = {
    "paragraphs": ("paragraph", ("paragraph__number", "paragraph__document__short_name")),
    "lead_actors": ("actor", ("actor__name",)),
    "supporting_actors": ("actor", ("actor__name",)),
    "themes": ("theme", ("theme__name",)),
}
# The links each column reads.
COLUMN_LINKS = {
    "paragraphs": "paragraphs",
    "document": "paragraphs",
    "lead_actors": "lead_actors",
    "supporting_actors": "supporting_actors",
    "themes": "themes",
}
DATE_COLUMNS = {"target_date": "target_date", "last_activity": "shown_last_activity"}
# Django's own quoting of a reversed URL's arguments (django.urls.resolvers).
URL_SAFE = "!$&'()*+,;=" + "/~:@"


def handles(table, names: list[str]) -> bool:
    """Whether these are the commitments table's own columns, which this module reads."""
    return type(table) is CommitmentTable and set(names) <= set(CELLS)


def rows(table, names: list[str], *, chunk_size: int) -> Iterator[tuple[object, list]]:
    """(row, cells) for each commitment of the table, in its order: the row's fields and the
    columns' cells as the table's value methods give them (dates as dates, empty as None)."""
    reader = getattr(getattr(table, "request", None), "user", None)
    cells = [CELLS[name] for name in names]
    kinds = {COLUMN_LINKS[name] for name in names if name in COLUMN_LINKS}
    memo = {}  # what is worked out once per export: labels, owners' names
    queryset = table.data.data.prefetch_related(None)
    records = queryset.values_list("pk", *FIELDS, named=True).iterator(chunk_size=chunk_size)
    while chunk := list(islice(records, chunk_size)):
        links = {kind: _links(kind, [row.pk for row in chunk]) for kind in kinds}
        for row in chunk:
            context = _Context(row, links, memo, reader)
            yield row, [cell(context) for cell in cells]


def _links(kind: str, pks: list[int]) -> dict[int, list[tuple]]:
    """The chunk's links of one kind: per commitment, the related rows' names in order."""
    target, values = LINKS[kind]
    through = getattr(Commitment, kind).through
    found = defaultdict(list)
    pairs = (
        through._default_manager.filter(_among(through, pks))
        .order_by(values[0], f"{target}_id")
        .values_list("commitment_id", *values)
    )
    for commitment_id, *names in pairs:
        found[commitment_id].append(names)
    return found


def _among(through, pks: list[int]) -> RawSQL:
    """`commitment_id IN (...)`, without Django preparing each value of an `__in` list (a fifth
    of the CSV's CPU): the ids are the database's own integers."""
    quote = connection.ops.quote_name
    column = f"{quote(through._meta.db_table)}.{quote('commitment_id')}"
    placeholders = ", ".join(["%s"] * len(pks))
    return RawSQL(f"{column} IN ({placeholders})", pks, output_field=BooleanField())


class _Context:
    __slots__ = ("row", "links", "memo", "reader")

    def __init__(self, row, links, memo, reader):
        self.row, self.links, self.memo, self.reader = row, links, memo, reader

    def names(self, kind: str) -> list[tuple]:
        return self.links[kind].get(self.row.pk, ())


def _joined(kind: str, separator: str = "; "):
    return lambda c: separator.join(names[0] for names in c.names(kind))


def _paragraphs(c) -> str | None:
    if c.row.first_paragraph_number is None:  # the column's accessor: empty, no method
        return None
    return ", ".join(str(number) for number, _ in c.names("paragraphs"))


def _document(c) -> str:
    return "; ".join(dict.fromkeys(name for _, name in c.names("paragraphs")))


def _status(c) -> str | None:
    """The status's label, translated once per export."""
    code = c.row.shown_status
    if not code:
        return None
    label = c.memo.get(("status", code))
    if label is None:
        label = c.memo[("status", code)] = str(Status(code).label)
    return label


def _freshness(c) -> str:
    code = c.row.freshness
    if not code:
        return ""
    label = c.memo.get(("freshness", code))
    if label is None:
        label = c.memo[("freshness", code)] = str(FRESHNESS_LABELS[code])
    return label


def _owner(c) -> str | None:
    """CommitmentTable.value_owner: person_shown, worked out once per owner and export."""
    row = c.row
    if row.owner_id is None:
        return None
    shown = c.memo.get(("owner", row.owner_id))
    if shown is None:
        owner = get_user_model()(
            pk=row.owner_id,
            first_name=row.owner__first_name,
            last_name=row.owner__last_name,
            username=row.owner__username,
            is_superuser=row.owner__is_superuser,
            role=row.owner__role,
        )
        shown = c.memo[("owner", row.owner_id)] = person_shown(owner, reader=c.reader)
    return shown


def _nothing(c) -> str:
    return ""


def _date(field: str):
    return lambda c: getattr(c.row, field)


CELLS = {
    "title": lambda c: c.row.title or None,
    "paragraphs": _paragraphs,
    "lead_actors": _joined("lead_actors"),
    "status": _status,
    "progress": lambda c: c.row.shown_progress,
    "target_date": _date("target_date"),
    "due": lambda c: deadline_text(c.row, day=lambda d: d.isoformat()),
    "last_activity": _date("shown_last_activity"),
    "freshness": _freshness,
    "owner": _owner,
    "identifier": lambda c: c.row.slug,
    "document": _document,
    "supporting_actors": _joined("supporting_actors"),
    "themes": _joined("themes"),
    "update_date": _nothing,
    "update_narrative": _nothing,
    "update_visibility": _nothing,
}


def commitment_url(build_absolute_uri=None):
    """The commitment page's address from a row's slug, as Commitment.get_absolute_url gives
    it (absolute with the request's), without reversing the URL for every row."""
    marker = "slug-marker"
    path = reverse("commitments:commitment_detail", kwargs={"slug": marker})
    prefix, suffix = path.split(marker)
    if build_absolute_uri is not None:
        prefix = build_absolute_uri(prefix)
    return lambda slug: prefix + quote(slug, safe=URL_SAFE) + suffix
