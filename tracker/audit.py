"""The audit trail: who changed a commitment, event, actor or user role, when, from what to what.

django-auditlog writes the trail: the models and fields it follows are in
settings.AUDITLOG_INCLUDE_TRACKING_MODELS, and AuditMiddleware (its middleware) records the
request's user as the actor, and the client's address as tracker.security.client_address reads
it. A change made outside a request (a management command, a Celery task) has no actor and is
shown as "system". Log-ins are recorded by django-axes: AccessLog for successes, AccessFailureLog
for failures (both in the admin). This module reads the trail for the pages.
"""

import datetime
from dataclasses import dataclass

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from core.roles import user_can_edit_record
from tracker.security import client_address

SYSTEM_ACTOR = "system"
ACTIONS = {
    LogEntry.Action.CREATE: "created",
    LogEntry.Action.UPDATE: "changed",
    LogEntry.Action.DELETE: "deleted",
}


class AuditMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, recording the address django-axes locks log-ins by.

    Its own reads the left-most X-Forwarded-For entry, which the client writes itself.
    """

    @staticmethod
    def _get_remote_addr(request):
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_address(request)


@dataclass(frozen=True)
class AuditChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class AuditEntry:
    timestamp: datetime.datetime
    actor: str
    action: str
    changes: list[AuditChange]


def user_can_see_audit_trail(user) -> bool:
    """The trail shows internal working (who set whom as liaison); the secretariat's only."""
    return user_can_edit_record(user)


def audit_entries_for(obj: models.Model, *, viewer) -> list[AuditEntry]:
    """The trail of one object, newest first; empty for anyone but the secretariat."""
    if not user_can_see_audit_trail(viewer):
        return []
    log = LogEntry.objects.get_for_object(obj).select_related("actor").order_by("-timestamp")
    return [_audit_entry(entry, type(obj)) for entry in log]


def _audit_entry(entry: LogEntry, model: type[models.Model]) -> AuditEntry:
    return AuditEntry(
        timestamp=entry.timestamp,
        actor=entry.actor.get_username() if entry.actor else SYSTEM_ACTOR,
        action=ACTIONS.get(entry.action, "accessed"),
        changes=[
            _change(model, name, values)
            for name, values in entry.changes_dict.items()
            if not _is_reverse_relation(model, name)
        ],
    )


def _is_reverse_relation(model: type[models.Model], name: str) -> bool:
    """django-auditlog also notes another model's rows pointing here on creation (a commitment's
    "updates"); those are that model's own history, not a value of this object."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return field.auto_created and not field.concrete


def _change(model: type[models.Model], name: str, values) -> AuditChange:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a field removed since: show what was recorded
        field = None
    label = str(field.verbose_name) if field is not None else name
    if isinstance(values, dict):  # many-to-many: {"operation": "add", "objects": [...]}
        objects = ", ".join(str(o) for o in values.get("objects", []))
        added = values.get("operation") == "add"
        return AuditChange(field=label, old="" if added else objects, new=objects if added else "")
    old, new = (_display(field, value) for value in values)
    return AuditChange(field=label, old=old, new=new)


def _display(field, value) -> str:
    """The stored text of a value, with a choice shown by its label and null as empty."""
    if value is None or value == "None":
        return ""
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    return str(choices.get(value, value))
