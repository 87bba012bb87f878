"""The API's reads: what each reader gets (never anything internal to an anonymous reader or
a liaison), the commitments list's filters, sorting and pages, 400s and 404s, ETags."""

import pytest
from django.core.management import call_command
from django.urls import get_resolver, reverse

from api.parsers import NestingLimitedJSONParser
from commitments.models import StatusUpdate
from tests.api.conftest import INTERNAL_EVENT, INTERNAL_NARRATIVE, INTERNAL_REASON, MARKERS, _update
from tests.factories import CommitmentFactory, ParagraphFactory


def every_read(record) -> list[str]:
    slug = record.commitment.slug
    return [
        reverse("api:document_list"),
        reverse("api:document_detail", kwargs={"short_name": "ashgabat-2020"}),
        reverse("api:paragraph_list"),
        reverse("api:actor_list"),
        reverse("api:theme_list"),
        reverse("api:commitment_list"),
        reverse("api:commitment_detail", kwargs={"slug": slug}),
        reverse("api:commitment_updates", kwargs={"slug": slug}),
        reverse("api:commitment_milestones", kwargs={"slug": slug}),
        reverse("api:update_list"),
        reverse("api:event_list"),
    ]


def everything_read(client, record) -> str:
    texts = []
    for url in every_read(record):
        response = client.get(url)
        assert response.status_code == 200, url
        texts.append(response.content.decode())
    return "\n".join(texts)


@pytest.fixture
def public_site(settings):
    settings.TRACKER_PUBLIC_SITE = True


def test_a_liaison_reads_nothing_internal_and_no_email(record, liaison_client):
    read = everything_read(liaison_client, record)
    assert "The office opened." in read
    assert [marker for marker in MARKERS if marker in read] == []


def test_an_anonymous_reader_reads_nothing_internal_while_the_site_is_public(
    record, client, public_site
):
    read = everything_read(client, record)
    assert "The office opened." in read
    assert [marker for marker in MARKERS if marker in read] == []


def test_the_secretariat_reads_the_internal_record(record, secretariat_client):
    read = everything_read(secretariat_client, record)
    assert INTERNAL_NARRATIVE in read and INTERNAL_REASON in read and INTERNAL_EVENT in read
    assert "@example.org" not in read  # people by name, never by email


def test_a_public_withdrawal_reason_is_read_by_everyone(record, liaison_client):
    withdrawal = record.withdrawn.amended_by
    withdrawal.reason_public = True
    withdrawal.save()
    url = reverse("api:commitment_updates", kwargs={"slug": record.commitment.slug})
    updates = liaison_client.get(url).json()["results"]
    assert updates[0]["amended_by"]["reason"] == INTERNAL_REASON
    assert updates[0]["amended_by"]["author"] is None


def test_a_liaison_sees_the_public_state_and_no_version(record, liaison_client):
    url = reverse("api:commitment_detail", kwargs={"slug": record.commitment.slug})
    commitment = liaison_client.get(url).json()
    assert (commitment["status"], commitment["last_activity_on"]) == ("in_progress", "2021-04-01")
    assert commitment["version"] is None


def test_the_secretariat_gets_the_version_a_change_names(record, secretariat_client):
    url = reverse("api:commitment_detail", kwargs={"slug": record.commitment.slug})
    record.commitment.refresh_from_db()
    assert secretariat_client.get(url).json()["version"] == record.commitment.version


def test_a_liaison_sees_their_states_internal_events_as_on_the_pages(record, liaison_client):
    record.other.lead_actors.add(record.commitment.lead_actors.get())  # the liaison's state
    titles = [event["title"] for event in liaison_client.get("/api/v1/events/").json()["results"]]
    assert INTERNAL_EVENT in titles


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def test_the_commitments_filter_like_the_table(record, liaison_client):
    url = reverse("api:commitment_list")
    actor = record.commitment.lead_actors.get().slug
    assert slugs(liaison_client.get(url, {"actor": actor})) == [record.commitment.slug]
    assert slugs(liaison_client.get(url, {"status": "not_started"})) == [record.other.slug]
    paragraph = record.other.paragraphs.get().number
    query = {"document": "ashgabat-2020", "paragraph": paragraph}
    assert slugs(liaison_client.get(url, query)) == [record.other.slug]
    assert slugs(liaison_client.get(url, {"q": "office"})) == [record.commitment.slug]
    assert slugs(liaison_client.get(url, {"q": INTERNAL_NARRATIVE})) == []


def test_a_liaison_cannot_find_a_commitment_by_its_internal_status(record, liaison_client):
    _update(record.other, record.public_update.author, "x", StatusUpdate.Visibility.INTERNAL)
    url = reverse("api:commitment_list")
    assert slugs(liaison_client.get(url, {"status": "in_progress"})) == [record.commitment.slug]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"status": "done"}, "status"),
        ({"kind": "x"}, "kind"),
        ({"due": "yesterday"}, "due"),
        ({"freshness": "stale"}, "freshness"),
        ({"actor": "nobody"}, "actor"),
        ({"actor": "not a slug\x00"}, "actor"),
        ({"document": "nothing"}, "document"),
        ({"paragraph": "2"}, "paragraph"),
        ({"theme": "none"}, "theme"),
        ({"sort": "narrative"}, "sort"),
        ({"retired": "perhaps"}, "retired"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"q": "a\x00b"}, "q"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_parameter(record, liaison_client, query, parameter):
    response = liaison_client.get(reverse("api:commitment_list"), query)
    assert response.status_code == 400
    assert list(response.json()) == [parameter]


def test_a_page_past_the_last_is_a_404(record, liaison_client):
    assert liaison_client.get(reverse("api:commitment_list"), {"page": 9}).status_code == 404


def paged_reads(record) -> list[str]:
    """Every list the API pages (api.pagination): a commitment's milestones are not paged."""
    paged = [url for url in every_read(record) if url.endswith("s/")]
    return [url for url in paged if not url.endswith("/milestones/")]


# Past the last page of every list of the record, as a number of any size.
FAR_PAGES = ["9", "2147483647", "2147483648", "99999999999999999999", "9" * 5000, "00000009"]
# Not a page number: a 400 naming the parameter.
NOT_PAGES = ["0", "-1", "-99999999999999999999", "x", "1e9", "٣", "", " ", "2.0"]


@pytest.mark.parametrize("url", range(7))
def test_any_page_number_past_the_last_is_a_404_and_junk_a_400(record, liaison_client, url):
    url = paged_reads(record)[url]
    assert liaison_client.get(url, {"page": "1"}).status_code == 200

    for value in FAR_PAGES:
        assert liaison_client.get(url, {"page": value}).status_code == 404, (url, value)
    for value in NOT_PAGES:
        response = liaison_client.get(url, {"page": value})
        assert response.status_code == 400, (url, value)
        assert list(response.json()) == ["page"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/commitments/no-such/",
        "/api/v1/commitments/no-such/updates/",
        "/api/v1/commitments/no-such/milestones/",
        "/api/v1/documents/no-such/",
        "/api/v1/actors/no-such/",
        "/api/v1/events/no-such/",
    ],
)
def test_an_unknown_id_is_a_404(record, liaison_client, url):
    response = liaison_client.get(url)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_pages_hold_every_row_once_in_a_stable_order(db, liaison_client):
    paragraph = ParagraphFactory()
    made = [
        CommitmentFactory(title="Same", slug=f"same-{n}", paragraphs=[paragraph]).slug
        for n in range(30)
    ]
    url = reverse("api:commitment_list")
    first = slugs(liaison_client.get(url, {"sort": "-progress"}))
    second = slugs(liaison_client.get(url, {"sort": "-progress", "page": 2}))
    # Descending is the ascending order turned, ties by title then id, as in the table.
    assert len(first) == 25 and first + second == made[::-1]


def test_sorting_follows_the_table(record, liaison_client):
    url = reverse("api:commitment_list")
    assert slugs(liaison_client.get(url, {"sort": "-progress"}))[0] == record.commitment.slug
    assert slugs(liaison_client.get(url, {"sort": "progress"}))[0] == record.other.slug
    assert slugs(liaison_client.get(url, {"sort": "-paragraphs"}))[0] == record.other.slug
    assert slugs(liaison_client.get(url))[0] == record.commitment.slug  # the document's order


def test_the_list_costs_the_same_queries_for_more_rows(
    record, liaison_client, django_assert_max_num_queries
):
    for _ in range(20):
        CommitmentFactory(paragraphs=[ParagraphFactory()])
    with django_assert_max_num_queries(14):
        liaison_client.get(reverse("api:commitment_list"))
    with django_assert_max_num_queries(14):
        liaison_client.get(reverse("api:update_list"))


def test_a_read_has_an_etag_that_changes_with_the_record(record, liaison_client):
    urls = (
        reverse("api:commitment_list"),
        reverse("api:commitment_detail", kwargs={"slug": record.commitment.slug}),
    )
    for day, url in enumerate(urls, start=20):
        response = liaison_client.get(url)
        etag = response["ETag"]
        assert liaison_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert "private" in response["Cache-Control"]
        _update(record.commitment, record.public_update.author, f"News for {url}", day=day)
        assert liaison_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_an_internal_update_leaves_a_liaisons_etag_alone(record, liaison_client):
    url = reverse("api:commitment_detail", kwargs={"slug": record.commitment.slug})
    etag = liaison_client.get(url)["ETag"]
    _update(record.commitment, record.public_update.author, "x", StatusUpdate.Visibility.INTERNAL)
    assert liaison_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_the_schema_is_valid_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")
    assert "/api/v1/commitments/{slug}/updates/" in (tmp_path / "s.yaml").read_text()


def test_every_api_address_reads_bodies_with_the_nesting_limited_parser():
    """A body too deep for the json module is a 400 wherever it is posted (api.parsers)."""
    patterns = get_resolver().url_patterns
    api_views = [
        entry.callback
        for include in patterns
        if getattr(include, "namespace", None) == "api"
        for entry in include.url_patterns
    ]
    classes = [view.view_class for view in api_views if hasattr(view, "view_class")]
    assert len(classes) == len(api_views) > 10
    for view_class in classes:
        assert view_class().get_parsers(), view_class
        assert all(isinstance(p, NestingLimitedJSONParser) for p in view_class().get_parsers())
