"""Bulk import in the commitments export's own format: reading the file, checking it, planning.

A file is read the way the export writes it (commitments.exports, commitments.tables): the same
headers (in any of the site's languages), the status by its label, dates as ISO days (or Excel
dates), lists joined by "; ", and a cell the export made safe with a leading quote read back
without it. A file-level fault (not a spreadsheet, not UTF-8, a missing or unknown column, too
many rows) raises FileRefused and nothing is stored. Otherwise every row is planned: created,
changed (field by field), unchanged or refused with its reason; services.bulk_import_create
stores the plan, and applying writes exactly that plan.

Matching: a row's ID is a commitment's slug. A row without one is created, unless exactly one
commitment has its title already: then the row is that commitment (so importing a file twice
creates nothing twice). A status update is planned where the row's status or progress differs
from the commitment's; the update's date, narrative and visibility columns, empty in the
export, say about it. So an export imported unchanged changes nothing.
"""

import csv
import datetime
import io
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree import ElementTree

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, Value
from django.db.models.functions import Concat, Trim
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext

from core.roles import user_can_own_commitments

from .exports import FORMULA_STARTS
from .models import (
    Actor,
    BulkImportRow,
    Commitment,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
    owner_refused_message,
)
from .services import LATEST_PLANNED_DAY
from .statuses import Status
from .tables import CommitmentTable, person_name

Action = BulkImportRow.Action
LIST_SEPARATOR = ";"  # as the export joins actors and themes
# Columns a row must have: without them a row cannot be matched, placed or given its state.
REQUIRED = ("identifier", "title", "document", "paragraphs", "status", "progress")
# Columns the export computes from the record: read, never written.
COMPUTED = ("due", "last_activity", "freshness")
# Spreadsheet programs run a cell starting with these as a formula; the export's own cells
# that start so carry a leading quote (exports._spreadsheet_safe).
FORMULA_SIGNS = ("=", "+", "-", "@")
XLSX_MAGIC = b"PK\x03\x04"
# An Excel file is a zip of XML parts; a tiny one can declare millions of cells or strings, or
# unpack to gigabytes (a "zip bomb"). So its zip is looked into before openpyxl reads anything.
XLSX_MAX_PARTS = 100  # an export has 10
XLSX_MAX_RATIO = 100  # unpacked size / packed size: a spreadsheet's XML packs 5 to 20 times
XLSX_RATIO_FROM = 1024 * 1024  # a part smaller than this may pack as tightly as it likes
XLSX_UNPACKED_PER_UPLOAD_BYTE = 5  # the parts together: at most 5 times the upload limit
EXCEL_MAX_ROWS = 1_048_576  # Excel's own limits: no sheet has a row or column beyond them
EXCEL_MAX_COLUMNS = 16_384
HEADER_WITHIN = 100  # the header is the first row with text, among the sheet's first rows
COLUMN_MARGIN = 5  # columns a header may have beyond the export's (refused by name)
SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


class FileRefused(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


@dataclass
class PlannedRow:
    number: int
    action: str
    title: str = ""
    commitment: Commitment | None = None
    values: dict = field(default_factory=dict)
    update: dict | None = None
    changes: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    reason: str = ""


@dataclass
class Plan:
    rows: list[PlannedRow]
    ignored_columns: list[str]


class RowRefused(Exception):
    """One row cannot be imported; the others still can."""


# --- Reading the file --------------------------------------------------------------------------


def file_rows(*, name: str, content: bytes) -> list[list[str]]:
    """The file's rows with text (header first) as text cells, or FileRefused. At most the
    limit and one more row is read: a longer file is refused without reading the rest."""
    if not content.strip():
        raise FileRefused(gettext("The file is empty: export the table, edit it, upload that."))
    if content.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(content)
    elif name.lower().endswith(".xlsx") or _looks_binary(content):
        raise FileRefused(_not_a_spreadsheet())
    else:
        rows = _csv_rows(content)
    if not rows:
        raise FileRefused(gettext("The file is empty: export the table, edit it, upload that."))
    if len(rows) - 1 > settings.BULK_IMPORT_MAX_ROWS:
        raise FileRefused(
            gettext(
                "The file has more than %(limit)s rows; an import takes at most %(limit)s. "
                "Split it into several files."
            )
            % {"limit": number_format(settings.BULK_IMPORT_MAX_ROWS, force_grouping=True)}
        )
    return rows


def max_columns() -> int:
    """The most columns a header may have: the export's, and a few more to name as unknown."""
    return len(CommitmentTable.base_columns) + COLUMN_MARGIN


def _not_a_spreadsheet() -> str:
    return gettext(
        "This file is not a CSV or Excel (.xlsx) spreadsheet. Export the commitments table as "
        "CSV or Excel, edit it, and upload that file."
    )


def _looks_binary(content: bytes) -> bool:
    return b"\x00" in content[:4096] or content.startswith(b"%PDF")


def _has_text(row: Iterable[str]) -> bool:
    return any(cell.strip() for cell in row)


def _kept(rows: Iterable[list[str]], *, read: int = 0) -> list[list[str]]:
    """The rows with text, in order, until the file holds `read` (those read already) and these
    together more than the header and the limit: the rest is never read."""
    kept = []
    for row in rows:
        if _has_text(row):
            kept.append(row)
            if read + len(kept) > settings.BULK_IMPORT_MAX_ROWS + 1:
                break
    return kept


def _header_width(header: list[str]) -> int:
    """How many columns the header has, up to its last with text; FileRefused past the bound,
    naming the count rather than every column."""
    width = max(index + 1 for index, cell in enumerate(header) if cell.strip())
    if width > max_columns():
        raise FileRefused(
            gettext(
                "The header row has %(count)s columns; the export's has %(export)s. Start from "
                "an export of the commitments table and keep its header row."
            )
            % {"count": width, "export": len(CommitmentTable.base_columns)}
        )
    return width


def _csv_rows(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            gettext(
                "The file is not UTF-8 text (byte %(position)s). Save it as “CSV UTF-8” and "
                "upload it again."
            )
            % {"position": error.start + 1}
        ) from None
    try:
        rows = _kept(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise FileRefused(
            gettext("The CSV file cannot be read (%(error)s).") % {"error": error}
        ) from None
    if not rows:
        return rows
    width = _header_width(rows[0])
    return [row[:width] for row in rows]


# openpyxl raises these (and zipfile, zlib and the XML parser beneath it) on a file that is not
# a workbook, or a damaged one.
XLSX_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    ElementTree.ParseError,
    EOFError,
    KeyError,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
)


def _xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only an Excel import needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        _xlsx_zip_check(content)
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        try:
            return _xlsx_sheet_rows(workbook.worksheets[0])
        finally:
            workbook.close()
    except (InvalidFileException, *XLSX_ERRORS):
        raise FileRefused(_not_a_spreadsheet()) from None


def _xlsx_sheet_rows(sheet) -> list[list[str]]:
    """The first sheet's rows with text, each as wide as the header at most: a cell the sheet
    does not hold is never made (openpyxl would fill in every cell up to the size the file
    declares, 16,384 columns a row)."""
    sheet.reset_dimensions()  # the declared size is only the file's word
    header, header_at = None, 0
    # The header row alone is read as wide as it is, to count its columns.
    first_rows = sheet.iter_rows(max_row=HEADER_WITHIN, max_col=None, values_only=True)
    for number, row in enumerate(first_rows, start=1):
        if len(row) > EXCEL_MAX_COLUMNS:
            raise ValueError("a column beyond Excel's last")
        if _has_text(cells := [_xlsx_text(value) for value in row]):
            header, header_at = cells, number
            break
    if header is None:
        return []
    width = _header_width(header)
    data = (
        [_xlsx_text(value) for value in row]
        for row in sheet.iter_rows(
            min_row=header_at + 1, max_row=EXCEL_MAX_ROWS, max_col=width, values_only=True
        )
    )
    return [header[:width], *_kept(data, read=1)]


def _xlsx_zip_check(content: bytes) -> None:
    """FileRefused for a zip no spreadsheet program writes: too many parts, a part packed
    absurdly tightly (a zip bomb), more unpacked than an import reads, or more shared strings
    than the rows can hold. Read before openpyxl loads anything."""
    if (_zip_entries(content) or 0) > XLSX_MAX_PARTS:
        raise FileRefused(_not_a_spreadsheet())
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        parts = archive.infolist()
        for part in parts:
            if part.file_size > XLSX_RATIO_FROM and (
                part.file_size > XLSX_MAX_RATIO * part.compress_size
            ):
                raise FileRefused(
                    gettext(
                        "This Excel file's part “%(part)s” unpacks to over %(ratio)s times its "
                        "packed size, which no spreadsheet program writes. Export the table "
                        "again, edit it, and upload that file."
                    )
                    % {"part": part.filename[:60], "ratio": XLSX_MAX_RATIO}
                )
        unpacked = sum(part.file_size for part in parts)
        limit = XLSX_UNPACKED_PER_UPLOAD_BYTE * settings.BULK_IMPORT_MAX_UPLOAD_BYTES
        if unpacked > limit:
            raise FileRefused(
                gettext(
                    "This Excel file unpacks to %(size)s; an import reads at most %(limit)s. "
                    "Split it into several files."
                )
                % {"size": filesizeformat(unpacked), "limit": filesizeformat(limit)}
            )
        strings = _shared_strings_part(archive)
        if strings is not None:
            _shared_strings_check(archive, strings)


def _zip_entries(content: bytes) -> int | None:
    """How many parts the zip's end record says it has, read before the zip's directory is."""
    end = content.rfind(b"PK\x05\x06", max(0, len(content) - 22 - 0xFFFF))
    if end < 0 or end + 22 > len(content):
        return None
    return int.from_bytes(content[end + 10 : end + 12], "little")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The part holding the workbook's shared strings, found as openpyxl finds it."""
    with archive.open("[Content_Types].xml") as source:
        for element in ElementTree.parse(source).getroot():
            if element.get("ContentType") == SHARED_STRINGS_TYPE:
                return element.get("PartName", "").lstrip("/")
    return None


def _shared_strings_check(archive: zipfile.ZipFile, name: str) -> None:
    """FileRefused when the workbook shares more strings than its rows could hold (openpyxl
    keeps every one in memory), counted without keeping them."""
    limit = (settings.BULK_IMPORT_MAX_ROWS + 1) * max_columns()
    count, root = 0, None
    with archive.open(name) as source:
        for event, element in ElementTree.iterparse(source, events=("start", "end")):
            if root is None:
                root = element
            if event == "end" and _local_name(element.tag) == "si":
                count += 1
                if count > limit:
                    raise FileRefused(
                        gettext(
                            "This Excel file holds more than %(limit)s texts; %(rows)s rows of "
                            "the export's columns hold fewer. Export the table again, edit it, "
                            "and upload that file."
                        )
                        % {"limit": limit, "rows": settings.BULK_IMPORT_MAX_ROWS}
                    )
                root.clear()  # what was counted is let go


def _xlsx_text(value) -> str:
    """A cell as the CSV would have it: a date as its ISO day, 30.0 as 30."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_text(raw: str) -> str:
    """A cell's text: a quote the export put before a formula sign taken off again; a real
    formula refused (RowRefused), also behind the spaces or invisible characters a spreadsheet
    skips before it (" =1+1", a tab then "=2+2")."""
    seen = _as_a_spreadsheet_sees(raw)
    if seen.startswith("'") and seen[1:].startswith(FORMULA_STARTS):
        return seen[1:].strip()
    if seen.startswith(FORMULA_SIGNS):
        raise RowRefused(
            gettext(
                "“%(cell)s” is a formula; the import takes values only. Type the value, or put "
                "a quote (') before it to keep it as text."
            )
            % {"cell": seen[:60]}
        )
    return raw.strip()


def _as_a_spreadsheet_sees(text: str) -> str:
    """The text without what comes before its first visible character: spaces of every kind,
    tabs, line breaks, control and format characters (a zero-width space, a byte order mark)."""
    for index, character in enumerate(text):
        if not (character.isspace() or unicodedata.category(character) in ("Cc", "Cf")):
            return text[index:]
    return ""


# --- The columns --------------------------------------------------------------------------------


def _column_headers() -> dict[str, str]:
    """Every header the export writes, in every language of the site -> the column's name."""
    headers = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for name, column in CommitmentTable.base_columns.items():
                headers[str(column.verbose_name).strip().casefold()] = name
    return headers


def _column_label(name: str) -> str:
    return str(CommitmentTable.base_columns[name].verbose_name)


def columns_read(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Which column each header is ({name: index}) and the computed ones it has, or
    FileRefused naming the unknown, repeated or missing columns."""
    known = _column_headers()
    found, unknown, repeated = {}, [], []
    for index, text in enumerate(header):
        name = known.get(text.strip().casefold())
        if name is None:
            unknown.append(text.strip() or gettext("(an empty header)"))
        elif name in found:
            repeated.append(text.strip())
        else:
            found[name] = index
    missing = [_column_label(name) for name in REQUIRED if name not in found]
    problems = []
    if unknown:
        problems.append(gettext("unknown columns: %(names)s") % {"names": ", ".join(unknown)})
    if repeated:
        problems.append(gettext("repeated columns: %(names)s") % {"names": ", ".join(repeated)})
    if missing:
        problems.append(gettext("missing columns: %(names)s") % {"names": ", ".join(missing)})
    if problems:
        raise FileRefused(
            gettext(
                "The file's columns are not the export's (%(problems)s). Start from an export "
                "of the commitments table and keep its header row."
            )
            % {"problems": "; ".join(problems)}
        )
    ignored = [_column_label(name) for name in COMPUTED if name in found]
    return found, ignored


# --- Planning ------------------------------------------------------------------------------------


def plan_make(*, rows: list[list[str]], today: datetime.date) -> Plan:
    """Plan every row of a file read by file_rows (FileRefused for the file as a whole)."""
    columns, ignored = columns_read(rows[0])
    cells = [_row_cells(row, columns) for row in rows[1:]]
    lookup = _Lookup(cells)
    planned, seen = [], {}
    for number, row in enumerate(cells, start=2):
        planned.append(_row_plan(number, row, lookup, today, seen))
    return Plan(rows=planned, ignored_columns=ignored)


def _row_cells(row: list[str], columns: dict[str, int]) -> dict:
    """{column name: raw text}, or {"_refused": reason} where a cell is a formula."""
    cells = {}
    for name, index in columns.items():
        raw = row[index] if index < len(row) else ""
        try:
            cells[name] = cell_text(raw)
        except RowRefused as refused:
            reason = f"{_column_label(name)}: {refused}"
            return {"_refused": reason, "_read_as": _read_as(row, columns)}
    return cells


def _read_as(row: list[str], columns: dict[str, int]) -> str:
    """A refused row's title as read from the file (or its ID), so that its user can find it:
    kept as text, shown escaped on the page and made safe in the report."""
    for name in ("title", "identifier"):
        index = columns.get(name)
        if index is not None and index < len(row) and row[index].strip():
            return row[index].strip()
    return ""


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


class _Lookup:
    """Everything the rows name, read in a fixed number of queries whatever their number."""

    def __init__(self, cells: list[dict]):
        slugs = {c.get("identifier") for c in cells if c.get("identifier")}
        titles = {c.get("title") for c in cells if c.get("title") and not c.get("identifier")}
        linked = Commitment.objects.select_related("owner").prefetch_related(
            "paragraphs__document", "lead_actors", "supporting_actors", "themes"
        )
        self.by_slug = {c.slug: c for c in _in_chunks(linked, "slug", slugs)}
        self.by_title: dict[str, list[Commitment]] = {}
        for c in _in_chunks(linked.filter(retired_on__isnull=True), "title", titles):
            self.by_title.setdefault(c.title, []).append(c)
        found = [*self.by_slug.values(), *(c for cs in self.by_title.values() for c in cs)]
        self.with_milestones = set(
            Milestone.objects.filter(commitment__in=[c.pk for c in found])
            .values_list("commitment_id", flat=True)
            .distinct()
        ) if found else set()  # fmt: skip
        documents = {name for c in cells for name in _split(c.get("document", ""))}
        paragraphs = Paragraph.objects.filter(document__short_name__in=documents)
        self.paragraphs = {
            (p.document.short_name, p.number): p
            for p in paragraphs.select_related("document").only(
                "pk", "number", "document__short_name", "document__adopted_on"
            )
        }
        self.documents = {short_name for short_name, _n in self.paragraphs}
        self.actors = _by_name_and_slug(Actor.objects.all())
        self.themes = _by_name_and_slug(Theme.objects.all())
        self.owners = _owners({c.get("owner") for c in cells if c.get("owner")})


def _in_chunks(queryset, field_name: str, values: set, size: int = 500):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield from queryset.filter(**{f"{field_name}__in": values[start : start + size]})


def _by_name_and_slug(rows) -> dict[str, object]:
    found = {}
    for row in rows:
        found[row.slug.casefold()] = row
        found[row.name.casefold()] = row
    return found


def _owners(names: set[str]) -> dict[str, list]:
    """Users by username and by the name the export writes (person_name), each a list: two
    people may share a full name."""
    if not names:
        return {}
    users = get_user_model().objects.annotate(
        full=Trim(Concat("first_name", Value(" "), "last_name"))
    )
    found: dict[str, list] = {}
    for user in users.filter(Q(username__in=names) | Q(full__in=names)):
        for key in {user.get_username(), person_name(user)}:
            found.setdefault(key, []).append(user)
    return found


def _row_plan(number, cells, lookup, today, seen) -> PlannedRow:
    title = cells.get("title", "") or cells.get("_read_as", "")
    try:
        if "_refused" in cells:
            raise RowRefused(cells["_refused"])
        commitment, notes = _matched(cells, lookup)
        key = commitment.pk if commitment else ("title", title)
        if key in seen:
            raise RowRefused(
                gettext("Row %(row)s is about the same commitment; keep one of the two rows.")
                % {"row": seen[key]}
            )
        seen[key] = number
        return _planned(number, cells, commitment, notes, lookup, today)
    except RowRefused as refused:
        return PlannedRow(number, Action.REFUSED, title=title, reason=str(refused))


def _matched(cells: dict, lookup: _Lookup) -> tuple[Commitment | None, list[str]]:
    identifier = cells.get("identifier", "")
    if identifier:
        commitment = lookup.by_slug.get(identifier)
        if commitment is None:
            raise RowRefused(
                gettext(
                    "No commitment has the ID “%(id)s”. Leave the ID empty to create a "
                    "commitment, or copy the ID from an export."
                )
                % {"id": identifier}
            )
        return commitment, []
    same_title = lookup.by_title.get(cells.get("title", ""), [])
    if len(same_title) > 1:
        raise RowRefused(
            gettext("%(count)s commitments have this title: give the row the ID of one.")
            % {"count": len(same_title)}
        )
    if same_title:
        note = gettext("No ID: matched by its title to the commitment with ID “%(id)s”.")
        return same_title[0], [note % {"id": same_title[0].slug}]
    return None, []


def _planned(number, cells, commitment, notes, lookup, today) -> PlannedRow:
    wanted = _wanted_values(cells, lookup)
    has_milestones = commitment is not None and commitment.pk in lookup.with_milestones
    state = _wanted_state(cells, has_milestones=has_milestones)
    if commitment is None:
        return _creation(number, wanted, state, cells, today)
    if commitment.is_retired:
        current = _current_values(commitment)
        if any(current[name] != value for name, value in wanted.items()) or _state_differs(
            commitment, state
        ):
            raise RowRefused(
                gettext("This commitment is retired: it takes no edits or status updates.")
            )
        return PlannedRow(number, Action.UNCHANGED, title=commitment.title, commitment=commitment)
    return _change(number, commitment, wanted, state, cells, today, notes)


def _creation(number, wanted, state, cells, today) -> PlannedRow:
    update = None
    if (state["status"], state["progress"]) != (Status.NOT_STARTED, 0):
        update = _update(state, cells, today, wanted["paragraphs"])
    changes = [
        [_field_label(name), "", _shown(name, value)]
        for name, value in wanted.items()
        if value not in (None, [], "")
    ]
    if update:
        changes += _state_changes(None, state)
    return PlannedRow(
        number,
        Action.CREATE,
        title=wanted["title"],
        values=_stored(wanted),
        update=update,
        changes=changes,
    )


def _change(number, commitment, wanted, state, cells, today, notes) -> PlannedRow:
    current = _current_values(commitment)
    changed = {name: value for name, value in wanted.items() if current[name] != value}
    changes = [
        [_field_label(name), _shown(name, current[name]), _shown(name, value)]
        for name, value in changed.items()
    ]
    update = None
    if _state_differs(commitment, state):
        update = _update(state, cells, today, wanted["paragraphs"])
        changes += _state_changes(commitment, state)
    elif cells.get("update_narrative"):
        notes = [*notes, gettext("Update narrative ignored: status and progress are as recorded.")]
    action = Action.CHANGE if changed or update else Action.UNCHANGED
    return PlannedRow(
        number,
        action,
        title=commitment.title,
        commitment=commitment,
        values=_stored(changed),
        update=update,
        changes=changes,
        notes=notes,
    )


def _field_label(name: str) -> str:
    return _column_label(name) if name in CommitmentTable.base_columns else name


def _wanted_values(cells: dict, lookup: _Lookup) -> dict:
    """What the row says the commitment's own fields are (only the columns the file has)."""
    wanted = {"title": _title(cells.get("title", ""))}
    wanted["paragraphs"] = _paragraphs(cells["document"], cells["paragraphs"], lookup)
    for name, rows in (
        ("lead_actors", lookup.actors),
        ("supporting_actors", lookup.actors),
        ("themes", lookup.themes),
    ):
        if name in cells:
            wanted[name] = _named(cells[name], rows, name)
    if "target_date" in cells:
        wanted["target_date"] = _target_date(cells["target_date"], wanted["paragraphs"])
    if "owner" in cells:
        wanted["owner"] = _owner(cells["owner"], lookup)
    return wanted


def _title(text: str) -> str:
    if not text:
        raise RowRefused(gettext("The title is empty."))
    limit = Commitment._meta.get_field("title").max_length
    if len(text) > limit:
        raise RowRefused(
            gettext("The title has %(length)s characters; at most %(limit)s fit.")
            % {"length": len(text), "limit": limit}
        )
    return text


def _paragraphs(document_text: str, numbers_text: str, lookup: _Lookup) -> list:
    documents = _split(document_text)
    if len(documents) != 1:
        raise RowRefused(
            gettext(
                "Name one document in the Document column (its short name, as the export "
                "writes it); a commitment on paragraphs of several documents is edited on its "
                "page."
            )
        )
    [document] = documents
    if document not in lookup.documents:
        raise RowRefused(gettext("No document is called “%(name)s”.") % {"name": document})
    paragraphs = []
    for part in numbers_text.replace(";", ",").split(","):
        if not part.strip():
            continue
        if not part.strip().isdigit():
            raise RowRefused(
                gettext("“%(text)s” is not a paragraph number.") % {"text": part.strip()}
            )
        paragraph = lookup.paragraphs.get((document, int(part)))
        if paragraph is None:
            raise RowRefused(
                gettext("Document “%(name)s” has no paragraph %(number)s.")
                % {"name": document, "number": int(part)}
            )
        paragraphs.append(paragraph)
    if not paragraphs:
        raise RowRefused(gettext("Name at least one paragraph (its number)."))
    return sorted(set(paragraphs), key=lambda p: p.number)


def _named(text: str, rows: dict, name: str) -> list:
    found, unknown = [], []
    for part in _split(text):
        row = rows.get(part.casefold())
        if row is None:
            unknown.append(part)
        elif row not in found:
            found.append(row)
    if unknown:
        message = (
            gettext("Unknown themes: %(names)s. Add them first, or correct the names.")
            if name == "themes"
            else gettext("Unknown actors: %(names)s. Add them first, or correct the names.")
        )
        raise RowRefused(message % {"names": ", ".join(unknown)})
    return sorted(found, key=lambda row: row.name)


def _day(text: str, column: str) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise RowRefused(
            gettext("%(column)s: “%(text)s” is not a day written as YYYY-MM-DD.")
            % {"column": column, "text": text}
        ) from None


def _adopted_on(paragraphs: list) -> datetime.date | None:
    """When the row's document was adopted (None: not recorded)."""
    return min(filter(None, (p.document.adopted_on for p in paragraphs)), default=None)


def _target_date(text: str, paragraphs: list) -> datetime.date | None:
    day = _day(text, _column_label("target_date"))
    if day is None:
        return None
    adopted_on = _adopted_on(paragraphs)
    if adopted_on and day < adopted_on:
        raise RowRefused(
            gettext("The target date is before %(day)s, when the document was adopted.")
            % {"day": adopted_on.isoformat()}
        )
    if day > LATEST_PLANNED_DAY:
        raise RowRefused(
            gettext("The target date is after %(day)s: check the year.")
            % {"day": LATEST_PLANNED_DAY.isoformat()}
        )
    return day


def _owner(text: str, lookup: _Lookup):
    if not text:
        return None
    users = lookup.owners.get(text, [])
    if len(users) != 1:
        message = (
            gettext("Several people are called “%(name)s”: write the owner's username.")
            if users
            else gettext("No user is called “%(name)s” (by name or username).")
        )
        raise RowRefused(message % {"name": text})
    if not user_can_own_commitments(users[0]):
        raise RowRefused(str(owner_refused_message(users[0])))
    return users[0]


def _status(text: str) -> str:
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for value, label in Status.choices:
                if text.casefold() in (str(label).casefold(), value):
                    return value
    labels = ", ".join(str(label) for _value, label in Status.choices)
    raise RowRefused(
        gettext("“%(text)s” is not a status. Use one of: %(labels)s.")
        % {"text": text, "labels": labels}
    )


def _wanted_state(cells: dict, *, has_milestones: bool) -> dict:
    text = cells.get("progress", "").removesuffix("%").strip()
    if not text.isdigit() or int(text) > 100:
        raise RowRefused(
            gettext("Progress “%(text)s” is not a whole number from 0 to 100.") % {"text": text}
        )
    return {
        "status": _status(cells.get("status", "")),
        "progress": int(text),
        "has_milestones": has_milestones,
    }


def _state_differs(commitment: Commitment, state: dict) -> bool:
    if state["status"] != commitment.status:
        return True
    if state["progress"] == commitment.progress:
        return False
    if state["has_milestones"]:
        raise RowRefused(
            gettext(
                "This commitment's progress is computed from its milestones: leave it at "
                "%(progress)s%%, and mark the milestone done on its page."
            )
            % {"progress": commitment.progress}
        )
    return True


def _state_changes(commitment: Commitment | None, state: dict) -> list:
    old_status = str(Status(commitment.status).label) if commitment else ""
    old_progress = str(commitment.progress) if commitment else ""
    changes = []
    if old_status != str(Status(state["status"]).label):
        changes.append([_column_label("status"), old_status, str(Status(state["status"]).label)])
    if old_progress != str(state["progress"]):
        changes.append([_column_label("progress"), old_progress, str(state["progress"])])
    return changes


def _update(state: dict, cells: dict, today: datetime.date, paragraphs: list) -> dict:
    """The status update a row adds, or RowRefused if it cannot say what happened, or says it
    happened before the document asked for it (as the page's form refuses)."""
    narrative = cells.get("update_narrative", "")
    if not narrative:
        raise RowRefused(
            gettext(
                "The status or progress differs from the commitment's: write what happened in "
                "the column “%(column)s” (it becomes the status update)."
            )
            % {"column": _column_label("update_narrative")}
        )
    happened_on = _day(cells.get("update_date", ""), _column_label("update_date")) or today
    if happened_on > today:
        raise RowRefused(
            gettext("The update date %(day)s is in the future: an update says what happened.")
            % {"day": happened_on.isoformat()}
        )
    adopted_on = _adopted_on(paragraphs)
    if adopted_on and happened_on < adopted_on:
        raise RowRefused(
            gettext("The update date %(day)s is before %(adopted)s, when the document was adopted.")
            % {"day": happened_on.isoformat(), "adopted": adopted_on.isoformat()}
        )
    return {
        "status": state["status"],
        "progress": None if state["has_milestones"] else state["progress"],
        "narrative": narrative,
        "happened_on": happened_on.isoformat(),
        "visibility": _visibility(cells.get("update_visibility", "")),
    }


def _visibility(text: str) -> str:
    if not text:
        return StatusUpdate.Visibility.PUBLIC
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for value, label in StatusUpdate.Visibility.choices:
                if text.casefold() in (str(label).casefold(), value):
                    return value
    raise RowRefused(
        gettext("Update visibility “%(text)s”: write “public” or “internal”.") % {"text": text}
    )


def _current_values(commitment: Commitment) -> dict:
    return {
        "title": commitment.title,
        "paragraphs": sorted(commitment.paragraphs.all(), key=lambda p: p.number),
        "lead_actors": sorted(commitment.lead_actors.all(), key=lambda a: a.name),
        "supporting_actors": sorted(commitment.supporting_actors.all(), key=lambda a: a.name),
        "themes": sorted(commitment.themes.all(), key=lambda t: t.name),
        "target_date": commitment.target_date,
        "owner": commitment.owner,
    }


def _shown(name: str, value) -> str:
    if value is None:
        return ""
    if name == "paragraphs":
        return ", ".join(str(p.number) for p in value)
    if isinstance(value, list):
        return "; ".join(row.name for row in value)
    if name == "owner":
        return person_name(value)
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _stored(values: dict) -> dict:
    """The values as the import row keeps them (JSON): rows by id, days as ISO text."""
    stored = {}
    for name, value in values.items():
        if isinstance(value, list):
            stored[name] = [row.pk for row in value]
        elif name == "owner":
            stored[name] = value.pk if value else None
        elif isinstance(value, datetime.date):
            stored[name] = value.isoformat()
        else:
            stored[name] = value
    return stored
