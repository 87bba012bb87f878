"""Personal API tokens on each request (docs/api.md#tokens): `Authorization: Bearer <token>`,
or `Authorization: Token <token>`. First in REST_FRAMEWORK's authentication classes, so an
anonymous request is answered 401 with a `WWW-Authenticate: Bearer` challenge."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)

from tracker import api_tokens
from tracker.audit import audit_actor_set
from tracker.two_factor import session_owes_second_step

KEYWORDS = (b"bearer", b"token")
TOKEN_REFUSED = _(
    "This API token does not work: it was revoked or mistyped, or its account was deactivated "
    "or changed role. Make a new one on your profile page."
)


def refused(request, message) -> exceptions.APIException:
    """401 with the message; 429 once the client's address is over its anonymous rate, as
    refused tokens count against it (api.throttling.AddressRateThrottle)."""
    # Imported here: rest_framework.views reads the authentication classes while it loads.
    from api.throttling import AddressRateThrottle

    throttle = AddressRateThrottle()
    if not throttle.refused_token_allowed(request):
        return exceptions.Throttled(wait=throttle.wait())
    return exceptions.AuthenticationFailed(message)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() not in KEYWORDS:
            return None  # no token: the next class (the session) may know the person
        if len(words) != 2:
            raise refused(
                request,
                _("Send the token as `Authorization: Bearer <token>`, with no spaces in it."),
            )
        try:
            presented = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise refused(request, TOKEN_REFUSED) from None
        token = api_tokens.api_token_authenticate(presented=presented)
        if token is None:
            raise refused(request, TOKEN_REFUSED)
        # AuditMiddleware saw no one: what this request writes is the token owner's.
        audit_actor_set(token.user)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema names the token: HTTP bearer authentication."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, made on your profile page (docs/api.md).",
        }


class VerifiedSessionAuthentication(SessionAuthentication):
    """The logged-in browser's session, once it has entered its two-factor code (or set up the
    app it must have): until then the API reads it as no one, as the pages send it to the step
    it owes (tracker.two_factor.TwoFactorMiddleware)."""

    def authenticate(self, request):
        if session_owes_second_step(request._request):
            return None
        return super().authenticate(request)


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    """How the schema names the browser's session: its cookie."""

    target_class = VerifiedSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A logged-in browser session that has entered its two-factor code.",
        }
