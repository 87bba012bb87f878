"""Importing a document's text from the browser: a preview first, then the import it showed.

The preview runs the importer as a dry run (so it refuses what `import_document` refuses, with
the same messages) and sets the paragraphs side by side. The apply form carries the text and a
signed fingerprint of that text and of the document as the preview saw it (its version and its
paragraphs); applying checks both inside the import's transaction, so a preview is never
applied to a document someone changed in the meantime, nor with another text.
"""

import hashlib
from dataclasses import dataclass, field

from django.core import signing
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext

from .importers import (
    DocumentImportError,
    ImportReport,
    ParsedParagraph,
    document_import,
    document_parse,
    document_text_normalize,
)
from .models import Commitment, Document, Paragraph

SALT = "commitments.document-import-preview"
# A preview left open overnight is better made again than applied.
MAX_AGE_SECONDS = 24 * 60 * 60


class StalePreview(DocumentImportError):
    """The preview no longer describes what applying would do; nothing was written."""


@dataclass(frozen=True)
class ParagraphChange:
    number: int
    old: Paragraph | None  # None: a new paragraph
    new: ParsedParagraph | None  # None: a removed one

    @property
    def quoted_by(self) -> list[Commitment]:
        return list(self.old.commitments.all()) if self.old else []


@dataclass
class ImportPreview:
    report: ImportReport
    document: Document | None  # None: the text makes a new document
    text: str
    fingerprint: str
    added: list[ParagraphChange] = field(default_factory=list)
    changed: list[ParagraphChange] = field(default_factory=list)
    removed: list[ParagraphChange] = field(default_factory=list)


def document_import_preview(*, text: str, short_name: str = "", source_url: str = ""):
    """What importing the text would create or change; DocumentImportError if it would fail."""
    text = document_text_normalize(text)
    options = {"short_name": short_name or None, "source_url": source_url}
    report = document_import(text=text, dry_run=True, **options)
    document = _document_with_paragraphs(report.short_name)
    fingerprint = _fingerprint(text, options, report.short_name, document)
    preview = ImportPreview(report, document, text, fingerprint)
    current = {p.number: p for p in document.paragraphs.all()} if document else {}
    new = {p.number: p for p in document_parse(text).paragraphs}
    for number in sorted(current.keys() | new.keys()):
        change = ParagraphChange(number, current.get(number), new.get(number))
        if change.old is None:
            preview.added.append(change)
        elif change.new is None:
            preview.removed.append(change)
        elif (change.old.operative_verb, change.old.text) != (
            change.new.operative_verb,
            change.new.text,
        ):
            preview.changed.append(change)
    return preview


def document_import_apply(*, text: str, fingerprint: str) -> ImportReport:
    """Import the previewed text, if it and the document are still as the preview saw them."""
    text = document_text_normalize(text)
    signed = _signed(fingerprint)
    if _digest(text) != signed["text"]:
        raise StalePreview(
            gettext(
                "The text sent differs from the text previewed, so nothing was imported. "
                "Preview the text again, then apply."
            )
        )
    with transaction.atomic():
        document = _document_with_paragraphs(signed["name"], lock=True)
        if _state(document) != signed["state"]:
            raise StalePreview(
                gettext(
                    "The document was changed after your preview (by someone else, or by "
                    "another import), so nothing was imported. Preview the text again to see "
                    "what it would change now."
                )
            )
        return document_import(text=text, **signed["options"])


def _document_with_paragraphs(short_name: str, *, lock: bool = False) -> Document | None:
    paragraphs = Paragraph.objects.order_by("number").prefetch_related(
        Prefetch("commitments", queryset=Commitment.objects.order_by("title"))
    )
    documents = Document.objects.filter(short_name=short_name)
    if lock:
        documents = documents.select_for_update()
    return documents.prefetch_related(Prefetch("paragraphs", queryset=paragraphs)).first()


def _state(document: Document | None) -> str:
    """The document as an import would find it: its version (raised by every edit and import)
    and its paragraphs (which the admin can change without raising it)."""
    if document is None:
        return "absent"
    paragraphs = [(p.number, p.operative_verb, p.text) for p in document.paragraphs.all()]
    return _digest(repr((document.pk, document.version, paragraphs)))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint(text: str, options: dict, name: str, document: Document | None) -> str:
    payload = {
        "text": _digest(text),
        "options": options,
        "name": name,
        "state": _state(document),
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def _signed(fingerprint: str) -> dict:
    try:
        return signing.loads(fingerprint, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise StalePreview(
            gettext("This preview is more than a day old, so nothing was imported. Preview again.")
        ) from None
    except signing.BadSignature:
        raise StalePreview(
            gettext("This preview cannot be checked, so nothing was imported. Preview again.")
        ) from None
