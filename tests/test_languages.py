import datetime
import re

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from commitments.statuses import Status
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    SecretariatFactory,
)
from tests.tracker.test_reminders import at, dispatch, make_event, post_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(db):
    document = DocumentFactory()
    paragraph = ParagraphFactory(document=document, number=1)
    CommitmentFactory(paragraphs=[paragraph], status=Status.STALLED, progress=35)


def test_english_is_the_default(secretariat_client, record):
    content = secretariat_client.get(reverse("dashboard")).content.decode()

    assert '<html lang="en">' in content
    assert ">Commitments</a>" in content
    assert "Commitments by status" in content


def test_the_browser_preference_gives_russian(secretariat_client, record):
    response = secretariat_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ru,en;q=0.5")

    content = response.content.decode()
    assert '<html lang="ru">' in content
    assert ">Обязательства</a>" in content
    assert "Обязательства по статусам" in content  # a chart's title
    assert "Застопорилось" in content  # a status name
    assert "давно не продвигается" in content  # its definition, in the legend


def test_the_language_switch_keeps_the_choice(secretariat_client, record):
    response = secretariat_client.post(
        reverse("set_language"), {"language": "ru", "next": reverse("commitments:commitment_list")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("commitments:commitment_list")
    content = secretariat_client.get(response["Location"]).content.decode()
    assert "Не начато" in content or "Застопорилось" in content
    # The browser's English does not override the choice made.
    again = secretariat_client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ru">' in again.content.decode()


def test_the_login_page_offers_the_switch_to_visitors(client):
    content = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    # Links, not a form: a visitor's page holds no CSRF token (docs/public-site.md#caching).
    assert 'href="/i18n/setlang/?language=en&amp;next=/login/"' in content
    assert "Мониторинг обязательств" in content


def test_a_visitors_language_link_sets_the_cookie_and_returns_to_the_page(client):
    response = client.get(reverse("set_language"), {"language": "ru", "next": "/login/?next=/"})

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["httponly"]
    assert '<html lang="ru">' in client.get("/login/").content.decode()


@pytest.mark.parametrize("next_url", ["https://elsewhere.example/", "//elsewhere.example/", ""])
def test_a_language_link_never_leads_off_the_site(client, next_url):
    response = client.get(reverse("set_language"), {"language": "ru", "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_language_link_to_a_language_not_offered_sets_nothing(client):
    response = client.get(reverse("set_language"), {"language": "de", "next": "/login/"})

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_russian_number_format_never_reaches_the_svg(secretariat_client, record):
    content = secretariat_client.get(
        reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()

    coordinates = re.findall(r' (?:x|y|width|cx|cy)="([^"]*)"', content)
    assert coordinates and not [value for value in coordinates if "," in value]


def test_the_document_text_stays_as_imported(secretariat_client):
    document = DocumentFactory(short_name="ashgabat-2020")
    ParagraphFactory(document=document, number=1, text="Highlighted that policy of neutrality")
    url = reverse("commitments:document_detail", kwargs={"short_name": "ashgabat-2020"})

    content = secretariat_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert "Highlighted that policy of neutrality" in content


def test_a_user_with_a_language_gets_it_whatever_the_browser_says(client, db):
    client.force_login(SecretariatFactory(language="ru"))

    content = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="ru">' in content
    assert ">Обязательства</a>" in content


def test_without_a_language_the_browser_decides(client, db):
    client.force_login(SecretariatFactory(language=""))

    english = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    russian = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()

    assert '<html lang="en">' in english
    assert '<html lang="ru">' in russian


def test_the_switch_saves_the_choice_on_a_logged_in_user(client, db):
    user = SecretariatFactory(language="")
    client.force_login(user)

    response = client.post(reverse("set_language"), {"language": "ru", "next": "/"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "ru"
    # Another browser with no cookie, preferring English, still gets the saved choice.
    client.cookies.clear()
    client.force_login(user)
    content = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ru">' in content


def test_the_switch_refuses_a_language_not_offered_and_saves_nothing(client, db):
    user = SecretariatFactory(language="ru")
    client.force_login(user)

    client.post(reverse("set_language"), {"language": "de", "next": "/"})

    user.refresh_from_db()
    assert user.language == "ru"


def test_the_admin_user_form_shows_the_language(admin_client, db):
    user = SecretariatFactory()

    content = admin_client.get(reverse("admin:tracker_user_change", args=[user.pk])).content
    assert b'name="language"' in content


def test_an_event_reminder_is_written_in_the_recipients_language(db):
    reader = SecretariatFactory(time_zone="Asia/Ashgabat", language="ru")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 12, 1))
    make_event(commitments=[commitment], lead_times_days=[3])

    dispatch(at(2026, 12, 9, 4))

    [message] = mail.outbox
    assert message.subject.startswith("International Day of Neutrality: через 3 дня, 12 декабря")
    assert "Уважаемый(-ая)" in message.body
    assert "Суббота 12 декабря 2026 (Asia/Ashgabat)" in message.body
    assert "Прекратить получение всех напоминаний:" in message.body
    assert "Stop all reminder emails" not in message.body


def test_a_quiet_commitment_reminder_is_written_in_the_recipients_language(db):
    owner = SecretariatFactory(time_zone="Asia/Ashgabat", language="ru")
    commitment = CommitmentFactory(
        owner=owner, reporting_cadence_months=3, title="Neutrality forum"
    )
    post_update(commitment, happened_on=datetime.date(2026, 1, 10))

    dispatch(at(2026, 4, 11, 4))

    [message] = mail.outbox
    assert message.subject == "Нет обновлений в течение 91 дня: Neutrality forum"
    assert "10 января 2026" in message.body
    # The commitment's own text stays as it was entered.
    assert "«Neutrality forum»" in message.body


def test_a_recipient_without_a_language_gets_the_default_english(db):
    reader = SecretariatFactory(time_zone="Asia/Ashgabat", language="")
    commitment = CommitmentFactory(owner=reader, last_activity_on=datetime.date(2026, 12, 1))
    make_event(commitments=[commitment], lead_times_days=[3])

    dispatch(at(2026, 12, 9, 4))

    [message] = mail.outbox
    assert message.subject.startswith("International Day of Neutrality: in 3 days")


def test_every_message_in_the_russian_catalogue_is_translated():
    """A new interface string without a Russian translation (or left fuzzy) fails here."""
    catalogue = polib.pofile(str(settings.LOCALE_PATHS[0] / "ru" / "LC_MESSAGES" / "django.po"))

    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert catalogue.percent_translated() == 100, (missing, fuzzy)
    assert (missing, fuzzy) == ([], [])


def test_every_plural_in_the_russian_catalogue_has_all_four_forms():
    """Django's Russian rule has four forms (the fourth for fractions): `msgfmt -c` refuses a
    catalogue where a plural message has three, and gettext would fall back to English."""
    catalogue = polib.pofile(str(settings.LOCALE_PATHS[0] / "ru" / "LC_MESSAGES" / "django.po"))
    short = [
        entry.msgid
        for entry in catalogue
        if entry.msgid_plural and sorted(entry.msgstr_plural) != [0, 1, 2, 3]
    ]
    assert short == []


def test_a_commitment_page_and_its_form_are_in_russian_but_not_the_record(secretariat_client):
    paragraph = ParagraphFactory(number=3, text="Welcomed the establishment of the centre")
    commitment = CommitmentFactory(paragraphs=[paragraph], title="Regional centre")

    content = secretariat_client.get(
        commitment.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()

    assert "Внести обновление статуса" in content  # the form's heading
    assert "Степень выполнения в процентах" in content  # a field's help text
    assert "Доступно представителям государств" in content  # a choice's label
    assert "Post a status update" not in content
    assert "Regional centre" in content and "Welcomed the establishment of the centre" in content


def test_the_commitments_table_and_its_filters_are_in_russian(secretariat_client, record):
    content = secretariat_client.get(
        reverse("commitments:commitment_list"), HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()

    assert "Целевой срок" in content  # a column
    assert "Любой статус" in content  # a filter's empty choice
    assert "Применить условия отбора" in content


def test_an_actor_pages_count_and_page_links_are_in_russian(secretariat_client, monkeypatch):
    from commitments import views

    monkeypatch.setattr(views, "ACTOR_PAGE_SIZE", 2)
    actor = ActorFactory()
    CommitmentFactory.create_batch(5, lead_actors=[actor])

    content = secretariat_client.get(
        actor.get_absolute_url(), {"page": 2}, HTTP_ACCEPT_LANGUAGE="ru"
    ).content.decode()

    assert "5 обязательств." in content
    assert "Все они в таблице обязательств" in content
    assert "Страница 2 из 3" in content and ">Предыдущая<" in content


def test_a_refused_login_says_what_to_do_in_russian(client, db):
    response = client.post(
        reverse("login"), {"username": "nobody", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="ru"
    )

    assert "не соответствуют ни одной учётной записи" in response.content.decode()
