"""Two-factor authentication: an authenticator app's codes (TOTP) and recovery codes.

django-otp keeps the devices: one TOTPDevice (the app) and one StaticDevice (the recovery
codes) per person who turned it on. A code is checked by the device itself, which refuses a
TOTP code of a time step already used (`last_t`), deletes a recovery code once used, and
refuses every code for a while after a wrong one (its throttling, doubling each time).

A session is logged in after the password; if the person has a confirmed app it must then
enter a code (the code step, `two_factor_verify`) before any other page answers
(TwoFactorMiddleware). Secretariat managers and superusers must have it: without a device
they reach only the set-up page. User.two_factor_enabled mirrors "has a confirmed app" so
this costs no query per request; the services below and the signals at the end keep it in
step, the admin's deletions included.
"""

import math
import time
from base64 import b32encode
from dataclasses import dataclass
from urllib.parse import urlencode

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from core.ids import ascii_digits
from core.public_site import is_public_record
from core.roles import (
    SUPERUSER_ACCOUNT_PROTECTED,
    user_can_change_account,
    user_can_manage_accounts,
)

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Set at log-in: whether this person must have two-factor authentication (a manager's
# permission is read from the database; kept in the session so no page pays for it).
REQUIRED_SESSION_KEY = "two_factor_required"
# The key of an app being set up, until its first code confirms it: kept in the session, so a
# look at the set-up page writes nothing.
PENDING_KEY_SESSION_KEY = "two_factor_pending_key"

# Pages a session that owes its code may open: those settling it, and leaving.
VERIFY_PAGES = {"login", "logout", "set_language", "two_factor_verify"}
# Pages a manager without a device may open besides: the set-up page.
SETUP_PAGES = VERIFY_PAGES | {"two_factor"}


class CodeRefused(Exception):
    """A code that is wrong or already used; or any code while the device waits after a wrong
    one (`wait_seconds` then says how long is left)."""

    def __init__(self, *, wait_seconds: int = 0):
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


class TwoFactorRequired(Exception):
    """Turning it off is refused to those who must have it."""


# --- Who must, who has ----------------------------------------------------------------------


def two_factor_required_for(user) -> bool:
    """Secretariat managers and superusers must have it (unless the deployment turned that off)."""
    return settings.TRACKER_TWO_FACTOR_REQUIRED and user_can_manage_accounts(user)


def two_factor_app(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def two_factor_recovery(user) -> StaticDevice | None:
    return StaticDevice.objects.devices_for_user(user, confirmed=True).first()


@dataclass(frozen=True)
class TwoFactorState:
    app: TOTPDevice | None
    recovery_codes_left: int
    required: bool


def two_factor_state(*, user) -> TwoFactorState:
    """What the set-up page shows: whether the app is on, how many recovery codes remain."""
    recovery = two_factor_recovery(user)
    left = recovery.token_set.count() if recovery else 0
    return TwoFactorState(
        app=two_factor_app(user), recovery_codes_left=left, required=two_factor_required_for(user)
    )


# --- Setting up ---------------------------------------------------------------------------


def two_factor_pending_key(session) -> str:
    """The secret of the app being set up in this session, made on the first look."""
    if PENDING_KEY_SESSION_KEY not in session:
        session[PENDING_KEY_SESSION_KEY] = random_hex(20)
    return session[PENDING_KEY_SESSION_KEY]


def two_factor_secret_text(key: str) -> str:
    """The secret as an app asks for it when typed: base32, in groups of four."""
    secret = b32encode(bytes.fromhex(key)).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def two_factor_config_url(*, user, key: str) -> str:
    """The otpauth:// address the QR code carries (what TOTPDevice.config_url makes)."""
    return TOTPDevice(user=user, key=key).config_url


def _time_step_matched(device: TOTPDevice, code: str) -> int | None:
    """The time step `code` belongs to, within the device's tolerance, or None."""
    if not (ascii_digits(code) and len(code) == device.digits):
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return totp.t() if totp.verify(int(code), device.tolerance, device.last_t + 1) else None


def two_factor_setup_confirm(*, user, key: str, code: str) -> list[str]:
    """Turn it on with the app whose secret is `key`, once a code from it matches; return the
    new recovery codes (shown once). Refused if the person already has an app."""
    device = TOTPDevice(user=user, key=key, name=APP_DEVICE_NAME, confirmed=True)
    step = _time_step_matched(device, code.strip().replace(" ", ""))
    if step is None:
        raise CodeRefused()
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if two_factor_app(user) is not None:
            raise CodeRefused()
        # The code that confirmed it counts as used: it cannot log anyone in afterwards.
        device.last_t = step
        device.save()
        codes = _recovery_codes_new(user)
        _audit(user=user, actor=user, old="off", new="on")
    return codes


def two_factor_recovery_codes_regenerate(*, user, code: str) -> list[str]:
    """New recovery codes for old ones (all of which stop working), after a current code."""
    two_factor_code_check(user=user, code=code)
    with transaction.atomic():
        return _recovery_codes_new(user)


def _recovery_codes_new(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


# --- Checking a code ------------------------------------------------------------------------


def two_factor_code_check(*, user, code: str):
    """The device that accepted `code` (the app's six digits, or a recovery code, which is then
    used up); CodeRefused otherwise. Each device refuses everything for a while after a wrong
    code, and the app refuses a code of a time step already used (a replay)."""
    code = code.strip().replace(" ", "").lower()
    model = TOTPDevice if ascii_digits(code) else StaticDevice
    with transaction.atomic():
        # Locked rows: two requests with the same code cannot both pass.
        device = model.objects.filter(user=user, confirmed=True).select_for_update().first()
        if device is None:
            raise CodeRefused()
        allowed, details = device.verify_is_allowed()
        if not allowed:
            left = (details["locked_until"] - timezone.now()).total_seconds()
            raise CodeRefused(wait_seconds=max(1, math.ceil(left)))
        if device.verify_token(code):
            return device
    raise CodeRefused()


def two_factor_session_verify(request, device) -> None:
    """This session entered its code: what OTPMiddleware reads as is_verified(). A new session
    key, as at log-in: a key seen before the code was entered does not gain what it grants."""
    request.session.cycle_key()
    request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    request.session.pop(PENDING_KEY_SESSION_KEY, None)
    request.user.otp_device = device


# --- Turning it off -------------------------------------------------------------------------


def two_factor_disable(*, user, code: str) -> None:
    """Turn it off after a current code; refused to those who must have it."""
    if two_factor_required_for(user):
        raise TwoFactorRequired
    two_factor_code_check(user=user, code=code)
    with transaction.atomic():
        _devices_delete(user)
        _audit(user=user, actor=user, old="on", new="off")


class ResetRefused(Exception):
    """A reset the rules do not allow; the message says why and what to do. Nothing removed."""


OWN_RESET_REFUSED = gettext_lazy(
    "You cannot reset your own two-factor authentication here: turn it off or set it up again "
    "on your own two-factor page, which asks for a current code."
)


def two_factor_reset(*, user, manager) -> bool:
    """A manager removes another person's devices (a lost phone): they log in with the password
    alone, or set it up again if they must have it. Recorded in the user's audit trail. False
    if there was nothing to remove.

    Never one's own (that would switch it off without a code) and a superuser's only by a
    superuser (core.roles.user_can_change_account): ResetRefused."""
    two_factor_reset_check(user=user, manager=manager)
    with transaction.atomic():
        removed = _devices_delete(user)
        if removed:
            _audit(user=user, actor=manager, old="on", new="off (reset by a manager)")
    return bool(removed)


def two_factor_reset_check(*, user, manager) -> None:
    """Raise ResetRefused if the manager may not reset this person's two-factor."""
    if user.pk == manager.pk:
        raise ResetRefused(OWN_RESET_REFUSED)
    if not user_can_change_account(manager, user):
        raise ResetRefused(SUPERUSER_ACCOUNT_PROTECTED)


def _devices_delete(user) -> int:
    removed = TOTPDevice.objects.filter(user=user).count()
    for model in (TOTPDevice, StaticDevice):
        # One by one, so the signals below keep two_factor_enabled in step.
        for device in model.objects.filter(user=user):
            device.delete()
    return removed


def _audit(*, user, actor, old: str, new: str) -> None:
    LogEntry.objects.log_create(
        user, action=LogEntry.Action.UPDATE, changes={"two_factor": [old, new]}, actor=actor
    )


# --- Keeping User.two_factor_enabled in step ------------------------------------------------


def two_factor_enabled_refresh(*, user_id: int) -> bool:
    """Set the flag from the devices; also mends a restored backup's users, whose devices a
    backup does not keep (the code step calls it when it finds no app)."""
    enabled = TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()
    # An update, not a save: the services record the change in the trail themselves.
    get_user_model().objects.filter(pk=user_id).update(two_factor_enabled=enabled)
    return enabled


@receiver(post_save, sender=TOTPDevice)
@receiver(post_delete, sender=TOTPDevice)
def _app_changed(sender, instance: TOTPDevice, **kwargs) -> None:
    two_factor_enabled_refresh(user_id=instance.user_id)


@receiver(user_logged_in)
def _remember_whether_required(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[REQUIRED_SESSION_KEY] = two_factor_required_for(user)
        # A log-in with the password never inherits a code entered in this session before
        # (Django keeps a session's data when the same person logs in again in it).
        request.session.pop(DEVICE_ID_SESSION_KEY, None)


# --- The gate -------------------------------------------------------------------------------


def _url_name(request) -> str | None:
    # Django resolved the address before any process_view; resolving it again cost every
    # logged-in page a walk of the URL patterns (bench.floor).
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.url_name
    try:
        return resolve(request.path_info).url_name
    except Resolver404:
        return None


def session_owes_second_step(request) -> bool:
    """Whether this logged-in session still owes its two-factor code, or its required set-up:
    until then it reads nothing of the record as its person (not the pages, not the API)."""
    user = request.user
    if not user.is_authenticated:
        return False
    if user.two_factor_enabled and not user.is_verified():
        return True
    return not user.two_factor_enabled and bool(request.session.get(REQUIRED_SESSION_KEY))


class TwoFactorMiddleware:
    """Until a session has entered its code, or a manager has set it up, every page but those
    that settle it (and those that need no login, unless they are pages of the public record:
    a logged-in person reads those with their role's view) sends them to the step they owe."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        if not getattr(view_func, "login_required", True) and not is_public_record(view_func):
            return None
        if user.two_factor_enabled and not user.is_verified():
            if _url_name(request) in VERIFY_PAGES:
                return None
            return redirect(_with_next(reverse("two_factor_verify"), request))
        if not user.two_factor_enabled and request.session.get(REQUIRED_SESSION_KEY):
            if _url_name(request) in SETUP_PAGES:
                return None
            return redirect(reverse("two_factor"))
        return None


def _with_next(url: str, request) -> str:
    if request.method != "GET" or request.path_info == "/":
        return url
    return f"{url}?{urlencode({'next': request.get_full_path()})}"
