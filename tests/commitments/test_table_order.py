"""Commitment.first_paragraph_number, the table's default order, follows the paragraphs."""

import pytest
from django.urls import reverse

from commitments.models import Commitment
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

pytestmark = pytest.mark.django_db


def first_number(commitment) -> int | None:
    return Commitment.objects.values_list("first_paragraph_number", flat=True).get(pk=commitment.pk)


@pytest.fixture
def document():
    return DocumentFactory()


@pytest.fixture
def p(document):
    """Paragraphs 3, 7 and 12 of one document, by number."""
    return {n: ParagraphFactory(document=document, number=n) for n in (3, 7, 12)}


def test_a_new_commitment_takes_its_lowest_paragraph_number(p):
    commitment = CommitmentFactory(paragraphs=[p[12], p[7]])

    assert first_number(commitment) == 7


def test_linking_and_unlinking_paragraphs_moves_it(p):
    commitment = CommitmentFactory(paragraphs=[p[12]])

    commitment.paragraphs.add(p[3])
    assert first_number(commitment) == 3

    commitment.paragraphs.remove(p[3])
    assert first_number(commitment) == 12

    commitment.paragraphs.set([p[7]])
    assert first_number(commitment) == 7

    commitment.paragraphs.clear()
    assert first_number(commitment) is None


def test_linking_from_the_paragraphs_side_moves_it_too(p):
    commitment = CommitmentFactory(paragraphs=[p[12]])

    p[3].commitments.add(commitment)
    assert first_number(commitment) == 3

    p[3].commitments.clear()
    assert first_number(commitment) == 12


def test_a_renumbered_paragraph_moves_its_commitments(p):
    commitment = CommitmentFactory(paragraphs=[p[7], p[12]])

    p[7].number = 20
    p[7].save()

    assert first_number(commitment) == 12


def test_a_deleted_paragraph_leaves_the_next_lowest(p):
    commitment = CommitmentFactory(paragraphs=[p[3], p[12]])

    p[3].delete()

    assert first_number(commitment) == 12


def test_the_table_lists_in_the_documents_order_by_default(p, secretariat_client):
    CommitmentFactory(title="A late paragraph", paragraphs=[p[12]])
    CommitmentFactory(title="B early paragraph", paragraphs=[p[12], p[3]])
    CommitmentFactory(title="C middle paragraph", paragraphs=[p[7]])

    page = secretariat_client.get(reverse("commitments:commitment_list")).content.decode()

    titles = ["B early paragraph", "C middle paragraph", "A late paragraph"]
    assert [page.index(title) for title in titles] == sorted(page.index(t) for t in titles)
