"""The API's error answers: REST framework's, in JSON, with a refused CSRF check explained and
a 429 that says when to try again (api.throttling).

Apart from api.permissions because REST framework reads its permission classes while
rest_framework.views is still being imported."""

from rest_framework import exceptions

from .permissions import CSRF_REFUSED
from .throttling import throttled_answer


def api_exception_handler(exc, context):
    """REST framework's handler, with a refused CSRF check explained: its own message names
    the missing token but not what to send."""
    csrf = isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF")
    if csrf:
        exc = exceptions.PermissionDenied(CSRF_REFUSED)
    return throttled_answer(exc, context)
