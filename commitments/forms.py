"""The status-update form: checks input only; commitments.services does the writing."""

import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.template.defaultfilters import filesizeformat
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import StatusUpdate
from .services import evidence_file_check
from .statuses import Status

EVIDENCE_LINK_SLOTS = 3


class StatusUpdateForm(forms.Form):
    status = forms.ChoiceField(
        choices=Status.choices, help_text=_("The status definitions are listed on this page.")
    )
    progress = forms.IntegerField(
        min_value=0, max_value=100, help_text=_("Per cent done, from 0 to 100.")
    )
    progress_reason = forms.CharField(
        max_length=300,
        label=_("Reason for the figure"),
        help_text=_(
            "Why this per cent, in a line: e.g. “2 of 5 workshops held”. "
            "Adding milestones would compute it instead."
        ),
    )
    happened_on = forms.DateField(
        label=_("Happened on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("When it happened; may be in the past, not in the future."),
    )
    narrative = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What happened, and on what evidence."),
        error_messages={
            "max_length": _(
                "The narrative is %(show_value)s characters long; the limit is %(limit_value)s. "
                "Shorten it, or attach the full text as an evidence file."
            )
        },
    )
    visibility = forms.ChoiceField(
        choices=StatusUpdate.Visibility.choices,
        initial=StatusUpdate.Visibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    evidence_file = forms.FileField(
        required=False,
        label=_("Evidence file"),
        help_text=_("Optional. A copy of the source, e.g. a PDF of the resolution."),
    )
    evidence_file_title = forms.CharField(
        required=False, max_length=300, label=_("Title of the file")
    )
    # The version the form was opened at; services.status_update_create refuses a stale one.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, today: datetime.date, has_milestones: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        # Milestones compute the figure (commitments.progress): nothing to type, nor to justify.
        self.has_milestones = has_milestones
        if has_milestones:
            del self.fields["progress"], self.fields["progress_reason"]
        self.fields["happened_on"].initial = today
        self.fields["happened_on"].widget.attrs["max"] = today.isoformat()
        self._describe_file_limits()
        self._limit_narrative()
        for slot in range(1, EVIDENCE_LINK_SLOTS + 1):
            self.fields[f"link_{slot}_title"] = forms.CharField(
                required=False, max_length=300, label=_("Link %(slot)s: title") % {"slot": slot}
            )
            self.fields[f"link_{slot}_url"] = forms.URLField(
                required=False,
                assume_scheme="https",
                max_length=1000,
                label=_("Link %(slot)s: address") % {"slot": slot},
            )

    def _describe_file_limits(self) -> None:
        """Say what files are accepted before the user picks one (the server checks again)."""
        extensions = [f".{ext.lower().lstrip('.')}" for ext in settings.EVIDENCE_ALLOWED_EXTENSIONS]
        field = self.fields["evidence_file"]
        field.widget.attrs["accept"] = ",".join(extensions)
        limits = gettext(" Types: %(types)s; up to %(size)s.") % {
            "types": ", ".join(extensions),
            "size": filesizeformat(settings.EVIDENCE_MAX_UPLOAD_BYTES),
        }
        field.help_text = f"{field.help_text}{limits}"

    def _limit_narrative(self) -> None:
        narrative = self.fields["narrative"]
        narrative.max_length = settings.NARRATIVE_MAX_CHARACTERS
        narrative.validators.append(MaxLengthValidator(narrative.max_length))
        # No maxlength attribute: a browser would cut a longer pasted text silently; the
        # server's message says the limit and the form keeps every character.

    def link_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """The evidence link inputs in pairs, for the template."""
        return [
            (self[f"link_{slot}_title"], self[f"link_{slot}_url"])
            for slot in range(1, EVIDENCE_LINK_SLOTS + 1)
        ]

    def clean_happened_on(self) -> datetime.date:
        happened_on = self.cleaned_data["happened_on"]
        if happened_on > self.today:
            raise ValidationError(
                gettext("This date is in the future; enter %(day)s or an earlier date.")
                % {"day": dateformat.format(self.today, "j E Y")}
            )
        return happened_on

    def clean_evidence_file(self):
        upload = self.cleaned_data.get("evidence_file")
        if upload:
            evidence_file_check(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if self.has_milestones and self.data.get("progress") not in (None, ""):
            # Milestones were added after the form was opened: the typed figure would be lost.
            self.add_error(
                None,
                gettext(
                    "This commitment now has milestones, so its progress is computed from them "
                    "and your figure was not used. Post the update again without it."
                ),
            )
        for slot in range(1, EVIDENCE_LINK_SLOTS + 1):
            self._check_link_pair(cleaned, slot)
        return cleaned

    def _check_link_pair(self, cleaned: dict, slot: int) -> None:
        """A link needs both a title and an address, or neither."""
        title = cleaned.get(f"link_{slot}_title", "").strip()
        url = cleaned.get(f"link_{slot}_url", "")
        if url and not title:
            self.add_error(
                f"link_{slot}_title", gettext("Give this link a title, e.g. the source's name.")
            )
        if title and not url and f"link_{slot}_url" not in self.errors:
            self.add_error(
                f"link_{slot}_url", gettext("Enter the address for this link, or clear its title.")
            )

    def service_arguments(self) -> dict:
        """The cleaned input as keyword arguments for status_update_create_with_evidence."""
        data = self.cleaned_data
        links = [
            (data[f"link_{slot}_title"].strip(), data[f"link_{slot}_url"])
            for slot in range(1, EVIDENCE_LINK_SLOTS + 1)
            if data[f"link_{slot}_url"]
        ]
        return {
            "status": data["status"],
            "progress": data.get("progress"),
            "progress_reason": data.get("progress_reason", "").strip(),
            "happened_on": data["happened_on"],
            "narrative": data["narrative"],
            "visibility": data["visibility"],
            "expected_version": data["version"],
            "links": links,
            "upload": data["evidence_file"] or None,
            "upload_title": data["evidence_file_title"].strip(),
        }


class MilestoneForm(forms.Form):
    """Add or edit a milestone; commitments.milestones checks the dates against the document."""

    title = forms.CharField(max_length=300, label=_("Title"))
    due_on = forms.DateField(
        required=False,
        label=_("Due on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Optional; not before the document was adopted."),
    )
    weight = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=1,
        label=_("Weight"),
        help_text=_(
            "How much it counts towards progress: 1 for an ordinary step, 2 for twice that."
        ),
    )
    # The version the form was opened at, when editing; core.editing refuses a stale one.
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class MilestoneDoneForm(forms.Form):
    """Mark a milestone done: the day, and a link or one of the commitment's updates as proof."""

    done_on = forms.DateField(label=_("Done on"), widget=forms.DateInput(attrs={"type": "date"}))
    evidence_url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=1000,
        label=_("Evidence link"),
        help_text=_("The address of what shows it done, or choose the update below."),
    )
    proved_by = forms.ModelChoiceField(
        queryset=StatusUpdate.objects.none(),
        required=False,
        label=_("Status update that reports it done"),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, today: datetime.date, updates, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["done_on"].widget.attrs["max"] = today.isoformat()
        self.fields["proved_by"].queryset = updates
        self.fields["proved_by"].label_from_instance = _update_choice_label

    def clean_done_on(self) -> datetime.date:
        done_on = self.cleaned_data["done_on"]
        if done_on > self.today:
            raise ValidationError(
                gettext("This date is in the future; enter %(day)s or an earlier date.")
                % {"day": dateformat.format(self.today, "j E Y")}
            )
        return done_on

    def clean(self):
        cleaned = super().clean()
        has_proof = cleaned.get("evidence_url") or cleaned.get("proved_by")
        # A malformed link already has its message: "give the evidence" would contradict it.
        if not has_proof and "evidence_url" not in self.errors:
            self.add_error(
                "evidence_url",
                gettext("Give the evidence: a link, or the status update that reports it done."),
            )
        return cleaned


def _update_choice_label(update: StatusUpdate) -> str:
    return f"{dateformat.format(update.happened_on, 'j E Y')}: {update.narrative[:80]}"
