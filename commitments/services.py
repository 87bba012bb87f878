"""Writes to the record. Each function is one transaction; views, forms and tasks call these."""

import datetime

from django.db import transaction
from django.db.models import F

from .models import Commitment, EvidenceLink, StatusUpdate
from .statuses import Status


class EditConflict(Exception):
    """Someone else changed the commitment after the form was opened."""

    def __init__(self, commitment: Commitment):
        super().__init__(f"{commitment} was updated by someone else in the meantime.")
        self.commitment = commitment


def status_update_create(
    *,
    commitment: Commitment,
    author,
    status: str,
    progress: int,
    narrative: str,
    happened_on: datetime.date,
    expected_version: int | None = None,
    visibility: str = StatusUpdate.Visibility.PUBLIC,
    links: list[tuple[str, str]] = (),
) -> StatusUpdate:
    """Append a status update and make the commitment show its latest state.

    With `expected_version`, refuse the update (EditConflict) if someone else wrote since the
    form showed that version; nothing is written then.
    """
    with transaction.atomic():
        version_filter = {} if expected_version is None else {"version": expected_version}
        # The conditional UPDATE is the lock: of two posts against one version, one matches.
        claimed = Commitment.objects.filter(pk=commitment.pk, **version_filter).update(
            version=F("version") + 1
        )
        if claimed != 1:
            commitment.refresh_from_db()
            raise EditConflict(commitment)
        update = StatusUpdate.objects.create(
            commitment=commitment,
            author=author,
            happened_on=happened_on,
            status=status,
            progress=progress,
            narrative=narrative,
            visibility=visibility,
        )
        EvidenceLink.objects.bulk_create(
            EvidenceLink(update=update, title=title, url=url) for title, url in links
        )
        commitment_current_state_refresh(commitment=commitment)
    return update


def commitment_current_state_refresh(*, commitment: Commitment) -> None:
    """Copy the latest update (by the date it happened) onto the commitment.

    An update entered today about something from 2021 must not hide a newer one, so "latest"
    is by happened_on, then by when it was recorded.
    """
    latest = commitment.updates.order_by("-happened_on", "-recorded_at", "-pk").first()
    if latest is None:
        fields = {"status": Status.NOT_STARTED, "progress": 0, "last_activity_on": None}
    else:
        fields = {
            "status": latest.status,
            "progress": latest.progress,
            "last_activity_on": latest.happened_on,
        }
    Commitment.objects.filter(pk=commitment.pk).update(**fields)
    commitment.refresh_from_db()
