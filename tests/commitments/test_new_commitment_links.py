"""A new commitment's links (services._links_added): the rows and the m2m_changed signals
that the related managers' add() would give, without its read of the links it has."""

import pytest
from django.db.models.signals import m2m_changed

from commitments import services
from commitments.models import Commitment
from tests.factories import ActorFactory, ParagraphFactory, ThemeFactory


def recorded_signals(action) -> list[tuple]:
    signals = []

    def record(sender, instance, **kwargs):
        pk_set = kwargs["pk_set"]
        signals.append(
            (sender, kwargs["action"], kwargs["model"], kwargs["reverse"], kwargs["using"],
             frozenset(pk_set or ()), instance.title)
        )  # fmt: skip

    m2m_changed.connect(record, weak=False)
    try:
        action()
    finally:
        m2m_changed.disconnect(record)
    return signals


def test_a_new_commitments_links_are_what_add_writes_and_signals(db):
    paragraphs = [ParagraphFactory(number=n) for n in (1, 2)]
    actors, themes = [ActorFactory(), ActorFactory()], [ThemeFactory()]
    links = {"paragraphs": paragraphs, "lead_actors": actors, "themes": themes}

    def created():
        services.commitment_create(values={"title": "Water for all", **links})

    def added():
        commitment = Commitment.objects.create(title="Water for all", slug="water-for-all-2")
        for name, rows in links.items():
            getattr(commitment, name).add(*rows)

    by_service, by_add = recorded_signals(created), recorded_signals(added)
    assert by_service == by_add
    assert [action for _, action, *_ in by_service] == ["pre_add", "post_add"] * 3
    made, plain = Commitment.objects.order_by("pk")
    for name in links:
        assert set(getattr(made, name).all()) == set(getattr(plain, name).all()) != set()
    assert made.first_paragraph_number == 1


def test_no_constraint_of_a_commitment_can_be_broken_by_commitment_create(db):
    """commitment_create does not ask the database to check Commitment's constraints
    (validate_constraints=False): its one constraint is on the progress, which comes from the
    status updates and which commitment_create refuses to set. A constraint added to the model
    fails here until commitment_create checks it."""
    assert {c.name for c in Commitment._meta.constraints} == {"commitment_progress_at_most_100"}
    assert "progress" not in services.EDITABLE_FIELDS
    with pytest.raises(TypeError, match="Not editable"):
        services.commitment_create(
            values={"title": "Water for all", "progress": 101, "paragraphs": [ParagraphFactory()]}
        )
    assert not Commitment.objects.exists()
