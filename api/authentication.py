"""Personal API tokens on each request (docs/api.md#tokens): `Authorization: Bearer <token>`,
or `Authorization: Token <token>`. First in REST_FRAMEWORK's authentication classes, so an
anonymous request is answered 401 with a `WWW-Authenticate: Bearer` challenge."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from tracker import api_tokens
from tracker.audit import audit_actor_set

KEYWORDS = (b"bearer", b"token")
TOKEN_REFUSED = _(
    "This API token does not work: it was revoked or mistyped, or its account was deactivated "
    "or changed role. Make a new one on your profile page."
)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() not in KEYWORDS:
            return None  # no token: the next class (the session) may know the person
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as `Authorization: Bearer <token>`, with no spaces in it.")
            )
        try:
            presented = words[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(TOKEN_REFUSED) from None
        token = api_tokens.api_token_authenticate(presented=presented)
        if token is None:
            raise exceptions.AuthenticationFailed(TOKEN_REFUSED)
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
