"""The commitments table's filters and rows are cached per audience, language and query, and
forgotten on every write that changes what they show."""

import datetime

import pytest
from django.urls import reverse

from commitments.statuses import Status
from tests.commitments.test_services import post as post_update
from tests.factories import ActorFactory, CommitmentFactory, LiaisonFactory, ThemeFactory

LIST_URL = reverse("commitments:commitment_list")
# Session and user; three to save the session (SESSION_SAVE_EVERY_REQUEST). No count, no rows,
# no prefetches and no filter dropdowns: those are in the cached content.
CACHED_TABLE_QUERIES = 5


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


def test_a_liaison_is_never_served_the_secretariats_cached_table(client, secretariat, commitment):
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

    client.force_login(LiaisonFactory())
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
