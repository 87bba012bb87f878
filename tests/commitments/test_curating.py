"""Commitments curated in the app: created from paragraphs, edited, retired, related."""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import services
from commitments.models import Commitment, CommitmentRelation, StatusUpdate
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
    post_status_update,
)
from tracker.models import Event

DEPENDS_ON = CommitmentRelation.Kind.DEPENDS_ON


def edit_url(commitment) -> str:
    return reverse("commitments:commitment_edit", kwargs={"slug": commitment.slug})


def form_data(commitment, **changes) -> dict:
    data = {
        "title": commitment.title,
        "summary": commitment.summary,
        "kind": commitment.kind,
        "paragraphs": [p.pk for p in commitment.paragraphs.all()],
        "lead_actors": [a.pk for a in commitment.lead_actors.all()],
        "supporting_actors": [],
        "owner": commitment.owner_id or "",
        "supervisor": "",
        "themes": [],
        "target_date": commitment.target_date.isoformat() if commitment.target_date else "",
        "reporting_cadence_months": "",
        "version": commitment.version,
    }
    return data | changes


# -- create from paragraphs ------------------------------------------------------------------


def test_the_document_page_offers_paragraphs_to_track_to_the_secretariat_only(
    client, secretariat, liaison
):
    document = DocumentFactory(short_name="ashgabat-2020")
    paragraph = ParagraphFactory(document=document, number=3)
    url = reverse("commitments:document_detail", kwargs={"short_name": "ashgabat-2020"})

    client.force_login(secretariat)
    page = client.get(url).content.decode()
    assert f'name="paragraphs" value="{paragraph.pk}"' in page
    assert "Track as a commitment" in page

    client.force_login(liaison)
    assert 'name="paragraphs"' not in client.get(url).content.decode()


def test_the_create_form_is_prefilled_with_the_chosen_paragraphs(secretariat_client):
    document = DocumentFactory()
    p3 = ParagraphFactory(document=document, number=3, text="Welcomed the Group of Friends.")
    p4 = ParagraphFactory(document=document, number=4, text="Encouraged the forum.")
    ParagraphFactory(document=document, number=5)

    response = secretariat_client.get(
        reverse("commitments:commitment_create"), {"paragraphs": [p3.pk, p4.pk]}
    )

    form = response.context["form"]
    assert sorted(form.initial["paragraphs"]) == sorted([p3.pk, p4.pk])
    assert form.initial["title"] == "Welcomed the Group of Friends."
    assert "¶4: Encouraged the forum." in form.initial["summary"]


def test_creating_makes_a_unique_slug_and_links_everything(secretariat_client, secretariat):
    paragraph = ParagraphFactory(number=7)
    CommitmentFactory(title="A UN office", slug="a-un-office")
    actor, theme = ActorFactory(name="UNRCCA"), ThemeFactory(name="Peace")
    data = {
        "title": "A UN office",
        "summary": "",
        "kind": "deliverable",
        "paragraphs": [paragraph.pk],
        "lead_actors": [actor.pk],
        "owner": secretariat.pk,
        "themes": [theme.pk],
        "target_date": "2030-06-01",
        "reporting_cadence_months": "3",
    }

    response = secretariat_client.post(reverse("commitments:commitment_create"), data)

    created = Commitment.objects.get(slug="a-un-office-2")
    assert response.status_code == 302 and response.url == created.get_absolute_url()
    assert list(created.lead_actors.all()) == [actor]
    assert list(created.themes.all()) == [theme]
    assert created.first_paragraph_number == 7
    assert created.reporting_cadence == 3
    assert Event.objects.get(deadline_of=created).start_date == datetime.date(2030, 6, 1)


def test_new_is_never_a_commitments_slug(db):
    assert services.commitment_slug_unique(title="New") == "new-2"


# -- edit ------------------------------------------------------------------------------------


def test_editing_saves_raises_the_version_and_moves_the_target_date_event(
    secretariat_client,
):
    commitment = CommitmentFactory(target_date=datetime.date(2030, 1, 1))
    other = ParagraphFactory(number=2)
    data = form_data(commitment, title="Renamed", target_date="2031-12-12", paragraphs=[other.pk])

    response = secretariat_client.post(edit_url(commitment), data)

    assert response.status_code == 302
    commitment.refresh_from_db()
    assert (commitment.title, commitment.version) == ("Renamed", 2)
    assert commitment.first_paragraph_number == 2
    assert Event.objects.get(deadline_of=commitment).start_date == datetime.date(2031, 12, 12)


def test_a_stale_edit_is_refused_with_the_other_change_shown_and_nothing_written(
    secretariat_client, secretariat
):
    commitment = CommitmentFactory(title="Original")
    stale = form_data(commitment, title="Mine")
    post_status_update(commitment, secretariat)  # someone else writes: version 2

    response = secretariat_client.post(edit_url(commitment), stale)

    assert response.status_code == 409
    assert "Someone else changed this" in response.content.decode()
    commitment.refresh_from_db()
    assert commitment.title == "Original"
    assert response.context["form"]["version"].value() == commitment.version


def test_an_owner_outside_the_secretariat_is_refused(secretariat_client):
    commitment = CommitmentFactory()
    liaison = LiaisonFactory(username="envoy")
    offered = secretariat_client.get(edit_url(commitment)).context["form"].fields["owner"]
    assert liaison not in offered.queryset

    response = secretariat_client.post(
        edit_url(commitment), form_data(commitment, owner=liaison.pk)
    )

    assert response.status_code == 400
    assert "envoy cannot own a commitment" in response.content.decode()
    commitment.refresh_from_db()
    assert commitment.owner != liaison and commitment.version == 1


def test_a_supervisor_outside_the_secretariat_is_refused(secretariat_client):
    commitment = CommitmentFactory()
    liaison = LiaisonFactory(username="envoy")

    response = secretariat_client.post(
        edit_url(commitment), form_data(commitment, supervisor=liaison.pk)
    )

    assert response.status_code == 400
    commitment.refresh_from_db()
    assert commitment.supervisor is None


def test_an_empty_cadence_is_shown_as_its_kinds_default(secretariat_client):
    commitment = CommitmentFactory(kind=Commitment.Kind.RECURRING)

    form = secretariat_client.get(edit_url(commitment)).context["form"]

    assert form.fields["reporting_cadence_months"].widget.attrs["placeholder"] == "Default: 12"


def test_the_edit_pages_query_count_does_not_grow_with_the_record(
    secretariat_client, django_assert_max_num_queries
):
    commitment = CommitmentFactory()

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert secretariat_client.get(edit_url(commitment)).status_code == 200
        return len(queries)

    few = count()
    for n in range(20):
        CommitmentFactory(paragraphs=[ParagraphFactory(number=n + 10)])
        ActorFactory(), ThemeFactory(), SecretariatFactory()
    assert count() == few
    # The session and user, the commitment and its four links, the six lists of choices
    # (paragraphs, two of actors, two of staff, themes): a fixed count whatever the record.
    with django_assert_max_num_queries(16):
        secretariat_client.get(edit_url(commitment))


# -- retire ----------------------------------------------------------------------------------


def retire(client, commitment, reason="Merged into the regional centre."):
    url = reverse("commitments:commitment_retire", kwargs={"slug": commitment.slug})
    return client.post(url, {"reason": reason, "version": commitment.version})


def test_retiring_needs_a_reason(secretariat_client):
    commitment = CommitmentFactory()

    assert retire(secretariat_client, commitment, reason="  ").status_code == 400

    commitment.refresh_from_db()
    assert not commitment.is_retired


def test_a_retired_commitment_says_so_and_leaves_the_table_and_calendar(
    secretariat_client, secretariat
):
    commitment = CommitmentFactory(title="Old office", target_date=datetime.date(2030, 1, 1))

    assert retire(secretariat_client, commitment).status_code == 302

    commitment.refresh_from_db()
    assert commitment.retired_by == secretariat and commitment.retired_on is not None
    assert not Event.objects.filter(deadline_of=commitment).exists()
    page = secretariat_client.get(commitment.get_absolute_url()).content.decode()
    assert "Merged into the regional centre." in page and "Retired on" in page
    listed = reverse("commitments:commitment_list")
    assert "Old office" not in secretariat_client.get(listed).content.decode()
    shown = secretariat_client.get(listed, {"retired": "on"}).content.decode()
    assert "Old office" in shown and "badge-retired" in shown


def test_a_retired_commitment_refuses_edits_and_status_updates(secretariat_client, secretariat):
    commitment = CommitmentFactory(title="Kept")
    data = form_data(commitment, title="Changed")
    retire(secretariat_client, commitment)
    commitment.refresh_from_db()
    data["version"] = commitment.version

    edited = secretariat_client.post(edit_url(commitment), data)
    update = {
        "status": "in_progress",
        "progress": 5,
        "narrative": "News.",
        "happened_on": "2021-01-01",
        "visibility": "public",
        "version": commitment.version,
    }
    posted = secretariat_client.post(commitment.get_absolute_url(), update)

    assert edited.status_code == 409 and posted.status_code == 409
    assert "retired" in posted.content.decode()
    commitment.refresh_from_db()
    assert commitment.title == "Kept"
    assert not StatusUpdate.objects.filter(commitment=commitment).exists()
    with pytest.raises(services.CommitmentRetired):
        services.status_update_create(
            commitment=commitment,
            author=secretariat,
            status="in_progress",
            progress=1,
            narrative="x",
            happened_on=datetime.date(2021, 1, 1),
        )


def test_a_retired_commitments_owner_gets_no_quiet_reminders(db, secretariat):
    from tracker.reminders.planning import _open_owned_commitments
    from tracker.selectors import dashboard_overdue_commitments

    quiet = CommitmentFactory(owner=secretariat, target_date=datetime.date(2030, 1, 1))
    services.commitment_retire(
        commitment=quiet,
        expected_version=1,
        reason="Dropped.",
        retired_by=secretariat,
        retired_on=datetime.date(2026, 1, 1),
    )
    later = datetime.date(2040, 1, 1)

    assert quiet not in _open_owned_commitments()
    assert quiet not in dashboard_overdue_commitments(user=secretariat, today=later)


# -- relations -------------------------------------------------------------------------------


def relate(client, source, target, kind=DEPENDS_ON):
    url = reverse("commitments:commitment_relation_add", kwargs={"slug": source.slug})
    return client.post(url, {"to_commitment": target.slug, "kind": kind})


def test_a_relation_is_shown_both_ways_and_can_be_removed(secretariat_client):
    centre, forum = CommitmentFactory(title="Centre"), CommitmentFactory(title="Forum")

    assert relate(secretariat_client, forum, centre).status_code == 302

    forum_page = secretariat_client.get(forum.get_absolute_url()).content.decode()
    centre_page = secretariat_client.get(centre.get_absolute_url()).content.decode()
    assert "Depends on" in forum_page and "Needed by" in centre_page
    relation = CommitmentRelation.objects.get()
    url = reverse(
        "commitments:commitment_relation_remove", kwargs={"slug": centre.slug, "pk": relation.pk}
    )
    assert secretariat_client.post(url).status_code == 302
    assert not CommitmentRelation.objects.exists()


@pytest.mark.parametrize(
    "named",
    [
        lambda target: f"http://tracker.example/commitments/{target.slug}/?page=2#update-3",
        lambda target: target.get_absolute_url(),
        lambda target: f"  {target.slug} ",
    ],
    ids=["whole address", "path", "ID"],
)
def test_the_other_commitment_is_named_by_its_address_or_its_id(secretariat_client, named):
    centre, forum = CommitmentFactory(title="Centre"), CommitmentFactory(title="Forum")
    url = reverse("commitments:commitment_relation_add", kwargs={"slug": forum.slug})

    response = secretariat_client.post(url, {"to_commitment": named(centre), "kind": DEPENDS_ON})

    assert response.status_code == 302
    relation = CommitmentRelation.objects.get()
    assert (relation.from_commitment, relation.to_commitment) == (forum, centre)


@pytest.mark.parametrize(
    "text", ["no-such-commitment", "/actors/centre/", "/commitments/", "http://x/commitments/nope/"]
)
def test_an_unknown_id_or_address_is_refused_and_nothing_is_added(secretariat_client, text):
    forum = CommitmentFactory(title="Forum")
    CommitmentFactory(title="Centre", slug="centre")
    url = reverse("commitments:commitment_relation_add", kwargs={"slug": forum.slug})

    response = secretariat_client.post(url, {"to_commitment": text, "kind": DEPENDS_ON})

    assert response.status_code == 400
    assert "No commitment has the ID or address" in response.content.decode()
    assert not CommitmentRelation.objects.exists()


def test_the_relation_form_does_not_list_every_commitment(secretariat_client):
    """The secretariat's page of a commitment was 1.3 MB at 20,000 commitments: the form
    listed all of them (issue 16)."""
    forum = CommitmentFactory(title="Forum")
    others = [CommitmentFactory(title=f"Listed nowhere on the forum's page {n}") for n in range(3)]

    html = secretariat_client.get(forum.get_absolute_url()).content.decode()

    assert 'name="to_commitment"' in html
    assert "Listed nowhere" not in html and not any(other.slug in html for other in others)


def test_superseded_reads_both_ways(db):
    from commitments.selectors import commitment_relations

    old, new = CommitmentFactory(), CommitmentFactory()
    services.commitment_relation_add(
        from_commitment=old, to_commitment=new, kind=CommitmentRelation.Kind.SUPERSEDED_BY
    )

    assert [(str(w), o) for w, o, _ in commitment_relations(commitment=old)] == [
        ("Superseded by", new)
    ]
    assert [(str(w), o) for w, o, _ in commitment_relations(commitment=new)] == [
        ("Supersedes", old)
    ]


def test_a_cycle_of_dependencies_is_refused_naming_it(secretariat_client):
    a, b, c = (CommitmentFactory(title=t) for t in ("Alpha", "Beta", "Gamma"))
    relate(secretariat_client, a, b)
    relate(secretariat_client, b, c)

    response = relate(secretariat_client, c, a)

    assert response.status_code == 400
    assert "“Gamma” depends on “Alpha” depends on “Beta” depends on “Gamma”" in (
        response.content.decode()
    )
    assert CommitmentRelation.objects.count() == 2


def test_a_relation_to_itself_is_refused(db):
    commitment = CommitmentFactory()

    with pytest.raises(services.RelationRefused):
        services.commitment_relation_add(
            from_commitment=commitment, to_commitment=commitment, kind=DEPENDS_ON
        )
    assert not CommitmentRelation.objects.exists()


def test_the_commitment_pages_query_count_does_not_grow_with_relations(
    secretariat_client, django_assert_max_num_queries
):
    commitment = CommitmentFactory()

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert secretariat_client.get(commitment.get_absolute_url()).status_code == 200
        return len(queries)

    for _ in range(2):
        services.commitment_relation_add(
            from_commitment=commitment, to_commitment=CommitmentFactory(), kind=DEPENDS_ON
        )
    few = count()
    for _ in range(20):
        services.commitment_relation_add(
            from_commitment=CommitmentFactory(), to_commitment=commitment, kind=DEPENDS_ON
        )
    assert count() == few
    # The page as before (its milestones included), plus the relations either way (one) and
    # the relation form's choices, and whether the reader follows it.
    with django_assert_max_num_queries(16):
        secretariat_client.get(commitment.get_absolute_url())


def test_commitment_relations_are_in_the_audit_trail_and_the_backup():
    from tracker.backup import RECORD_MODELS

    models = [entry["model"] for entry in settings.AUDITLOG_INCLUDE_TRACKING_MODELS]
    assert "commitments.CommitmentRelation" in models
    assert RECORD_MODELS.index("commitments.CommitmentRelation") > RECORD_MODELS.index(
        "commitments.Commitment"
    )
