"""Accounts without the admin: the managers' pages (the list, an invitation, one account) and
the invited person's page where they choose a password. Writes go through tracker.accounts."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from commitments.views import READ_METHODS, allow_methods
from core.roles import (
    SUPERUSER_ACCOUNT_PROTECTED,
    role_gate_set,
    user_can_change_account,
    user_can_manage_accounts,
)

from . import account_selectors, accounts
from .account_forms import AccountForm, InvitationForm, PasswordChoiceForm
from .admin import owner_demoted_message

ACCOUNTS_ARE_MANAGERS_WORK = _(
    "Only the secretariat's account managers invite people and change accounts, so this page "
    "is not open to your account and nothing was changed. Ask the secretariat if an account "
    "should change."
)


def managers_only(view):
    """Refuse every method, reads included, to anyone who may not manage accounts (403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_can_manage_accounts(request.user):
            raise PermissionDenied(ACCOUNTS_ARE_MANAGERS_WORK)
        return view(request, *args, **kwargs)

    return role_gate_set(wrapper, user_can_manage_accounts)


@managers_only
@allow_methods(*READ_METHODS)
def account_list(request):
    context = {
        "accounts": account_selectors.accounts_list(),
        "invitations": account_selectors.invitations_pending(),
    }
    return render(request, "tracker/account_list.html", context)


@managers_only
def account_invite(request):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = accounts.invitation_create(invited_by=request.user, **form.cleaned_data)
        except accounts.AccountRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                _("An invitation was sent to %(email)s.") % {"email": invitation.email},
            )
            return redirect("account_list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "invitation_days": settings.TRACKER_INVITATION_DAYS}
    return render(request, "tracker/account_invite.html", context, status=status)


@managers_only
def account_edit(request, pk: int):
    person = account_selectors.account_detail(pk=pk)
    if person is None:
        raise Http404(_("No account has this number."))
    initial = {
        "role": person.role,
        "actor": person.actor,
        "is_active": person.is_active,
        "manager": person.is_manager,
    }
    form = AccountForm(request.POST or None, initial=initial)
    # A superuser's account is shown read-only to a manager who is not one (and refused, 403).
    may_change = user_can_change_account(request.user, person)
    if not may_change:
        status = 403 if request.method == "POST" else 200
    elif request.method == "POST" and form.is_valid() and _account_save(request, person, form):
        return redirect("account_edit", pk=person.pk)
    else:
        status = 400 if request.method == "POST" else 200
    context = {
        "person": person,
        "form": form,
        "read_only": not may_change,
        "protected": SUPERUSER_ACCOUNT_PROTECTED,
        "demoted": accounts.account_demotion_warning(person),
    }
    return render(request, "tracker/account_edit.html", context, status=status)


def _account_save(request, person, form) -> bool:
    """Apply the form; False (with the reason on the form) when the rules refuse it."""
    data = form.cleaned_data
    try:
        changed = accounts.account_update(
            user=person,
            role=data["role"],
            actor=data["actor"],
            is_active=data["is_active"],
            manager_permission=data["manager"],
            manager=request.user,
        )
    except accounts.AccountRefused as refusal:
        form.add_error(None, str(refusal))
        return False
    if changed:
        messages.success(request, _("The account was saved."))
    owned = person.owned_commitments.count() + person.supervised_commitments.count()
    if owned and accounts.account_demotion_warning(person):
        messages.warning(request, owner_demoted_message(person, owned))
    return True


# --- The invited person --------------------------------------------------------------------

INVITATION_REFUSALS = {
    "unknown": (400, _("This invitation link does not work")),
    "used": (410, _("This invitation was already used")),
    "replaced": (410, _("This invitation was replaced by a newer one")),
    "expired": (410, _("This invitation has expired")),
    "taken": (409, _("Another account uses this address now")),
}


@login_not_required
@never_cache
def invitation_accept(request, token: str):
    """GET shows the form, POST makes the account; a link that cannot be used says why."""
    try:
        invitation = accounts.invitation_for_token(token=token)
    except accounts.InvitationUnusable as unusable:
        return _invitation_refused(request, unusable.reason)
    form = PasswordChoiceForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.invitation_accept(
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except accounts.InvitationUnusable as unusable:
            return _invitation_refused(request, unusable.reason)
        messages.success(
            request,
            _("Your account is ready. Log in with %(username)s and your new password.")
            % {"username": invitation.email},
        )
        return redirect("login")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "invitation": invitation}
    return render(request, "tracker/invitation_accept.html", context, status=status)


def _invitation_refused(request, reason: str):
    status, heading = INVITATION_REFUSALS[reason]
    context = {"heading": heading, "reason": reason}
    return render(request, "tracker/invitation_refused.html", context, status=status)
