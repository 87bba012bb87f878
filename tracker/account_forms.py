"""Forms of the account pages: a manager's invitation and account change, the invited person's
password, and each person's profile. The rules themselves are in tracker.accounts."""

from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from commitments.models import Actor
from core.roles import Role

from .models import User
from .models.events import validate_time_zone
from .models.users import validate_no_control_characters

# The time zones a person can pick from, offered as the <datalist> of the profile's field.
TIME_ZONES = sorted(available_timezones())


def _actor_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Actor.objects.filter(
            kind__in=[Actor.Kind.MEMBER_STATE, Actor.Kind.ORGANISATION]
        ).order_by("kind", "name"),
        required=False,
        label=_("Member state or organisation"),
        help_text=_("A liaison's member state; a contributor's organisation; none for staff."),
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), validators=[validate_no_control_characters])
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
    actor = _actor_field()
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        label=_("Language of the invitation"),
        initial=settings.LANGUAGE_CODE,
    )


class AccountForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label=_("Role"))
    actor = _actor_field()
    is_active = forms.BooleanField(
        required=False,
        label=_("Active"),
        help_text=_("A deactivated account cannot log in; nothing of it is deleted."),
    )
    manager = forms.BooleanField(
        required=False,
        label=_("Manages accounts"),
        help_text=_("Invites people, changes roles and states, deactivates accounts."),
    )


class PasswordChoiceForm(forms.Form):
    """The invited person's name and password, checked by Django's password validators."""

    first_name = forms.CharField(max_length=150, label=_("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=_("Last name"))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ: type the same one twice."))
        elif first:
            # The account does not exist yet: its would-be attributes, for the similarity check.
            user = User(
                username=self.email,
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(first, user)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "time_zone", "language"]
        # A searchable list: templates/tracker/profile.html holds the <datalist> of TIME_ZONES.
        widgets = {
            "time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})
        }
        labels = {"time_zone": _("Time zone"), "language": _("Language")}
        help_texts = {
            "time_zone": _("Reminders reach you at 09:00 in this zone. Type to search."),
            "language": _("The pages' and emails' language; blank follows your browser."),
        }

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        try:
            validate_time_zone(name)
        except ValidationError as error:
            raise ValidationError(
                _("%(name)s is not a time zone: pick one from the list, such as Asia/Ashgabat."),
                params={"name": name},
            ) from error
        return name


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=_("New email address"), validators=[validate_no_control_characters]
    )
    password = forms.CharField(
        label=_("Your current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _("That is not your current password. Your address was not changed.")
            )
        return password


class TrackerPasswordResetForm(PasswordResetForm):
    """Django's reset form; the email goes out in the account's own language."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        language = context["user"].language or settings.LANGUAGE_CODE
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)
