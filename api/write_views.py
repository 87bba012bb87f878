"""The API's writes (docs/api.md#writing-a-status-update): the secretariat posts a status
update to a commitment, against the version it read, through the same service as the page."""

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response

from commitments import selectors, services
from commitments.models import Commitment
from core.local_time import reader_today
from core.roles import user_can_edit_record

from . import views
from .write_serializers import (
    ConflictSerializer,
    RefusalSerializer,
    StatusUpdatePostedSerializer,
    StatusUpdateWriteSerializer,
    VersionSentSerializer,
)


class MayEditRecord(permissions.BasePermission):
    """The secretariat writes (core.roles.user_can_edit_record); anyone else is refused, an
    anonymous client with 401 (REST framework asks for a token first)."""

    message = gettext_lazy(
        "Only the secretariat writes the record; this token or account may read it only. "
        "Nothing was written."
    )

    def has_permission(self, request, view) -> bool:
        return user_can_edit_record(request.user)


class CommitmentUpdates(views.CommitmentUpdates):
    """A commitment's updates (api.views, for every reader), and the secretariat's POST of a
    new one: writes are checked by MayEditRecord alone."""

    def get_permissions(self):
        if self.request.method in permissions.SAFE_METHODS:
            return super().get_permissions()
        return [MayEditRecord()]

    @extend_schema(
        operation_id="commitment_status_update_create",
        summary="Post a status update (the secretariat's)",
        request=StatusUpdateWriteSerializer,
        responses={
            201: StatusUpdatePostedSerializer,
            400: OpenApiResponse(description="Refused input: a message per field."),
            401: RefusalSerializer,
            403: RefusalSerializer,
            404: RefusalSerializer,
            409: ConflictSerializer,
            429: RefusalSerializer,
        },
    )
    def post(self, request, slug: str):
        commitment = _commitment_or_404(request.user, slug)
        if commitment.is_retired:
            return _conflict(services.retired_refusal_message(commitment), commitment)
        sent_version = _version_sent(request.data)
        if sent_version is not None and sent_version != commitment.version:
            # Before the input's own checks: whatever else it would be refused for, what the
            # client read is out of date (the service checks again, in its UPDATE).
            return _conflict(_stale_message(sent_version, commitment), commitment)
        milestones = selectors.commitment_milestones(user=request.user, commitment=commitment)
        context = {
            "today": reader_today(request.user),
            "has_milestones": bool(milestones),
            "adopted_on": selectors.commitment_adopted_on(commitment),
        }
        serializer = StatusUpdateWriteSerializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        try:
            update = services.status_update_create(
                commitment=commitment, author=request.user, **serializer.validated_data
            )
        except services.CommitmentRetired as refusal:
            return _conflict(str(refusal), refusal.commitment)
        except services.EditConflict as conflict:
            current = conflict.commitment  # reloaded by the service: what the other write left
            sent = serializer.validated_data["expected_version"]
            return _conflict(_stale_message(sent, current), current)
        except services.ProgressRefused as refusal:  # milestones changed since the check
            return Response({"non_field_errors": refusal.messages}, status=400)
        commitment.refresh_from_db(fields=["version"])
        answer = {"update": update, "commitment": commitment}
        return Response(StatusUpdatePostedSerializer(answer).data, status=status.HTTP_201_CREATED)


def _commitment_or_404(user, slug: str) -> Commitment:
    try:
        return selectors.commitment_get(user=user, slug=slug)
    except Commitment.DoesNotExist:
        raise Http404(_("No commitment has this address.")) from None


def _version_sent(data) -> int | None:
    """The version the client says it read, if it sent a usable one; anything else is left
    to StatusUpdateWriteSerializer to refuse with its message."""
    version = VersionSentSerializer(data=data)
    return version.validated_data["version"] if version.is_valid() else None


def _stale_message(sent: int, current: Commitment) -> str:
    return _(
        "The commitment changed after you read it (you sent version %(sent)s; it is now "
        "%(current)s), so nothing was written. Read it again and post against the "
        "current version."
    ) % {"sent": sent, "current": current.version}


def _conflict(message: str, commitment: Commitment) -> Response:
    """409: nothing was written; the body gives the version the commitment is at now."""
    body = {"detail": message, "current_version": commitment.version}
    return Response(body, status=status.HTTP_409_CONFLICT)
