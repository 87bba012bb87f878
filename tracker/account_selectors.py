"""Reads of the account pages, each in a fixed number of queries whatever the number of
accounts (tests/tracker/test_accounts.py pins them)."""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from commitments.models import Commitment
from core.roles import MANAGE_ACCOUNTS

from .models import Invitation, User


def _manager_permission_q():
    app_label, codename = MANAGE_ACCOUNTS.split(".")
    return {"content_type__app_label": app_label, "codename": codename}


def accounts_list() -> QuerySet[User]:
    """Every account, with its state or organisation and whether it manages accounts."""
    through = User.user_permissions.through
    is_manager = through.objects.filter(
        user=OuterRef("pk"), **{f"permission__{k}": v for k, v in _manager_permission_q().items()}
    )
    return (
        User.objects.select_related("actor")
        .annotate(is_manager=Exists(is_manager))
        .order_by("-is_active", "username")
    )


def invitations_pending() -> QuerySet[Invitation]:
    """Invitations whose link still works, newest first."""
    return Invitation.objects.filter(
        accepted_at__isnull=True, replaced_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("actor", "invited_by")


def account_detail(*, pk: int) -> User | None:
    """One account, with the commitments it owns or supervises (a demoted owner is listed)."""
    commitments = Commitment.objects.only("pk", "slug", "title", "owner_id", "supervisor_id")
    return (
        accounts_list()
        .prefetch_related(
            Prefetch("owned_commitments", queryset=commitments),
            Prefetch("supervised_commitments", queryset=commitments),
        )
        .filter(pk=pk)
        .first()
    )
