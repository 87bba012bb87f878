"""Adding and editing events in the app: the secretariat's form, validated fully, refusing a
stale form; target-date events stay the tracker's."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests.factories import CommitmentFactory, EventFactory, ParagraphFactory
from tracker.models import Event

D = datetime.date
pytestmark = pytest.mark.django_db


def form_data(**changes) -> dict:
    data = {
        "title": "Neutrality conference",
        "description": "Two days in Ashgabat.",
        "kind": "forum",
        "time_zone": "Asia/Ashgabat",
        "rule": "once",
        "interval_years": "1",
        "start_date": "2025-11-27",
        "end_date": "2025-11-28",
        "start_time": "",
        "until": "",
        "anniversary_of_year": "",
        "lead_times": "30, 7, 1",
        "is_public": "on",
    }
    return data | changes


def test_the_secretariat_adds_an_event_of_two_days(secretariat_client):
    commitment, paragraph = CommitmentFactory(), ParagraphFactory()
    data = form_data(commitments=[commitment.pk], paragraphs=[paragraph.pk], lead_times="7;1,30")
    response = secretariat_client.post(reverse("event_new"), data)
    event = Event.objects.get()
    assert response.status_code == 302
    assert response["Location"] == event.get_absolute_url()
    assert (event.slug, event.start_date, event.end_date) == (
        "neutrality-conference",
        D(2025, 11, 27),
        D(2025, 11, 28),
    )
    assert event.lead_times_days == [30, 7, 1]
    assert list(event.commitments.all()) == [commitment]
    assert list(event.paragraphs.all()) == [paragraph]
    assert LogEntry.objects.get_for_object(event).exists()


def test_a_new_event_never_takes_the_slug_of_the_new_page(secretariat_client):
    EventFactory(title="Neutrality conference", slug="neutrality-conference")
    secretariat_client.post(reverse("event_new"), form_data())
    secretariat_client.post(reverse("event_new"), form_data(title="New"))
    assert set(Event.objects.values_list("slug", flat=True)) == {
        "neutrality-conference",
        "neutrality-conference-2",
        "new-2",
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"end_date": "2025-11-26"}, "end_date", "The last day is before the first day"),
        ({"time_zone": "Europe/Geneva"}, "time_zone", "Europe/Geneva is not a time zone"),
        ({"rule": "every_n_years"}, "interval_years", "Every N years needs N of 2 or more"),
        ({"interval_years": "5"}, "interval_years", "Only events every N years"),
        ({"until": "2030-01-01"}, "until", "A one-off event has no end of series"),
        ({"rule": "yearly", "until": "2024-01-01"}, "until", "This is before the first day"),
        ({"lead_times": "30, 400"}, "lead_times", "“400” is not a number of days from 0 to 366"),
        ({"lead_times": "1.5"}, "lead_times", "“1.5” is not a number of days"),
        ({"rule": "yearly", "end_date": "2026-11-27"}, "end_date", "must end before it begins"),
    ],
)
def test_a_wrong_form_is_refused_with_a_message_and_nothing_is_written(
    secretariat_client, changes, field, message
):
    response = secretariat_client.post(reverse("event_new"), form_data(**changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert 'role="alert"' in response.content.decode()
    assert not Event.objects.exists()


@pytest.fixture
def conference(db):
    return EventFactory(
        title="Neutrality conference",
        slug="neutrality-conference",
        kind=Event.Kind.FORUM,
        rule=Event.Rule.ONCE,
        start_date=D(2025, 11, 27),
    )


def test_editing_keeps_the_address_and_raises_the_version(secretariat_client, conference):
    url = reverse("event_edit", kwargs={"slug": conference.slug})
    page = secretariat_client.get(url)
    assert page.context["form"]["version"].value() == 1
    data = form_data(title="Conference on neutrality", version="1")
    assert secretariat_client.post(url, data).status_code == 302
    conference.refresh_from_db()
    assert (conference.title, conference.slug, conference.version) == (
        "Conference on neutrality",
        "neutrality-conference",
        2,
    )
    assert conference.end_date == D(2025, 11, 28)


def test_a_stale_form_is_refused_with_the_other_change_shown(secretariat_client, conference):
    url = reverse("event_edit", kwargs={"slug": conference.slug})
    secretariat_client.post(url, form_data(title="Saved first", version="1"))
    response = secretariat_client.post(url, form_data(title="Saved second", version="1"))
    assert response.status_code == 409
    conference.refresh_from_db()
    assert (conference.title, conference.version) == ("Saved first", 2)
    page = response.content.decode()
    assert "Someone else changed this after you opened the form." in page
    assert ("Title", "Saved first", "Saved second") in response.context["conflict_rows"]
    # The form now carries the newer version: saving again is a deliberate choice.
    assert response.context["form"]["version"].value() == 2


def test_a_target_date_event_is_not_edited_here(secretariat_client):
    commitment = CommitmentFactory(target_date=D(2026, 6, 30))
    event = commitment.deadline_event
    url = reverse("event_edit", kwargs={"slug": event.slug})
    assert "change it on the commitment" not in secretariat_client.get(url).content.decode()
    assert "Change the commitment's target date" in secretariat_client.get(url).content.decode()
    response = secretariat_client.post(url, form_data(version="1"))
    assert response.status_code == 409
    event.refresh_from_db()
    assert (event.title, event.start_date) == (f"Target date: {commitment.title}", D(2026, 6, 30))


def test_liaisons_may_not_open_or_post_the_forms(liaison_client, conference):
    for url in (reverse("event_new"), reverse("event_edit", kwargs={"slug": conference.slug})):
        assert liaison_client.get(url).status_code == 403
        assert liaison_client.post(url, form_data(version="1")).status_code == 403
    conference.refresh_from_db()
    assert conference.version == 1
    assert Event.objects.count() == 1


def test_the_form_pages_cost_the_same_few_queries_with_more_records(
    secretariat_client, conference, django_assert_max_num_queries
):
    url = reverse("event_edit", kwargs={"slug": conference.slug})

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert secretariat_client.get(url).status_code == 200
        return len(captured)

    CommitmentFactory.create_batch(2)
    few = queries()
    CommitmentFactory.create_batch(20)
    ParagraphFactory.create_batch(20)
    conference.commitments.set(CommitmentFactory.create_batch(5))
    assert queries() == few
    with django_assert_max_num_queries(12):
        secretariat_client.get(reverse("event_new"))


def test_a_new_event_is_in_ashgabat_time_until_another_zone_is_chosen(secretariat_client):
    form = secretariat_client.get(reverse("event_new")).context["form"]
    assert form["time_zone"].value() == "Asia/Ashgabat"
    html = str(form["time_zone"])
    assert '<option value="Asia/Ashgabat" selected>' in html


def test_the_paragraphs_are_grouped_under_their_documents_without_reading_full_texts(
    secretariat_client,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = ParagraphFactory(document__title="Ashgabat Final Document", number=1)
    ParagraphFactory(document__title="Resolution 69/285", number=1)
    type(first.document).objects.update(full_text="LONG TEXT " * 1000, preamble="PREAMBLE")
    with CaptureQueriesContext(connection) as captured:
        response = secretariat_client.get(reverse("event_new"))
    html = response.content.decode()
    assert '<optgroup label="Ashgabat Final Document">' in html
    assert '<optgroup label="Resolution 69/285">' in html
    assert "¶1 Encouraged the states to act" in html
    paragraph_queries = [q["sql"] for q in captured if "commitments_paragraph" in q["sql"]]
    assert paragraph_queries
    assert not any("full_text" in sql or "preamble" in sql for sql in paragraph_queries)


def test_the_form_says_what_public_means(secretariat_client):
    html = secretariat_client.get(reverse("event_new")).content.decode()
    assert "in the public calendar feed" in html
    assert "Not ticked: the secretariat sees it" in html


def test_a_deadline_is_not_a_kind_of_event_made_by_hand(secretariat_client):
    form = secretariat_client.get(reverse("event_new")).context["form"]
    assert "deadline" not in dict(form.fields["kind"].choices)
    response = secretariat_client.post(reverse("event_new"), form_data(kind="deadline"))
    assert response.status_code == 400
    assert "A deadline is a commitment's target date" in " ".join(
        response.context["form"].errors["kind"]
    )
    assert not Event.objects.exists()
