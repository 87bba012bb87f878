"""Each person's own account: the profile (name, time zone, language), a confirmed change of
email address, their API tokens, and Django's password change and reset views in the site's
style."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.messages.views import SuccessMessageMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.roles import user_can_manage_accounts

from . import accounts, api_tokens
from .account_forms import TIME_ZONES, EmailChangeForm, ProfileForm, TrackerPasswordResetForm
from .models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        label=_("Name of the new token"),
        help_text=_("What it is for, e.g. “Monthly report script”."),
    )


def _profile_page(
    request, *, form=None, email_form=None, token_form=None, status: int = 200, **extra
):
    """The profile page; each part's form as posted (with its errors) or empty."""
    user = request.user
    context = {
        "form": form or ProfileForm(instance=user),
        "email_form": email_form or EmailChangeForm(user=user),
        "token_form": token_form or ApiTokenForm(),
        "api_tokens": api_tokens.api_token_list(user=user),
        "can_manage_accounts": user_can_manage_accounts(user),
        "time_zones": TIME_ZONES,
        **extra,
    }
    return render(request, "tracker/profile.html", context, status=status)


def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            accounts.profile_update(user=request.user, **form.cleaned_data)
            messages.success(request, _("Your profile was saved."))
            return redirect("profile")
        # The form's instance took the refused values: show the saved account elsewhere.
        request.user.refresh_from_db()
    return _profile_page(
        request,
        form=form,
        email_form=EmailChangeForm(user=request.user),
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def profile_email(request):
    """Mail a confirmation link to the new address (if no one else uses it) after the current
    password; the account keeps the old one until then."""
    email_form = EmailChangeForm(request.POST, user=request.user)
    if email_form.is_valid():
        new_email = email_form.cleaned_data["new_email"]
        try:
            accounts.email_change_request(user=request.user, new_email=new_email)
        except accounts.AccountRefused as refusal:
            email_form.add_error("new_email", str(refusal))
        else:
            messages.success(
                request,
                _(
                    "If %(email)s can be used, a confirmation link is on its way to it. Your "
                    "address changes when you open it; until then it stays %(old)s."
                )
                % {"email": new_email, "old": request.user.email},
            )
            return redirect("profile")
    return _profile_page(request, email_form=email_form, status=400)


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
def api_token_create(request):
    """Make a token and show it at the top of the profile page, this once: it is stored
    nowhere, so the answer is never kept by a browser's or a proxy's cache either. A GET (the
    address reloaded from the address bar) goes back to the tokens: the token is not shown
    again."""
    if request.method != "POST":
        messages.info(
            request,
            _(
                "A new token is shown only once, on the page that made it. If you did not "
                "copy it, revoke it and make another."
            ),
        )
        return redirect(reverse("profile") + "#api-tokens-heading")
    token_form = ApiTokenForm(request.POST)
    if not token_form.is_valid():
        return _profile_page(request, token_form=token_form, status=400)
    token, text = api_tokens.api_token_create(
        user=request.user, name=token_form.cleaned_data["name"]
    )
    return _profile_page(request, new_token=token, new_token_text=text)


@require_POST
def api_token_revoke(request, pk: int):
    try:
        token = api_tokens.api_token_revoke(user=request.user, pk=pk)
    except ApiToken.DoesNotExist:
        raise Http404("No such token of yours.") from None
    messages.success(
        request,
        _("The token “%(name)s” is revoked: programs using it are refused from now on.")
        % {"name": token.name},
    )
    return redirect(reverse("profile") + "#api-tokens-heading")


EMAIL_CHANGE_REFUSALS = {
    "forged": (400, _("This confirmation link does not work")),
    "expired": (410, _("This confirmation link has expired")),
    "used": (410, _("This confirmation link was already used")),
    "taken": (409, _("That address is now used by another account")),
}


@login_not_required
@never_cache
def profile_email_confirm(request, token: str):
    """The link from the email: GET asks to confirm (mail scanners follow links), POST does it.
    The signed link is the credential, so it works in a browser where the person is not
    logged in."""
    try:
        if request.method == "POST":
            person = accounts.email_change_confirm(token=token)
            new_email, done = person.email, True
        else:
            person, new_email = accounts.email_change_read(token=token)
            done = False
    except accounts.EmailChangeUnusable as unusable:
        status, heading = EMAIL_CHANGE_REFUSALS[unusable.reason]
        context = {"heading": heading}
        return render(request, "tracker/profile_email_refused.html", context, status=status)
    context = {"person": person, "new_email": new_email, "done": done}
    return render(request, "tracker/profile_email_confirm.html", context)


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    """Django's password change; back on the profile with a message."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("profile")
    success_message = _("Your password was changed.")

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by email: the same answer whether an account has that address or not."""

    form_class = TrackerPasswordResetForm
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"

    @property
    def extra_email_context(self) -> dict:
        # The link starts with the site's own address, like every other email: never with the
        # request's Host header, which whoever asks for the reset chooses.
        return {"site_url": settings.TRACKER_SITE_URL.rstrip("/")}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's page behind the reset link; a used or expired link is refused (400)."""

    post_reset_login = False

    def render_to_response(self, context, **response_kwargs):
        if not self.validlink:
            response_kwargs["status"] = 400
        return super().render_to_response(context, **response_kwargs)
