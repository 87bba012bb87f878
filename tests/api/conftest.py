"""A small record with something internal in every internal field, for the API's tests: the
marker strings must never reach an anonymous reader or a liaison (and do reach the secretariat,
so a test that looks for them can fail)."""

import datetime
from dataclasses import dataclass

import pytest

from commitments import services
from commitments.models import Commitment, StatusUpdate
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    EventFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
)

INTERNAL_NARRATIVE = "MARKER-internal-narrative"
INTERNAL_REASON = "MARKER-internal-withdrawal-reason"
INTERNAL_EVENT = "MARKER internal event"
OWNER_EMAIL = "owner-MARKER@example.org"
MARKERS = (INTERNAL_NARRATIVE, INTERNAL_REASON, INTERNAL_EVENT, OWNER_EMAIL, "@example.org")


@dataclass
class Record:
    commitment: Commitment
    other: Commitment
    public_update: StatusUpdate
    withdrawn: StatusUpdate


def _update(commitment, author, narrative, visibility=StatusUpdate.Visibility.PUBLIC, day=1):
    return services.status_update_create(
        commitment=commitment,
        author=author,
        status="in_progress",
        progress=30,
        narrative=narrative,
        happened_on=datetime.date(2021, 4, day),
        visibility=visibility,
        progress_reason="Asked for.",
    )


@pytest.fixture
def record(db, liaison) -> Record:
    owner = SecretariatFactory(username="owner", email=OWNER_EMAIL, first_name="Aman")
    document = DocumentFactory(short_name="ashgabat-2020")
    first, second = ParagraphFactory(document=document), ParagraphFactory(document=document)
    commitment = CommitmentFactory(
        title="A UN OCHA office", paragraphs=[first], lead_actors=[liaison.actor], owner=owner
    )
    commitment.themes.set([ThemeFactory(name="Peace")])
    other = CommitmentFactory(title="A forum", paragraphs=[second], lead_actors=[ActorFactory()])
    public = _update(commitment, owner, "The office opened.", day=1)
    _update(commitment, owner, INTERNAL_NARRATIVE, StatusUpdate.Visibility.INTERNAL, day=2)
    withdrawn = _update(commitment, owner, "Announced too early.", day=3)
    commitment.refresh_from_db()
    services.status_update_withdraw(
        update=withdrawn, author=owner, reason=INTERNAL_REASON, expected_version=commitment.version
    )
    EventFactory(title="Neutrality Day", commitments=[commitment])
    EventFactory(title=INTERNAL_EVENT, is_public=False, commitments=[other])
    return Record(commitment, other, public, withdrawn)
