from django.contrib.auth.models import AbstractUser
from django.db import models

from tracker.roles import Role, user_can_edit_record


class User(AbstractUser):
    """A person with an account: secretariat staff keep the record, liaisons read it."""

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
        help_text="IANA time zone in which reminders reach this person, e.g. Europe/Geneva.",
    )

    @property
    def can_edit_record(self) -> bool:
        return user_can_edit_record(self)
