"""The audit trail: who changed a record, when, from what to what, read as sentences.

django-auditlog writes the trail: the models and fields it follows are in
settings.AUDITLOG_INCLUDE_TRACKING_MODELS, and AuditMiddleware (its middleware) records the
request's user as the actor, and the client's address as tracker.security.client_address reads
it. A change made outside a request (a management command, a Celery task) has no actor and is
shown as made by the system. Log-ins are recorded by django-axes: AccessLog for successes,
AccessFailureLog for failures (both in the admin).

This module reads the trail for the pages: each entry becomes sentences in the reader's
language ("Owner changed from A to B by C"), its moment shown on the reader's clock by the
template. What the reader never sees: ids, versions and the copies the record keeps for itself
(fields that are not editable), raw choice values, "None". A commitment's history also holds
its parts' entries (commitments.models.CommitmentPart: milestones, evidence).
"""

import datetime
import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.template.defaultfilters import capfirst
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from commitments.models import AUDIT_COMMITMENT_KEYS, AUDIT_UPDATE_KEY, Commitment, StatusUpdate
from core.local_time import format_day, reader_zone
from core.roles import user_can_edit_record
from core.templatetags.local_time import moment
from tracker.security import client_address

# Fields that say nothing to a reader: the edit counter every write raises. Primary keys and
# fields the record fills itself (editable=False: public_* copies, created_at) are left out too.
HIDDEN_FIELDS = {"version"}
# Long texts (a summary, a narrative) are quoted up to this many characters.
TEXT_LIMIT = 120

# A field's name as the reader knows it, by field name (the same in every model), or by
# "app_label.model.field" where one model means something else by it. A model added to
# AUDITLOG_INCLUDE_TRACKING_MODELS needs its fields here (tests/tracker/test_audit.py checks).
FIELD_LABELS = {
    # Commitments
    "title": gettext_lazy("Title"),
    "slug": gettext_lazy("Address name"),
    "summary": gettext_lazy("Summary"),
    "paragraphs": gettext_lazy("Paragraphs"),
    "lead_actors": gettext_lazy("Lead actors"),
    "supporting_actors": gettext_lazy("Supporting actors"),
    "kind": gettext_lazy("Kind"),
    "owner": gettext_lazy("Owner"),
    "supervisor": gettext_lazy("Supervisor"),
    "target_date": gettext_lazy("Target date"),
    "themes": gettext_lazy("Themes"),
    "status": gettext_lazy("Status"),
    "progress": gettext_lazy("Progress"),
    "last_activity_on": gettext_lazy("Last activity"),
    "reporting_cadence_months": gettext_lazy("Reporting cadence (months)"),
    "quiet_after_days": gettext_lazy("Quiet after (days)"),
    # Documents, paragraphs, actors, themes
    "short_name": gettext_lazy("Short name"),
    "symbol": gettext_lazy("Symbol"),
    "alternative_title": gettext_lazy("Alternative title"),
    "place": gettext_lazy("Place"),
    "adopted_on": gettext_lazy("Adopted on"),
    "source_url": gettext_lazy("Source"),
    "language": gettext_lazy("Language"),
    "preamble": gettext_lazy("Preamble"),
    "full_text": gettext_lazy("Full text"),
    "document": gettext_lazy("Document"),
    "number": gettext_lazy("Number"),
    "operative_verb": gettext_lazy("Operative verb"),
    "text": gettext_lazy("Text"),
    "name": gettext_lazy("Name"),
    "iso_code": gettext_lazy("ISO code"),
    # Status updates and their evidence
    "commitment": gettext_lazy("Commitment"),
    "author": gettext_lazy("Author"),
    "happened_on": gettext_lazy("Happened on"),
    "narrative": gettext_lazy("Narrative"),
    "visibility": gettext_lazy("Visibility"),
    "update": gettext_lazy("Status update"),
    "url": gettext_lazy("Web address"),
    "file": gettext_lazy("File"),
    "content_type": gettext_lazy("File type"),
    "size": gettext_lazy("Size"),
    "published_on": gettext_lazy("Published on"),
    "from_document": gettext_lazy("Document"),
    "to_document": gettext_lazy("Linked document"),
    "note": gettext_lazy("Note"),
    "created_by": gettext_lazy("Made by"),
    "from_commitment": gettext_lazy("Commitment"),
    "to_commitment": gettext_lazy("Related commitment"),
    "progress_reason": gettext_lazy("Reason for the figure"),
    "amends": gettext_lazy("Amends"),
    "amendment": gettext_lazy("Amendment"),
    "reason": gettext_lazy("Reason"),
    "reason_public": gettext_lazy("Reason shown to liaisons"),
    # Milestones
    "position": gettext_lazy("Position"),
    "due_on": gettext_lazy("Due date"),
    "weight": gettext_lazy("Weight"),
    "done_on": gettext_lazy("Done on"),
    "evidence_url": gettext_lazy("Evidence address"),
    "proved_by": gettext_lazy("Proved by"),
    # Events
    "description": gettext_lazy("Description"),
    "time_zone": gettext_lazy("Time zone"),
    "rule": gettext_lazy("Repeats"),
    "start_date": gettext_lazy("Start date"),
    "end_date": gettext_lazy("End date"),
    "start_time": gettext_lazy("Start time"),
    "interval_years": gettext_lazy("Every (years)"),
    "until": gettext_lazy("Until"),
    "anniversary_of_year": gettext_lazy("Anniversaries counted from"),
    "lead_times_days": gettext_lazy("Reminder days before"),
    "is_public": gettext_lazy("Public"),
    "commitments": gettext_lazy("Commitments"),
    "deadline_of": gettext_lazy("Deadline of"),
    # Users
    "role": gettext_lazy("Role"),
    "tracker.user.actor": gettext_lazy("Member state"),
    "actor": gettext_lazy("Actor"),
    "is_active": gettext_lazy("Active"),
    "is_staff": gettext_lazy("Admin site access"),
    "is_superuser": gettext_lazy("Superuser"),
    "user_permissions": gettext_lazy("Permissions"),
    # Reports from states and contributors, and what they become
    "source": gettext_lazy("Source"),
    "reported_by": gettext_lazy("Reported by"),
    "reviewed_by": gettext_lazy("Reviewed by"),
    "reporter": gettext_lazy("Reporting state or organisation"),
    "state": gettext_lazy("Report state"),
    "milestone_note": gettext_lazy("Milestone believed done"),
    "return_comment": gettext_lazy("Comment on return"),
    "submitted_at": gettext_lazy("Submitted at"),
    "published_update": gettext_lazy("Published as"),
    "report": gettext_lazy("Report"),
    # Following and notifications
    "user": gettext_lazy("Person"),
    "by_default": gettext_lazy("Followed by default"),
    "milestone": gettext_lazy("Milestone"),
    "overdue_since": gettext_lazy("Overdue since"),
    "created_at": gettext_lazy("Recorded at"),
    "change": gettext_lazy("Change"),
    "read_at": gettext_lazy("Read at"),
    # Invitations
    "email": gettext_lazy("Email address"),
    "invited_by": gettext_lazy("Invited by"),
    "expires_at": gettext_lazy("Link works until"),
    "accepted_at": gettext_lazy("Accepted at"),
    "replaced_at": gettext_lazy("Replaced at"),
    "tracker.invitation.user": gettext_lazy("Account"),
    "tracker.invitation.actor": gettext_lazy("Member state or organisation"),
    # API tokens (tracker.api_tokens)
    "prefix": gettext_lazy("Token start"),
    "revoked_at": gettext_lazy("Revoked at"),
    # Written by tracker.two_factor: turned on, off, or reset by a manager.
    "two_factor": gettext_lazy("Two-factor authentication"),
}

# How a commitment's history names one of its parts, by "app_label.model": added, removed,
# and the name before a change of one of its fields. Others read '<model> "<name>" added'.
PART_PHRASES = {
    "commitments.milestone": {
        "added": gettext_lazy('Milestone "%(name)s" added'),
        "removed": gettext_lazy('Milestone "%(name)s" removed'),
        "named": gettext_lazy('Milestone "%(name)s"'),
    },
    "commitments.evidencelink": {
        "added": gettext_lazy('Evidence link "%(name)s" added'),
        "in_correction": gettext_lazy('Evidence link "%(name)s" cited by the correction'),
        "removed": gettext_lazy('Evidence link "%(name)s" removed'),
        "named": gettext_lazy('Evidence link "%(name)s"'),
    },
    "commitments.evidencefile": {
        "added": gettext_lazy('Evidence file "%(name)s" added'),
        "in_correction": gettext_lazy('Evidence file "%(name)s" cited by the correction'),
        "removed": gettext_lazy('Evidence file "%(name)s" removed'),
        "named": gettext_lazy('Evidence file "%(name)s"'),
    },
}

# Changes that read better as a sentence of their own: ("app_label.model.field", "set" or
# "cleared") -> the sentence, with %(part)s (the part's name) and %(old)s / %(new)s.
CHANGE_PHRASES = {
    ("commitments.milestone.done_on", "set"): gettext_lazy("%(part)s marked done on %(new)s"),
    ("commitments.milestone.done_on", "cleared"): gettext_lazy(
        "%(part)s no longer marked done (was done on %(old)s)"
    ),
}

# Entries the app writes itself rather than a model's save, by the key of their changes: a
# sentence of their own, with %(old)s and %(new)s.
OWN_SENTENCES = {
    # commitments.services.actor_merge, on the actor kept.
    "merged": gettext_lazy("%(old)s merged into %(new)s"),
}
# The values tracker.two_factor records, in the reader's language.
TWO_FACTOR_VALUES = {
    "on": gettext_lazy("on"),
    "off": gettext_lazy("off"),
    "off (reset by a manager)": gettext_lazy("off (reset by a manager)"),
}
# A correction or withdrawal of a status update, in a commitment's history: the sentence names
# who did it before the reason, so it is written whole, by a person or by the system.
AMENDMENT_SENTENCES = {
    StatusUpdate.Amendment.CORRECTION: (
        gettext_lazy("Update of %(day)s corrected by %(actor)s: %(reason)s"),
        gettext_lazy("Update of %(day)s corrected by the system: %(reason)s"),
    ),
    StatusUpdate.Amendment.WITHDRAWAL: (
        gettext_lazy("Update of %(day)s withdrawn by %(actor)s: %(reason)s"),
        gettext_lazy("Update of %(day)s withdrawn by the system: %(reason)s"),
    ),
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


def audit_actor_set(user) -> None:
    """Record the rest of the request's changes under `user`.

    For the API (api.authentication): a token is read inside the view, after AuditMiddleware
    took request.user, anonymous then. The middleware's context (its actor and the client's
    address) is changed in place rather than a second one opened: django-auditlog's contexts
    do not nest (leaving an inner one would leave the outer one's receiver connected).
    """
    try:
        context = auditlog_value.get()
    except LookupError:  # outside a request: nothing to name
        return
    context["actor"] = user


@dataclass(frozen=True)
class AuditEntry:
    """One write: when, by whom ("" for the system) and what it did, as whole sentences."""

    timestamp: datetime.datetime
    actor: str
    sentences: list[str]


def user_can_see_audit_trail(user) -> bool:
    """The trail shows internal working (who set whom as liaison); the secretariat's only."""
    return user_can_edit_record(user)


def audit_entries_for(obj: models.Model, *, viewer) -> list[AuditEntry]:
    """The trail of one object (and of a commitment's parts), newest first, in one query;
    empty for anyone but the secretariat. Writes that changed only hidden fields are left out."""
    if not user_can_see_audit_trail(viewer):
        return []
    log = list(
        LogEntry.objects.filter(_entries_of(obj))
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")
    )
    reader = _Reader(zone=reader_zone(viewer), owner=obj, amendments=_amendments(log))
    entries = (reader.entry(entry) for entry in log)
    return [entry for entry in entries if entry.sentences]


def _entries_of(obj: models.Model) -> Q:
    content_type = ContentType.objects.get_for_model(obj)
    own = Q(content_type=content_type, object_pk=str(obj.pk))
    if isinstance(obj, Commitment):
        for key in AUDIT_COMMITMENT_KEYS:
            own |= Q(**{f"additional_data__{key}": obj.pk})
        # Its corrections and withdrawals (plain updates read as the change of status).
        amendments = (
            StatusUpdate.objects.filter(commitment=obj, amends__isnull=False)
            .annotate(key=Cast("pk", CharField()))
            .values("key")
        )
        own |= Q(
            content_type=ContentType.objects.get_for_model(StatusUpdate),
            object_pk__in=amendments,
        )
    return own


def _amendments(log: list[LogEntry]) -> dict[int, str]:
    """The kind of each correction or withdrawal created in `log`, by the update's pk."""
    found = {}
    for entry in log:
        if entry.action == LogEntry.Action.CREATE and _is_status_update(entry):
            kind = (entry.changes_dict.get("amendment") or ["", ""])[-1]
            if kind in AMENDMENT_SENTENCES:
                found[int(entry.object_pk)] = kind
    return found


def _is_status_update(entry: LogEntry) -> bool:
    return entry.content_type.model_class() is StatusUpdate


@dataclass(frozen=True)
class _Reader:
    zone: datetime.tzinfo
    owner: models.Model
    # The corrections and withdrawals among the entries read (_amendments).
    amendments: dict[int, str]

    def entry(self, entry: LogEntry) -> AuditEntry:
        actor = entry.actor.get_username() if entry.actor else ""
        if _is_status_update(entry) and not self._is_own(entry, StatusUpdate):
            sentences = self.amendment(entry, actor)
        else:
            sentences = [_by(what, actor) for what in self.sentences(entry)]
        return AuditEntry(timestamp=entry.timestamp, actor=actor, sentences=sentences)

    def amendment(self, entry: LogEntry, actor: str) -> list[str]:
        """ "Update of 3 March 2026 corrected by C: the reason" (the secretariat's trail)."""
        kind = self.amendments.get(int(entry.object_pk))
        if entry.action != LogEntry.Action.CREATE or kind is None:
            return []
        changes = entry.changes_dict
        by_person, by_system = AMENDMENT_SENTENCES[kind]
        happened_on = _value(
            _field(StatusUpdate, "happened_on"), changes["happened_on"][-1], self.zone
        )
        reason = _value(
            _field(StatusUpdate, "reason"), changes.get("reason", ["", ""])[-1], self.zone
        )
        words = {"day": happened_on, "actor": actor, "reason": reason or _("no reason given")}
        return [str(by_person if actor else by_system) % words]

    def sentences(self, entry: LogEntry) -> list[str]:
        model = entry.content_type.model_class()
        if model is None:  # a model removed from the code since: nothing left to name it by
            return []
        part = None if self._is_own(entry, model) else _part_phrases(model, entry.object_repr)
        if entry.action == LogEntry.Action.CREATE:
            if part and self._cited_by_correction(entry):
                return [part.get("in_correction", part["added"])]
            return [part["added"] if part else _("Created")]
        if entry.action == LogEntry.Action.DELETE:
            return [part["removed"] if part else _("Deleted")]
        changes = (
            self.change(model, name, values, part) for name, values in entry.changes_dict.items()
        )
        return [sentence for sentence in changes if sentence]

    def _cited_by_correction(self, entry: LogEntry) -> bool:
        update_id = (entry.additional_data or {}).get(AUDIT_UPDATE_KEY)
        return self.amendments.get(update_id) == StatusUpdate.Amendment.CORRECTION

    def _is_own(self, entry: LogEntry, model) -> bool:
        return model is type(self.owner) and entry.object_pk == str(self.owner.pk)

    def change(self, model, name: str, values, part: dict | None) -> str:
        field = _field(model, name)
        if field is not None and _hidden(field):
            return ""
        if field is None and name in OWN_SENTENCES and len(values) == 2:
            return str(OWN_SENTENCES[name]) % {"old": values[0], "new": values[1]}
        if name == "two_factor" and not isinstance(values, dict):
            values = [str(TWO_FACTOR_VALUES.get(value, value)) for value in values]
        label = _label(model, field, name)
        if isinstance(values, dict):  # many-to-many: {"operation": "add", "objects": [...]}
            sentence = _m2m_sentence(label, values)
        else:
            old, new = (_value(field, value, self.zone) for value in values)
            if old == new:
                return ""
            phrase = part and _change_phrase(model, name, old, new)
            if phrase:
                return str(phrase) % {"part": part["named"], "old": old, "new": new}
            sentence = _change_sentence(label, old, new)
        if part and sentence:
            return _("%(part)s: %(change)s") % {"part": part["named"], "change": _lower(sentence)}
        return sentence


def _by(what: str, actor: str) -> str:
    if not actor:
        return _("%(what)s by the system") % {"what": what}
    return _("%(what)s by %(actor)s") % {"what": what, "actor": actor}


def _part_phrases(model, name: str) -> dict[str, str]:
    phrases = PART_PHRASES.get(model._meta.label_lower)
    if phrases is None:  # a part no one has named yet: by its model's own name
        kind = capfirst(model._meta.verbose_name)
        phrases = {
            "added": _('%(kind)s "%(name)s" added') % {"kind": kind, "name": "%(name)s"},
            "removed": _('%(kind)s "%(name)s" removed') % {"kind": kind, "name": "%(name)s"},
            "named": f'{kind} "%(name)s"',
        }
    return {key: str(phrase) % {"name": name} for key, phrase in phrases.items()}


def _field(model, name: str):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:  # a field removed since: its recorded values still read
        return None


def _hidden(field) -> bool:
    reverse = field.auto_created and not field.concrete  # another model's rows pointing here
    return reverse or field.primary_key or not field.editable or field.name in HIDDEN_FIELDS


def _label(model, field, name: str) -> str:
    if model is not None:
        specific = FIELD_LABELS.get(f"{model._meta.label_lower}.{name}")
        if specific:
            return str(specific)
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    return capfirst(field.verbose_name if field is not None else name.replace("_", " "))


def _m2m_sentence(label: str, values: dict) -> str:
    objects = ", ".join(str(o) for o in values.get("objects", []))
    if not objects:
        return ""
    if values.get("operation") == "add":
        return _("%(field)s: %(objects)s added") % {"field": label, "objects": objects}
    return _("%(field)s: %(objects)s removed") % {"field": label, "objects": objects}


def _change_phrase(model, name: str, old: str, new: str):
    how = "cleared" if not new else "set" if not old else "changed"
    return CHANGE_PHRASES.get((f"{model._meta.label_lower}.{name}", how))


def _change_sentence(label: str, old: str, new: str) -> str:
    words = {"field": label, "old": old, "new": new}
    if not new:
        return _("%(field)s cleared (was %(old)s)") % words
    if not old:
        return _("%(field)s set to %(new)s") % words
    return _("%(field)s changed from %(old)s to %(new)s") % words


def _lower(sentence: str) -> str:
    """The sentence after a part's name: "due date changed", but "URL" stays as it is."""
    if len(sentence) > 1 and sentence[1].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def _value(field, value, zone: datetime.tzinfo) -> str:
    """A recorded value as the reader reads it; "" for none. django-auditlog records text:
    a foreign key's name, a date as 2026-03-03, a moment as naive UTC with microseconds."""
    if value is None or value in ("None", ""):
        return ""
    text = str(value)
    if field is None:
        return text
    try:
        return _typed_value(field, text, zone)
    except (ValueError, TypeError):  # recorded before the field changed type: as it was
        return text


def _typed_value(field, text: str, zone: datetime.tzinfo) -> str:
    if field.choices:
        return str(dict(field.flatchoices).get(text, text))
    if isinstance(field, models.BooleanField):
        return _("yes") if text == "True" else _("no")
    if isinstance(field, models.DateTimeField):
        instant = datetime.datetime.fromisoformat(text)
        return moment(instant.replace(tzinfo=instant.tzinfo or datetime.UTC), zone)
    if isinstance(field, models.DateField):
        return format_day(datetime.date.fromisoformat(text))
    if isinstance(field, models.TimeField):
        return datetime.time.fromisoformat(text).strftime("%H:%M")
    if isinstance(field, models.FileField):
        return PurePosixPath(text).name  # not the folder, which names the commitment's id
    if isinstance(field, models.JSONField):
        loaded = json.loads(text)
        return ", ".join(map(str, loaded)) if isinstance(loaded, list) else text
    if isinstance(field, models.TextField):
        return Truncator(text).chars(TEXT_LIMIT)
    return text
