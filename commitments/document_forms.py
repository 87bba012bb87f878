"""The forms that curate documents: import a text, edit the metadata, link two documents.

They check input only; commitments.services and commitments.import_preview do the writing."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.local_time import format_day
from core.widgets import QuickSelect

from .forms import VersionField
from .importers import MAX_FILE_BYTES, SHORT_NAME, DocumentImportError, document_text_decode
from .language_codes import language_code_known
from .models import Document, DocumentLink
from .services import DOCUMENT_EDITABLE_FIELDS

# documents/import/ is this page, so no document can be found at that address.
RESERVED_SHORT_NAME = "import"


class DocumentImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        label=_("Text file"),
        help_text=_("The document as a UTF-8 plain-text (.txt) file."),
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,text/plain"}),
    )
    text = forms.CharField(
        required=False,
        label=_("Or paste the text"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    short_name = forms.CharField(
        required=False,
        max_length=80,
        label=_("Short name"),
        help_text=_(
            "The document's name in addresses, e.g. ashgabat-2020. Leave it empty to take place "
            "and year from the text; give the recorded one to replace that document's text."
        ),
    )
    source_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        label=_("Source address"),
        help_text=_("Where the text was published. Empty keeps the address already recorded."),
    )

    def clean_short_name(self) -> str:
        name = self.cleaned_data["short_name"].strip()
        if name and not SHORT_NAME.fullmatch(name):
            raise ValidationError(
                gettext("Use lowercase letters, digits and hyphens, e.g. ashgabat-2020.")
            )
        if name == RESERVED_SHORT_NAME:
            raise ValidationError(
                gettext("“import” names the import page; choose another short name.")
            )
        return name

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text", "")
        if upload and text.strip():
            raise ValidationError(gettext("Upload a file or paste the text, not both."))
        if upload:
            cleaned["text"] = self._read(upload)
        elif not text.strip() and "file" not in self.errors:
            raise ValidationError(gettext("Upload the document's text file or paste its text."))
        return cleaned

    def _read(self, upload) -> str:
        if upload.size > MAX_FILE_BYTES:
            self.add_error(
                "file",
                gettext("The file is %(size)s; at most %(limit)s can be imported.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(MAX_FILE_BYTES)},
            )
            return ""
        try:
            return document_text_decode(upload.read(), name=upload.name)
        except DocumentImportError as error:
            self.add_error("file", str(error))
            return ""


class DocumentImportApplyForm(forms.Form):
    """What the preview page posts back: the text it showed and its signed fingerprint."""

    text = forms.CharField(strip=False, widget=forms.HiddenInput)
    fingerprint = forms.CharField(widget=forms.HiddenInput)


class DocumentForm(forms.ModelForm):
    # The version the form was opened at; services.document_update refuses a stale one.
    version = VersionField()
    source_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label=_("Source address")
    )

    class Meta:
        model = Document
        fields = DOCUMENT_EDITABLE_FIELDS
        labels = {
            "title": _("Title"),
            "symbol": _("Symbol"),
            "alternative_title": _("Alternative title"),
            "place": _("Place"),
            "adopted_on": _("Adopted on"),
            "published_on": _("Published on"),
            "language": _("Language"),
        }
        help_texts = {
            "symbol": _("The UN symbol, if it has one, e.g. A/RES/75/xx."),
            "alternative_title": _("The title under which a translation was published."),
            "published_on": _("When the text was issued, if that is not the day of adoption."),
            "language": _("The language of the text, as a code: en, ru, fr."),
        }
        widgets = {
            "adopted_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "published_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["adopted_on"].widget.attrs["max"] = today.isoformat()

    def clean_adopted_on(self):
        adopted_on = self.cleaned_data["adopted_on"]
        if adopted_on and adopted_on > self.today:
            raise ValidationError(
                gettext("This date is in the future; enter %(day)s or an earlier date.")
                % {"day": format_day(self.today)}
            )
        return adopted_on

    def clean_language(self) -> str:
        language = self.cleaned_data["language"].strip()
        if not language_code_known(language):
            raise ValidationError(
                gettext(
                    "“%(code)s” is not a language code: enter two or three letters, e.g. en, "
                    "ru or fr, with a region if needed, e.g. pt-BR."
                )
                % {"code": language}
            )
        return language

    def clean(self):
        cleaned = super().clean()
        adopted_on, published_on = cleaned.get("adopted_on"), cleaned.get("published_on")
        if adopted_on and published_on and published_on < adopted_on:
            self.add_error(
                "published_on",
                gettext(
                    "A text is published on or after the day it was adopted, %(day)s: enter "
                    "that day or a later one."
                )
                % {"day": format_day(adopted_on)},
            )
        return cleaned

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in DOCUMENT_EDITABLE_FIELDS}
        return {"expected_version": data["version"], **fields}


class DocumentLinkForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentLink.Kind.choices, label=_("This document"))
    to_document = forms.ModelChoiceField(
        queryset=Document.objects.only("pk", "title").order_by("title"),
        label=_("Other document"),
        # Written without a template per option: a record has thousands of documents.
        widget=QuickSelect,
    )
    note = forms.CharField(required=False, max_length=300, label=_("Note"))
