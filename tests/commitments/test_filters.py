"""The commitments table's filters stay small however many documents and users there are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.models import EvidenceFile, StatusUpdate
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    post_status_update,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")


@pytest.fixture
def two_documents():
    first, second = DocumentFactory(short_name="First"), DocumentFactory(short_name="Second")
    p1, p2 = ParagraphFactory(document=first, number=1), ParagraphFactory(document=first, number=2)
    other = ParagraphFactory(document=second, number=1)
    return {
        "first": first,
        "second": second,
        "p1": p1,
        "p2": p2,
        "other": other,
        "a": CommitmentFactory(title="A", paragraphs=[p1]),
        "b": CommitmentFactory(title="B", paragraphs=[p2, other]),
        "c": CommitmentFactory(title="C", paragraphs=[other]),
    }


def form_and_titles(client, params):
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    titles = [row.record.title for row in response.context["table"].page.object_list]
    return response.context["filter"].form, titles


def test_no_paragraph_is_offered_until_a_document_is_chosen(secretariat_client, two_documents):
    form, titles = form_and_titles(secretariat_client, {})

    assert list(form.fields["paragraph"].queryset) == []
    documents = set(form.fields["document"].queryset)
    assert documents == {two_documents["first"], two_documents["second"]}
    assert titles == ["A", "B", "C"]


def test_a_chosen_document_offers_its_paragraphs_and_filters(secretariat_client, two_documents):
    form, titles = form_and_titles(secretariat_client, {"document": two_documents["first"].pk})

    assert list(form.fields["paragraph"].queryset) == [two_documents["p1"], two_documents["p2"]]
    assert titles == ["A", "B"]  # B once, though two of its paragraphs are elsewhere


def test_a_paragraph_alone_still_filters_as_the_dashboard_links_it(
    secretariat_client, two_documents
):
    form, titles = form_and_titles(secretariat_client, {"paragraph": two_documents["other"].pk})

    assert titles == ["B", "C"]
    assert list(form.fields["paragraph"].queryset) == [two_documents["other"]]


@pytest.mark.parametrize(
    "params",
    [
        {"document": "x"},
        {"document": "99999999999999999999"},
        {"paragraph": "-1"},
        {"paragraph": "99999999999999999999", "document": "1e3"},
    ],
)
def test_a_bad_document_or_paragraph_is_a_message_not_an_error(
    secretariat_client, two_documents, params
):
    response = secretariat_client.get(LIST_URL, params)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_owners_are_secretariat_people_who_own_something(secretariat_client, secretariat):
    liaison_owner, idle = LiaisonFactory(), SecretariatFactory()
    CommitmentFactory(owner=secretariat)
    CommitmentFactory(owner=liaison_owner)

    form, _ = form_and_titles(secretariat_client, {})

    assert list(form.fields["owner"].queryset) == [secretariat]
    assert idle not in form.fields["owner"].queryset


# --- The search box also reads status updates (issue 10) --------------------------------------


def found(client, words: str) -> list[str]:
    return form_and_titles(client, {"q": words})[1]


@pytest.fixture
def updated(secretariat):
    quiet = CommitmentFactory(title="Quiet")
    public = CommitmentFactory(title="Forum")
    post_status_update(
        public,
        secretariat,
        narrative="Regional meeting held in Almaty with all five states.",
        links=[("Communique of the Bishkek ministers", "https://example.org/c")],
    )
    internal = CommitmentFactory(title="Envoy")
    post_status_update(
        internal,
        secretariat,
        narrative="Envoy sounded out Dushanbe informally.",
        visibility=StatusUpdate.Visibility.INTERNAL,
        links=[("Cable from Tashkent", "https://example.org/t")],
    )
    EvidenceFile.objects.create(
        update=internal.updates.get(),
        title="Samarkand minutes",
        file="x.pdf",
        content_type="application/pdf",
        size=1,
    )
    return quiet, public, internal


def test_words_in_a_narrative_find_the_commitment(secretariat_client, updated):
    assert found(secretariat_client, "Almaty") == ["Forum"]
    assert found(secretariat_client, "almaty") == ["Forum"]


def test_words_in_an_evidence_title_find_the_commitment(secretariat_client, updated):
    assert found(secretariat_client, "Bishkek") == ["Forum"]
    assert found(secretariat_client, "Samarkand") == ["Envoy"]


def test_the_secretariat_finds_words_in_internal_updates(secretariat_client, updated):
    assert found(secretariat_client, "Dushanbe") == ["Envoy"]
    assert found(secretariat_client, "Tashkent") == ["Envoy"]


@pytest.mark.parametrize("word", ["Dushanbe", "Tashkent", "Samarkand"])
def test_a_liaison_never_finds_a_commitment_by_an_internal_update(client, updated, word):
    client.force_login(LiaisonFactory())

    assert found(client, word) == []
    assert found(client, "Almaty") == ["Forum"]  # public updates are searched for liaisons


def test_the_title_summary_and_paragraph_are_still_searched(secretariat_client, updated):
    assert found(secretariat_client, "Quie") == ["Quiet"]
    assert sorted(found(secretariat_client, "paragraph asks")) == ["Envoy", "Forum", "Quiet"]


def test_searching_updates_costs_the_same_queries_for_many_matches(
    secretariat_client, secretariat, django_assert_max_num_queries
):
    post_status_update(CommitmentFactory(title="One"), secretariat, narrative="Held in Almaty.")
    for n in range(12):
        post_status_update(
            CommitmentFactory(title=f"Many {n}"), secretariat, narrative="Held in Ashgabat."
        )

    with CaptureQueriesContext(connection) as one:
        assert found(secretariat_client, "Almaty") == ["One"]
    with django_assert_max_num_queries(len(one)):
        assert len(found(secretariat_client, "Ashgabat")) == 12
