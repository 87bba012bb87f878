"""Who may use the API: the pages' rules (core.public_site, core.roles), answered in JSON.

- Reads: every active logged-in person, whatever their role, and anonymous readers while the
  public site is on (TRACKER_PUBLIC_SITE); what each reads is then the selectors' business, as
  on the pages (liaisons, contributors and anonymous readers: the public record only).
- Writes: the secretariat's alone; everyone else is refused (401 without a token or login,
  403 with one) before anything is read.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.public_site import may_read_public_record
from core.roles import user_can_edit_record

LOGIN_NEEDED = _(
    "This tracker's record is not public: log in to read it through the API. Nothing was read."
)
WRITE_REFUSED = _(
    "Only the secretariat changes the record; you may read it. Nothing was changed. If "
    "something here should change, ask the secretariat to change it."
)
CSRF_REFUSED = _(
    "A change sent with a logged-in session needs the session's CSRF token in the X-CSRFToken "
    "header, so that no other site can send it in your name. Nothing was changed."
)


class RecordPermission(BasePermission):
    """Reads as the pages allow them; writes for the secretariat only."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            if may_read_public_record(user):
                return True
            raise exceptions.NotAuthenticated(LOGIN_NEEDED)
        if user_can_edit_record(user):
            return True
        if not user.is_authenticated:
            # 401 with the token scheme's challenge: a write needs the secretariat's token.
            raise exceptions.NotAuthenticated(WRITE_REFUSED)
        raise exceptions.PermissionDenied(WRITE_REFUSED)
