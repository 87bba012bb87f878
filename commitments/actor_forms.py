"""Forms for actors and themes: they check input only; commitments.services writes."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Actor, Theme


class VersionedForm(forms.ModelForm):
    """A form for one row of the record, carrying the version it was opened at (core.editing)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("version", self.instance.version)

    def clean_name(self) -> str:
        """One name, one row: a clearer message than the database's refusal."""
        name = self.cleaned_data["name"].strip()
        model = type(self.instance)
        taken = model.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError(
                gettext("“%(name)s” is taken: choose another name, or edit that one.")
                % {"name": name}
            )
        return name

    def validate_unique(self) -> None:
        # clean_name says it in words; the slug is made by the service.
        return


class ActorForm(VersionedForm):
    class Meta:
        model = Actor
        fields = ["name", "kind", "iso_code"]
        labels = {"name": _("Name"), "kind": _("Kind"), "iso_code": _("ISO code")}
        help_texts = {"iso_code": _("Two letters (ISO 3166-1), for member states; else empty.")}

    def clean_iso_code(self) -> str:
        code = self.cleaned_data["iso_code"].strip().upper()
        if code and (len(code) != 2 or not code.isalpha()):
            raise ValidationError(gettext("Enter two letters, e.g. TM, or leave it empty."))
        taken = Actor.objects.filter(iso_code=code).exclude(pk=self.instance.pk)
        if code and taken.exists():
            raise ValidationError(
                gettext("%(code)s is the code of %(name)s already.")
                % {"code": code, "name": taken.first().name}
            )
        return code


class ThemeForm(VersionedForm):
    class Meta:
        model = Theme
        fields = ["name"]
        labels = {"name": _("Name")}


class ActorMergeForm(forms.Form):
    """Merge this actor with another one; the person chooses which of the two stays."""

    other = forms.ModelChoiceField(
        label=_("The other actor"),
        queryset=Actor.objects.order_by("name"),
        error_messages={
            "invalid_choice": _("That actor no longer exists: choose one from the list.")
        },
    )
    stays = forms.ChoiceField(
        label=_("Which one stays"),
        choices=[("this", _("This actor")), ("other", _("The other actor"))],
        widget=forms.RadioSelect,
        initial="this",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, actor: Actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.initial.setdefault("version", actor.version)

    def clean_other(self) -> Actor:
        other = self.cleaned_data["other"]
        if other.pk == self.actor.pk:
            raise ValidationError(
                gettext("An actor cannot be merged with itself: choose another actor.")
            )
        return other

    def pair(self) -> tuple[Actor, Actor]:
        """(the one that stays, the one removed)."""
        other = self.cleaned_data["other"]
        if self.cleaned_data["stays"] == "this":
            return self.actor, other
        return other, self.actor
