"""Curating documents in the app: the list, importing a text with a preview, the details form
against the document's version, and the links between documents."""

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from commitments import services
from commitments.document_forms import DocumentLinkForm
from commitments.import_preview import StalePreview, document_import_apply
from commitments.models import Document, DocumentLink, Paragraph
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

IMPORT_URL = reverse("commitments:document_import")
APPLY_URL = reverse("commitments:document_import_apply")
LIST_URL = reverse("commitments:document_list")

TEXT = """12 December 2020

Final document of the conference on neutrality

Recalling the Charter of the United Nations,

The participants have therefore:

1. Highlighted the first thing;

2. Encouraged the second thing;

3. Supported the third thing.

Ashgabat, December 12, 2020
"""


def changed(text: str) -> str:
    """The text with paragraph 2 reworded."""
    return text.replace("Encouraged the second thing;", "Encouraged the second thing again;")


def upload(content: bytes, name: str = "document.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "text/plain")


def preview(client, **data):
    return client.post(IMPORT_URL, {"short_name": "", "source_url": "", **data})


def apply_from(client, response, **override):
    form = response.context["apply_form"]
    data = {"text": form.initial["text"], "fingerprint": form.initial["fingerprint"], **override}
    return client.post(APPLY_URL, data)


def database_state() -> tuple[list, list]:
    documents = list(Document.objects.order_by("pk").values())
    paragraphs = list(Paragraph.objects.order_by("pk").values())
    return documents, paragraphs


@pytest.fixture
def imported(db):
    from commitments.importers import document_import

    document_import(text=TEXT)
    return Document.objects.get(short_name="ashgabat-2020")


# -- importing with a preview ------------------------------------------------------------------


def test_a_new_text_is_previewed_then_created_on_apply(secretariat_client):
    response = preview(secretariat_client, file=upload(TEXT.encode()))

    assert response.status_code == 200
    assert not Document.objects.exists()  # the preview writes nothing
    assert "creates the document “ashgabat-2020” with 3 paragraphs" in response.content.decode()

    applied = apply_from(secretariat_client, response)

    document = Document.objects.get(short_name="ashgabat-2020")
    assert applied.status_code == 302
    assert applied.url == document.get_absolute_url()
    assert list(document.paragraphs.values_list("number", flat=True)) == [1, 2, 3]
    assert str(document.published_on) == "2020-12-12"  # the text's date line


def test_a_changed_text_shows_old_and_new_side_by_side_and_who_quotes_it(
    secretariat_client, imported
):
    second = imported.paragraphs.get(number=2)
    CommitmentFactory(title="Second thing", paragraphs=[second])
    CommitmentFactory(title="Also the second thing", paragraphs=[second])

    response = preview(secretariat_client, text=changed(TEXT))

    page = response.content.decode()
    change = response.context["preview"].changed
    assert [c.number for c in change] == [2]
    assert change[0].old.text == "Encouraged the second thing;"
    assert change[0].new.text == "Encouraged the second thing again;"
    assert "Quoted by 2 commitments:" in page
    assert "Also the second thing" in page and "Second thing" in page
    assert imported.paragraphs.get(number=2).text == "Encouraged the second thing;"


def test_applying_a_changed_text_updates_it_in_place_and_raises_the_version(
    secretariat_client, imported
):
    second = imported.paragraphs.get(number=2)

    apply_from(secretariat_client, preview(secretariat_client, text=changed(TEXT)))

    second.refresh_from_db()  # the same row: commitments citing it keep pointing at it
    assert second.text == "Encouraged the second thing again;"
    assert Document.objects.get(pk=imported.pk).version == imported.version + 1


def test_new_and_removed_paragraphs_are_listed(secretariat_client, imported):
    text = TEXT.replace("3. Supported the third thing.", "3. Noted a new third thing.")
    text = text.replace("1. Highlighted the first thing;\n\n", "")
    text = text.replace("2. Encouraged", "1. Encouraged").replace("3. Noted", "2. Noted")

    response = preview(secretariat_client, text=text)

    result = response.context["preview"]
    assert [c.number for c in result.removed] == [3]
    assert [c.number for c in result.changed] == [1, 2]
    assert "Removed paragraphs" in response.content.decode()


def test_a_preview_applied_after_the_document_changed_is_refused(secretariat_client, imported):
    response = preview(secretariat_client, text=changed(TEXT))
    # Someone else edits a paragraph (the admin raises no version) after the preview.
    Paragraph.objects.filter(document=imported, number=1).update(text="Edited elsewhere;")
    before = database_state()

    refused = apply_from(secretariat_client, response)

    assert refused.status_code == 409
    assert "changed after your preview" in refused.content.decode()
    assert database_state() == before


def test_a_preview_applied_after_another_edit_of_the_details_is_refused(
    secretariat_client, imported
):
    response = preview(secretariat_client, text=changed(TEXT))
    services.document_update(document=imported, expected_version=1, symbol="A/75/1")
    before = database_state()

    assert apply_from(secretariat_client, response).status_code == 409
    assert database_state() == before


def test_a_preview_applied_with_another_text_is_refused(secretariat_client, imported):
    response = preview(secretariat_client, text=changed(TEXT))
    before = database_state()

    refused = apply_from(secretariat_client, response, text=TEXT.replace("first", "forged"))

    assert refused.status_code == 409
    assert "differs from the text previewed" in refused.content.decode()
    assert database_state() == before


def test_a_forged_fingerprint_is_refused(db):
    with pytest.raises(StalePreview):
        document_import_apply(text=TEXT, fingerprint="not-signed")
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Just a note without numbered paragraphs.\n", "numbered paragraphs"),
        (TEXT.encode("utf-16"), "UTF-16"),
        (TEXT.encode("cp1251").replace(b"Final", "Итоговый".encode("cp1251")), "not UTF-8"),
    ],
)
def test_a_malformed_upload_shows_the_importers_message_and_writes_nothing(
    secretariat_client, content, message
):
    response = preview(secretariat_client, file=upload(content))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not Document.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(secretariat_client, settings):
    from commitments import document_forms

    big = upload(b"1. Noted.\n" * (document_forms.MAX_FILE_BYTES // 10 + 1))

    response = preview(secretariat_client, file=big)

    assert response.status_code == 400
    assert "at most 5.0" in response.content.decode()


def test_removing_a_quoted_paragraph_is_refused_in_the_form(secretariat_client, imported):
    CommitmentFactory(title="Third thing", paragraphs=[imported.paragraphs.get(number=3)])
    text = TEXT.replace("3. Supported the third thing.\n\n", "")

    response = preview(secretariat_client, text=text)

    assert response.status_code == 400
    assert "has no paragraph 3, which commitments cite" in response.content.decode()


def test_neither_file_nor_text_asks_for_one(secretariat_client):
    response = preview(secretariat_client)

    assert response.status_code == 400
    assert "Upload the document" in response.content.decode()


# -- the details form --------------------------------------------------------------------------


def details(document, **changes) -> dict:
    data = {
        "title": document.title,
        "symbol": document.symbol,
        "alternative_title": document.alternative_title,
        "place": document.place,
        "adopted_on": document.adopted_on or "",
        "published_on": document.published_on or "",
        "source_url": document.source_url,
        "language": document.language,
        "version": document.version,
    }
    return data | changes


def test_the_details_form_saves_the_publication_date_shown_on_the_page(secretariat_client, db):
    document = DocumentFactory()
    url = reverse("commitments:document_edit", args=[document.short_name])

    response = secretariat_client.post(url, details(document, published_on="2020-12-15"))

    assert response.status_code == 302
    document.refresh_from_db()
    assert str(document.published_on) == "2020-12-15" and document.version == 2
    page = secretariat_client.get(document.get_absolute_url()).content.decode()
    assert "Published" in page and 'datetime="2020-12-15"' in page


def test_a_stale_details_form_shows_the_conflict_and_saves_nothing(secretariat_client, db):
    document = DocumentFactory(symbol="A/75/1")
    url = reverse("commitments:document_edit", args=[document.short_name])
    stale = details(document, symbol="A/75/2")
    services.document_update(document=document, expected_version=1, symbol="A/75/9")

    response = secretariat_client.post(url, stale)

    assert response.status_code == 409
    document.refresh_from_db()
    assert document.symbol == "A/75/9" and document.version == 2
    assert response.context["conflict_rows"] == [("Symbol", "A/75/9", "A/75/2")]
    assert response.context["form"]["version"].value() == 2  # saving again is deliberate


# -- links between documents -------------------------------------------------------------------


def test_a_link_is_shown_both_ways_with_the_inverse_wording(secretariat_client, db):
    resolution = DocumentFactory(title="Resolution 78/266")
    declaration = DocumentFactory(title="Ashgabat Declaration")
    url = reverse("commitments:document_link_create", args=[declaration.short_name])

    response = secretariat_client.post(url, {"kind": "follows_up", "to_document": resolution.pk})

    assert response.status_code == 302
    link = DocumentLink.objects.get()
    assert (link.from_document, link.to_document) == (declaration, resolution)
    assert link.kind == "follows_up"
    from_page = secretariat_client.get(declaration.get_absolute_url()).content.decode()
    to_page = secretariat_client.get(resolution.get_absolute_url()).content.decode()
    assert "This document follows up <a" in from_page
    assert "This document is followed up by <a" in to_page
    assert "Ashgabat Declaration" in to_page


@pytest.mark.parametrize(
    ("kind", "inverse"),
    [
        ("follows_up", "is followed up by"),
        ("implements", "is implemented by"),
        ("supersedes", "is superseded by"),
        ("translation_of", "is translated as"),
    ],
)
def test_every_kind_has_its_inverse_wording(db, kind, inverse):
    link = services.document_link_create(
        from_document=DocumentFactory(), to_document=DocumentFactory(), kind=kind, author=None
    )
    assert link.inverse_wording == inverse


def test_a_document_linked_to_itself_is_refused(secretariat_client, db):
    document = DocumentFactory()
    url = reverse("commitments:document_link_create", args=[document.short_name])

    response = secretariat_client.post(url, {"kind": "implements", "to_document": document.pk})

    assert response.status_code == 400
    assert "cannot be linked to itself" in response.content.decode()
    assert not DocumentLink.objects.exists()


def test_a_duplicate_link_is_refused(secretariat_client, secretariat, db):
    first, second = DocumentFactory(), DocumentFactory()
    services.document_link_create(
        from_document=first, to_document=second, kind="supersedes", author=secretariat
    )
    url = reverse("commitments:document_link_create", args=[first.short_name])

    response = secretariat_client.post(url, {"kind": "supersedes", "to_document": second.pk})

    assert response.status_code == 400
    assert "This link exists already" in response.content.decode()
    assert DocumentLink.objects.count() == 1


def test_the_database_refuses_a_link_to_itself_too(db):
    from django.db import IntegrityError, transaction

    document = DocumentFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentLink.objects.create(from_document=document, to_document=document, kind="implements")


def test_removing_a_link_from_either_page_is_in_the_audit_trail(secretariat_client, secretariat):
    first, second = DocumentFactory(), DocumentFactory()
    link = services.document_link_create(
        from_document=first, to_document=second, kind="implements", author=secretariat
    )
    url = reverse("commitments:document_link_delete", args=[second.short_name, link.pk])

    response = secretariat_client.post(url)

    assert response.status_code == 302
    assert not DocumentLink.objects.exists()
    entry = LogEntry.objects.get_for_model(DocumentLink).get(action=LogEntry.Action.DELETE)
    assert entry.actor == secretariat


def test_a_link_of_other_documents_cannot_be_removed_through_this_one(secretariat_client, db):
    first, second, third = DocumentFactory(), DocumentFactory(), DocumentFactory()
    link = services.document_link_create(
        from_document=first, to_document=second, kind="implements", author=None
    )
    url = reverse("commitments:document_link_delete", args=[third.short_name, link.pk])

    assert secretariat_client.post(url).status_code == 404
    assert DocumentLink.objects.count() == 1


# -- the list and the page, in a fixed number of queries ---------------------------------------


def test_the_list_links_every_document_and_the_menu_links_the_list(liaison_client, db):
    documents = [DocumentFactory(title=f"Document {n}") for n in range(3)]

    page = liaison_client.get(LIST_URL).content.decode()

    for document in documents:
        assert f'href="{document.get_absolute_url()}"' in page
    assert f'<a href="{LIST_URL}">Documents</a>' in page
    assert "Import a document" not in page  # the secretariat's


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_reads_in_the_same_queries_however_many_documents(
    secretariat_client, django_assert_num_queries, count
):
    for n in range(count):
        ParagraphFactory(document=DocumentFactory(title=f"Document {n}"))

    with django_assert_num_queries(LIST_QUERIES):
        response = secretariat_client.get(LIST_URL)
    assert len(response.context["documents"]) == count


@pytest.mark.parametrize("count", [2, 20])
def test_the_document_page_reads_in_the_same_queries_however_many_links_and_paragraphs(
    secretariat_client, django_assert_num_queries, count
):
    document = DocumentFactory()
    for n in range(count):
        paragraph = ParagraphFactory(document=document, number=n + 1)
        CommitmentFactory(paragraphs=[paragraph])
        other = DocumentFactory(title=f"Other {n}")
        kind = "implements" if n % 2 else "translation_of"
        services.document_link_create(
            from_document=document, to_document=other, kind=kind, author=None
        )
        services.document_link_create(
            from_document=other, to_document=document, kind="follows_up", author=None
        )

    with django_assert_num_queries(PAGE_QUERIES):
        response = secretariat_client.get(document.get_absolute_url())
    assert response.content.decode().count("<li>This document") == 2 * count


def test_the_link_form_offers_every_other_document_as_djangos_select_would(secretariat_client, db):
    from django import forms

    document = DocumentFactory(title="Declaration")
    others = [DocumentFactory(title=title) for title in ("A & <b>", 'Quoted "one"')]
    form = DocumentLinkForm(data={"to_document": str(others[1].pk)})
    choices = list(form.fields["to_document"].choices)

    written = str(form["to_document"])

    assert written == form["to_document"].as_widget(forms.Select(choices=choices))
    assert f'<option value="{others[1].pk}" selected>' in written
    page = secretariat_client.get(document.get_absolute_url()).content.decode()
    assert f'<option value="{others[0].pk}">A &amp; &lt;b&gt;</option>' in page


@pytest.mark.parametrize("count", [2, 20])
def test_the_link_form_renders_no_template_per_document(secretariat_client, db, count):
    """Django's select renders each option through two template includes (0.25 ms each: half
    a second of the secretariat's page at 2,000 documents); the link form writes them itself."""
    document = DocumentFactory()
    DocumentFactory.create_batch(count)

    response = secretariat_client.get(document.get_absolute_url())

    names = [template.name for template in response.templates]
    assert names.count("django/forms/widgets/select_option.html") == len(DocumentLink.Kind)
    assert len(names) == TEMPLATES_RENDERED


# The page, its parts and the link form's fields, whose only select options are its four kinds.
TEMPLATES_RENDERED = 21


# The session and the user (2) and the page's own reads (the session is not saved within its
# refresh interval: core.sessions):
# the list reads its documents with their paragraph counts in one query; the page reads the
# document, its paragraphs, their commitments, its links each way, and the documents the link
# form offers, and whether the reader follows it.
LIST_QUERIES = 2 + 1
PAGE_QUERIES = 2 + 7


def test_a_save_in_the_admin_raises_the_version_so_open_forms_are_refused(rf, superuser):
    from django.contrib import admin

    document = DocumentFactory()
    admin.site._registry[Document].save_model(rf.post("/"), document, None, True)

    document.refresh_from_db()
    assert document.version == 2


def test_the_preview_writes_days_as_the_site_does_and_an_empty_value_as_not_set(
    secretariat_client, imported
):
    Document.objects.filter(pk=imported.pk).update(published_on=None)

    page = preview(secretariat_client, text=changed(TEXT)).content.decode()

    assert "publication date changed: not set -&gt; 12 December 2020" in page
    assert "(none)" not in page and "2020-12-12 " not in page


def test_the_side_by_side_preview_does_not_repeat_the_operative_verb(secretariat_client, imported):
    page = preview(secretariat_client, text=changed(TEXT)).content.decode()

    assert "<td>Encouraged the second thing;</td>" in page
    assert "Encouraged</em>" not in page
