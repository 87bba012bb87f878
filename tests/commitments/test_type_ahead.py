"""The commitments table's type-ahead filters (actor, document, owner: core.widgets.TypeAhead):
the page lists none of their rows, a typed text becomes the filter's id, a text that names no
single row says what to do and changes nothing, and the suggestions show each reader only what
the table would."""

import re

import pytest
from django.urls import reverse

from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
)
from tracker.language import user_language_set

LIST_URL = reverse("commitments:commitment_list")


def choices_url(name: str) -> str:
    return reverse("commitments:filter_choices", args=[name])


def paragraph_of(document, number=1):
    return ParagraphFactory(document=document, number=number)


@pytest.fixture
def record(db):
    """Three documents (two whose titles hold "Neutrality"), two states, two owners."""
    documents = {
        "ashgabat": DocumentFactory(
            short_name="ashgabat-2020", title="Final Document on the Policy of Neutrality"
        ),
        "followup": DocumentFactory(
            short_name="ashgabat-2020-followup", title="Neutrality follow-up <report>"
        ),
        "water": DocumentFactory(short_name="dushanbe-water", title="Dushanbe Water Declaration"),
    }
    actors = {
        "xr": ActorFactory(name="Ruritania", iso_code="XR"),
        "xf": ActorFactory(name="Freedonia", iso_code="XF"),
    }
    owners = {
        "aylar": SecretariatFactory(username="aylar", first_name="Aylar", last_name="Berdyeva"),
        "merdan": SecretariatFactory(username="merdan.login", first_name="", last_name=""),
    }
    commitments = {
        "ashgabat": CommitmentFactory(
            title="Group of Friends",
            paragraphs=[paragraph_of(documents["ashgabat"])],
            lead_actors=[actors["xr"]],
            owner=owners["aylar"],
        ),
        "followup": CommitmentFactory(
            title="Forum every five years",
            paragraphs=[paragraph_of(documents["followup"])],
            lead_actors=[actors["xf"]],
            owner=owners["merdan"],
        ),
        "water": CommitmentFactory(
            title="Water summit",
            paragraphs=[paragraph_of(documents["water"])],
            lead_actors=[actors["xf"]],
            owner=owners["merdan"],
        ),
    }
    return {"documents": documents, "actors": actors, "owners": owners, **commitments}


def rows(response) -> set[str]:
    return {row.record.title for row in response.context["table"].page.object_list}


# --- The page ------------------------------------------------------------------------------


def test_the_page_lists_no_document_actor_or_owner(secretariat_client, record):
    page = secretariat_client.get(LIST_URL).content.decode()
    form = re.search(r'<form method="get" class="filters".*?</form>', page, re.S).group(0)

    for name in ("actor", "document", "owner"):
        assert f'<select name="{name}"' not in page
        box = re.search(rf'<input[^>]*name="{name}_text"[^>]*>', page).group(0)
        assert f'data-choices="{choices_url(name)}"' in box
        assert f'list="id_{name}_choices"' in box and f'id="id_{name}"' in box
        assert f'<datalist id="id_{name}_choices"></datalist>' in form
    for text in ("Dushanbe Water Declaration", "Ruritania", "Aylar Berdyeva", "merdan.login"):
        assert text not in form
    assert "Ruritania" in page  # in a row
    assert 'placeholder="Any document"' in page
    assert '<label for="id_document">' in page
    assert "/static/js/type-ahead.js" in page


def test_a_chosen_row_shows_its_label_and_keeps_its_id(secretariat_client, record):
    followup = record["documents"]["followup"]

    page = secretariat_client.get(LIST_URL, {"document": followup.pk}).content.decode()

    assert f'<input type="hidden" name="document" value="{followup.pk}">' in page
    box = re.search(r'<input[^>]*name="document_text"[^>]*>', page).group(0)
    assert 'value="Neutrality follow-up &lt;report&gt; (ashgabat-2020-followup)"' in box
    assert 'name="actor_text"' in page and 'name="actor" value' not in page  # none chosen


def test_a_liaison_reads_an_owner_by_role_not_by_login_name(liaison_client, record):
    merdan = record["owners"]["merdan"]

    page = liaison_client.get(LIST_URL, {"owner": merdan.pk}).content.decode()
    suggested = liaison_client.get(choices_url("owner")).json()["choices"]
    by_login = liaison_client.get(choices_url("owner"), {"q": "merdan"}).json()["choices"]

    assert "merdan.login" not in page and 'value="the secretariat"' in page
    assert sorted(suggested) == ["Aylar Berdyeva", "the secretariat"]
    assert by_login == []  # a login name is never matched for a reader who cannot read it


# --- What was typed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "Final Document on the Policy of Neutrality (ashgabat-2020)",  # as suggested
        "Final Document on the Policy of Neutrality",  # the title alone
        "  final document ON the policy   of neutrality ",  # case and spaces
        "ASHGABAT-2020",  # the short name, though ashgabat-2020-followup holds it too
        "policy of",  # the only title holding it
    ],
)
def test_a_text_naming_one_document_filters_by_it(secretariat_client, record, typed):
    ashgabat = record["documents"]["ashgabat"]
    query = {"sort": "-title", "document_text": typed, "status": "", "page": "3"}

    response = secretariat_client.get(LIST_URL, query)

    assert response.status_code == 302  # to the page's own address, its filters in their order
    assert response["Location"] == f"{LIST_URL}?document={ashgabat.pk}&sort=-title"
    followed = secretariat_client.get(response["Location"])
    assert rows(followed) == {"Group of Friends"}


def test_a_new_filter_starts_at_the_first_page(secretariat_client, record):
    ashgabat, water = record["documents"]["ashgabat"], record["documents"]["water"]
    for document in (ashgabat, water):  # two pages each
        CommitmentFactory.create_batch(30, paragraphs=[document.paragraphs.get()])
    query = {"document": ashgabat.pk, "page": "2"}

    kept = secretariat_client.get(LIST_URL, {**query, "document_text": "ashgabat-2020"})
    changed = secretariat_client.get(LIST_URL, {**query, "document_text": "water"})

    assert kept["Location"] == f"{LIST_URL}?document={ashgabat.pk}&page=2"  # the same filter
    assert changed["Location"] == f"{LIST_URL}?document={water.pk}"


def test_a_state_is_found_by_its_code_and_an_owner_by_part_of_a_name(secretariat_client, record):
    query = {"actor_text": "xf", "owner_text": "MERDAN", "document_text": ""}

    response = secretariat_client.get(LIST_URL, query)

    freedonia, merdan = record["actors"]["xf"], record["owners"]["merdan"]
    assert response["Location"] == f"{LIST_URL}?actor={freedonia.pk}&owner={merdan.pk}"
    assert rows(secretariat_client.get(response["Location"])) == {
        "Forum every five years",
        "Water summit",
    }


def test_an_emptied_box_lifts_its_filter(secretariat_client, record):
    water = record["documents"]["water"]
    paragraph = water.paragraphs.get()
    query = {"document": water.pk, "document_text": " ", "paragraph": paragraph.pk}

    response = secretariat_client.get(LIST_URL, query)

    assert response["Location"] == LIST_URL  # its paragraph went with the document


def test_a_new_document_drops_the_paragraph_of_the_old_one(secretariat_client, record):
    water = record["documents"]["water"]
    paragraph = water.paragraphs.get()
    query = {"document": water.pk, "document_text": "policy of", "paragraph": paragraph.pk}

    response = secretariat_client.get(LIST_URL, query)

    assert response["Location"] == f"{LIST_URL}?document={record['documents']['ashgabat'].pk}"


def test_the_unchanged_label_keeps_the_chosen_row_among_rows_of_that_label(liaison_client, record):
    """Two owners a liaison reads as "the secretariat": the one chosen stays chosen."""
    second = SecretariatFactory(username="jeren", first_name="", last_name="")
    CommitmentFactory(title="Third", owner=second)
    query = {"owner": second.pk, "owner_text": "The Secretariat", "sort": "title"}

    response = liaison_client.get(LIST_URL, query)

    assert response["Location"] == f"{LIST_URL}?owner={second.pk}&sort=title"
    assert rows(liaison_client.get(response["Location"])) == {"Third"}


def test_a_text_naming_no_row_says_so_and_shows_no_row(secretariat_client, record, kept_keys):
    query = {"document_text": "Vienna <b>", "actor_text": "Ruritania", "_export": "csv"}

    response = secretariat_client.get(LIST_URL, query)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "No document matches “Vienna &lt;b&gt;”: type part of its title or its short" in page
    assert "Select a valid choice" not in page
    assert re.search(r'name="document_text"[^>]*value="Vienna &lt;b&gt;"', page)
    ruritania = record["actors"]["xr"]
    assert f'<input type="hidden" name="actor" value="{ruritania.pk}">' in page
    assert rows(response) == set() and "0 commitments." in page
    assert not [key for key in kept_keys if "Vienna" in key]
    assert not any(key.startswith("tracker:page:") for key in kept_keys)


def test_a_text_naming_several_rows_names_some_of_them(secretariat_client, record):
    response = secretariat_client.get(LIST_URL, {"document_text": "neutrality"})

    page = response.content.decode()
    assert "2 documents match “neutrality”, among them “Final Document on the Policy of" in page
    assert "“Neutrality follow-up &lt;report&gt; (ashgabat-2020-followup)”: type more of" in page
    assert rows(response) == set()


def test_the_message_is_in_the_readers_language(secretariat_client, secretariat, record):
    user_language_set(user=secretariat, language="ru")

    page = secretariat_client.get(LIST_URL, {"actor_text": "Narnia"}).content.decode()

    several = secretariat_client.get(LIST_URL, {"document_text": "neutrality"})

    assert "Ни один участник не подходит под «Narnia»: введите часть его названия" in page
    assert "Под «neutrality» подходят 2 документа, среди них" in several.content.decode()


# --- The suggestions ---------------------------------------------------------------------------


def test_suggestions_put_exact_names_then_beginnings_then_the_rest(secretariat_client, record):
    for n in range(3):
        CommitmentFactory(
            paragraphs=[paragraph_of(DocumentFactory(short_name=f"x-{n}", title=f"Neutral {n}"))]
        )

    def suggested(text):
        return secretariat_client.get(choices_url("document"), {"q": text}).json()["choices"]

    followup = "Neutrality follow-up <report> (ashgabat-2020-followup)"
    assert suggested("neutrality follow-up <report>") == [followup]
    assert suggested("neutral")[:1] == [followup]  # a beginning first
    assert set(suggested("neutral")[1:4]) == {
        "Neutral 0 (x-0)",
        "Neutral 1 (x-1)",
        "Neutral 2 (x-2)",
    }
    assert suggested("neutral")[4:] == [
        "Final Document on the Policy of Neutrality (ashgabat-2020)"
    ]
    assert suggested("xr") == []
    assert len(suggested("")) == 6


def test_suggestions_stop_at_twenty(secretariat_client, db):
    for n in range(25):
        CommitmentFactory(lead_actors=[ActorFactory(name=f"State {n:02d}")])

    choices = secretariat_client.get(choices_url("actor"), {"q": "state"}).json()["choices"]

    assert choices == [f"State {n:02d}" for n in range(20)]


def test_suggestions_list_only_rows_some_commitment_uses(secretariat_client, record):
    DocumentFactory(title="Neutrality, unused")
    ActorFactory(name="Ruritania Airlines")

    documents = secretariat_client.get(choices_url("document"), {"q": "unused"}).json()
    actors = secretariat_client.get(choices_url("actor"), {"q": "rurit"}).json()

    assert documents == {"choices": []} and actors == {"choices": ["Ruritania"]}


def test_suggestions_follow_the_catalogue(secretariat_client, record):
    assert secretariat_client.get(choices_url("actor"), {"q": "graust"}).json()["choices"] == []

    CommitmentFactory(lead_actors=[ActorFactory(name="Grand Fenwick", iso_code="XG")])

    assert secretariat_client.get(choices_url("actor"), {"q": "xg"}).json() == {
        "choices": ["Grand Fenwick"]
    }


def test_no_suggestion_for_what_is_no_type_ahead_filter(secretariat_client, record):
    assert secretariat_client.get(choices_url("theme")).status_code == 404
    assert secretariat_client.get(choices_url("status")).status_code == 404
    assert secretariat_client.post(choices_url("actor")).status_code == 405


def test_suggestions_are_the_public_records(client, record, settings):
    response = client.get(choices_url("document"), {"q": "water"})
    assert response.status_code == 302 and "/login" in response["Location"]

    settings.TRACKER_PUBLIC_SITE = True
    response = client.get(choices_url("owner"))

    assert response.json() == {"choices": ["Aylar Berdyeva", "the secretariat"]}
    assert "no-cache" in response["Cache-Control"]


# --- Names as people write them --------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "Resolution 79/274\xa0Permanent  Neutrality (res-79-274)",  # the label, as suggested
        "resolution 79/274 permanent neutrality",  # as a browser or a person sends it back
        "Resolution\n79/274",
    ],
)
def test_a_name_with_odd_spaces_is_found_as_typed(secretariat_client, typed):
    document = DocumentFactory(
        short_name="res-79-274", title="Resolution 79/274\xa0Permanent  Neutrality"
    )
    CommitmentFactory(title="Permanent neutrality", paragraphs=[paragraph_of(document)])

    response = secretariat_client.get(LIST_URL, {"document_text": typed})
    kept = secretariat_client.get(LIST_URL, {"document": document.pk, "document_text": typed})

    assert response["Location"] == f"{LIST_URL}?document={document.pk}"
    assert kept["Location"] == f"{LIST_URL}?document={document.pk}"


def test_russian_names_are_found_with_e_for_yo(secretariat_client, db):
    CommitmentFactory(lead_actors=[ActorFactory(name="Объединённые Нации")])

    suggested = secretariat_client.get(choices_url("actor"), {"q": "объединенные"}).json()

    assert suggested == {"choices": ["Объединённые Нации"]}


def test_owners_a_liaison_reads_alike_are_suggested_once_and_said_so(liaison_client, record):
    CommitmentFactory(owner=SecretariatFactory(username="jeren", first_name="", last_name=""))

    suggested = liaison_client.get(choices_url("owner"), {"q": "secretariat"}).json()
    page = liaison_client.get(LIST_URL, {"owner_text": "the secretariat"}).content.decode()

    assert suggested == {"choices": ["the secretariat"]}
    assert "Several owners are shown to you as “the secretariat”, so none of them can be" in page
    assert "jeren" not in page


def test_the_secretariat_reads_the_login_name_beside_a_shared_name(secretariat_client, record):
    bobs = [
        SecretariatFactory(username=f"bob{n}", first_name="Bob", last_name="Smith") for n in (1, 2)
    ]
    zoe = SecretariatFactory(username="aaa", first_name="Zoe", last_name="Adams")
    for owner in [*bobs, zoe]:
        CommitmentFactory(title=f"Owned by {owner.username}", owner=owner)

    suggested = secretariat_client.get(choices_url("owner")).json()["choices"]
    response = secretariat_client.get(LIST_URL, {"owner_text": "Bob Smith (bob2)"})

    # In the order of the names read, not of the login names behind them.
    assert suggested == [
        "Aylar Berdyeva", "Bob Smith (bob1)", "Bob Smith (bob2)", "merdan.login", "Zoe Adams"
    ]  # fmt: skip
    assert response["Location"] == f"{LIST_URL}?owner={bobs[1].pk}"


def test_a_paragraph_of_the_typed_document_stays(secretariat_client, record):
    ashgabat = record["documents"]["ashgabat"]
    paragraph = ashgabat.paragraphs.get()

    response = secretariat_client.get(
        LIST_URL, {"paragraph": paragraph.pk, "document_text": "ashgabat-2020"}
    )

    assert response["Location"] == f"{LIST_URL}?document={ashgabat.pk}&paragraph={paragraph.pk}"


def test_the_links_of_a_page_with_a_message_ask_again_with_the_text(secretariat_client, record):
    page = secretariat_client.get(LIST_URL, {"document_text": "Vienna", "sort": "title"})
    html = page.content.decode()

    sort_link = re.search(r'href="(\?[^"]*sort=target_date[^"]*)"', html).group(1)
    export_link = re.search(r'href="(\?[^"]*_export=csv[^"]*)"', html).group(1)
    resorted = secretariat_client.get(LIST_URL + sort_link.replace("&amp;", "&"))
    exported = secretariat_client.get(LIST_URL + export_link.replace("&amp;", "&"))

    assert "document_text=Vienna" in sort_link
    assert "No document matches “Vienna”" in resorted.content.decode()
    assert exported["Content-Type"].startswith("text/html")
    assert "No document matches “Vienna”" in exported.content.decode()


def test_the_message_is_the_box_description(secretariat_client, record):
    page = secretariat_client.get(LIST_URL, {"document_text": "Vienna"}).content.decode()

    box = re.search(r'<input[^>]*name="document_text"[^>]*>', page).group(0)
    described_by = re.search(r'aria-describedby="([^"]*)"', box).group(1).split()
    assert 'aria-invalid="true"' in box
    assert "id_document_error" in described_by
    assert '<div class="errorlist" id="id_document_error">No document matches' in page
