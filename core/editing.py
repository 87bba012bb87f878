"""What every edit form of the record shares: who may open it, and the version it was opened at.

Curating the record (documents, commitments, events, actors, themes) is the secretariat's work;
liaisons read. A form carries the version of the row it edits (a hidden field); the write
raises that version in one conditional UPDATE and refuses a stale one (StaleVersion), so of two
people saving the same row, the second sees the first one's change instead of overwriting it.
"""

from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from core.roles import role_gate_set, user_can_edit_record

# Why a curating page is refused, shown by templates/403.html in the reader's language.
CURATING_IS_SECRETARIAT_WORK = _(
    "Only the secretariat curates the record, so this page is not open to your account and "
    "nothing was changed. If something here should change, ask the secretariat to change it."
)


def secretariat_only(view):
    """Refuse every method, reads included, to anyone who may not edit the record (403).

    For pages that exist only to change the record (an edit form, an import preview): a liaison
    has nothing to read there, so even a GET is refused.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_can_edit_record(request.user):
            raise PermissionDenied(CURATING_IS_SECRETARIAT_WORK)
        return view(request, *args, **kwargs)

    return role_gate_set(wrapper, user_can_edit_record)


class StaleVersion(Exception):
    """The row changed after the form was opened; nothing was written."""

    def __init__(self, instance: models.Model):
        super().__init__(f"{instance} was changed by someone else in the meantime.")
        self.instance = instance


def version_claim(*, instance: models.Model, expected_version: int) -> None:
    """Raise the row's version from `expected_version` by one, or raise StaleVersion.

    Call it first inside the write's transaction: the conditional UPDATE is the lock, so of two
    saves against one version exactly one matches. On success `instance.version` is the new
    version; on a conflict `instance` is reloaded with what the other person saved.
    """
    model = type(instance)
    claimed = model.objects.filter(pk=instance.pk, version=expected_version).update(
        version=F("version") + 1
    )
    if claimed != 1:
        instance.refresh_from_db()
        raise StaleVersion(instance)
    instance.version = expected_version + 1


def changed_fields(*, form, instance: models.Model) -> list[tuple[str, str, str]]:
    """(label, what is saved now, what the form asked for) for each field of a refused form
    whose saved value differs from the form's input: the other person's change, shown beside
    the reader's own so saving again is a deliberate choice (templates/core/_conflict.html)."""
    rows = []
    for name, field in form.fields.items():
        if name == "version" or name not in form.cleaned_data:
            continue
        saved = _saved_value(instance, name)
        if saved is None:
            continue
        asked = form.cleaned_data[name]
        if _shown(saved) != _shown(asked):
            rows.append((str(field.label or name), _shown(saved), _shown(asked)))
    return rows


def _saved_value(instance: models.Model, name: str):
    try:
        field = instance._meta.get_field(name)
    except Exception:  # a form field that is not a model field (a reason, a confirmation)
        return None
    if field.many_to_many:
        return list(getattr(instance, name).all())
    if field.choices:
        return getattr(instance, f"get_{name}_display")()
    return getattr(instance, name)


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | models.QuerySet):
        return ", ".join(sorted(str(item) for item in value))
    return str(value)


class VersionedModelAdmin(admin.ModelAdmin):
    """The admin of a model with a `version`: a save there raises it too, so an app form opened
    before the superuser's repair is refused instead of overwriting it."""

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "version"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
