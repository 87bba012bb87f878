import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.roles import Role, user_can_edit_record

from .events import validate_time_zone


def calendar_token_new() -> str:
    """A fresh secret for a personal calendar feed's URL (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def email_without_control_characters(value: str) -> str:
    """The address with its control characters (below 32, and 127) taken out: what migration
    0019 made of the addresses stored before they were refused, and what a restore makes of
    those in an older archive (tracker.backup)."""
    return "".join(c for c in value if 32 <= ord(c) != 127)


def validate_no_control_characters(value: str) -> None:
    """Django's EmailField takes control characters in a quoted name part (such as
    "a<tab>b"@example.org, as RFC 5321 allows); Django's email writer then splits the To header
    at them, so an invitation, confirmation or reminder mail would be malformed or fail to
    send. On the model's field, so every form made from it refuses them (the admin's too)."""
    if email_without_control_characters(value) != value:
        raise ValidationError(
            _(
                "An email address cannot contain tabs, line breaks or other control characters: "
                "type it again."
            ),
            code="control_characters",
        )


class User(AbstractUser):
    """A person with an account: secretariat staff keep the record, liaisons and contributors
    read its public part."""

    email = models.EmailField(
        _("email address"), blank=True, validators=[validate_no_control_characters]
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.LIAISON)
    # The member state a liaison follows; their landing page is this actor's page.
    actor = models.ForeignKey(
        "commitments.Actor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="liaisons",
        help_text="For a liaison: the member state they follow.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="Asia/Ashgabat",
        validators=[validate_time_zone],
        help_text="IANA time zone in which reminders reach this person, e.g. Europe/Zurich.",
    )
    # Blank follows the browser's preference; set by the language switch or in the admin.
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text="The interface's and reminders' language; blank follows the browser.",
    )
    # The secret in the personal feed's URL (/calendar/<token>.ics): calendar apps fetch it
    # without logging in, so knowing it is the access check. Resetting it retires the old URL.
    calendar_token = models.CharField(
        max_length=64, unique=True, default=calendar_token_new, editable=False
    )
    # Whether the person has a confirmed authenticator app (tracker.two_factor keeps it in step
    # with django-otp's devices): read with the user on every request, so the check that a
    # session entered its code costs no query for the many who have none.
    two_factor_enabled = models.BooleanField(default=False, editable=False)
    # How many of their notifications are unread (tracker.notifications keeps it in step): read
    # with the user on every request, so the header's count costs no query.
    unread_notifications = models.PositiveIntegerField(default=0, editable=False)
    # When a confirmed change last replaced the address (tracker.accounts): signed, with the
    # address and password, into each confirmation link, so a link works once.
    email_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractUser.Meta):
        permissions = [
            ("manage_accounts", "Can invite people, change roles and states, deactivate accounts"),
        ]

    @property
    def can_edit_record(self) -> bool:
        return user_can_edit_record(self)
