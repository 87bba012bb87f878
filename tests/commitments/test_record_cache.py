"""The record pages' rendered parts (the commitments table's filters and rows, a commitment's
history, an actor's commitments and updates, a document's paragraphs) are cached per audience,
language and details, and forgotten on every write that changes what they show."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from commitments.statuses import Status
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    EvidenceLinkFactory,
    ParagraphFactory,
    SecretariatFactory,
    StatusUpdateFactory,
    ThemeFactory,
)
from tests.factories import post_status_update as post_update

LIST_URL = reverse("commitments:commitment_list")
# The liaison account exists before the secretariat's request: creating an account is a write
# that forgets the cached pages, so a test that made it later would prove nothing.

# Session and user (the session is not saved within its refresh interval: core.sessions); one
# to check that no invalidation was lost (core.caching._cache_trusted). No count, no rows, no
# prefetches and no filter dropdowns: those are in the cached content.
CACHED_TABLE_QUERIES = 3


def table_part(response) -> str:
    """The cached content: from the filters to the end of the table."""
    page = response.content.decode()
    return page[page.index('<form method="get" class="filters"') : page.index("</table>")]


def rows(response) -> str:
    """The table's rows alone (the status filter lists every status's name)."""
    page = response.content.decode()
    return page[page.index("<tbody") : page.index("</tbody>")]


@pytest.fixture
def commitment(db):
    return CommitmentFactory(title="Group of Friends of Neutrality")


def test_the_second_request_is_served_from_the_cache(
    secretariat_client, commitment, django_assert_num_queries
):
    first = secretariat_client.get(LIST_URL, {"sort": "status"})

    with django_assert_num_queries(CACHED_TABLE_QUERIES):
        second = secretariat_client.get(LIST_URL, {"sort": "status"})

    assert table_part(second) == table_part(first)
    assert "Group of Friends of Neutrality" in table_part(second)


def test_a_table_of_several_cached_parts_reads_the_loss_record_once(
    secretariat_client, commitment, django_assert_num_queries
):
    """A page number asks for the cached row count, a theme for the cached theme ids, then the
    cached rows: three entries, one check that no invalidation was lost."""
    theme = ThemeFactory(name="Preventive diplomacy")
    commitment.themes.add(theme)
    query = {"page": "2", "theme": theme.pk}
    first = secretariat_client.get(LIST_URL, query)

    with django_assert_num_queries(CACHED_TABLE_QUERIES):
        second = secretariat_client.get(LIST_URL, query)

    assert table_part(second) == table_part(first)
    assert "Group of Friends of Neutrality" in rows(second)


def test_a_status_update_shows_on_the_next_table(secretariat_client, secretariat, commitment):
    assert "In progress" not in rows(secretariat_client.get(LIST_URL))

    post_update(commitment, secretariat, status=Status.IN_PROGRESS)

    assert "In progress" in rows(secretariat_client.get(LIST_URL))


def test_renaming_an_actor_or_a_theme_shows_on_the_next_table(secretariat_client, commitment):
    actor = ActorFactory(name="Turkmenistan")
    theme = ThemeFactory(name="Preventive diplomacy")
    commitment.lead_actors.add(actor)
    commitment.themes.add(theme)
    assert "Turkmenistan" in rows(secretariat_client.get(LIST_URL))

    actor.name = "Republic of Turkmenistan"
    actor.save()
    theme.name = "Mediation"
    theme.save()

    page = table_part(secretariat_client.get(LIST_URL))
    assert "Republic of Turkmenistan" in rows(secretariat_client.get(LIST_URL))
    assert "Mediation" in page  # the theme filter


def test_each_query_has_its_own_entry(secretariat_client, commitment):
    CommitmentFactory(title="UN OCHA office for Central Asia")
    secretariat_client.get(LIST_URL)

    found = rows(secretariat_client.get(LIST_URL, {"q": "OCHA"}))

    assert "UN OCHA office for Central Asia" in found
    assert "Group of Friends of Neutrality" not in found


def test_a_liaison_is_never_served_the_secretariats_cached_table(
    client, secretariat, liaison, commitment
):
    post_update(commitment, secretariat, status=Status.IN_PROGRESS)
    post_update(
        commitment,
        secretariat,
        status=Status.STALLED,
        happened_on=datetime.date(2021, 6, 1),
        visibility="internal",
    )
    client.force_login(secretariat)
    assert "Stalled" in rows(client.get(LIST_URL))

    client.force_login(liaison)
    shown = rows(client.get(LIST_URL))

    assert "Stalled" not in shown
    assert "In progress" in shown


def test_each_language_has_its_own_entry(client, secretariat, commitment):
    client.force_login(secretariat)
    assert "Apply filters" in table_part(client.get(LIST_URL))

    secretariat.language = "ru"
    secretariat.save()
    russian = table_part(client.get(LIST_URL))

    assert "Apply filters" not in russian
    assert "Group of Friends of Neutrality" in rows(client.get(LIST_URL))


def test_a_login_does_not_forget_the_cached_table(client, secretariat, commitment):
    client.force_login(secretariat)
    client.get(LIST_URL)
    client.logout()

    credentials = {"username": secretariat.username, "password": "correct horse battery staple"}
    assert client.post(reverse("login"), credentials).status_code == 302

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("commitments.views.CommitmentListView.get_table", None)  # must not run
        assert "Group of Friends of Neutrality" in rows(client.get(LIST_URL))


def history(response) -> str:
    page = response.content.decode()
    return page[
        page.index('<section class="timeline"') : page.index(
            "</section>", page.index('<section class="timeline"')
        )
    ]


def test_a_commitments_history_is_cached_and_a_new_update_shows_at_once(
    secretariat_client, secretariat, commitment, django_assert_max_num_queries
):
    post_update(commitment, secretariat, narrative="Draft resolution circulated.")
    first = secretariat_client.get(commitment.get_absolute_url())

    # The commitment, its milestones, the page and the lost-invalidation check; its relations
    # and the relation form's choices; whether the reader follows it; no history read.
    with django_assert_max_num_queries(16):
        second = secretariat_client.get(commitment.get_absolute_url())
    post_update(commitment, secretariat, narrative="Resolution adopted.", progress=100)
    third = secretariat_client.get(commitment.get_absolute_url())

    assert history(second) == history(first)
    assert "Resolution adopted." not in history(second)
    assert "Resolution adopted." in history(third)


def test_a_liaison_is_never_served_the_secretariats_cached_history(
    client, secretariat, liaison, commitment
):
    post_update(commitment, secretariat, narrative="Public step.")
    post_update(commitment, secretariat, narrative="Secret step.", visibility="internal")
    client.force_login(secretariat)
    assert "Secret step." in history(client.get(commitment.get_absolute_url()))

    client.force_login(liaison)
    shown = history(client.get(commitment.get_absolute_url()))

    assert "Public step." in shown
    assert "Secret step." not in shown


def test_each_readers_time_zone_has_its_own_history(client, commitment):
    with time_machine.travel(datetime.datetime(2026, 4, 20, 22, 30, tzinfo=datetime.UTC)):
        StatusUpdateFactory(commitment=commitment)
    client.force_login(SecretariatFactory(time_zone="UTC"))
    assert "20 April 2026, 22:30" in history(client.get(commitment.get_absolute_url()))

    client.force_login(SecretariatFactory(time_zone="Asia/Ashgabat"))

    assert "21 April 2026, 03:30" in history(client.get(commitment.get_absolute_url()))


def test_an_evidence_link_corrected_later_shows_on_the_next_history(secretariat_client, commitment):
    link = EvidenceLinkFactory(update=StatusUpdateFactory(commitment=commitment), title="Draft")
    assert "Draft" in history(secretariat_client.get(commitment.get_absolute_url()))

    link.title = "Resolution 77/1"
    link.save()

    assert "Resolution 77/1" in history(secretariat_client.get(commitment.get_absolute_url()))


def actor_record(response) -> str:
    page = response.content.decode()
    return page[page.index('<section aria-labelledby="involved-heading">') :]


def test_an_actors_page_is_cached_per_audience_and_shows_a_new_update_at_once(
    client, secretariat, liaison, commitment
):
    state = liaison.actor  # Turkmenistan
    commitment.lead_actors.add(state)
    post_update(commitment, secretariat, narrative="Secret step.", visibility="internal")
    client.force_login(secretariat)
    assert "Secret step." in actor_record(client.get(state.get_absolute_url()))

    client.force_login(liaison)
    assert "Secret step." not in actor_record(client.get(state.get_absolute_url()))
    post_update(
        commitment, secretariat, narrative="Public step.", happened_on=datetime.date(2021, 5, 1)
    )

    assert "Public step." in actor_record(client.get(state.get_absolute_url()))


# Session, user and the loss record (core.caching._cache_trusted): the whole page is kept for
# its reader (core.page_cache), the actor and whether they follow it with it.
CACHED_STATE_PAGE_QUERIES = 3


def test_a_liaisons_own_state_page_reads_the_state_once(
    client, liaison, commitment, django_assert_num_queries
):
    state = liaison.actor
    commitment.lead_actors.add(state)
    client.force_login(liaison)
    client.get(state.get_absolute_url())

    with django_assert_num_queries(CACHED_STATE_PAGE_QUERIES):
        page = client.get(state.get_absolute_url())

    assert "Group of Friends of Neutrality" in actor_record(page)
    assert f'<a href="{state.get_absolute_url()}">Turkmenistan</a>' in page.content.decode()


def test_a_readers_language_or_calendar_link_change_keeps_the_cached_pages(secretariat):
    from core import caching
    from tracker.calendar_feeds import calendar_token_reset
    from tracker.language import user_language_set

    before = caching.generation(caching.RECORD)

    user_language_set(user=secretariat, language="ru")
    calendar_token_reset(user=secretariat)

    assert caching.generation(caching.RECORD) == before
    secretariat.first_name = "Aylar"  # a name is shown (owners, authors): that one counts
    secretariat.save(update_fields=["first_name"])
    assert caching.generation(caching.RECORD) != before


# -- a document's page: its paragraphs and what each is tracked as -----------------------------

# Session and user; the document and its links each way; the documents the link form offers;
# whether the reader follows it; that no invalidation was lost. Not the paragraphs nor their
# commitments: those are in the cached part (they were read on every visit, 78 ms a page).
CACHED_DOCUMENT_QUERIES = 2 + 6


def paragraphs_part(response) -> str:
    page = response.content.decode()
    return page[page.index('<section aria-labelledby="paragraphs-heading">') :]


@pytest.mark.parametrize("count", [2, 20])
def test_a_documents_paragraphs_are_served_from_the_cache(
    secretariat_client, count, django_assert_num_queries
):
    document = DocumentFactory()
    for number in range(1, count + 1):
        CommitmentFactory(
            title=f"Tracked {number}",
            paragraphs=[ParagraphFactory(document=document, number=number)],
        )
    # Another officer: their page is rendered around the part the first one's kept.
    other = Client()
    other.force_login(SecretariatFactory(username="second-officer"))
    first = secretariat_client.get(document.get_absolute_url())

    with django_assert_num_queries(CACHED_DOCUMENT_QUERIES):
        second = other.get(document.get_absolute_url())

    assert paragraphs_part(second) == paragraphs_part(first)
    assert f"Tracked {count}" in paragraphs_part(second)


def test_a_liaison_is_never_served_the_secretariats_cached_paragraphs(client, secretariat, liaison):
    paragraph = ParagraphFactory(number=3)
    client.force_login(secretariat)
    assert "Track ¶3" in paragraphs_part(client.get(paragraph.document.get_absolute_url()))

    client.force_login(liaison)

    assert "Track ¶3" not in paragraphs_part(client.get(paragraph.document.get_absolute_url()))


def test_a_paragraph_tracked_edited_or_untracked_shows_on_the_next_document_page(
    secretariat_client, secretariat
):
    paragraph = ParagraphFactory(number=1, text="Encourages a forum.")
    url = paragraph.document.get_absolute_url()
    assert "Not tracked as a commitment." in paragraphs_part(secretariat_client.get(url))

    commitment = CommitmentFactory(title="Forum", paragraphs=[paragraph])
    assert "Forum" in paragraphs_part(secretariat_client.get(url))

    commitment.title = "Forum every five years"
    commitment.save()
    assert "Forum every five years" in paragraphs_part(secretariat_client.get(url))

    paragraph.text = "Encourages a forum at least every five years."
    paragraph.save()
    assert "at least every five years." in paragraphs_part(secretariat_client.get(url))

    commitment.paragraphs.clear()
    assert "Not tracked as a commitment." in paragraphs_part(secretariat_client.get(url))
