"""Accounts without the admin: invitations, a manager's changes to an account, and a person's
own profile (name, time zone, language, a confirmed change of email address).

Every write here is a service: keyword-only, one transaction. An email goes out only after
its transaction commits (transaction.on_commit), so a rolled-back invitation sends nothing and
a sent link always finds its row. What a manager changes on a user (role, state, active) and
every invitation are in the audit trail (settings.AUDITLOG_INCLUDE_TRACKING_MODELS).
"""

import datetime
import secrets

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from commitments.models import Actor
from core import caching
from core.roles import (
    MANAGE_ACCOUNTS,
    SUPERUSER_ACCOUNT_PROTECTED,
    Role,
    user_can_change_account,
    user_can_own_commitments,
)
from tracker.notifications import follow_defaults_set

from .models import Invitation, User
from .models.invitations import invitation_token_hash

# The actor each role names, if any: a liaison's member state, a contributor's organisation.
ROLE_ACTOR_KIND = {
    Role.LIAISON: Actor.Kind.MEMBER_STATE,
    Role.CONTRIBUTOR: Actor.Kind.ORGANISATION,
}
EMAIL_CHANGE_SALT = "tracker.accounts.email-change"


class AccountRefused(Exception):
    """A change the rules do not allow; the message says why and what to do. Nothing written."""


def email_normalized(email: str) -> str:
    return email.strip().lower()


def site_link(path: str) -> str:
    return settings.TRACKER_SITE_URL.rstrip("/") + path


def _send_after_commit(*, to: str, language: str, template: str, context: dict) -> None:
    """Send one email in `language` once the current transaction has committed."""

    def send() -> None:
        with translation.override(language or settings.LANGUAGE_CODE):
            subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
            body = render_to_string(f"emails/{template}.txt", context)
        send_mail(subject, body, None, [to])

    transaction.on_commit(send)


# --- Invitations ---------------------------------------------------------------------------


def role_actor_check(*, role: str, actor: Actor | None) -> None:
    """A liaison names a member state and a contributor an organisation; secretariat no one."""
    kind = ROLE_ACTOR_KIND.get(role)
    if kind is None and actor is not None:
        raise AccountRefused(_("Secretariat staff are not tied to a state or organisation."))
    if kind == Actor.Kind.MEMBER_STATE and (actor is None or actor.kind != kind):
        raise AccountRefused(_("Choose the member state this liaison follows."))
    if kind == Actor.Kind.ORGANISATION and (actor is None or actor.kind != kind):
        raise AccountRefused(_("Choose the organisation this contributor reports for."))


def invitation_create(
    *, email: str, role: str, actor: Actor | None, language: str, invited_by: User
) -> Invitation:
    """Invite a person; an earlier open invitation of the same address is replaced (its link
    then says so). Refused for an address that already has an account."""
    email = email_normalized(email)
    existing = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).first()
    if existing is not None and existing.is_active:
        raise AccountRefused(_("%(email)s already has an account.") % {"email": email})
    if existing is not None:
        raise AccountRefused(
            _(
                "%(email)s has a deactivated account: reactivate it on its page instead of "
                "inviting again."
            )
            % {"email": email}
        )
    role_actor_check(role=role, actor=actor)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(
            email=email, accepted_at__isnull=True, replaced_at__isnull=True
        ).update(replaced_at=now)
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            actor=actor,
            language=language,
            token_hash=invitation_token_hash(token),
            invited_by=invited_by,
            expires_at=now + datetime.timedelta(days=settings.TRACKER_INVITATION_DAYS),
        )
        link = site_link(reverse("invitation_accept", kwargs={"token": token}))
        _send_after_commit(
            to=email,
            language=language,
            template="invitation",
            context={"invitation": invitation, "link": link, "inviter": invited_by},
        )
    return invitation


class InvitationUnusable(Exception):
    """The link cannot be used: `reason` is "unknown", "used", "replaced", "expired" or
    "taken" (another account has the address now)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def invitation_for_token(*, token: str) -> Invitation:
    """The open invitation this link's token names, or InvitationUnusable saying why not."""
    invitation = Invitation.objects.filter(token_hash=invitation_token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusable("unknown")
    if invitation.accepted_at is not None:
        raise InvitationUnusable("used")
    if invitation.replaced_at is not None:
        raise InvitationUnusable("replaced")
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable("expired")
    return invitation


def invitation_accept(*, token: str, first_name: str, last_name: str, password: str) -> User:
    """Make the invited person's account, with the password they chose (already validated).

    The conditional UPDATE is the lock: of two submissions of one link, one makes an account."""
    invitation = invitation_for_token(token=token)
    now = timezone.now()
    with transaction.atomic():
        taken = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            replaced_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now)
        if taken != 1:
            raise InvitationUnusable("used")
        if User.objects.filter(username__iexact=invitation.email).exists():
            raise InvitationUnusable("used")
        # Another account took the address since the invitation (an email change).
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationUnusable("taken")
        user = User(
            username=invitation.email,
            email=invitation.email,
            first_name=first_name,
            last_name=last_name,
            role=invitation.role,
            actor=invitation.actor,
            language=invitation.language,
        )
        user.set_password(password)
        user.save()
        invitation.accepted_at, invitation.user = now, user
        invitation.save(update_fields=["accepted_at", "user"])
        follow_defaults_set(user=user)
    return user


# --- A manager's changes to an account -----------------------------------------------------


def account_update(
    *,
    user: User,
    role: str,
    actor: Actor | None,
    is_active: bool,
    manager_permission: bool,
    manager: User,
) -> list[str]:
    """Change a person's role, state or organisation, their right to manage accounts, or
    (de)activate them; never delete. Returns the names of what changed.

    A manager may not lock themselves out: deactivate their own account, change their own role
    or take away their own right to manage accounts (another manager does that). Only a
    superuser changes a superuser's account (core.roles.user_can_change_account)."""
    if not user_can_change_account(manager, user):
        raise AccountRefused(SUPERUSER_ACCOUNT_PROTECTED)
    role_actor_check(role=role, actor=actor)
    had_permission = user_is_manager(user)
    if user.pk == manager.pk:
        _own_account_check(
            user=user, role=role, is_active=is_active, keeps_permission=manager_permission
        )
    changed = [
        name
        for name, value in (("role", role), ("actor", actor), ("is_active", is_active))
        if getattr(user, name) != value
    ]
    with transaction.atomic():
        if changed:
            user.role, user.actor, user.is_active = role, actor, is_active
            user.save(update_fields=changed)
            # What a reader may see depends on their role: cached pages are kept per audience.
            caching.invalidate(caching.DASHBOARD, caching.RECORD, caching.CATALOGUE)
        if had_permission != manager_permission:
            permission = _manager_permission()
            if manager_permission:
                user.user_permissions.add(permission)
            else:
                user.user_permissions.remove(permission)
            changed.append("manager")
    return changed


def _own_account_check(*, user: User, role: str, is_active: bool, keeps_permission: bool):
    if not is_active:
        raise AccountRefused(
            _("You cannot deactivate your own account: ask another manager to do it.")
        )
    if role != user.role or (not keeps_permission and not user.is_superuser):
        raise AccountRefused(
            _(
                "You cannot change your own role or take away your own right to manage "
                "accounts: ask another manager to do it."
            )
        )


def _manager_permission() -> Permission:
    app_label, codename = MANAGE_ACCOUNTS.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def user_is_manager(user: User) -> bool:
    """The permission itself (core.roles.user_can_manage_accounts also asks for an active
    secretariat member or a superuser)."""
    app_label, codename = MANAGE_ACCOUNTS.split(".")
    return user.user_permissions.filter(
        content_type__app_label=app_label, codename=codename
    ).exists()


def account_demotion_warning(user: User) -> bool:
    """True when a person who is no longer active secretariat staff owns or supervises
    commitments: the page lists them, as the admin warns (tracker.admin)."""
    if user_can_own_commitments(user):
        return False
    return user.owned_commitments.exists() or user.supervised_commitments.exists()


# --- One's own profile ---------------------------------------------------------------------


def profile_update(
    *, user: User, first_name: str, last_name: str, time_zone: str, language: str
) -> None:
    """Save a person's name, time zone and language (time_zone already validated)."""
    user.first_name, user.last_name = first_name, last_name
    user.time_zone, user.language = time_zone, language
    user.save(update_fields=["first_name", "last_name", "time_zone", "language"])


def email_in_use(*, email: str, user: User | None = None) -> bool:
    """Whether another account (by its address or user name) or a pending invitation uses the
    address, whatever its case; `user`'s own account does not count."""
    email = email_normalized(email)
    accounts = User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
    if user is not None:
        accounts = accounts.exclude(pk=user.pk)
    invited = Invitation.objects.filter(
        email__iexact=email,
        accepted_at__isnull=True,
        replaced_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    return accounts.exists() or invited.exists()


def _email_change_stamp(user: User) -> str:
    """What a confirmation link must still find: the account's address, password and last
    change of address. Any of them changing (the link's own use among them) retires it."""
    value = f"{user.pk}:{user.email}:{user.password}:{user.email_changed_at}"
    return salted_hmac(EMAIL_CHANGE_SALT, value).hexdigest()


def email_change_token(*, user: User, new_email: str) -> str:
    """The signed secret of a confirmation link (what email_change_read reads)."""
    claim = {"user": user.pk, "new": new_email, "stamp": _email_change_stamp(user)}
    return signing.dumps(claim, salt=EMAIL_CHANGE_SALT)


def email_change_request(*, user: User, new_email: str) -> None:
    """Mail a signed link to the new address if no other account or pending invitation uses
    it (the answer is the same either way, so the page tells nobody which addresses have
    accounts), and tell the current address. The old address stays until the link is opened.
    The caller has checked the account's password."""
    new_email = email_normalized(new_email)
    if new_email == email_normalized(user.email):
        raise AccountRefused(_("That is already your address."))
    context = {"user": user, "new_email": new_email, "site": site_link("/")}
    if user.email:
        _send_after_commit(
            to=user.email, language=user.language, template="email_change_notice", context=context
        )
    if email_in_use(email=new_email, user=user):
        return
    token = email_change_token(user=user, new_email=new_email)
    link = site_link(reverse("profile_email_confirm", kwargs={"token": token}))
    _send_after_commit(
        to=new_email,
        language=user.language,
        template="email_change",
        context={"user": user, "link": link, "days": settings.TRACKER_EMAIL_CHANGE_DAYS},
    )


class EmailChangeUnusable(Exception):
    """The link is "forged", "expired", "used" (the address, password or last change it was
    signed with is gone) or "taken" (another account or an invitation has the address)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def email_change_read(*, token: str) -> tuple[User, str]:
    """The account and new address a confirmation link names, or EmailChangeUnusable."""
    max_age = datetime.timedelta(days=settings.TRACKER_EMAIL_CHANGE_DAYS)
    try:
        claim = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise EmailChangeUnusable("expired") from error
    except signing.BadSignature as error:
        raise EmailChangeUnusable("forged") from error
    user = User.objects.filter(pk=claim.get("user"), is_active=True).first()
    if user is None or not constant_time_compare(
        str(claim.get("stamp")), _email_change_stamp(user)
    ):
        raise EmailChangeUnusable("used")
    return user, claim["new"]


def email_change_confirm(*, token: str) -> User:
    """Apply the change a confirmation link names, once: refused if another account or a
    pending invitation took the address since it was asked for."""
    user, new_email = email_change_read(token=token)
    now = timezone.now()
    with transaction.atomic():
        if email_in_use(email=new_email, user=user):
            raise EmailChangeUnusable("taken")
        changed = User.objects.filter(
            pk=user.pk,
            email=user.email,
            password=user.password,
            email_changed_at=user.email_changed_at,
        ).update(email=new_email, email_changed_at=now)
        if changed != 1:
            raise EmailChangeUnusable("used")
    user.email, user.email_changed_at = new_email, now
    return user
