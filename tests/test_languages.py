import re

import pytest
from django.urls import reverse

from commitments.statuses import Status
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory

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

    assert 'action="/i18n/setlang/"' in content
    assert "Мониторинг обязательств" in content


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
