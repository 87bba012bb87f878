"""Turn an outcome document's plain text into a Document with its preamble and paragraphs.

Parsing is pure (text in, `ParsedDocument` out) so it can be tested on many variants without a
database; `document_import` is the one write. The layout it expects is the one outcome documents
share: an optional publication date, the title, preamble clauses (the lead-in "... have
therefore:" included), numbered operative paragraphs ("1." or "1)"), then optionally the place
and date of adoption ("Ashgabat, December 12, 2020") and footnotes.
"""

import datetime
import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.text import slugify

from core.local_time import format_day

from .models import Document, Paragraph

MAX_FILE_BYTES = 5 * 1024 * 1024
SHORT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Short names are ASCII slugs; a Russian (or Ukrainian, Kazakh) title still gets one. Latin
# letters with accents (Turkmen "ň", "ş") need no table: slugify drops the accent.
# fmt: off
CYRILLIC_TO_LATIN = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia", "є": "ie",
    "і": "i", "ї": "i", "ґ": "g", "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u",
    "ү": "u", "һ": "h", "җ": "zh",
})
# fmt: on


class DocumentImportError(Exception):
    """Something the person importing can fix; the message says what. Nothing was written."""


class DocumentFormatError(DocumentImportError):
    """The text cannot be read as an outcome document."""


class CitedParagraphRemoval(DocumentImportError):
    """The new text drops a paragraph that commitments cite."""


@dataclass(frozen=True)
class ParsedParagraph:
    number: int
    operative_verb: str
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    preamble: tuple[str, ...]
    paragraphs: tuple[ParsedParagraph, ...]
    full_text: str
    published_on: datetime.date | None = None
    place: str = ""
    adopted_on: datetime.date | None = None

    @property
    def preamble_text(self) -> str:
        return "\n\n".join(self.preamble)

    def default_short_name(self) -> str:
        """ "ashgabat-2020" from place and year; the title's first words when either is missing,
        Cyrillic spelled in Latin letters ("Итоговый документ" -> "itogovyi-dokument")."""
        if self.place and self.adopted_on:
            return slugify(f"{self.place} {self.adopted_on.year}")[:80]
        return slugify(self.title.lower().translate(CYRILLIC_TO_LATIN))[:80].rstrip("-")


# --- Reading the text --------------------------------------------------------------------------


def document_text_decode(data: bytes, *, name: str = "the file") -> str:
    """Bytes to text, refusing what is not UTF-8 text rather than guessing an encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentFormatError(
            f"{name} is UTF-16 text; save it as UTF-8 (plain text) and import it again."
        )
    if _looks_like_utf16(data):
        raise DocumentFormatError(
            f"{name} looks like UTF-16 text without a byte-order mark; save it as UTF-8 (plain "
            "text) and import it again."
        )
    if b"\x00" in data:
        raise DocumentFormatError(
            f"{name} looks like a binary file (it contains NUL bytes), not plain text. "
            "Export the document as a UTF-8 .txt file and import that."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DocumentFormatError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}). "
            "Save it as UTF-8 (plain text) and import it again."
        ) from None


def _looks_like_utf16(data: bytes) -> bool:
    """UTF-16 text in a Latin script has a NUL in every other byte (the high byte of each
    letter) and none in between; a binary file has its NULs anywhere."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    many, few = max(even, odd), min(even, odd)
    if many < len(sample) // 2 * 0.3 or few > many // 20:
        return False
    try:
        data.decode("utf-16-be" if even > odd else "utf-16-le")
    except UnicodeDecodeError:
        return False
    return True


def document_text_normalize(text: str) -> str:
    """One form for every copy of a text: no BOM, LF line ends, no trailing spaces."""
    return "\n".join(_lines(text)).strip("\n") + "\n"


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))]


def _leading_blank_lines(text: str) -> int:
    """How many lines normalising drops from the top, so messages can name the file's lines."""
    lines = _lines(text)
    return next((i for i, line in enumerate(lines) if line), len(lines))


# --- Finding the parts -------------------------------------------------------------------------

# "1. Highlighted", "1) Highlighted", "(1) Highlighted", "1001. Noted"; a space must follow, so
# "1.5 million" at the start of a wrapped line is not a paragraph.
PARAGRAPH_START = re.compile(r"^\(?(?P<number>\d+)[.)]\s+(?P<rest>\S.*)$")
# A footnote's own text below the paragraphs: "1 Declaration and Programme of Action ...".
FOOTNOTE_TEXT = re.compile(r"^(?:\d{1,2}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)\s*[A-Z“\"]")
# A footnote reference glued to a word: "Organization1;" or "Organization¹;". Only after a
# lowercase letter, closing quote or bracket, so "G20", "CO2", "50/80" and "25th" stay intact.
FOOTNOTE_MARKER = re.compile(r"(?<=[a-z”\")])(?:\d{1,2}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)(?=[;:,.]?(?:\s|$))")
CLAUSE_END = (";", ".", ":", "!", "?")

# fmt: off
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
# fmt: on
MONTH_WORDS = frozenset([*MONTHS, *(month[:3] for month in MONTHS), "sept"])
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_YEAR = r"(?P<year>\d{4})"
DATE_FORMS = (
    re.compile(rf"(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH},?\s+(?:of\s+)?{_YEAR}", re.IGNORECASE),
    re.compile(rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}", re.IGNORECASE),
)
CLOSING_LINE = re.compile(
    r"^(?:(?:done|adopted|signed)\s+(?:at|in)\s+)?(?P<place>[A-Z][^\d,;:]{1,80}?)"
    r"\s*(?:,|\bon\b)\s*(?P<date>[^;:]{6,40}?)\.?$"
)


@dataclass
class _Block:
    """Lines that belong together: a paragraph (with its number) or another unnumbered block."""

    number: int | None
    lines: list[str] = field(default_factory=list)
    line: int = 0  # where it starts in the file, for messages
    continued: list[str] = field(default_factory=list)  # later blocks of the same paragraph

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.lines).split())


def date_parse(text: str) -> datetime.date | None:
    """English dates as outcome documents write them: "15 December 2020", "December 12, 2020"."""
    for form in DATE_FORMS:
        match = form.fullmatch(text.strip())
        if match and (month := _month_number(match["month"])):
            try:
                return datetime.date(int(match["year"]), month, int(match["day"]))
            except ValueError:
                return None
    return None


def _month_number(word: str) -> int | None:
    word = word.lower()
    return next((i for i, name in enumerate(MONTHS, 1) if name.startswith(word[:3])), None)


def _blocks(text: str, *, first_line: int = 1) -> list[_Block]:
    """Group lines into blocks: a blank line ends one, and so does a new paragraph number.

    Inside a block a numbered line continues the paragraph above only where it reads as the
    rest of a sentence (see _continues_sentence), so a wrapped line that happens to begin
    "12. December" stays part of its paragraph. Any other numbered line starts a paragraph,
    whatever its number, so a skipped or repeated number reaches _check_numbering instead of
    vanishing into the paragraph above.
    """
    blocks: list[_Block] = []
    last_number = 0
    after_blank = True
    for line_number, raw in enumerate(text.split("\n"), first_line):
        line = raw.strip()
        if not line:
            after_blank = True
            continue
        start = PARAGRAPH_START.match(line)
        if start and (after_blank or _may_start_paragraph(blocks, start, last_number)):
            last_number = int(start["number"])
            blocks.append(_Block(last_number, [start["rest"]], line=line_number))
        elif after_blank:
            blocks.append(_Block(None, [line], line=line_number))
        else:
            blocks[-1].lines.append(line)
        after_blank = False
    return blocks


def _may_start_paragraph(blocks: list[_Block], start: re.Match, last_number: int) -> bool:
    if int(start["number"]) == last_number + 1 or blocks[-1].lines[-1].endswith(CLAUSE_END):
        return True
    return not _continues_sentence(start["rest"])


def _continues_sentence(rest: str) -> bool:
    """Whether the words after a number at the start of a wrapped line go on with a sentence
    ("12. December, with all", "3. and more") rather than open a paragraph ("3. Encouraged")."""
    word = rest.split()[0].rstrip(".,;:").lower()
    return not rest[0].isupper() or word in MONTH_WORDS


def _is_closing(block: _Block) -> bool:
    match = CLOSING_LINE.match(block.text)
    return block.number is None and match is not None and date_parse(match["date"]) is not None


def _is_trailer_start(block: _Block) -> bool:
    return block.number is None and (_is_closing(block) or bool(FOOTNOTE_TEXT.match(block.text)))


def _split(blocks: list[_Block]) -> tuple[list[_Block], list[_Block], list[_Block]]:
    """Head (date, title, preamble), body (numbered paragraphs), trailer (closing, footnotes)."""
    first = next((i for i, block in enumerate(blocks) if block.number is not None), None)
    if first is None:
        raise DocumentFormatError(
            "Found no numbered paragraphs (lines starting with '1.' or '1)'). Check that this is "
            "the document's text, with each operative paragraph starting with its number."
        )
    end = next((i for i in range(first, len(blocks)) if _is_trailer_start(blocks[i])), None)
    end = len(blocks) if end is None else end
    return blocks[:first], blocks[first:end], blocks[end:]


def _paragraph_blocks(body: list[_Block]) -> list[_Block]:
    """Unnumbered blocks inside the body (sub-items, a paragraph split by a blank line) belong to
    the numbered paragraph above them."""
    paragraphs: list[_Block] = []
    for block in body:
        if block.number is None:
            paragraphs[-1].continued.append(block.text)
        else:
            paragraphs.append(block)
    return paragraphs


def _check_numbering(paragraphs: list[_Block]) -> None:
    first = paragraphs[0]
    if first.number != 1:
        raise DocumentFormatError(
            f"Paragraph numbering starts at {first.number}, not 1 (line {first.line}). Check the "
            f"text before '{first.number}. {first.text[:40]}...' and import again."
        )
    expected = 1
    for block in paragraphs:
        where = f"line {block.line}: '{block.number}. {block.text[:40]}...'"
        if block.number < expected:
            raise DocumentFormatError(
                f"Paragraph {block.number} appears twice or out of order (the second time on "
                f"{where}). Remove or renumber it and import again."
            )
        if block.number != expected:
            raise DocumentFormatError(
                f"Paragraph numbers go from {expected - 1} to {block.number}: paragraph "
                f"{expected} is missing or misnumbered ({where}). Fix the number (or, if that "
                "line continues the one above, join the two lines) and import again."
            )
        expected += 1


def _without_footnote_markers(text: str) -> str:
    # Footnote markers are dropped from the title, preamble and paragraphs: paragraphs are quoted
    # on commitment pages and "Organization1;" reads as a typo there. The marker is PDF layout,
    # not adopted wording; full_text keeps the file as imported, marker and footnote included.
    return FOOTNOTE_MARKER.sub("", text)


def _paragraph_text(block: _Block) -> str:
    return "\n\n".join(_without_footnote_markers(part) for part in [block.text, *block.continued])


# --- The operative verb ------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Verbs that say little without the word after them: "Extended support", "Called upon",
# "Called to promote", "Took note", "Paid tribute". Grammar, not one translation's vocabulary.
LIGHT_VERBS = _word_set("extended called took paid gave made lent placed")
IRREGULAR_PAST = _word_set(
    "took gave made paid lent held sought brought drew undertook agreed chose saw set put"
)
NOT_VERBS = _word_set("need needed united hundred indeed seed speed bed red shed")
AUXILIARIES = _word_set("was were is are be been being has have had which that who")
# After one of these the -ed word is a participle in a modifier ("Based on", "adopted on"),
# not the main clause.
PARTICIPLE_PREPOSITIONS = _word_set("on upon by in at under during from within")
ADVERBS = _word_set("also further again therefore furthermore moreover thus hence then")
NOT_ADVERBS = _word_set("apply supply reply rely comply multiply italy july family")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|,")


def operative_verb(text: str) -> str:
    """The verb a paragraph opens with, found by grammar rather than a list of verbs.

    It is the first past-tense word of the main clause, with the word after it for light verbs
    ("Extended support", "Called to promote"). When the paragraph opens with a participial phrase
    ("Based on the Final Document ..., additionally stressed"), the main clause starts after a
    comma. Paragraphs in another tense ("Encourages") get the word they open with.
    """
    words = WORD.findall(text[:600])
    lead = _skip_adverbs(words, 0)
    if lead >= len(words):
        return ""
    if _opens_main_clause(words, lead):
        return _verb_phrase(words, lead)
    for i in range(lead + 1, len(words)):
        if words[i] == "," and (verb := _main_verb_after_comma(words, i + 1)) is not None:
            return _verb_phrase(words, verb)
    return words[lead][:1].upper() + words[lead][1:]


def _skip_adverbs(words: list[str], i: int) -> int:
    while i < len(words) and _is_adverb(words[i]):
        i += 1
    return i


def _is_adverb(word: str) -> bool:
    word = word.lower()
    return word in ADVERBS or (word.endswith("ly") and word not in NOT_ADVERBS)


def _is_past(word: str) -> bool:
    word = word.lower()
    if word in NOT_VERBS:
        return False
    return word in IRREGULAR_PAST or (word.endswith("ed") and len(word) > 4)


def _next(words: list[str], i: int) -> str:
    return words[i + 1].lower() if i + 1 < len(words) else ""


def _opens_main_clause(words: list[str], i: int) -> bool:
    if words[i].lower() in LIGHT_VERBS:
        return True
    return _is_past(words[i]) and _next(words, i) not in PARTICIPLE_PREPOSITIONS


def _main_verb_after_comma(words: list[str], start: int) -> int | None:
    i = _skip_adverbs(words, start)
    if i >= len(words) or not _is_past(words[i]) or words[i][0].isupper():
        return None
    if _next(words, i) in PARTICIPLE_PREPOSITIONS or words[i - 1].lower() in AUXILIARIES:
        return None
    return i


def _verb_phrase(words: list[str], i: int) -> str:
    verb = words[i][:1].upper() + words[i][1:].lower()
    if verb.lower() not in LIGHT_VERBS or i + 1 >= len(words) or words[i + 1] == ",":
        return verb
    if words[i + 1].lower() == "to" and i + 2 < len(words):
        return f"{verb} to {words[i + 2]}"
    return f"{verb} {words[i + 1]}"


# --- The whole document ------------------------------------------------------------------------


def document_parse(text: str) -> ParsedDocument:
    """Read an outcome document's text; DocumentFormatError says what is wrong and what to do."""
    if "\x00" in text:
        raise DocumentFormatError("The text contains NUL characters: it is not plain text.")
    full_text = document_text_normalize(text)
    if not full_text.strip():
        raise DocumentFormatError("The document is empty. Import the file with its text in it.")
    blocks = _blocks(full_text, first_line=_leading_blank_lines(text) + 1)
    head, body, trailer = _split(blocks)
    paragraphs = _paragraph_blocks(body)
    _check_numbering(paragraphs)
    published_on, title, preamble = _head_parts(head)
    place, adopted_on = _closing(trailer)
    parsed = ParsedDocument(
        title=title,
        preamble=tuple(preamble),
        paragraphs=tuple(
            ParsedParagraph(block.number, operative_verb(block.text), _paragraph_text(block))
            for block in paragraphs
        ),
        full_text=full_text,
        published_on=published_on,
        place=place,
        adopted_on=adopted_on,
    )
    _check_lengths(parsed, paragraphs)
    return parsed


def _head_parts(head: list[_Block]) -> tuple[datetime.date | None, str, list[str]]:
    texts = [_without_footnote_markers(block.text) for block in head]
    published_on = date_parse(texts[0]) if texts else None
    if published_on:
        texts.pop(0)
    if not texts or texts[0].endswith((",", ";", ":")):
        raise DocumentFormatError(
            "Found no title: the text must open with the document's title on its own line "
            "(after its date, if it has one). Add the title and import again."
        )
    return published_on, texts[0], texts[1:]


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def _check_lengths(parsed: ParsedDocument, paragraphs: list[_Block]) -> None:
    """Refuse, before anything is written, a value longer than its column: PostgreSQL would
    fail the write with a DataError and SQLite would keep it whole, unlike any other copy."""
    limit = _max_length(Document, "title")
    if len(parsed.title) > limit:
        raise DocumentFormatError(
            f"The title is {len(parsed.title)} characters; at most {limit} fit. If the title "
            "runs on into the preamble, put a blank line after it; otherwise shorten it, and "
            "import again."
        )
    limit = _max_length(Paragraph, "operative_verb")
    for block, paragraph in zip(paragraphs, parsed.paragraphs, strict=True):
        if len(paragraph.operative_verb) > limit:
            raise DocumentFormatError(
                f"Paragraph {paragraph.number} (line {block.line}) opens with "
                f"'{paragraph.operative_verb[:40]}...', {len(paragraph.operative_verb)} "
                f"characters; an operative verb has at most {limit}. Check for missing spaces "
                "in its first words and import again."
            )


def _closing(trailer: list[_Block]) -> tuple[str, datetime.date | None]:
    for block in trailer:
        if _is_closing(block):
            match = CLOSING_LINE.match(block.text)
            return match["place"].strip(), date_parse(match["date"])
    return "", None


# --- Writing -----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    short_name: str
    paragraph_count: int
    preamble_parts: int
    created: bool = False
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.created and not self.changes

    @property
    def summary(self) -> str:
        size = f"{self.paragraph_count} paragraphs, preamble {self.preamble_parts} parts"
        if self.up_to_date:
            return f"'{self.short_name}' is already up to date"
        if self.created:
            verb = "Would import" if self.dry_run else "Imported"
            return f"{verb} '{self.short_name}': {size}" + self._dry_run_note
        verb = "Would update" if self.dry_run else "Updated"
        count = f"{len(self.changes)} change{'s' * (len(self.changes) != 1)}"
        return f"{verb} '{self.short_name}' ({count}): {size}" + self._dry_run_note

    @property
    def _dry_run_note(self) -> str:
        return " (dry run, nothing written)" if self.dry_run else ""

    def lines(self) -> list[str]:
        return [self.summary, *(f"  - {change}" for change in self.changes)]


def document_import_file(*, path: str | Path, **kwargs) -> ImportReport:
    """Read a UTF-8 text file and import it; see document_import for the keyword arguments."""
    path = Path(path)
    return document_import(text=document_text_decode(_read(path), name=str(path)), **kwargs)


# What a path that is not a regular file is, in the words of the message that refuses it.
NOT_A_FILE = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device (such as /dev/null)"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
GIVE_A_FILE = "Give the path of the document's .txt file."


def _read(path: Path) -> bytes:
    # One stat, and the kind of thing checked before opening it: opening a named pipe waits
    # for a writer, and reading a device never ends or reads nothing.
    info = _stat(path)
    kind = next((name for is_kind, name in NOT_A_FILE if is_kind(info.st_mode)), None)
    if kind is not None:
        raise DocumentImportError(f"{path} is {kind}, not a file. {GIVE_A_FILE}")
    if info.st_size > MAX_FILE_BYTES:
        raise DocumentFormatError(
            f"{path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB, far more than an outcome "
            "document's text. Check that this is the right file."
        )
    try:
        return path.read_bytes()
    except PermissionError:
        raise DocumentImportError(
            f"{path} cannot be read by this user (permission denied). Make it readable, e.g. "
            "chmod a+r, or import it as a user who may read it."
        ) from None
    except OSError as error:
        raise DocumentImportError(f"Cannot read {path}: {error.strerror}.") from None


def _stat(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise DocumentImportError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist. "
                f"{GIVE_A_FILE}"
            ) from None
        raise DocumentImportError(f"{path} does not exist. {GIVE_A_FILE}") from None
    except OSError as error:
        raise DocumentImportError(_stat_problem(path, error)) from None


def _stat_problem(path: Path, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return f"{path} is a loop of symbolic links (it never reaches a file). {GIVE_A_FILE}"
    if error.errno == errno.ENOTDIR:
        return f"{path} does not exist (part of it is a file, not a folder). {GIVE_A_FILE}"
    if error.errno == errno.EACCES:
        return f"{path} cannot be reached: a folder on its way may not be entered by this user."
    return f"Cannot read {path}: {error.strerror}."


def document_import(
    *, text: str, short_name: str | None = None, source_url: str = "", dry_run: bool = False
) -> ImportReport:
    """Create or bring up to date the Document (preamble, paragraphs) the text describes.

    Paragraphs are matched by number and updated in place, so the commitments citing them keep
    pointing at them. A text without a paragraph that commitments cite is refused. An empty
    source_url keeps the address already stored. Nothing is written on an error or a dry run.
    """
    parsed = document_parse(text)
    name = _short_name(short_name, parsed)
    _check_source_url(source_url)
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(short_name=name).first()
        report = ImportReport(name, len(parsed.paragraphs), len(parsed.preamble), dry_run=dry_run)
        if document is None:
            report.created = True
            if not dry_run:
                _document_create(name=name, parsed=parsed, source_url=source_url)
            return report
        if short_name is None:
            _refuse_other_document(document, parsed)
        current = {paragraph.number: paragraph for paragraph in document.paragraphs.all()}
        report.changes = _changes(document, current, parsed, source_url)
        _refuse_cited_removals(document, current, parsed)
        if report.changes and not dry_run:
            _document_update(document, current, parsed, source_url)
    return report


def _short_name(short_name: str | None, parsed: ParsedDocument) -> str:
    name = short_name if short_name is not None else parsed.default_short_name()
    if short_name is None and not name:
        raise DocumentImportError(
            f"Cannot make a short name from the title '{parsed.title[:60]}': it has no Latin or "
            "Cyrillic letters or digits, and the text names no place and date of adoption. Give "
            "one with --short-name (lowercase letters, digits and hyphens, e.g. "
            "--short-name ashgabat-2020)."
        )
    if not SHORT_NAME.fullmatch(name):
        raise DocumentImportError(
            f"'{name}' cannot be a short name: use lowercase letters, digits and hyphens "
            "(e.g. --short-name ashgabat-2020)."
        )
    if len(name) > 80:
        raise DocumentImportError(f"The short name '{name}' is longer than 80 characters.")
    return name


def _check_source_url(source_url: str) -> None:
    try:
        if source_url:
            URLValidator()(source_url)
    except ValidationError:
        raise DocumentImportError(
            f"'{source_url}' is not a web address; give the full address, starting https://."
        ) from None
    if len(source_url) > 500:
        raise DocumentImportError("The source address is longer than 500 characters.")


def _refuse_other_document(document: Document, parsed: ParsedDocument) -> None:
    """A derived short name (place and year, or the title's first words) is shared by every
    document adopted in one city in one year, so it alone does not say that the text is a new
    version of the recorded document. It is one only with the same adoption date and the same
    title (or the recorded alternative title) up to case, spacing and punctuation. Anything
    else (another resolution, a retitled version, a translation) needs an explicit
    --short-name: the recorded one to replace its text, or a new one to add a document."""
    if document.adopted_on and parsed.adopted_on and document.adopted_on != parsed.adopted_on:
        raise DocumentImportError(
            f"'{document.short_name}' is already a document adopted on {document.adopted_on}; "
            f"this one was adopted on {parsed.adopted_on}. Give it its own --short-name."
        )
    recorded = [document.title, document.alternative_title]
    if _title_key(parsed.title) in {_title_key(title) for title in recorded if title}:
        return
    shared = "place and date" if parsed.place and parsed.adopted_on else "short name"
    raise DocumentImportError(
        f"'{_shortened(parsed.title)}' has the same {shared} as the recorded "
        f"'{_shortened(document.title)}' ('{document.short_name}') but another title, so "
        "nothing was imported. If it is another document, give it its own short name "
        f"(--short-name {document.short_name}-b, say); if it is a new version or a translation "
        f"of the recorded one, import it with --short-name {document.short_name} to replace "
        "its text."
    )


def _title_key(title: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", title.casefold()))


def _shortened(text: str, length: int = 100) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _document_fields(parsed: ParsedDocument) -> dict:
    fields = {
        "title": parsed.title,
        "preamble": parsed.preamble_text,
        "place": parsed.place,
        "adopted_on": parsed.adopted_on,
        "full_text": parsed.full_text,
    }
    # A text without a date line keeps the publication date entered on the document's page.
    if parsed.published_on is not None:
        fields["published_on"] = parsed.published_on
    return fields


def _document_create(*, name: str, parsed: ParsedDocument, source_url: str) -> Document:
    document = Document.objects.create(
        short_name=name, source_url=source_url, **_document_fields(parsed)
    )
    for p in parsed.paragraphs:  # saved one by one (not in bulk) so the audit trail has each
        Paragraph.objects.create(
            document=document, number=p.number, operative_verb=p.operative_verb, text=p.text
        )
    return document


def _changes(
    document: Document, current: dict[int, Paragraph], parsed: ParsedDocument, source_url: str
) -> list[str]:
    changes = _field_changes(document, parsed, source_url) + _paragraph_changes(current, parsed)
    if not changes and document.full_text != parsed.full_text:
        changes.append("full text changed (outside the title, preamble and paragraphs)")
    return changes


def _field_changes(document: Document, parsed: ParsedDocument, source_url: str) -> list[str]:
    labels = {
        "title": "title",
        "preamble": "preamble",
        "place": "place",
        "adopted_on": "date",
        "published_on": "publication date",
    }
    new = _document_fields(parsed)
    changes = [
        f"{label} changed{_from_to(getattr(document, name), new[name])}"
        for name, label in labels.items()
        if name in new and getattr(document, name) != new[name]
    ]
    if source_url and source_url != document.source_url:
        changes.append(f"source address changed{_from_to(document.source_url, source_url)}")
    return changes


def _from_to(old, new) -> str:
    """Short values are worth showing; long ones (title, preamble) only that they changed."""
    if len(str(old)) > 60 or len(str(new)) > 60:
        return ""
    return f": {_shown(old)} -> {_shown(new)}"


def _shown(value) -> str:
    """A value as the preview writes it: a day as the site writes days, nothing as "not set"."""
    if isinstance(value, datetime.date):
        return format_day(value)
    return str(value) if value else "not set"


def _paragraph_changes(current: dict[int, Paragraph], parsed: ParsedDocument) -> list[str]:
    new = {p.number: p for p in parsed.paragraphs}
    changes = []
    if added := sorted(new.keys() - current.keys()):
        changes.append(f"paragraphs added: {_numbers(added)}")
    if removed := sorted(current.keys() - new.keys()):
        changes.append(f"paragraphs removed: {_numbers(removed)}")
    kept = sorted(new.keys() & current.keys())
    if changed := [n for n in kept if current[n].text != new[n].text]:
        changes.append(f"text changed: {_numbers(changed)}")
    for n in kept:
        if current[n].operative_verb != new[n].operative_verb:
            old, verb = current[n].operative_verb, new[n].operative_verb
            changes.append(f"operative verb of paragraph {n} changed: {old} -> {verb}")
    return changes


def _differs(paragraph: Paragraph, parsed: ParsedParagraph) -> bool:
    return (paragraph.operative_verb, paragraph.text) != (parsed.operative_verb, parsed.text)


def _numbers(numbers: list[int]) -> str:
    return ", ".join(f"¶{n}" for n in numbers)


def _refuse_cited_removals(
    document: Document, current: dict[int, Paragraph], parsed: ParsedDocument
) -> None:
    removed = current.keys() - {p.number for p in parsed.paragraphs}
    cited = Paragraph.objects.filter(
        document=document, number__in=removed, commitments__isnull=False
    )
    paragraph = cited.order_by("number").first()
    if paragraph is not None:
        titles = ", ".join(f"'{c.title}'" for c in paragraph.commitments.all())
        raise CitedParagraphRemoval(
            f"The new text of '{document.short_name}' has no paragraph {paragraph.number}, which "
            f"commitments cite ({titles}). Point those commitments at another paragraph first, "
            "then import again. Nothing was changed."
        )


def _document_update(
    document: Document, current: dict[int, Paragraph], parsed: ParsedDocument, source_url: str
) -> None:
    for name, value in _document_fields(parsed).items():
        setattr(document, name, value)
    document.source_url = source_url or document.source_url
    # A metadata form opened before this import is now stale (core.editing.version_claim).
    document.version += 1
    document.save()
    new = {p.number: p for p in parsed.paragraphs}
    Paragraph.objects.filter(document=document, number__in=current.keys() - new.keys()).delete()
    changed = [p for n, p in current.items() if n in new and _differs(p, new[n])]
    # Saved one by one (not in bulk) so the audit trail has each change.
    for paragraph in changed:
        paragraph.operative_verb = new[paragraph.number].operative_verb
        paragraph.text = new[paragraph.number].text
        paragraph.save(update_fields=["operative_verb", "text"])
    for n, p in new.items():
        if n not in current:
            Paragraph.objects.create(
                document=document, number=n, operative_verb=p.operative_verb, text=p.text
            )
