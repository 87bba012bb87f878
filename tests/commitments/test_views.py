import csv
import datetime
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments.models import Commitment, EvidenceFile, StatusUpdate
from commitments.services import status_update_create_with_evidence
from commitments.statuses import DEFINITIONS, Status
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
)
from tests.factories import post_status_update as post_update

LIST_URL = reverse("commitments:commitment_list")
INTERNAL = StatusUpdate.Visibility.INTERNAL
PUBLIC = StatusUpdate.Visibility.PUBLIC


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def titles_in(response) -> list[str]:
    return [row.record.title for row in response.context["table"].paginated_rows]


# -- the commitments table -------------------------------------------------------------------


@pytest.fixture
def three(db, secretariat):
    """Three commitments that differ in every filtered column."""
    document = DocumentFactory(short_name="ashgabat-2020")
    p5, p6, p9 = (ParagraphFactory(document=document, number=n) for n in (5, 6, 9))
    p6.text = "Encouraged the General Assembly to adopt a resolution on the UNRCCA;"
    p6.save()
    unrcca, friends, state = (ActorFactory(name=n) for n in ("UNRCCA", "Group of Friends", "Peru"))
    peace = ThemeFactory(name="Peace")
    other_owner = SecretariatFactory(username="aylar", first_name="Aylar", last_name="Orazova")
    a = CommitmentFactory(
        title="Anniversary events", paragraphs=[p5], lead_actors=[unrcca], owner=secretariat
    )
    b = CommitmentFactory(
        title="Resolution on the Centre",
        paragraphs=[p6],
        lead_actors=[unrcca],
        owner=other_owner,
        kind=Commitment.Kind.RECURRING,
        target_date=datetime.date(2021, 12, 31),
    )
    c = CommitmentFactory(
        title="Group of Friends", paragraphs=[p9], lead_actors=[friends], owner=secretariat
    )
    c.supporting_actors.set([state])
    b.themes.set([peace])
    post_update(b, secretariat, status=Status.ACHIEVED, progress=100)
    post_update(c, secretariat, status=Status.IN_PROGRESS, progress=60)
    return {
        "a": a,
        "b": b,
        "c": c,
        "p6": p6,
        "state": state,
        "unrcca": unrcca,
        "peace": peace,
        "other_owner": other_owner,
    }


def test_the_table_lists_commitments_with_their_columns(secretariat_client, three):
    response = secretariat_client.get(LIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert titles_in(response) == [
        "Anniversary events",
        "Resolution on the Centre",
        "Group of Friends",
    ]
    assert f'href="{three["b"].get_absolute_url()}"' in html
    assert f'title="{DEFINITIONS[Status.ACHIEVED]}"' in html
    assert "¶6" in html and "UNRCCA" in html and "Aylar Orazova" in html
    assert "What the statuses mean" in html  # the legend
    for name, label in [("status", "Status"), ("actor", "Actor (lead or supporting)")]:
        assert f'<label for="id_{name}">{label}</label>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": Status.ACHIEVED}, ["Resolution on the Centre"]),
        ({"status": Status.NOT_STARTED}, ["Anniversary events"]),
        ({"kind": Commitment.Kind.RECURRING}, ["Resolution on the Centre"]),
        ({"q": "general assembly"}, ["Resolution on the Centre"]),  # paragraph text
        ({"q": "friends"}, ["Group of Friends"]),  # title
    ],
)
def test_the_table_filters(secretariat_client, three, query, expected):
    response = secretariat_client.get(LIST_URL, query)

    assert titles_in(response) == expected


def test_the_actor_filter_finds_lead_and_supporting_roles(secretariat_client, three):
    supporting = secretariat_client.get(LIST_URL, {"actor": three["state"].pk})
    leading = secretariat_client.get(LIST_URL, {"actor": three["unrcca"].pk})

    assert titles_in(supporting) == ["Group of Friends"]
    assert titles_in(leading) == ["Anniversary events", "Resolution on the Centre"]


def test_the_paragraph_theme_and_owner_filters(secretariat_client, three):
    by_paragraph = secretariat_client.get(LIST_URL, {"paragraph": three["p6"].pk})
    by_theme = secretariat_client.get(LIST_URL, {"theme": three["peace"].pk})
    by_owner = secretariat_client.get(LIST_URL, {"owner": three["other_owner"].pk})

    assert titles_in(by_paragraph) == titles_in(by_theme) == titles_in(by_owner)
    assert titles_in(by_owner) == ["Resolution on the Centre"]


def test_a_bad_filter_value_shows_an_error_not_a_500(secretariat_client, three):
    response = secretariat_client.get(LIST_URL, {"status": "bogus", "actor": "x", "page": "99"})

    assert response.status_code == 200
    assert titles_in(response) == []
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["Anniversary events", "Group of Friends", "Resolution on the Centre"]),
        ("-paragraphs", ["Group of Friends", "Resolution on the Centre", "Anniversary events"]),
        # The vocabulary's order: not started, in progress, achieved.
        ("status", ["Anniversary events", "Group of Friends", "Resolution on the Centre"]),
        ("-progress", ["Resolution on the Centre", "Group of Friends", "Anniversary events"]),
    ],
)
def test_the_table_sorts(secretariat_client, three, sort, expected):
    response = secretariat_client.get(LIST_URL, {"sort": sort})

    assert titles_in(response) == expected


def test_the_table_sorts_by_owners_name(secretariat_client, three):
    ascending = titles_in(secretariat_client.get(LIST_URL, {"sort": "owner"}))
    descending = titles_in(secretariat_client.get(LIST_URL, {"sort": "-owner"}))

    # "officer" has no last name, so sorts before Orazova.
    assert ascending[-1] == descending[0] == "Resolution on the Centre"


def test_the_table_sorts_on_dates_with_empty_ones(secretariat_client, three):
    by_target = titles_in(secretariat_client.get(LIST_URL, {"sort": "target_date"}))
    by_activity = titles_in(secretariat_client.get(LIST_URL, {"sort": "-last_activity"}))

    assert "Resolution on the Centre" in by_target and len(by_target) == 3
    assert len(by_activity) == 3


def test_the_table_has_pages_of_25(secretariat_client, db):
    CommitmentFactory.create_batch(30)

    first = secretariat_client.get(LIST_URL)
    second = secretariat_client.get(LIST_URL, {"page": 2})

    assert len(titles_in(first)) == 25
    assert len(titles_in(second)) == 5
    assert 'aria-current="page">1<' in first.content.decode()


def test_the_csv_export_keeps_filters_and_sorting(secretariat_client, three):
    response = secretariat_client.get(
        LIST_URL, {"actor": three["unrcca"].pk, "sort": "-title", "_export": "csv"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert [row["Title"] for row in rows] == ["Resolution on the Centre", "Anniversary events"]
    assert rows[0]["Status"] == "Achieved"
    assert rows[0]["Paragraphs"] == "6"
    assert rows[0]["Target date"] == "2021-12-31"
    assert rows[0]["Progress"] == "100"


def test_the_csv_export_is_not_paginated(secretariat_client, db):
    CommitmentFactory.create_batch(30)

    response = secretariat_client.get(LIST_URL, {"_export": "csv", "page": 1})

    assert len(csv_rows(response)) == 30


def test_an_unknown_export_format_is_refused_clearly(secretariat_client, three):
    response = secretariat_client.get(LIST_URL, {"_export": "pdf"})

    assert response.status_code == 400
    assert "use CSV or Excel" in response.content.decode()


def make_rows(count: int, author) -> None:
    actors = ActorFactory.create_batch(2)
    for commitment in CommitmentFactory.create_batch(count, lead_actors=actors, owner=author):
        commitment.paragraphs.add(ParagraphFactory())
        commitment.themes.add(ThemeFactory())
        post_update(commitment, author)


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_tables_query_count_does_not_grow_with_rows(client, secretariat, liaison, role):
    client.force_login(secretariat if role == "secretariat" else liaison)
    make_rows(3, secretariat)
    few = count_queries(client, LIST_URL)
    make_rows(40, secretariat)

    many = count_queries(client, LIST_URL)

    assert many == few


def test_the_tables_query_count_is_pinned(
    secretariat_client, secretariat, django_assert_max_num_queries
):
    make_rows(40, secretariat)

    # session, user, count, page, paragraphs, lead actors, four filter dropdowns (the session is
    # not saved within its refresh interval: core.sessions).
    with django_assert_max_num_queries(10):
        secretariat_client.get(LIST_URL, {"sort": "status"})


def test_the_csv_query_count_does_not_grow_with_rows(secretariat_client, secretariat):
    make_rows(3, secretariat)
    few = count_queries(secretariat_client, LIST_URL, {"_export": "csv"})
    make_rows(40, secretariat)

    assert count_queries(secretariat_client, LIST_URL, {"_export": "csv"}) == few


def test_filter_dropdowns_list_only_what_commitments_use(liaison_client, three):
    form = liaison_client.get(LIST_URL).context["filter"].form

    owners = {user.username for user in form.fields["owner"].queryset}
    assert owners == {"officer", "aylar"}  # not the liaison's own account, nor anyone else's
    actors = {actor.name for actor in form.fields["actor"].queryset}
    assert actors == {"UNRCCA", "Group of Friends", "Peru"}  # not Turkmenistan: no commitment


# -- internal updates never reach a liaison --------------------------------------------------


@pytest.fixture
def with_internal_note(secretariat, three):
    """Commitment b: achieved in public, then an internal note saying it stalled."""
    post_update(
        three["b"],
        secretariat,
        status=Status.STALLED,
        progress=10,
        narrative="Internal: the co-sponsors are wavering.",
        happened_on=datetime.date(2021, 6, 1),
        visibility=INTERNAL,
    )
    return three["b"]


def test_a_liaison_sees_the_state_of_public_updates_only(liaison_client, with_internal_note):
    response = liaison_client.get(LIST_URL, {"sort": "title"})

    row = next(r for r in response.context["table"].rows if r.record.pk == with_internal_note.pk)
    assert row.get_cell_value("status") == "Achieved"
    html = response.content.decode()
    assert "Stalled" not in html[html.index("<table") : html.index("</table>")]
    assert titles_in(liaison_client.get(LIST_URL, {"status": Status.STALLED})) == []


def test_the_secretariat_sees_the_internal_state(secretariat_client, with_internal_note):
    response = secretariat_client.get(LIST_URL, {"status": Status.STALLED})

    assert titles_in(response) == ["Resolution on the Centre"]


def test_the_csv_of_a_liaison_leaves_internal_updates_out(liaison_client, with_internal_note):
    rows = csv_rows(liaison_client.get(LIST_URL, {"_export": "csv"}))

    row = next(r for r in rows if r["Title"] == with_internal_note.title)
    assert (row["Status"], row["Progress"], row["Last activity"]) == (
        "Achieved",
        "100",
        "2021-03-01",
    )


def test_a_liaison_never_sees_internal_updates_on_the_page(liaison_client, with_internal_note):
    response = liaison_client.get(with_internal_note.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "co-sponsors are wavering" not in html
    assert "Draft resolution circulated." in html
    assert [u.visibility for u in response.context["timeline"]] == [PUBLIC]
    assert response.context["commitment"].shown_status == Status.ACHIEVED
    assert response.context["form"] is None
    assert 'method="post" enctype' not in html


def test_the_secretariat_sees_internal_updates_marked(secretariat_client, with_internal_note):
    html = secretariat_client.get(with_internal_note.get_absolute_url()).content.decode()

    assert "co-sponsors are wavering" in html
    assert "Internal</span>" in html
    assert html.index("co-sponsors are wavering") < html.index("Draft resolution circulated.")


# -- the commitment page and its update form -------------------------------------------------


@pytest.fixture
def commitment(db, secretariat):
    document = DocumentFactory(title="Final Document of the Ashgabat conference")
    paragraph = ParagraphFactory(
        document=document, number=6, text="Encouraged the General Assembly;\nto adopt it;"
    )
    commitment = CommitmentFactory(
        title="UNRCCA resolution", paragraphs=[paragraph], lead_actors=[ActorFactory(name="UNRCCA")]
    )
    commitment.supporting_actors.set([ActorFactory(name="Turkmenistan ally")])
    commitment.themes.set([ThemeFactory(name="Preventive diplomacy")])
    return commitment


def form_data(commitment, **overrides):
    data = {
        "status": Status.IN_PROGRESS,
        "progress": "30",
        "progress_reason": "As the latest report says.",
        "happened_on": "2021-04-16",
        "narrative": "Adopted by consensus at the 59th plenary.",
        "visibility": PUBLIC,
        "version": str(commitment.version),
        "link_1_title": "Turkmenistan.ru",
        "link_1_url": "https://example.org/18856",
    }
    return data | overrides


def test_the_page_shows_the_paragraph_verbatim_and_the_facts(secretariat_client, commitment):
    response = secretariat_client.get(commitment.get_absolute_url())

    html = response.content.decode()
    assert "Encouraged the General Assembly;<br>to adopt it;" in html
    assert "Final Document of the Ashgabat conference" in html
    assert "Turkmenistan ally" in html and "Preventive diplomacy" in html
    assert DEFINITIONS[Status.NOT_STARTED] in html
    assert "<main>" in html and "<h1>UNRCCA resolution</h1>" in html


@time_machine.travel(datetime.datetime(2021, 4, 20, 22, 0, tzinfo=datetime.UTC))
def test_the_form_defaults_to_today_where_the_user_is(secretariat, client, commitment):
    secretariat.time_zone = "Asia/Ashgabat"  # already 21 April there
    secretariat.save()
    client.force_login(secretariat)

    form = client.get(commitment.get_absolute_url()).context["form"]

    assert form["happened_on"].initial == datetime.date(2021, 4, 21)
    assert form["version"].initial == commitment.version


def test_a_valid_update_is_posted_with_its_links(secretariat_client, secretariat, commitment):
    response = secretariat_client.post(commitment.get_absolute_url(), form_data(commitment))

    assert response.status_code == 302
    update = commitment.updates.get()
    assert (update.status, update.progress, update.author) == (Status.IN_PROGRESS, 30, secretariat)
    assert update.links.get().url == "https://example.org/18856"
    commitment.refresh_from_db()
    assert (commitment.status, commitment.version) == (Status.IN_PROGRESS, 2)
    page = secretariat_client.get(response.url).content.decode()
    assert "Your status update is posted." in page and "Turkmenistan.ru" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"progress": "101"}, "less than or equal to 100"),
        ({"narrative": ""}, "This field is required"),
        ({"happened_on": "2999-01-01"}, "in the future"),
        ({"happened_on": "2020-12-11"}, "before 12 December 2020, when the document was adopted"),
        ({"happened_on": "0001-01-01"}, "before 12 December 2020, when the document was adopted"),
        ({"link_1_title": ""}, "Give this link a title"),
        ({"link_2_title": "A title", "link_2_url": ""}, "Enter the address"),
        ({"link_1_url": "javascript:alert(1)"}, "Enter a valid URL"),
    ],
)
def test_invalid_input_is_shown_again_and_nothing_is_written(
    secretariat_client, commitment, overrides, message
):
    response = secretariat_client.post(
        commitment.get_absolute_url(), form_data(commitment, **overrides)
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert not StatusUpdate.objects.exists()
    commitment.refresh_from_db()
    assert commitment.version == 1


def test_a_conflict_keeps_the_input_and_shows_the_newer_state(
    secretariat_client, secretariat, commitment
):
    opened = form_data(commitment, narrative="My careful narrative.")
    post_update(
        commitment, secretariat, narrative="Older news.", happened_on=datetime.date(2021, 5, 1)
    )
    opened["version"] = "2"
    # Entered second but about an earlier day: still what the user must see first.
    post_update(commitment, SecretariatFactory(), narrative="Colleague posted first.", progress=70)

    response = secretariat_client.post(commitment.get_absolute_url(), opened)

    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else posted an update" in html
    assert response.context["conflict"]["newest"].narrative == "Colleague posted first."
    assert "The update posted in the meantime" in html
    assert "It now stands at <strong>In progress, 40%</strong>" in html
    assert "My careful narrative." in html  # the user's input, kept
    assert response.context["form"]["version"].value() == 3  # posting again is deliberate
    assert commitment.updates.count() == 2


def test_posting_again_after_a_conflict_goes_through(secretariat_client, commitment):
    opened = form_data(commitment)
    post_update(commitment, SecretariatFactory())
    conflict = secretariat_client.post(commitment.get_absolute_url(), opened)

    again = secretariat_client.post(
        commitment.get_absolute_url(), conflict.context["form"].data.dict()
    )

    assert again.status_code == 302
    assert commitment.updates.count() == 2


def upload(name="resolution.pdf", size=100, content_type="application/pdf"):
    return SimpleUploadedFile(name, b"%PDF" + b"x" * (size - 4), content_type=content_type)


def test_an_evidence_file_is_stored_outside_the_code(secretariat_client, commitment, media_root):
    data = form_data(commitment, evidence_file=upload(), evidence_file_title="Resolution text")

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 302
    evidence = EvidenceFile.objects.get()
    assert evidence.title == "Resolution text"
    assert (evidence.content_type, evidence.size) == ("application/pdf", 100)
    assert (media_root / evidence.file.name).is_file()


@pytest.mark.parametrize(
    "name",
    # The third cuts inside a two-byte letter.
    ["Резолюция " * 30 + ".pdf", "r" * 300 + ".pdf", "a" + "я" * 200 + ".pdf"],
)
def test_an_evidence_file_with_a_name_too_long_for_the_disk_is_kept(
    secretariat_client, commitment, media_root, name
):
    data = form_data(commitment, evidence_file=upload(name), evidence_file_title="Resolution")

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 302
    evidence = EvidenceFile.objects.get()
    stored = evidence.file.name.rpartition("/")[2]
    assert len(stored.encode()) <= 160 and stored.startswith(name[:5])
    assert stored.endswith(".pdf")
    assert (media_root / evidence.file.name).read_bytes().startswith(b"%PDF")


def test_a_file_too_big_is_refused_with_a_clear_message(secretariat_client, commitment, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 50
    data = form_data(commitment, evidence_file=upload(size=51))

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 400
    assert "the limit is 50" in response.content.decode()
    assert not StatusUpdate.objects.exists() and not EvidenceFile.objects.exists()


def test_a_file_of_the_wrong_type_is_refused(secretariat_client, commitment, media_root):
    data = form_data(
        commitment, evidence_file=upload("payload.html", content_type="application/pdf")
    )

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 400
    assert "cannot be attached" in response.content.decode()
    assert not StatusUpdate.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.html"))


def test_a_conflict_with_a_file_writes_no_file(secretariat_client, commitment, media_root):
    opened = form_data(commitment, evidence_file=upload())
    post_update(commitment, SecretariatFactory())

    response = secretariat_client.post(commitment.get_absolute_url(), opened)

    assert response.status_code == 409
    assert "attach your file again" in response.content.decode()
    assert not EvidenceFile.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


# -- evidence files are served only to those who may read the update ------------------------


def attach(commitment, author, visibility):
    update = status_update_create_with_evidence(
        commitment=commitment,
        author=author,
        status=Status.IN_PROGRESS,
        progress=10,
        narrative="With a file.",
        happened_on=datetime.date(2021, 1, 1),
        visibility=visibility,
        upload=upload(),
    )
    return update.files.get()


def test_a_public_evidence_file_is_served_to_a_liaison(liaison_client, secretariat, commitment):
    evidence = attach(commitment, secretariat, PUBLIC)

    response = liaison_client.get(reverse("commitments:evidence_file", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_an_internal_evidence_file_is_not_served_to_a_liaison(
    liaison_client, secretariat, commitment
):
    evidence = attach(commitment, secretariat, INTERNAL)

    response = liaison_client.get(reverse("commitments:evidence_file", args=[evidence.pk]))

    assert response.status_code == 404


def test_an_internal_evidence_file_is_served_to_the_secretariat(
    secretariat_client, secretariat, commitment
):
    evidence = attach(commitment, secretariat, INTERNAL)

    response = secretariat_client.get(reverse("commitments:evidence_file", args=[evidence.pk]))

    assert response.status_code == 200


def test_a_file_gone_from_storage_is_a_404(secretariat_client, secretariat, commitment):
    evidence = attach(commitment, secretariat, PUBLIC)
    evidence.file.delete(save=False)

    response = secretariat_client.get(reverse("commitments:evidence_file", args=[evidence.pk]))

    assert response.status_code == 404


# -- documents and actors --------------------------------------------------------------------


def test_the_document_page_links_paragraphs_to_commitments(liaison_client, commitment):
    document = commitment.paragraphs.get().document
    document.alternative_title = "Final document of the international conference"
    document.preamble = "We, the participants,"
    document.save()
    ParagraphFactory(document=document, number=7, operative_verb="Welcomed")

    response = liaison_client.get(document.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="p6"' in html and 'id="p7"' in html and "Welcomed" in html
    assert f'href="{commitment.get_absolute_url()}"' in html
    assert "Final document of the international conference" in html
    assert "We, the participants," in html
    assert "Not tracked as a commitment." in html


def test_the_document_pages_query_count_does_not_grow(liaison_client, secretariat):
    document = DocumentFactory()

    def add_paragraphs(count):
        for _ in range(count):
            CommitmentFactory(paragraphs=[ParagraphFactory(document=document)])

    add_paragraphs(2)
    few = count_queries(liaison_client, document.get_absolute_url())
    add_paragraphs(20)

    assert count_queries(liaison_client, document.get_absolute_url()) == few


def test_the_actor_page_lists_lead_and_supporting_roles(liaison_client, liaison, secretariat):
    state = liaison.actor
    led = CommitmentFactory(title="Led by the state", lead_actors=[state])
    supported = CommitmentFactory(title="Supported by the state")
    supported.supporting_actors.set([state])
    CommitmentFactory(title="Not involved")
    post_update(led, secretariat, narrative="Public step.", status=Status.ACHIEVED, progress=100)
    post_update(
        led,
        secretariat,
        narrative="Secret step.",
        visibility=INTERNAL,
        happened_on=datetime.date(2022, 1, 1),
    )

    response = liaison_client.get(state.get_absolute_url())

    html = response.content.decode()
    rows = {c.title: c for c in response.context["commitments"]}
    assert set(rows) == {"Led by the state", "Supported by the state"}
    assert rows["Led by the state"].is_lead and not rows["Supported by the state"].is_lead
    assert rows["Led by the state"].shown_status == Status.ACHIEVED
    assert "Public step." in html and "Secret step." not in html


def test_the_actor_pages_query_count_does_not_grow(liaison_client, liaison, secretariat):
    state = liaison.actor

    def involve(count):
        for commitment in CommitmentFactory.create_batch(count, lead_actors=[state]):
            post_update(commitment, secretariat)

    involve(2)
    few = count_queries(liaison_client, state.get_absolute_url())
    involve(20)

    assert count_queries(liaison_client, state.get_absolute_url()) == few


@pytest.fixture
def five_of_the_state(liaison, monkeypatch):
    """Five commitments of the liaison's state on pages of two (the view's ACTOR_PAGE_SIZE),
    in the page's order: by paragraph number, then title; one retired."""
    from commitments import views

    monkeypatch.setattr(views, "ACTOR_PAGE_SIZE", 2)
    state = liaison.actor
    document = DocumentFactory()
    paragraphs = {n: ParagraphFactory(document=document, number=n) for n in (1, 2, 3)}
    rows = [
        CommitmentFactory(
            title=title, slug=f"c-{n}", paragraphs=[paragraphs[number]], lead_actors=[state]
        )
        for n, (number, title) in enumerate(
            [(1, "Alpha"), (1, "Beta"), (2, "Alpha"), (3, "Alpha"), (3, "Gamma")]
        )
    ]
    Commitment.objects.filter(pk=rows[2].pk).update(retired_on=datetime.date(2024, 1, 1))
    CommitmentFactory(title="Not involved")
    return rows


def listed(response) -> list[int]:
    return [commitment.pk for commitment in response.context["commitments"]]


def test_the_actor_page_lists_its_commitments_a_page_at_a_time(liaison_client, five_of_the_state):
    url = five_of_the_state[0].lead_actors.get().get_absolute_url()
    pages = [liaison_client.get(url, {"page": n}) for n in (1, 2, 3)]

    assert [listed(page) for page in pages] == [
        [c.pk for c in five_of_the_state[0:2]],
        [c.pk for c in five_of_the_state[2:4]],
        [five_of_the_state[4].pk],
    ]
    html = pages[1].content.decode()
    assert "5 commitments." in html  # of all the pages, the retired one too
    assert "Page 2 of 3" in html
    assert 'href="?page=1#involved-heading" rel="prev"' in html
    assert 'href="?page=3#involved-heading" rel="next"' in html
    state = five_of_the_state[0].lead_actors.get()
    assert f'href="{LIST_URL}?actor={state.pk}&amp;retired=on"' in html


def test_the_actors_table_link_lists_all_of_its_commitments(liaison_client, five_of_the_state):
    state = five_of_the_state[0].lead_actors.get()

    response = liaison_client.get(LIST_URL, {"actor": state.pk, "retired": "on"})

    assert set(titles_in(response)) == {"Alpha", "Beta", "Gamma"}
    assert response.context["table"].paginator.count == 5


@pytest.mark.parametrize(
    ("asked", "shown"), [("abc", 1), ("0", 1), ("-1", 1), ("", 1), ("9" * 30, 3), ("4", 3)]
)
def test_the_actor_page_shows_the_first_or_last_page_for_a_page_not_there(
    liaison_client, five_of_the_state, asked, shown
):
    url = five_of_the_state[0].lead_actors.get().get_absolute_url()

    response = liaison_client.get(url, {"page": asked})

    assert response.status_code == 200
    assert f"Page {shown} of 3" in response.content.decode()


def test_each_page_of_an_actor_costs_the_same_queries(liaison_client, five_of_the_state):
    url = five_of_the_state[0].lead_actors.get().get_absolute_url()
    first = count_queries(liaison_client, url)
    for commitment in five_of_the_state:
        commitment.paragraphs.add(ParagraphFactory())
        commitment.supporting_actors.add(ActorFactory())

    assert [count_queries(liaison_client, url, {"page": n}) for n in (1, 2, 3)] == [first] * 3


def test_the_actors_index_counts_commitments(liaison_client, liaison):
    state = liaison.actor
    CommitmentFactory.create_batch(2, lead_actors=[state])
    CommitmentFactory().supporting_actors.set([state])

    response = liaison_client.get(reverse("commitments:actor_list"))

    actor = next(a for a in response.context["actors"] if a.pk == state.pk)
    assert (actor.lead_count, actor.supporting_count) == (2, 1)
    assert state.name in response.content.decode()


def test_the_actors_index_query_count_does_not_grow(liaison_client):
    ActorFactory.create_batch(2)
    few = count_queries(liaison_client, reverse("commitments:actor_list"))
    ActorFactory.create_batch(30)

    assert count_queries(liaison_client, reverse("commitments:actor_list")) == few


def test_unknown_pages_are_404(secretariat_client, db):
    for url in ["/commitments/nope/", "/documents/nope/", "/actors/nope/", "/evidence/999/"]:
        assert secretariat_client.get(url).status_code == 404


# -- roles on every URL ---------------------------------------------------------------------


@pytest.fixture
def urls(commitment, secretariat):
    evidence = attach(commitment, secretariat, PUBLIC)
    return [
        LIST_URL,
        commitment.get_absolute_url(),
        commitment.paragraphs.get().document.get_absolute_url(),
        reverse("commitments:actor_list"),
        commitment.lead_actors.get().get_absolute_url(),
        reverse("commitments:evidence_file", args=[evidence.pk]),
    ]


def test_anonymous_visitors_are_sent_to_login(client, urls):
    for url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response.url.startswith("/login/"), url


def test_a_liaison_reads_every_page_and_every_write_is_403(liaison_client, urls, commitment):
    for url in urls:
        assert liaison_client.get(url).status_code == 200, url
        assert liaison_client.post(url, form_data(commitment)).status_code == 403, url
        assert liaison_client.delete(url).status_code == 403, url
        assert liaison_client.options(url).status_code == 405, url  # not a write
    assert not StatusUpdate.objects.filter(narrative__startswith="Adopted").exists()


def test_the_secretariat_reads_every_page(secretariat_client, urls):
    for url in urls:
        assert secretariat_client.get(url).status_code == 200, url


def test_pages_without_a_form_refuse_a_post_from_the_secretariat(secretariat_client, urls):
    read_only = [url for url in urls if "/commitments/" not in url or url == LIST_URL]

    for url in read_only:
        assert secretariat_client.post(url).status_code == 405, url


def test_a_file_that_cannot_be_stored_leaves_nothing_half_written(
    secretariat_client, commitment, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    data = form_data(commitment, evidence_file=upload())

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert "Adopted by consensus" in response.content.decode()  # the input is kept
    assert not StatusUpdate.objects.exists()
    assert not EvidenceFile.objects.exists()
    commitment.refresh_from_db()
    assert (commitment.version, commitment.status) == (1, Status.NOT_STARTED)


def test_the_commitment_pages_query_count_does_not_grow_with_history(
    secretariat_client, secretariat, commitment
):
    def add_history(count):
        for _ in range(count):
            attach(commitment, secretariat, PUBLIC)
            post_update(commitment, secretariat, links=[("A", "https://example.org/a")])

    add_history(1)
    few = count_queries(secretariat_client, commitment.get_absolute_url())
    add_history(15)

    assert count_queries(secretariat_client, commitment.get_absolute_url()) == few


def test_the_secretariat_sees_the_change_history_and_a_liaison_does_not(
    client, secretariat, liaison, commitment
):
    client.force_login(secretariat)
    client.post(commitment.get_absolute_url(), form_data(commitment))
    page = client.get(commitment.get_absolute_url()).content.decode()
    client.force_login(liaison)
    liaison_page = client.get(commitment.get_absolute_url()).content.decode()

    history = page[page.index("Change history") :]
    assert "Status changed from Not started to In progress by officer, <time" in history
    assert "Change history" not in liaison_page


TEN_MB = 10 * 1024 * 1024  # EVIDENCE_MAX_UPLOAD_BYTES' default


def test_a_file_one_byte_over_the_limit_says_by_how_much(secretariat_client, commitment, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = TEN_MB
    data = form_data(commitment, evidence_file=upload(size=TEN_MB + 1))

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 400
    assert (
        "The file is 10.0\xa0MB (10,485,761 bytes); the limit is 10.0\xa0MB (10,485,760 bytes)."
        in response.content.decode()
    )
    assert not StatusUpdate.objects.exists() and not EvidenceFile.objects.exists()


def test_a_file_exactly_at_the_limit_is_accepted(secretariat_client, commitment, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = TEN_MB
    data = form_data(commitment, evidence_file=upload(size=TEN_MB))

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 302
    assert EvidenceFile.objects.get().size == TEN_MB


# -- a narrative too long ----------------------------------------------------------------


def csrf_client(user) -> Client:
    """A client that passes the CSRF check as a browser does: the check reads the form body
    before the view, so a body too big for Django fails there."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def post_with_token(client, url: str, data: dict):
    client.get(url)
    return client.post(url, data | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})


def test_a_three_megabyte_narrative_comes_back_in_the_form(secretariat, commitment):
    # A pasted document, Cyrillic (two bytes a character): 3 MB of form body.
    narrative = ("Генеральная Ассамблея приняла резолюцию. " * 40_000)[:1_500_000]
    client = csrf_client(secretariat)

    response = post_with_token(
        client, commitment.get_absolute_url(), form_data(commitment, narrative=narrative)
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["narrative"] == [
        "The narrative is 1500000 characters long; the limit is 100000. "
        "Shorten it, or attach the full text as an evidence file."
    ]
    assert narrative in response.content.decode()  # every character is still in the form
    assert not StatusUpdate.objects.exists()


def test_a_narrative_at_the_limit_is_posted(secretariat_client, commitment, settings):
    settings.NARRATIVE_MAX_CHARACTERS = 50
    data = form_data(commitment, narrative="x" * 50)

    assert secretariat_client.post(commitment.get_absolute_url(), data).status_code == 302
    assert StatusUpdate.objects.get().narrative == "x" * 50


def test_a_narrative_one_character_over_the_limit_is_refused(
    secretariat_client, commitment, settings
):
    settings.NARRATIVE_MAX_CHARACTERS = 50
    data = form_data(commitment, narrative="x" * 51)

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert response.status_code == 400
    assert "The narrative is 51 characters long; the limit is 50." in response.content.decode()
    assert 'maxlength="50"' not in response.content.decode()  # a browser would cut the text
    assert not StatusUpdate.objects.exists()


def test_a_body_over_the_hard_limit_gets_a_page_that_says_what_to_do(
    secretariat, commitment, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client = csrf_client(secretariat)

    response = post_with_token(
        client, commitment.get_absolute_url(), form_data(commitment, narrative="x" * 4096)
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "over 1.0\xa0KB of text (files aside)" in page
    assert "so nothing was saved" in page
    assert "a narrative may have up to 100,000 characters" in page
    assert not StatusUpdate.objects.exists()


def test_a_form_with_too_many_fields_gets_the_same_page_not_a_bare_400(
    secretariat, commitment, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    client = csrf_client(secretariat)
    data = form_data(commitment, narrative="Kept?") | {f"extra{n}": "x" for n in range(30)}

    response = post_with_token(client, commitment.get_absolute_url(), data)

    assert response.status_code == 413
    page = response.content.decode()
    assert "more than 20 fields" in page
    assert "so nothing was saved" in page
    assert not StatusUpdate.objects.exists()
