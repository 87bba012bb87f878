"""The tracker's own models: people, and the dates that matter (events and their reminders)."""

from .api_tokens import ApiToken
from .events import Event
from .invitations import Invitation
from .notifications import Change, Follow, Notification
from .reminders import Reminder, ReminderPreference, ReminderSubscription, WorkerHeartbeat
from .users import User

__all__ = [
    "ApiToken",
    "Change",
    "Follow",
    "Notification",
    "Event",
    "Invitation",
    "Reminder",
    "ReminderPreference",
    "ReminderSubscription",
    "User",
    "WorkerHeartbeat",
]
