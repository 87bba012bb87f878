"""The record's forms (a status update, a commitment, its retirement and relations): they
check input only; commitments.services does the writing."""

import datetime
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.ids import RowIdsField
from core.local_time import format_day
from core.roles import owner_candidates_q, user_can_own_commitments

from .models import (
    DEFAULT_REPORTING_CADENCE_MONTHS,
    DOCUMENT_TEXTS,
    Actor,
    Commitment,
    CommitmentRelation,
    Paragraph,
    StatusUpdate,
    owner_refused_message,
)
from .services import evidence_file_check
from .statuses import Status

EVIDENCE_LINK_SLOTS = 3


class VersionField(forms.IntegerField):
    """The version of the row a form was opened at (core.editing), hidden. Missing or not a
    number, the form came from an older page or was cut short: it says to reload the page."""

    def __init__(self, **kwargs):
        out_of_date = _(
            "This form is out of date or incomplete, so nothing was saved: reload the page and "
            "make your change again."
        )
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs["error_messages"] = dict.fromkeys(("required", "invalid", "min_value"), out_of_date)
        super().__init__(**kwargs)


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
    version = VersionField()

    def __init__(
        self,
        *args,
        today: datetime.date,
        has_milestones: bool = False,
        adopted_on: datetime.date | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.today = today
        # An update reports on what the document asked for: not on a day before it was adopted
        # (milestones.commitment_adopted_on; None: the document's adoption is not recorded).
        self.adopted_on = adopted_on
        # Milestones compute the figure (commitments.progress): nothing to type, nor to justify.
        self.has_milestones = has_milestones
        if has_milestones:
            del self.fields["progress"], self.fields["progress_reason"]
        self.fields["happened_on"].initial = today
        self.fields["happened_on"].widget.attrs["max"] = today.isoformat()
        if adopted_on is not None:
            self.fields["happened_on"].widget.attrs["min"] = adopted_on.isoformat()
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
        if self.adopted_on is not None and happened_on < self.adopted_on:
            raise ValidationError(
                gettext(
                    "This date is before %(day)s, when the document was adopted: enter that day "
                    "or a later one."
                )
                % {"day": format_day(self.adopted_on)}
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
        return self._said() | {
            "happened_on": data["happened_on"],
            "visibility": data["visibility"],
        }

    def _said(self) -> dict:
        """What an update says and cites, and the version it was written against."""
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
            "narrative": data["narrative"],
            "expected_version": data["version"],
            "links": links,
            "upload": data["evidence_file"] or None,
            "upload_title": data["evidence_file_title"].strip(),
        }


class AmendmentReasonMixin(forms.Form):
    """Why an update is corrected or withdrawn, and whether liaisons may read why."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the update no longer holds as posted; kept with it in the history."),
    )
    reason_public = forms.BooleanField(
        required=False,
        label=_("Show the reason to liaisons"),
        help_text=_(
            "Unticked, liaisons read only that the secretariat corrected or withdrew a public "
            "update, and when; the reason stays internal."
        ),
    )

    def reason_arguments(self) -> dict:
        return {
            "reason": self.cleaned_data["reason"].strip(),
            "reason_public": self.cleaned_data["reason_public"],
            "expected_version": self.cleaned_data["version"],
        }


class StatusUpdateCorrectionForm(AmendmentReasonMixin, StatusUpdateForm):
    """A correction: the update's status, progress, narrative and evidence as they should have
    been; its day and visibility are the original's."""

    keep_files = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Keep the original's evidence files"),
        help_text=_("Untick to leave them out of the correction, e.g. a wrong file."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["happened_on"], self.fields["visibility"]

    @classmethod
    def initial_for(cls, update: StatusUpdate, *, version: int) -> dict:
        """The form opened on the update as posted, to change what was wrong."""
        initial = {
            "status": update.status,
            "progress": update.progress,
            "progress_reason": update.progress_reason,
            "narrative": update.narrative,
            "version": version,
        }
        for slot, link in enumerate(update.links.all()[:EVIDENCE_LINK_SLOTS], start=1):
            initial |= {f"link_{slot}_title": link.title, f"link_{slot}_url": link.url}
        return initial

    def service_arguments(self) -> dict:
        keep_files = {"keep_files": self.cleaned_data["keep_files"]}
        return self._said() | self.reason_arguments() | keep_files


class StatusUpdateWithdrawalForm(AmendmentReasonMixin):
    version = VersionField()

    def service_arguments(self) -> dict:
        return self.reason_arguments()


# --- Curating commitments ---------------------------------------------------------------------


class OwnerField(forms.ModelChoiceField):
    """Offers active secretariat staff only; anyone else posted anyway is refused with
    owner_refused_message rather than as an unknown choice, so the form says why."""

    role = "owner"  # or "supervisor": the refusal names the role refused

    def label_from_instance(self, user) -> str:
        return user.get_full_name() or user.get_username()

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            user = get_user_model()._default_manager.get(pk=value)
        except (ValueError, TypeError, get_user_model().DoesNotExist):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None
        if not (user.is_active and user_can_own_commitments(user)):
            raise ValidationError(owner_refused_message(user, role=self.role), code="owner_refused")
        return user

    def validate(self, value):
        forms.Field.validate(self, value)


class ActorsField(RowIdsField):
    def label_from_instance(self, actor: Actor) -> str:
        return actor.name


class CommitmentForm(forms.ModelForm):
    """The commitment's own fields (services.EDITABLE_FIELDS and EDITABLE_LINKS) and the
    version it was opened at; a field added later goes in Meta.fields and the services' list."""

    version = VersionField(required=False)

    class Meta:
        model = Commitment
        fields = [
            "title",
            "summary",
            "kind",
            "paragraphs",
            "lead_actors",
            "supporting_actors",
            "owner",
            "supervisor",
            "themes",
            "target_date",
            "reporting_cadence_months",
        ]
        field_classes = {
            "owner": OwnerField,
            "supervisor": OwnerField,
            "lead_actors": ActorsField,
            "supporting_actors": ActorsField,
            # Junk ids (a number past the integer range) are a form error, not a 500.
            "paragraphs": RowIdsField,
            "themes": RowIdsField,
        }
        labels = {
            "title": _("Title"),
            "summary": _("Summary"),
            "kind": _("Kind"),
            "paragraphs": _("Paragraphs it comes from"),
            "lead_actors": _("Lead actors"),
            "supporting_actors": _("Supporting actors"),
            "owner": _("Owner in the secretariat"),
            "supervisor": _("Supervisor in the secretariat"),
            "themes": _("Themes"),
            "target_date": _("Target date"),
            "reporting_cadence_months": _("Reporting cadence, in months"),
        }
        # Ticks, not a multiple select: a plain click there drops every other choice, such as
        # the paragraphs "Track as a commitment" filled in. The lists scroll in their own box.
        widgets = {
            "paragraphs": forms.CheckboxSelectMultiple(attrs={"class": "grouped-choices"}),
            "lead_actors": forms.CheckboxSelectMultiple,
            "supporting_actors": forms.CheckboxSelectMultiple,
            "themes": forms.CheckboxSelectMultiple,
            "summary": forms.Textarea(attrs={"rows": 4}),
            "target_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An edit carries the version it was opened at; a new commitment has none yet.
        self.fields["version"].required = self.instance.pk is not None
        staff = get_user_model().objects.filter(owner_candidates_q()).order_by("username")
        for name in ("owner", "supervisor"):
            self.fields[name].queryset = staff
            self.fields[name].role = name
        self.fields["owner"].help_text = _("Active secretariat staff only.")
        self.fields["supervisor"].help_text = _(
            "Who is told when it has been overdue for too long; secretariat staff only."
        )
        self.fields["paragraphs"].help_text = _(
            "Grouped by document; tick each paragraph it comes from."
        )
        self._group_paragraphs()
        self._describe_cadence()

    def _group_paragraphs(self) -> None:
        """The paragraphs of every document, under the document's title (one query)."""
        field = self.fields["paragraphs"]
        field.queryset = (
            Paragraph.objects.select_related("document")
            .defer(*DOCUMENT_TEXTS)
            .order_by("document__short_name", "number")
        )
        groups: dict[str, list] = {}
        for paragraph in field.queryset:
            label = f"¶{paragraph.number} {paragraph.text[:80]}"
            groups.setdefault(paragraph.document.title, []).append((paragraph.pk, label))
        field.choices = list(groups.items())

    def _describe_cadence(self) -> None:
        defaults = ", ".join(
            f"{label}: {DEFAULT_REPORTING_CADENCE_MONTHS[kind]}"
            for kind, label in Commitment.Kind.choices
        )
        field = self.fields["reporting_cadence_months"]
        # One rule, one message, whichever bound is crossed (the model's column alone would
        # say "≥ 0" for -3 but "≥ 1" for 0).
        out_of_range = _("Enter a whole number of months from 1 to 120, or leave it empty.")
        field.min_value, field.max_value = 1, 120
        field.validators = [MinValueValidator(1), MaxValueValidator(120)]
        field.widget.attrs.update(min=1, max=120)
        field.error_messages.update(
            dict.fromkeys(("min_value", "max_value", "invalid"), out_of_range)
        )
        field.help_text = _(
            "Expect an update every this many months, from 1 to 120. Empty: its kind's "
            "default (%(defaults)s)."
        ) % {"defaults": defaults}
        if self.instance.pk and self.instance.reporting_cadence_months is None:
            field.widget.attrs["placeholder"] = _("Default: %(months)s") % {
                "months": self.instance.reporting_cadence
            }

    def service_values(self) -> dict:
        """The cleaned input as services.commitment_create / commitment_update take it."""
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class RetireForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is retired"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        help_text=_("Shown on its page, e.g. “Merged into the commitment on the regional centre”."),
    )
    version = VersionField()


class CommitmentIdField(forms.CharField):
    """Another commitment, named by its ID (the last part of its address, the export's ID
    column) or by its whole address as copied from the browser. A text box, not a list: a list
    of every commitment (20,000 at the benchmark's scale) made each of the secretariat's
    commitment pages 1.3 MB, two seconds of rendering on every visit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)

    def clean(self, value) -> Commitment:
        text = super().clean(value)
        commitment = Commitment.objects.filter(slug=_commitment_slug(text)).first()
        if commitment is None:
            raise ValidationError(
                gettext(
                    "No commitment has the ID or address “%(text)s”. Copy the address of the "
                    "other commitment's page, or its ID: the last part of that address."
                )
                % {"text": text}
            )
        return commitment


def _commitment_slug(text: str) -> str:
    """The slug in a commitment page's address (any host, query or fragment), or the text as
    it is when it is not such an address."""
    if "/" not in text:
        return text
    try:
        match = resolve(urlsplit(text).path)
    except Resolver404:
        return ""
    return (
        match.kwargs.get("slug", "") if match.view_name == "commitments:commitment_detail" else ""
    )


class RelationForm(forms.Form):
    kind = forms.ChoiceField(label=_("This commitment"), choices=CommitmentRelation.Kind.choices)
    to_commitment = CommitmentIdField(
        label=_("The other commitment's ID or address"),
        help_text=_("For example un-ocha-office-for-central-asia, or its page's whole address."),
    )

    def __init__(self, *args, commitment: Commitment, **kwargs):
        super().__init__(*args, **kwargs)
        self.commitment = commitment

    def clean_to_commitment(self) -> Commitment:
        other = self.cleaned_data["to_commitment"]
        if other.pk == self.commitment.pk:
            raise ValidationError(gettext("A commitment cannot relate to itself."))
        return other


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
    version = VersionField(required=False)


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
    version = VersionField()

    def __init__(self, *args, today: datetime.date, commitment, updates, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["done_on"].widget.attrs["max"] = today.isoformat()
        field = self.fields["proved_by"]
        # Any update of the commitment is looked up, so an internal or withdrawn one posted is
        # refused with the reason (commitments.milestones); only `updates` are offered.
        field.queryset = StatusUpdate.objects.filter(commitment=commitment)
        field.widget.choices = [("", field.empty_label)] + [
            (update.pk, _update_choice_label(update)) for update in updates
        ]

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
