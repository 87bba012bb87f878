"""The milestone pages and the commitment page's milestones, as the secretariat and a liaison
use them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commitments import milestones
from commitments.models import Milestone, StatusUpdate
from tests.commitments.test_milestones import add, done
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory, post_status_update


@pytest.fixture
def commitment(db, liaison):
    paragraph = ParagraphFactory(document=DocumentFactory(adopted_on=datetime.date(2020, 12, 12)))
    return CommitmentFactory(title="OCHA office", paragraphs=[paragraph])


def page(client, commitment):
    response = client.get(commitment.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def update_form(commitment, **fields):
    return {
        "status": "in_progress",
        "happened_on": "2021-04-16",
        "narrative": "Agreement signed.",
        "visibility": "public",
        "version": str(commitment.version),
    } | fields


def test_the_page_writes_the_rule_with_this_commitments_sums(
    secretariat_client, secretariat, commitment
):
    rows = [add(commitment, secretariat, f"Step {w}", weight=w) for w in (1, 2, 1)]
    done(rows[0], secretariat)
    done(rows[1], secretariat)

    html = page(secretariat_client, commitment)

    assert "Here: 2 of 3 milestones done, weights 1+2 of 4: 75 %." in html
    assert html.index("Step 1") < html.index("Step 2")
    assert "1 May 2022" in html  # the done day, in the reader's day format


def test_the_form_hides_the_figure_where_milestones_compute_it(
    secretariat_client, secretariat, commitment
):
    assert 'name="progress_reason"' in page(secretariat_client, commitment)
    add(commitment, secretariat)

    html = page(secretariat_client, commitment)

    assert 'name="progress"' not in html and 'name="progress_reason"' not in html
    assert "computed from the milestones" in html


def test_a_typed_figure_posted_where_milestones_exist_is_refused(
    secretariat_client, secretariat, commitment
):
    add(commitment, secretariat)
    commitment.refresh_from_db()

    response = secretariat_client.post(
        commitment.get_absolute_url(), update_form(commitment, progress="80")
    )

    assert response.status_code == 400
    assert "your figure was not used" in response.content.decode()
    assert not commitment.updates.exists()


def test_an_update_without_a_figure_records_the_milestones_figure(
    secretariat_client, secretariat, commitment
):
    done(add(commitment, secretariat, weight=1), secretariat)
    add(commitment, secretariat, weight=3)
    commitment.refresh_from_db()

    response = secretariat_client.post(commitment.get_absolute_url(), update_form(commitment))

    assert response.status_code == 302
    assert commitment.updates.get().progress == 25


def test_without_milestones_the_reason_is_required_and_shown(secretariat_client, commitment):
    url = commitment.get_absolute_url()
    refused = secretariat_client.post(url, update_form(commitment, progress="30"))
    assert refused.status_code == 400
    assert not commitment.updates.exists()

    posted = secretariat_client.post(
        url, update_form(commitment, progress="30", progress_reason="3 of 10 workshops held")
    )

    assert posted.status_code == 302
    assert "3 of 10 workshops held" in page(secretariat_client, commitment)


def test_a_liaison_reads_milestones_but_not_an_internal_proof(
    liaison_client, secretariat, commitment
):
    internal = post_status_update(
        commitment, secretariat, visibility=StatusUpdate.Visibility.INTERNAL
    )
    public = post_status_update(commitment, secretariat, happened_on=datetime.date(2021, 5, 1))
    # Proved before internal updates were refused as proof (commitments.milestones): the page
    # still hides the internal update from liaisons.
    hidden = done(add(commitment, secretariat, "Hidden proof"), secretariat)
    Milestone.objects.filter(pk=hidden.pk).update(proved_by=internal)
    done(
        add(commitment, secretariat, "Shown proof"), secretariat, evidence_url="", proved_by=public
    )

    html = page(liaison_client, commitment)

    assert "Hidden proof" in html and "Shown proof" in html
    assert f"#update-{public.pk}" in html
    assert f"#update-{internal.pk}" not in html
    assert reverse("commitments:milestone_add", args=[commitment.slug]) not in html


def milestone_page_queries(client, commitment) -> int:
    with CaptureQueriesContext(connection) as queries:
        page(client, commitment)
    return len(queries)


@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_page_reads_milestones_in_a_constant_number_of_queries(
    client, secretariat, liaison, commitment, role
):
    client.force_login(secretariat if role == "secretariat" else liaison)
    proof = post_status_update(commitment, secretariat, progress=10)
    for _ in range(2):
        done(add(commitment, secretariat), secretariat, evidence_url="", proved_by=proof)
    few = milestone_page_queries(client, commitment)
    for _ in range(48):
        done(add(commitment, secretariat), secretariat, evidence_url="", proved_by=proof)

    assert milestone_page_queries(client, commitment) == few


def test_adding_a_milestone(secretariat_client, commitment):
    url = reverse("commitments:milestone_add", args=[commitment.slug])
    response = secretariat_client.post(
        url, {"title": "Host agreement signed", "due_on": "2021-06-30", "weight": "2"}
    )

    assert response.status_code == 302
    assert commitment.milestones.get().weight == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"due_on": "2019-01-01"}, "before 12 December 2020"),
        ({"weight": "0"}, "greater than or equal to 1"),
    ],
)
def test_adding_a_refused_milestone_says_why(secretariat_client, commitment, data, message):
    url = reverse("commitments:milestone_add", args=[commitment.slug])

    response = secretariat_client.post(url, {"title": "Step", "weight": "1"} | data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not commitment.milestones.exists()


def test_a_stale_edit_shows_the_other_change_and_writes_nothing(
    secretariat_client, secretariat, commitment
):
    milestone = add(commitment, secretariat, "Office opened")
    url = reverse("commitments:milestone_edit", args=[milestone.pk])
    opened = {"title": "My title", "weight": "1", "version": "1"}
    milestones.milestone_update(
        milestone=milestone,
        author=secretariat,
        title="Their title",
        weight=1,
        due_on=None,
        expected_version=1,
    )

    response = secretariat_client.post(url, opened)

    assert response.status_code == 409
    html = response.content.decode()
    assert "Their title" in html and "My title" in html
    assert "core/_conflict.html" in [t.name for t in response.templates]
    assert Milestone.objects.get(pk=milestone.pk).title == "Their title"
    assert response.context["form"]["version"].value() == 2  # saving again is deliberate


def test_marking_done_needs_evidence_and_refreshes_the_progress(
    secretariat_client, secretariat, commitment
):
    milestone = add(commitment, secretariat)
    url = reverse("commitments:milestone_done", args=[milestone.pk])
    data = {"done_on": "2022-01-10", "version": "1"}

    refused = secretariat_client.post(url, data)
    assert refused.status_code == 400
    assert "Give the evidence" in refused.content.decode()

    proof = post_status_update(commitment, secretariat, progress=None)
    marked = secretariat_client.post(url, data | {"proved_by": str(proof.pk)})

    assert marked.status_code == 302
    commitment.refresh_from_db()
    assert commitment.progress == 100
    assert Milestone.objects.get(pk=milestone.pk).proved_by == proof


def test_a_proof_from_another_commitment_is_not_a_choice(
    secretariat_client, secretariat, commitment
):
    milestone = add(commitment, secretariat)
    other = post_status_update(CommitmentFactory(), secretariat)
    url = reverse("commitments:milestone_done", args=[milestone.pk])

    response = secretariat_client.post(
        url, {"done_on": "2022-01-10", "version": "1", "proved_by": str(other.pk)}
    )

    assert response.status_code == 400
    assert Milestone.objects.get(pk=milestone.pk).done_on is None


def test_moving_a_milestone_up(secretariat_client, secretariat, commitment):
    add(commitment, secretariat, "First")
    second = add(commitment, secretariat, "Second")
    url = reverse("commitments:milestone_move", args=[second.pk])

    assert secretariat_client.post(url, {"direction": "up"}).status_code == 302
    assert list(commitment.milestones.order_by("position").values_list("title", flat=True)) == [
        "Second",
        "First",
    ]
    assert secretariat_client.post(url, {"direction": "sideways"}).status_code == 400


def test_a_done_milestone_cannot_be_deleted_and_says_so(
    secretariat_client, secretariat, commitment
):
    milestone = add(commitment, secretariat, "Office opened")
    done(milestone, secretariat)
    url = reverse("commitments:milestone_delete", args=[milestone.pk])

    response = secretariat_client.post(url, {"version": "2"})

    assert response.status_code == 400
    assert "cannot be deleted" in response.content.decode()
    assert Milestone.objects.filter(pk=milestone.pk).exists()


def test_deleting_a_milestone_not_done(secretariat_client, secretariat, commitment):
    milestone = add(commitment, secretariat)
    url = reverse("commitments:milestone_delete", args=[milestone.pk])

    assert secretariat_client.post(url, {"version": "1"}).status_code == 302
    assert not Milestone.objects.filter(pk=milestone.pk).exists()


def test_the_cached_table_shows_the_new_figure_at_once(secretariat_client, secretariat, commitment):
    milestone = add(commitment, secretariat, weight=1)
    add(commitment, secretariat, weight=1)
    list_url = reverse("commitments:commitment_list")
    assert "50%" not in secretariat_client.get(list_url).content.decode()

    done(milestone, secretariat)

    assert "50%" in secretariat_client.get(list_url).content.decode()


def test_a_liaison_is_refused_every_milestone_page(liaison_client, secretariat, commitment):
    milestone = add(commitment, secretariat)
    urls = [
        reverse("commitments:milestone_add", args=[commitment.slug]),
        *(
            reverse(f"commitments:milestone_{name}", args=[milestone.pk])
            for name in ("edit", "done", "move", "delete")
        ),
    ]
    for url in urls:
        assert (
            liaison_client.post(url, {"title": "x", "weight": "1", "version": "1"}).status_code
            == 403
        )
    assert Milestone.objects.get(pk=milestone.pk).version == 1
