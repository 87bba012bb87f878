import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.admin import CommitmentAdmin
from commitments.models import Commitment, Document, StatusUpdate
from commitments.statuses import Status
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
)
from tests.factories import post_status_update as post


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def update(db, secretariat):
    return post(CommitmentFactory(), secretariat, links=[("Source", "https://example.org/s")])


@pytest.mark.parametrize("name", ["document", "actor", "theme", "commitment", "statusupdate"])
def test_every_list_and_add_page_opens(admin_client, update, name):
    changelist = admin_client.get(reverse(f"admin:commitments_{name}_changelist"))

    assert changelist.status_code == 200
    if name != "statusupdate":
        assert admin_client.get(reverse(f"admin:commitments_{name}_add")).status_code == 200


def test_a_document_is_entered_with_its_paragraphs_inline(admin_client):
    data = {
        "short_name": "ashgabat-2020",
        "title": "Final Document",
        "language": "en",
        "paragraphs-TOTAL_FORMS": "1",
        "paragraphs-INITIAL_FORMS": "0",
        "paragraphs-0-number": "1",
        "paragraphs-0-operative_verb": "Highlighted",
        "paragraphs-0-text": "Highlighted the importance of neutrality;",
    }

    response = admin_client.post(reverse("admin:commitments_document_add"), data)

    assert response.status_code == 302
    assert Document.objects.get().paragraphs.get().operative_verb == "Highlighted"


def test_the_commitment_form_uses_filter_horizontal_and_keeps_the_state_read_only(
    admin_client, update
):
    commitment = update.commitment
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])

    html = admin_client.get(url).content.decode()

    assert "SelectFilter" in html or "selectfilter" in html
    assert 'name="status"' not in html and 'name="version"' not in html


def test_the_commitment_list_filters_and_searches(admin_client, update):
    CommitmentFactory(title="Code of practice")
    url = reverse("admin:commitments_commitment_changelist")

    found = admin_client.get(url, {"q": "practice"}).context["cl"].result_list
    in_progress = admin_client.get(url, {"status__exact": Status.IN_PROGRESS})

    assert [c.title for c in found] == ["Code of practice"]
    assert list(in_progress.context["cl"].result_list) == [update.commitment]


@pytest.fixture
def two_documents(db):
    """A commitment of ashgabat-2020, and one of a document whose short name begins so."""
    ashgabat = DocumentFactory(short_name="ashgabat-2020")
    wanted = CommitmentFactory(paragraphs=[ParagraphFactory(document=ashgabat, number=1)])
    followup = DocumentFactory(short_name="ashgabat-2020-followup")
    CommitmentFactory(paragraphs=[ParagraphFactory(document=followup, number=1)])
    return ashgabat, wanted


def test_the_commitment_list_finds_a_documents_commitments_by_its_short_name(
    admin_client, two_documents
):
    """By the search box (the exact short name): the change list has no filter listing every
    document."""
    _, wanted = two_documents
    url = reverse("admin:commitments_commitment_changelist")

    found = admin_client.get(url, {"q": "ashgabat-2020"}).context["cl"].result_list

    assert list(found) == [wanted]


OLD_FILTER_LOOKUPS = ["paragraphs__document__id__exact", "paragraphs__document__exact"]


@pytest.mark.parametrize("lookup", OLD_FILTER_LOOKUPS)
def test_a_link_kept_from_the_document_filter_still_filters(admin_client, two_documents, lookup):
    ashgabat, wanted = two_documents
    url = reverse("admin:commitments_commitment_changelist")

    response = admin_client.get(url, {lookup: ashgabat.pk})
    junk = admin_client.get(url, {lookup: "abc"})

    assert list(response.context["cl"].result_list) == [wanted]
    assert junk.status_code == 302 and junk["Location"].endswith("?e=1")  # Django's own answer


def test_the_commitment_list_does_not_grow_with_the_documents(admin_client, update):
    url = reverse("admin:commitments_commitment_changelist")
    few = admin_client.get(url).content
    for n in range(30):
        DocumentFactory(short_name=f"extra-{n}", title=f"Extra document {n}")

    many = admin_client.get(url).content

    assert b"Extra document" not in many
    assert len(many) == len(few)


def test_a_status_update_can_be_read_but_not_changed_or_deleted(admin_client, update):
    change_url = reverse("admin:commitments_statusupdate_change", args=[update.pk])
    delete_url = reverse("admin:commitments_statusupdate_delete", args=[update.pk])

    page = admin_client.get(change_url)
    admin_client.post(change_url, {"narrative": "Rewritten history.", "progress": "0"})
    deleting = admin_client.post(delete_url, {"post": "yes"})

    assert page.status_code == 200 and "Source" in page.content.decode()
    assert deleting.status_code == 403
    update.refresh_from_db()
    assert update.narrative == "Draft resolution circulated."
    assert StatusUpdate.objects.count() == 1


def test_status_updates_cannot_be_added_in_the_admin(admin_client, db):
    assert admin_client.get(reverse("admin:commitments_statusupdate_add")).status_code == 403


def test_bulk_delete_is_not_offered_for_status_updates(admin_client, update):
    changelist = admin_client.get(reverse("admin:commitments_statusupdate_changelist"))

    assert "delete_selected" not in changelist.content.decode()


def test_a_commitment_with_a_history_cannot_be_deleted(admin_client, update):
    # The history is the trail; a commitment dropped is marked "no longer pursued" instead.
    url = reverse("admin:commitments_commitment_delete", args=[update.commitment.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert StatusUpdate.objects.filter(pk=update.pk).exists()


def test_a_commitment_entered_by_mistake_without_history_can_be_deleted(admin_client, db):
    commitment = CommitmentFactory()
    url = reverse("admin:commitments_commitment_delete", args=[commitment.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Commitment.objects.filter(pk=commitment.pk).exists()


def commitment_form(commitment, **overrides):
    return {
        "title": commitment.title,
        "slug": commitment.slug,
        "summary": commitment.summary,
        "paragraphs": [p.pk for p in commitment.paragraphs.all()],
        "kind": commitment.kind,
        "opened_version": commitment.version,
    } | overrides


def test_an_admin_edit_raises_the_version(admin_client, update):
    commitment = update.commitment
    opened_at = commitment.version
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])

    response = admin_client.post(url, commitment_form(commitment, title="Renamed"))

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert (commitment.title, commitment.version) == ("Renamed", opened_at + 1)


def test_an_admin_edit_against_an_older_version_is_refused(admin_client, update, secretariat):
    commitment = update.commitment
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])
    form = commitment_form(commitment, title="Renamed")
    post(commitment, secretariat)  # someone posts a status update meanwhile

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "after you opened this page" in response.content.decode()
    commitment.refresh_from_db()
    assert commitment.title != "Renamed"


def test_an_admin_edit_keeps_a_status_update_posted_after_its_version_check(
    admin_client, update, secretariat, monkeypatch
):
    """The admin loads the commitment, checks the version, then saves: an update posted in
    between must keep the state it set (the admin writes only the columns it edits)."""
    commitment = update.commitment
    loaded = Commitment.objects.get(pk=commitment.pk)  # as the admin loaded it
    post(commitment, secretariat, status=Status.ACHIEVED, progress=100)
    monkeypatch.setattr(CommitmentAdmin, "get_object", lambda *args, **kwargs: loaded)
    url = reverse("admin:commitments_commitment_change", args=[commitment.pk])
    current = Commitment.objects.get(pk=commitment.pk).version  # the check passes

    response = admin_client.post(
        url, commitment_form(loaded, title="Renamed", opened_version=current)
    )

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert commitment.title == "Renamed"
    assert (commitment.status, commitment.public_status) == (Status.ACHIEVED, Status.ACHIEVED)
    assert commitment.progress == 100


def test_a_liaison_has_no_admin(client, liaison):
    client.force_login(liaison)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302


def test_paragraph_numbers_are_unique_per_document_in_the_admin(admin_client):
    document = DocumentFactory()
    ParagraphFactory(document=document, number=1)
    url = reverse("admin:commitments_document_change", args=[document.pk])
    existing = document.paragraphs.get()
    data = {
        "short_name": document.short_name,
        "title": document.title,
        "language": "en",
        "adopted_on": datetime.date(2020, 12, 12).isoformat(),
        "paragraphs-TOTAL_FORMS": "2",
        "paragraphs-INITIAL_FORMS": "1",
        "paragraphs-0-id": str(existing.pk),
        "paragraphs-0-document": str(document.pk),
        "paragraphs-0-number": "1",
        "paragraphs-0-text": existing.text,
        "paragraphs-1-number": "1",
        "paragraphs-1-text": "A second paragraph 1.",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200  # shown again with the error
    assert document.paragraphs.count() == 1


def test_the_owner_filter_lists_only_people_who_own_a_commitment(admin_client, secretariat):
    idle = SecretariatFactory(username="idle-officer")
    CommitmentFactory(owner=secretariat)

    response = admin_client.get(reverse("admin:commitments_commitment_changelist"))

    owner_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.title == "owner"
    )
    choices = [choice["display"] for choice in owner_filter.choices(response.context["cl"])]
    assert str(secretariat) in choices
    assert str(idle) not in choices
    assert response.context["cl"].show_full_result_count is False


def test_the_change_list_keeps_its_owners_and_count_until_the_catalogue_changes(
    admin_client, secretariat
):
    """The owner filter's people and the count of every commitment are kept with the catalogue
    (core.caching.CATALOGUE): a status update leaves them; a new commitment and owner show."""
    url = reverse("admin:commitments_commitment_changelist")
    post(CommitmentFactory(owner=secretariat), secretariat)
    admin_client.get(url)
    post(Commitment.objects.get(), secretariat, status=Status.STALLED)

    with CaptureQueriesContext(connection) as queries:
        assert "1 commitment" in admin_client.get(url).content.decode()
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "COUNT(" not in read and "DISTINCT" not in read

    newcomer = SecretariatFactory(username="merdan")
    CommitmentFactory(owner=newcomer)
    response = admin_client.get(url)
    assert "2 commitments" in response.content.decode()
    assert f"?owner__id__exact={newcomer.pk}" in response.content.decode()
