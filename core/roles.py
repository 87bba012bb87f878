"""Who may do what. Checked on the server for every write; templates only hide what is refused."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SECRETARIAT = "secretariat", _("Secretariat")
    LIAISON = "liaison", _("Member-state liaison")
    # A national human-rights institution, a civil-society organisation, a research body: reads
    # the public record like a liaison and submits reports on public commitments.
    CONTRIBUTOR = "contributor", _("Contributor")


# The permission (on tracker.User) of a secretariat manager: invites people, changes a role or
# a state, deactivates an account, resets another person's two-factor device.
MANAGE_ACCOUNTS = "tracker.manage_accounts"


def user_can_manage_accounts(user) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or (user.role == Role.SECRETARIAT and user.has_perm(MANAGE_ACCOUNTS))


SUPERUSER_ACCOUNT_PROTECTED = _(
    "This is a superuser's account: only a superuser may change it, deactivate it or reset its "
    "two-factor authentication. Nothing was changed."
)


def user_can_change_account(manager, person) -> bool:
    """Whether a manager may change, deactivate or reset the two-factor of `person`'s account:
    only a superuser touches a superuser's (a manager could otherwise demote the people above
    them)."""
    return user_can_manage_accounts(manager) and (manager.is_superuser or not person.is_superuser)


def user_can_edit_record(user) -> bool:
    """Only secretariat staff (and superusers) change commitments and post status updates."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.role == Role.SECRETARIAT


def user_can_see_internal(user) -> bool:
    """Internal status updates are the secretariat's working notes; liaisons never see them."""
    return user_can_edit_record(user)


# What a reader who is not the secretariat reads for a person without a full name (person_shown).
ROLE_WORDS = {
    Role.SECRETARIAT: _("the secretariat"),
    Role.LIAISON: _("a member-state liaison"),
    Role.CONTRIBUTOR: _("a contributor"),
}


def person_shown(person, *, reader) -> str:
    """A person's name as `reader` may read it: their full name; without one, their login name
    for the secretariat only. Anyone else (liaisons, contributors, the public site's visitors)
    reads a word for their role: a login name shown to the world helps guess passwords, and an
    invited person's login name is their email address."""
    if person is None:
        return ""
    if full_name := person.get_full_name():
        return full_name
    if reader is not None and user_can_see_internal(reader):
        return person.get_username()
    role = Role.SECRETARIAT if person.is_superuser else person.role
    return str(ROLE_WORDS.get(role, ROLE_WORDS[Role.SECRETARIAT]))


def user_can_own_commitments(user) -> bool:
    """A commitment's owner is secretariat staff: owner reminders (a commitment gone quiet, the
    digest's quiet list, the events of owned commitments) carry its internal state. Asked when an
    owner is set and again when each owner reminder is sent, so a demoted or deactivated owner
    gets none."""
    return user_can_edit_record(user)


def owner_candidates_q() -> Q:
    """user_can_own_commitments as a filter on users (the admin's owner choices)."""
    return Q(is_active=True) & (Q(role=Role.SECRETARIAT) | Q(is_superuser=True))


def liaison_state_id(user) -> int | None:
    """The state whose internal events a reader also sees and may follow: a liaison's own.
    None for everyone else: a contributor's organisation may lead or support commitments, but
    a contributor reads public content only."""
    if not user.is_authenticated or not user.is_active or user.role != Role.LIAISON:
        return None
    return getattr(user, "actor_id", None)


def role_gate_set(view, gate):
    """Record on a view the role check its decorator applies (`gate(user)` -> may open), so
    that the login page can tell whether a `next` address is one the person may open."""
    view.role_gate = gate
    return view


def user_may_open(view, user) -> bool:
    """False if a role check recorded on `view` or on a view it wraps refuses `user`."""
    while view is not None:
        gate = getattr(view, "role_gate", None)
        if gate is not None and not gate(user):
            return False
        view = getattr(view, "__wrapped__", None)
    return True


def reader_audience(user) -> str:
    """Which state of the record a user reads: "secretariat" (internal updates count) or
    "public" (liaisons). Cached pages are kept per audience, never per person."""
    return "secretariat" if user_can_see_internal(user) else "public"
