"""Following the record, and news of its public changes (issue 14): recorded once, listed in
the app with an unread count, mailed at once or in a digest through the reminders outbox, and
checked against what the reader may see just before each email is sent.

Emails go through the real path: the dispatcher's plan and claim (reminders_dispatch, as beat
runs it) and the send service the Celery task calls, with Django's locmem outbox.
"""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from commitments import services, submissions
from commitments.milestones import milestone_create, milestone_done
from commitments.models import StatusUpdate
from core.roles import Role
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    ContributorFactory,
    DocumentFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    post_status_update,
)
from tracker import notifications, reminders
from tracker.models import (
    Change,
    Follow,
    Notification,
    Reminder,
    ReminderPreference,
)

UTC = datetime.UTC
Kind = Reminder.Kind
State = Reminder.State
# Tuesday 8 December 2026, 10:00 UTC (15:00 in Ashgabat).
NOW = datetime.datetime(2026, 12, 8, 10, tzinfo=UTC)


def dispatch(now: datetime.datetime) -> list[int]:
    return reminders.reminders_dispatch(
        now=now, enqueue=lambda ids: reminders.reminders_send(reminder_ids=ids)
    )


def claim(now: datetime.datetime) -> list[int]:
    return reminders.reminders_dispatch(now=now, enqueue=lambda ids: None)


def news_mail_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address] and "News" in m.subject]


@pytest.fixture
def record(db):
    state = ActorFactory(name="Kazakhstan")
    document = DocumentFactory(title="Ashgabat Final Document")
    commitment = CommitmentFactory(
        title="OCHA office for Central Asia",
        lead_actors=[state],
        paragraphs=[ParagraphFactory(document=document)],
    )
    # The owner's own reminders (a quiet commitment) are not what these tests are about.
    ReminderPreference.objects.create(user=commitment.owner, muted=True)
    return {
        "state": state,
        "document": document,
        "commitment": commitment,
        "officer": commitment.owner,
        "reader": LiaisonFactory(username="reader", actor=ActorFactory(name="Uzbekistan")),
    }


@pytest.fixture
def post(record, django_capture_on_commit_callbacks):
    """Post a status update as the secretariat does, its after-commit news included."""

    def post(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            return post_status_update(record["commitment"], record["officer"], **fields)

    return post


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# Following and recording.


@pytest.mark.parametrize("target", ["commitment", "state", "document"])
def test_a_follower_gets_one_email_at_once(record, post, target):
    notifications.follow_set(user=record["reader"], target=record[target])

    post(narrative="The office opened.")

    dispatch(NOW + datetime.timedelta(seconds=1))
    dispatch(NOW + datetime.timedelta(minutes=1))
    [email] = news_mail_to("reader@example.org")
    assert "OCHA office for Central Asia" in email.subject
    assert "New public update" in email.body
    assert Notification.objects.filter(user=record["reader"]).count() == 1
    assert Change.objects.get().kind == Change.Kind.UPDATE


def test_a_supporting_state_is_followed_like_a_lead_one(record, post):
    """The follows of a commitment's actors cover the supporting ones too; a state it does
    not concern follows nothing of it."""
    supporting, elsewhere = ActorFactory(name="Tajikistan"), ActorFactory(name="Kyrgyzstan")
    record["commitment"].supporting_actors.add(supporting)
    notifications.follow_set(user=record["reader"], target=supporting)
    other = LiaisonFactory(username="other", actor=elsewhere)
    notifications.follow_set(user=other, target=elsewhere)

    post(narrative="The office opened.")

    assert list(Notification.objects.values_list("user", flat=True)) == [record["reader"].pk]


def test_an_internal_update_is_news_to_nobody(record, post):
    notifications.follow_set(user=record["reader"], target=record["commitment"])

    post(visibility=StatusUpdate.Visibility.INTERNAL)

    dispatch(NOW + datetime.timedelta(seconds=1))
    assert not Change.objects.exists()
    assert mail.outbox == []


def test_a_write_rolled_back_is_news_to_nobody(record, django_capture_on_commit_callbacks):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post_status_update(record["commitment"], record["officer"])
    # The transaction never committed: its callbacks are dropped, as Django drops them.
    assert callbacks
    assert not Change.objects.exists()


def test_correction_withdrawal_and_milestone_done_are_news(
    record, post, django_capture_on_commit_callbacks
):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    update = post()
    commitment = record["commitment"]
    commitment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        correction = services.status_update_correct(
            update=update,
            author=record["officer"],
            status=update.status,
            progress=45,
            narrative="Corrected.",
            reason="Typo",
            progress_reason="x",
            expected_version=commitment.version,
        )
    commitment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.status_update_withdraw(
            update=correction,
            author=record["officer"],
            reason="Wrong",
            expected_version=commitment.version,
        )
    kinds = set(Change.objects.values_list("kind", flat=True))
    assert kinds == {"update", "correction", "withdrawal"}


def test_a_milestone_done_is_news(record, django_capture_on_commit_callbacks):
    commitment = record["commitment"]
    notifications.follow_set(user=record["reader"], target=commitment)
    milestone = milestone_create(
        commitment=commitment,
        author=record["officer"],
        title="Host agreement signed",
        due_on=datetime.date(2027, 6, 1),
        weight=1,
    )
    with django_capture_on_commit_callbacks(execute=True):
        milestone_done(
            milestone=milestone,
            author=record["officer"],
            done_on=datetime.date(2026, 12, 1),
            expected_version=milestone.version,
            evidence_url="https://example.org/signed",
        )
    change = Change.objects.get()
    assert (change.kind, change.milestone) == ("milestone", milestone)
    dispatch(NOW + datetime.timedelta(seconds=1))
    [email] = news_mail_to("reader@example.org")
    assert "Milestone done: Host agreement signed" in email.body


def test_becoming_overdue_is_news_once(record):
    commitment = record["commitment"]
    commitment.target_date = datetime.date(2026, 12, 1)
    commitment.save()
    notifications.follow_set(user=record["reader"], target=commitment)

    dispatch(NOW)
    dispatch(NOW + datetime.timedelta(minutes=1))

    change = Change.objects.get()
    assert (change.kind, change.overdue_since) == ("overdue", datetime.date(2026, 12, 1))
    [email] = news_mail_to("reader@example.org")
    assert "Overdue" in email.body


# The digest.


@pytest.mark.parametrize("frequency", ["daily", "weekly"])
def test_a_digest_reader_gets_it_in_the_next_digest_and_not_before(record, post, frozen, frequency):
    reader = record["reader"]
    ReminderPreference.objects.create(user=reader, notify=frequency)
    notifications.follow_set(user=reader, target=record["commitment"])
    post()
    dispatch(NOW + datetime.timedelta(seconds=1))
    assert mail.outbox == []
    # 09:00 in Ashgabat is 04:00 UTC; the weekly digest comes on Monday (14 December).
    next_digest = datetime.datetime(2026, 12, 9 if frequency == "daily" else 14, 4, tzinfo=UTC)
    frozen.move_to(next_digest - datetime.timedelta(minutes=1))
    dispatch(next_digest - datetime.timedelta(minutes=1))
    assert mail.outbox == []

    frozen.move_to(next_digest)
    dispatch(next_digest)
    dispatch(next_digest + datetime.timedelta(minutes=1))

    [email] = mail.outbox
    assert email.to == ["reader@example.org"]
    assert "OCHA office for Central Asia: New public update" in email.body
    assert Reminder.objects.get(kind=Kind.NEWS_DIGEST).state == State.SENT
    assert not Reminder.objects.filter(kind=Kind.NEWS).exists()


def test_the_digest_is_written_in_the_readers_language(record, post, frozen):
    reader = record["reader"]
    reader.language = "ru"
    reader.save()
    ReminderPreference.objects.create(user=reader, notify="daily")
    notifications.follow_set(user=reader, target=record["commitment"])
    post()
    due = datetime.datetime(2026, 12, 9, 4, tzinfo=UTC)
    frozen.move_to(due)
    dispatch(due)
    [email] = mail.outbox
    assert "New public update" not in email.body


# One-click unsubscribe for the item.


def test_the_email_links_a_one_click_unsubscribe_for_that_follow(record, post, client):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])
    notifications.follow_set(user=reader, target=record["document"])
    post()
    dispatch(NOW + datetime.timedelta(seconds=1))
    [email] = mail.outbox
    link = re.search(r"OCHA office for Central Asia: (http\S+)", email.body)[1]
    path = link.removeprefix("http://testserver").split("://", 1)[-1]
    path = path[path.index("/") :]

    assert client.get(path).status_code == 200  # asks first: mail scanners follow links
    assert Follow.objects.filter(user=reader, commitment=record["commitment"]).exists()
    assert client.post(path).status_code == 200

    assert not Follow.objects.filter(user=reader, commitment=record["commitment"]).exists()
    assert Follow.objects.filter(user=reader, document=record["document"]).exists()


# Checked at send time.


def make_update_internal(record, update):
    StatusUpdate.objects.filter(pk=update.pk).update(visibility=StatusUpdate.Visibility.INTERNAL)


def withdraw_update(record, update):
    commitment = record["commitment"]
    commitment.refresh_from_db()
    services.status_update_withdraw(
        update=update, author=record["officer"], reason="Wrong", expected_version=commitment.version
    )


def unfollow(record, update):
    notifications.follow_set(user=record["reader"], target=record["commitment"], follow=False)


def deactivate(record, update):
    record["reader"].is_active = False
    record["reader"].save()


WAYS_TO_LOSE_SIGHT = [make_update_internal, withdraw_update, unfollow, deactivate]


@pytest.mark.parametrize("lose_sight", WAYS_TO_LOSE_SIGHT)
def test_news_the_reader_lost_sight_of_after_the_claim_is_not_sent(record, post, lose_sight):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    update = post()
    claimed = claim(NOW + datetime.timedelta(seconds=1))
    assert len(claimed) == 1
    lose_sight(record, update)

    reminders.reminders_send(reminder_ids=claimed)

    assert mail.outbox == []
    row = Reminder.objects.get(kind=Kind.NEWS)
    assert row.state == State.SKIPPED
    assert row.skip_reason


@pytest.mark.parametrize("lose_sight", WAYS_TO_LOSE_SIGHT)
def test_news_the_reader_lost_sight_of_before_the_claim_is_skipped(record, post, lose_sight):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    update = post()
    reminders.reminders_plan(now=NOW)
    lose_sight(record, update)

    dispatch(NOW + datetime.timedelta(seconds=1))

    assert mail.outbox == []
    assert Reminder.objects.get(kind=Kind.NEWS).state == State.SKIPPED


def test_a_liaison_moved_to_another_state_gets_no_news_of_the_old_one(record, post):
    liaison = LiaisonFactory(username="kaz", actor=record["state"])
    notifications.follow_defaults_set(user=liaison)
    post()
    claimed = claim(NOW + datetime.timedelta(seconds=1))
    assert len(claimed) == 1
    liaison.actor = ActorFactory(name="Tajikistan")
    liaison.save()

    reminders.reminders_send(reminder_ids=claimed)

    assert mail.outbox == []
    assert Reminder.objects.get().skip_reason == notifications.UNSEEN_UNFOLLOWED


def test_a_digest_left_empty_by_what_its_reader_may_not_see_is_not_sent(record, post, frozen):
    reader = record["reader"]
    ReminderPreference.objects.create(user=reader, notify="daily")
    notifications.follow_set(user=reader, target=record["commitment"])
    update = post()
    due = datetime.datetime(2026, 12, 9, 4, tzinfo=UTC)
    frozen.move_to(due)
    claimed = claim(due)
    make_update_internal(record, update)

    reminders.reminders_send(reminder_ids=claimed)

    assert mail.outbox == []
    assert Reminder.objects.get().state == State.SKIPPED


# The in-app list and the header's count.


def test_the_list_shows_news_and_marks_it_read(record, post, client):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])
    post()
    client.force_login(reader)

    page = client.get(reverse("notification_list")).content.decode()
    assert "New public update" in page
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert re.search(r'class="badge"[^>]*>1</span>', dashboard)

    client.post(reverse("notification_list"))

    reader.refresh_from_db()
    assert reader.unread_notifications == 0
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert not re.search(r'class="badge"[^>]*>\d+</span>', dashboard)


def test_marking_one_read_leaves_the_others(record, post, client):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])
    post()
    post(narrative="Again.")
    first = Notification.objects.earliest("pk")
    client.force_login(reader)
    client.post(reverse("notification_list"), {"id": [first.pk]})
    reader.refresh_from_db()
    assert reader.unread_notifications == 1


def _news(record, count: int, django_capture_on_commit_callbacks):
    commitment = record["commitment"]
    for n in range(count):
        with django_capture_on_commit_callbacks(execute=True):
            post_status_update(commitment, record["officer"], narrative=f"Step {n}.")


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_reads_in_a_fixed_number_of_queries(
    record, client, count, django_assert_num_queries, django_capture_on_commit_callbacks
):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])
    _news(record, count, django_capture_on_commit_callbacks)
    client.force_login(reader)
    # Session, user, the notices with their changes, the liaison's state in the menu (the
    # session is not saved: core.sessions): the same with 2 notices as with 20.
    with django_assert_num_queries(4):
        response = client.get(reverse("notification_list"))
    assert response.content.decode().count("New public update") == count


@pytest.mark.parametrize("count", [0, 20])
def test_the_header_count_costs_no_query(
    record, client, count, django_assert_num_queries, django_capture_on_commit_callbacks
):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])
    _news(record, count, django_capture_on_commit_callbacks)
    client.force_login(reader)
    client.get(reverse("notification_list"))  # warm the caches the page reads
    # As above: the count is read with the user, so 0 or 20 unread cost the same.
    with django_assert_num_queries(4):
        client.get(reverse("notification_list"))


# Following from the pages.


def test_anyone_follows_from_the_commitments_page(record, client):
    reader = record["reader"]
    client.force_login(reader)
    commitment = record["commitment"]
    url = reverse("follow_toggle", kwargs={"kind": "commitment", "key": commitment.slug})
    page = client.get(commitment.get_absolute_url()).content.decode()
    assert url in page

    response = client.post(url, {"follow": "1", "next": commitment.get_absolute_url()})

    assert response.status_code == 302
    assert response["Location"] == commitment.get_absolute_url()
    assert notifications.followed_by(user=reader, target=commitment)
    client.post(url, {"follow": "0"})
    assert not notifications.followed_by(user=reader, target=commitment)


def test_a_follow_of_what_the_reader_may_not_see_is_refused(record, client):
    from tests.tracker.test_reminder_visibility import make_event

    internal = make_event(is_public=False, commitments=[record["commitment"]])
    client.force_login(record["reader"])
    url = reverse("follow_toggle", kwargs={"kind": "event", "key": internal.slug})
    assert client.post(url, {"follow": "1"}).status_code == 404
    assert not reminders.events_followed_by(user=record["reader"])
    for kind, key in (("commitment", "no-such-thing"), ("paragraph", "1")):
        url = reverse("follow_toggle", kwargs={"kind": kind, "key": key})
        assert client.post(url, {"follow": "1"}).status_code == 404
    assert not Follow.objects.exists()


def test_a_next_address_off_the_site_is_not_followed(record, client):
    client.force_login(record["reader"])
    actor = record["state"]
    url = reverse("follow_toggle", kwargs={"kind": "actor", "key": actor.slug})
    response = client.post(url, {"follow": "1", "next": "https://evil.example/"})
    assert response["Location"] == actor.get_absolute_url()


def test_a_new_liaison_follows_their_states_commitments_and_events(record):
    liaison = LiaisonFactory(username="kaz", actor=record["state"])
    notifications.follow_defaults_set(user=liaison)
    assert reminders.follows_state(user=liaison)
    follow = Follow.objects.get(user=liaison)
    assert (follow.actor, follow.by_default) == (record["state"], True)
    officer = SecretariatFactory(username="officer2")
    notifications.follow_defaults_set(user=officer)
    assert not Follow.objects.filter(user=officer).exists()
    assert officer.role == Role.SECRETARIAT


def test_the_event_button_says_whether_the_reader_follows_it(record, client):
    from tests.tracker.test_reminder_visibility import make_event

    event = make_event(commitments=[record["commitment"]])
    liaison = LiaisonFactory(username="kaz", actor=record["state"])
    assert not reminders.event_followed_by(user=liaison, event=event)
    reminders.state_follow_set(user=liaison, follow=True)
    assert reminders.event_followed_by(user=liaison, event=event)
    assert reminders.event_followed_by(user=record["officer"], event=event)  # its owner
    # Muting it from its page: an explicit choice that wins over the default.
    client.force_login(liaison)
    url = reverse("follow_toggle", kwargs={"kind": "event", "key": event.slug})
    client.post(url, {"follow": "0"})
    assert not reminders.event_followed_by(user=liaison, event=event)
    assert event.pk not in reminders.events_followed_by(user=liaison)


def test_the_delivery_log_names_the_news(record, post, client, django_assert_max_num_queries):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    post()
    post(narrative="Again.")
    dispatch(NOW + datetime.timedelta(seconds=1))
    client.force_login(record["officer"])
    page = client.get(reverse("reminder_log")).content.decode()
    assert "OCHA office for Central Asia: New status update" in page
    post(narrative="Once more.")
    dispatch(NOW + datetime.timedelta(seconds=2))
    with django_assert_max_num_queries(12) as queries:
        client.get(reverse("reminder_log"))
    few = len(queries)
    for n in range(5):
        post(narrative=f"More {n}.")
    dispatch(NOW + datetime.timedelta(seconds=3))
    with django_assert_max_num_queries(few):
        client.get(reverse("reminder_log"))


# An other source's news: a contributor's published report.

SAID = "Our monitoring found the office staffed but not yet open to the public."


def publish_contributor_report(record, captured) -> None:
    contributor = ContributorFactory(username="researcher", actor__name="Neutrality Institute")
    values = {"status": "in_progress", "progress": 0, "happened_on": datetime.date(2026, 12, 1)}
    report = submissions.report_create(
        commitment=record["commitment"], author=contributor, values=values | {"narrative": SAID}
    )
    report = submissions.report_submit(report=report, expected_version=report.version)
    with captured(execute=True):
        submissions.report_publish(
            report=report, reviewer=SecretariatFactory(), expected_version=report.version
        )


def assert_other_source(text: str) -> None:
    assert "Other source: reported by Neutrality Institute: Our monitoring found" in text
    assert "New public update" not in text
    assert "In progress" not in text and "0%" not in text


def test_the_email_and_the_list_word_it_as_an_other_source(
    record, client, django_capture_on_commit_callbacks
):
    reader = record["reader"]
    notifications.follow_set(user=reader, target=record["commitment"])

    publish_contributor_report(record, django_capture_on_commit_callbacks)
    dispatch(NOW + datetime.timedelta(seconds=1))

    [email] = news_mail_to("reader@example.org")
    assert_other_source(email.body)
    client.force_login(reader)
    assert_other_source(client.get(reverse("notification_list")).content.decode())


def test_the_digest_words_it_as_an_other_source(record, frozen, django_capture_on_commit_callbacks):
    reader = record["reader"]
    ReminderPreference.objects.create(user=reader, notify="daily")
    notifications.follow_set(user=reader, target=record["commitment"])
    publish_contributor_report(record, django_capture_on_commit_callbacks)
    due = datetime.datetime(2026, 12, 9, 4, tzinfo=UTC)
    frozen.move_to(due)
    mail.outbox.clear()

    dispatch(due)

    [email] = [m for m in mail.outbox if m.to == ["reader@example.org"]]
    assert_other_source(email.body)


def test_an_official_update_still_gives_the_status(record, post):
    notifications.follow_set(user=record["reader"], target=record["commitment"])
    post(narrative="The office opened.")
    dispatch(NOW + datetime.timedelta(seconds=1))

    [email] = news_mail_to("reader@example.org")
    assert "New public update" in email.body
