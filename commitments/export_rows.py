"""The commitments table's export read as tuples: the cells CommitmentTable's `value_*` methods
give, without a model object per row or a method call per cell.

The table's own filtered and ordered queryset is read with `values_list` in chunks (a
server-side cursor on PostgreSQL), and each chunk's links (paragraphs, actors, themes) with one
query, as (commitment, related row) pairs from the link tables alone; the related rows' names
are read once per export, in the order a cell lists them. What a cell shows is the table's: a
status's and freshness's label, `deadline_text`, `person_shown` for the owner.
tests/commitments/test_exports.py holds this to django-tables2's own `as_values()` of the
table, row for row.
"""

import datetime
from collections.abc import Iterator
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, OuterRef, Subquery, TextField
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
# Each linked kind: the through table's field to the related row, and the related row's fields
# its cell shows, the first also the cell's order (then the row's id).
LINKS = {
    "paragraphs": ("paragraph", ("number", "document__short_name")),
    "lead_actors": ("actor", ("name",)),
    "supporting_actors": ("actor", ("name",)),
    "themes": ("theme", ("name",)),
}
# The links each column reads.
COLUMN_LINKS = {
    "paragraphs": "paragraphs",
    "document": "paragraphs",
    "lead_actors": "lead_actors",
    "supporting_actors": "supporting_actors",
    "themes": "themes",
}
# Django's own quoting of a reversed URL's arguments (django.urls.resolvers).
URL_SAFE = "!$&'()*+,;=" + "/~:@"


def handles(table, names: list[str]) -> bool:
    """Whether these are the commitments table's own columns, which this module reads."""
    return type(table) is CommitmentTable and set(names) <= set(CELLS)


def rows(table, names: list[str], *, chunk_size: int) -> Iterator[tuple[object, list]]:
    """(row, cells) for each commitment of the table, in its order: the row's fields and the
    columns' cells as the table's value methods give them (dates as dates, empty as None),
    each text neutralised against formulas (`spreadsheet_safe`)."""
    reader = getattr(getattr(table, "request", None), "user", None)
    cells = _cells(names, reader)
    kinds = list(dict.fromkeys(COLUMN_LINKS[name] for name in names if name in COLUMN_LINKS))
    related = {}  # each related model's rows, read once per export
    shown = [(kind, _Shown(kind, related)) for kind in kinds]
    queryset = table.data.data.prefetch_related(None).annotate(
        **{f"{kind}_linked": _LinkedIds(kind) for kind in kinds}
    )
    fields = ("pk", *FIELDS, *(f"{kind}_linked" for kind in kinds))
    records = queryset.values_list(*fields, named=True).iterator(chunk_size=chunk_size)
    split = connection.vendor != "postgresql"  # group_concat's text, not an array
    for row in records:
        links = {}
        for kind, each in shown:
            linked = getattr(row, f"{kind}_linked")
            if split:
                linked = [int(pk) for pk in linked.split(",")] if linked else ()
            links[kind] = each.cell(linked)
        yield row, [cell(row, links) for cell in cells]


class _LinkedIds(Subquery):
    """The ids of the rows a commitment links to of one kind, read with its row (the link
    table's (commitment, related) index, no join): an array on PostgreSQL, the ids joined by
    commas elsewhere (SQLite's group_concat)."""

    template = "ARRAY(%(subquery)s)"

    def __init__(self, kind: str):
        through = getattr(Commitment, kind).through
        target = through._meta.get_field(LINKS[kind][0]).attname
        links = through._base_manager.filter(commitment_id=OuterRef("pk"))
        super().__init__(links.values(linked=F(target)), output_field=TextField())

    def as_sqlite(self, compiler, connection):
        template = '(SELECT group_concat("linked") FROM (%(subquery)s))'
        return self.as_sql(compiler, connection, template=template)


# A cell starting with one of these is run as a formula by spreadsheet programs; a title
# such as "=HYPERLINK(...)" typed into the record must arrive as text (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Shown:
    """How a commitment's links of one kind read in its cell: the related rows (paragraphs with
    their documents' short names, actors, themes) read once per export in the order a cell lists
    them (by the first field shown, then id, the database's collation), the table's bound not
    the export's rows."""

    def __init__(self, kind: str, related: dict):
        target, fields = LINKS[kind]
        model = Commitment._meta.get_field(kind).related_model
        if (model, fields) not in related:
            ordered = model._base_manager.order_by(fields[0], "pk").values_list("pk", *fields)
            rows = {pk: (rank, *values) for rank, (pk, *values) in enumerate(ordered)}
            related[model, fields] = rows
        self.rows = related[model, fields]
        self.paragraphs = kind == "paragraphs"
        self.alone = {pk: self._shown([row]) for pk, row in self.rows.items()}

    def cell(self, pks):
        """A commitment's cell's text from the ids it links to (for paragraphs: their numbers',
        their documents')."""
        if len(pks) == 1:
            return self.alone[pks[0]]
        return self._shown(sorted(self.rows[pk] for pk in pks))

    def _shown(self, ordered: list[tuple]):
        if not self.paragraphs:
            return spreadsheet_safe("; ".join(name for _, name in ordered))
        numbers = ", ".join(str(number) for _, number, _ in ordered)
        return numbers, spreadsheet_safe("; ".join(dict.fromkeys(name for *_, name in ordered)))


def _cells(names: list[str], reader) -> list:
    """Each column's cell as a function of (row, the chunk's links), what is worked out once
    per export (labels, owners' names) kept in its closure."""
    labels, owners = {}, {}

    def status(row, links):
        code = row.shown_status
        if not code:
            return None
        if (label := labels.get(code)) is None:
            label = labels[code] = spreadsheet_safe(str(Status(code).label))
        return label

    def freshness(row, links):
        code = row.freshness
        if not code:
            return ""
        if (label := labels.get(("freshness", code))) is None:
            label = labels[("freshness", code)] = spreadsheet_safe(str(FRESHNESS_LABELS[code]))
        return label

    def owner(row, links):
        """CommitmentTable.value_owner: person_shown, worked out once per owner and export."""
        if row.owner_id is None:
            return None
        if (shown := owners.get(row.owner_id)) is None:
            person = get_user_model()(
                pk=row.owner_id,
                first_name=row.owner__first_name,
                last_name=row.owner__last_name,
                username=row.owner__username,
                is_superuser=row.owner__is_superuser,
                role=row.owner__role,
            )
            shown = owners[row.owner_id] = spreadsheet_safe(person_shown(person, reader=reader))
        return shown

    own = {"status": status, "freshness": freshness, "owner": owner}
    return [own.get(name) or CELLS[name] for name in names]


def _title(row, links):
    return spreadsheet_safe(row.title) if row.title else None


def _paragraphs(row, links):
    if row.first_paragraph_number is None:  # the column's accessor: empty, no method
        return None
    return links["paragraphs"][0]


def _document(row, links):
    return links["paragraphs"][1]


def _joined(kind: str):
    return lambda row, links: links[kind]


def _due(row, links):
    return spreadsheet_safe(deadline_text(row, day=datetime.date.isoformat))


def _nothing(row, links):
    return ""


CELLS = {
    "title": _title,
    "paragraphs": _paragraphs,
    "lead_actors": _joined("lead_actors"),
    "status": None,  # _cells
    "progress": lambda row, links: row.shown_progress,
    "target_date": lambda row, links: row.target_date,
    "due": _due,
    "last_activity": lambda row, links: row.shown_last_activity,
    "freshness": None,
    "owner": None,
    "identifier": lambda row, links: spreadsheet_safe(row.slug),
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
