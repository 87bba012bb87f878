"""Two-factor authentication's pages: one's own set-up, the code step after the password, and
a manager's reset of another person's devices. The rules are in tracker.two_factor."""

import segno
from django import forms
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from core.roles import user_can_manage_accounts

from . import two_factor as tf


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        help_text=gettext_lazy(
            "The six digits your authenticator app shows now, or one of your recovery codes."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "off"}),
        error_messages={"required": gettext_lazy("Enter a code.")},
    )


class AppCodeForm(CodeForm):
    """Confirming the app: only its code will do."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        code.help_text = _("The six digits your authenticator app shows now.")
        code.widget.attrs["inputmode"] = "numeric"


def _refusal(error: tf.CodeRefused) -> str:
    if error.wait_seconds:
        return ngettext(
            "Too many wrong codes: wait %(seconds)s second, then enter the code your app "
            "shows at that moment.",
            "Too many wrong codes: wait %(seconds)s seconds, then enter the code your app "
            "shows at that moment.",
            error.wait_seconds,
        ) % {"seconds": error.wait_seconds}
    return _(
        "That code is not right, or was already used. Enter the code your app shows now (each "
        "code works once), or an unused recovery code."
    )


# --- One's own set-up -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Turn it on (scan, confirm with a code, keep the recovery codes), get new recovery codes,
    or turn it off. Every change of a device needs a current code."""
    user = request.user
    if not user.two_factor_enabled:
        return _setup(request)
    state = tf.two_factor_state(user=user)
    form, status = CodeForm(request.POST or None), 200
    if request.method == "POST":
        action = request.POST.get("action")
        if form.is_valid():
            try:
                if action == "disable":
                    tf.two_factor_disable(user=user, code=form.cleaned_data["code"])
                    return _render(request, "tracker/two_factor_off.html", {})
                codes = tf.two_factor_recovery_codes_regenerate(
                    user=user, code=form.cleaned_data["code"]
                )
                return _render(request, "tracker/two_factor_codes.html", {"codes": codes})
            except tf.CodeRefused as error:
                form.add_error("code", _refusal(error))
            except tf.TwoFactorRequired:
                form.add_error(
                    None,
                    _(
                        "Your role requires two-factor authentication, so it cannot be turned "
                        "off. If you lost your phone, use a recovery code and set it up again, "
                        "or ask another manager to reset it."
                    ),
                )
        status = 400
    context = {"state": state, "form": form}
    return _render(request, "tracker/two_factor.html", context, status=status)


def _setup(request):
    user = request.user
    key = tf.two_factor_pending_key(request.session)
    form, status = AppCodeForm(request.POST or None), 200
    if request.method == "POST":
        if form.is_valid():
            try:
                codes = tf.two_factor_setup_confirm(
                    user=user, key=key, code=form.cleaned_data["code"]
                )
            except tf.CodeRefused as error:
                form.add_error("code", _refusal(error))
            else:
                tf.two_factor_session_verify(request, tf.two_factor_app(user))
                return _render(request, "tracker/two_factor_codes.html", {"codes": codes})
        status = 400
    url = tf.two_factor_config_url(user=user, key=key)
    context = {
        "form": form,
        "required": tf.two_factor_required_for(user),
        "qr_svg": segno.make(url, error="m").svg_inline(
            scale=5, svgclass="qr-code", lineclass=None, title=_("QR code for your app")
        ),
        "secret": tf.two_factor_secret_text(key),
    }
    return _render(request, "tracker/two_factor_setup.html", context, status=status)


def _render(request, template: str, context: dict, *, status: int = 200):
    response = render(request, template, context, status=status)
    # A secret or recovery codes on the page: never kept by a cache, the browser's included.
    response["Cache-Control"] = "private, no-store"
    return response


# --- The code step after the password ---------------------------------------------------------


@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """After the password, a person with an app enters a code before any page answers. Wrong
    codes count as failed log-ins (django-axes): at its limit the session is logged out and the
    account locked from this address like after wrong passwords."""
    user = request.user
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if (
        not user.two_factor_enabled
        or user.is_verified()
        or not tf.two_factor_enabled_refresh(user_id=user.pk)
    ):
        return redirect(next_url or _landing(user))
    form, status = CodeForm(request.POST or None), 200
    if request.method == "POST":
        if form.is_valid():
            try:
                device = tf.two_factor_code_check(user=user, code=form.cleaned_data["code"])
            except tf.CodeRefused as error:
                form.add_error("code", _refusal(error))
                if not error.wait_seconds and _counts_as_failed_login(request, user):
                    return redirect("login")
            else:
                tf.two_factor_session_verify(request, device)
                return redirect(next_url or _landing(user))
        status = 400
    context = {"form": form, "next": next_url}
    return render(request, "registration/two_factor_verify.html", context, status=status)


def _counts_as_failed_login(request, user) -> bool:
    """Record a wrong code with django-axes as a failed log-in; True if that locked the account
    from this address, the session then logged out (AxesMiddleware shows the locked page)."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return True
    return False


def _landing(user) -> str:
    actor = getattr(user, "actor", None)
    if actor is not None and not user.can_edit_record:
        return actor.get_absolute_url()
    return "dashboard"


# --- A manager's reset ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def two_factor_reset(request, pk: int):
    """A manager removes another person's devices after confirming; recorded in the trail."""
    if not user_can_manage_accounts(request.user):
        raise PermissionDenied(
            _("Only a secretariat manager can reset a person's two-factor authentication.")
        )
    person = get_object_or_404(get_user_model(), pk=pk)
    try:
        tf.two_factor_reset_check(user=person, manager=request.user)
    except tf.ResetRefused as refusal:
        raise PermissionDenied(str(refusal)) from refusal
    if request.method == "POST":
        done = tf.two_factor_reset(user=person, manager=request.user)
        return render(request, "tracker/two_factor_reset.html", {"person": person, "done": done})
    return render(request, "tracker/two_factor_reset.html", {"person": person, "done": None})
