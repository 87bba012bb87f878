"""The reminder email as a send task writes it: an event's text rendered once for all its readers
with each reader's own parts filled in, unsubscribe links, the bytes handed to SMTP, and the
`sent` marks that do not wait for the disk."""

import email
import email.policy
import re

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail.message import SafeMIMEText
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import CommitmentFactory, SecretariatFactory
from tests.tracker.test_reminders import at, claim_only, make_due_readers, make_event
from tracker import reminders
from tracker.models import Reminder, User
from tracker.reminders.chunk import _message_cache as message_cache
from tracker.reminders.messages import ReminderEmail


def reader(username: str, **fields):
    return SecretariatFactory(username=username, email=f"{username}@example.org", **fields)


def test_readers_of_one_event_get_their_own_name_zone_language_and_links(db):
    readers = [
        reader("bob", first_name="Bob", last_name="Smith", time_zone="America/New_York"),
        reader("carol", time_zone="Europe/Zurich"),
        reader("dima", first_name="Дмитрий", time_zone="Asia/Ashgabat", language="ru"),
    ]
    event = make_event(
        commitments=[CommitmentFactory(owner=user) for user in readers], lead_times_days=[1]
    )
    # One chunk: the event's text is rendered once per language and filled in for each reader.
    reminders.reminders_send(reminder_ids=claim_only(at(2026, 12, 11, 14)))
    sent = {message.to[0]: message for message in mail.outbox}
    assert len(sent) == 3
    bob, carol, dima = (sent[f"{name}@example.org"] for name in ("bob", "carol", "dima"))
    assert bob.body.startswith("Dear Bob Smith,")
    assert "Friday 11 December 2026, 14:00 (America/New_York)" in bob.body
    assert carol.body.startswith("Dear carol,")
    assert "Friday 11 December 2026, 20:00 (Europe/Zurich)" in carol.body
    assert dima.body.startswith("Уважаемый(-ая) Дмитрий!")
    assert "(Asia/Ashgabat)" in dima.body and "декабря" in dima.body
    assert "\0" not in "".join(m.subject + m.body for m in sent.values())
    for user, message in zip(readers, (bob, carol, dima), strict=True):
        links = [line.split()[-1] for line in message.body.splitlines() if "/unsubscribe/" in line]
        asked = [reminders.unsubscribe_request_from_token(link.split("/")[-2]) for link in links]
        assert [(a.user, a.scope, a.target) for a in asked] == [
            (user, "event", event),
            (user, "all", None),
        ]
        assert message.extra_headers["List-Unsubscribe"] == f"<{links[1]}>"


def test_unsubscribe_links_are_written_as_before_and_old_ones_still_work(db):
    user = reader("bob")
    with time_machine.travel(at(2026, 12, 1, 9), tick=False):
        # Links in emails already sent were made by signing.dumps with compress=True.
        salt = reminders.UNSUBSCRIBE_SALT
        old = signing.dumps([user.pk, "all", None], salt=salt, compress=True)
        assert reminders.unsubscribe_token(user=user, scope="all") == old
    asked = reminders.unsubscribe_request_from_token(old)
    assert (asked.user, asked.scope) == (user, "all")
    assert reminders.unsubscribe_request_from_token(old[:-2] + "xx") is None


def test_a_chunks_signer_writes_every_token_as_signing_dumps_does(db):
    user, event = reader("bob"), make_event()
    salt = reminders.UNSUBSCRIBE_SALT
    with time_machine.travel(at(2026, 12, 1, 9), tick=False), message_cache():
        for payload in ([user.pk, "event", event.pk], [user.pk, "all", None], [7, "стоп", 0]):
            token = reminders.unsubscribe_token(
                user=User(pk=payload[0]), scope=payload[1], object_id=payload[2]
            )
            assert token == signing.dumps(payload, salt=salt)
            assert signing.loads(token, salt=salt) == payload


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_bytes_sent_are_what_the_email_package_writes(db, language):
    user = reader("dima", first_name="Дмитрий", language=language)
    event = make_event(
        title=" ".join(["Международный день нейтралитета"] * 3),  # a long non-ASCII subject
        commitments=[CommitmentFactory(owner=user)],
        lead_times_days=[1],
    )
    reminders.reminders_send(reminder_ids=claim_only(at(2026, 12, 11, 4)))
    [sent] = mail.outbox
    message = sent.message()
    fast = message.as_bytes(linesep="\r\n")
    written = SafeMIMEText.as_bytes(message, linesep="\r\n")  # the email package's generator
    ours, theirs = (
        email.message_from_bytes(b, policy=email.policy.default) for b in (fast, written)
    )
    # The same headers, but for where long ones are folded (the generator folds them again).
    assert [(name, str(value).strip()) for name, value in ours.items()] == [
        (name, str(value).strip()) for name, value in theirs.items()
    ]
    assert ours["Subject"].startswith(f"{event.title}: ")
    assert ours.get_content() == theirs.get_content()
    assert ours.get_content().replace("\r\n", "\n") == sent.body
    assert all(len(line) <= 998 for line in fast.split(b"\r\n"))


def with_one_message_id(written: bytes) -> bytes:
    # A Message-ID is made anew for every message: the rest is compared byte for byte.
    return re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <1@example.org>", written)


def the_long_way(message: ReminderEmail) -> bytes:
    return with_one_message_id(message.message().as_bytes(linesep="\r\n"))


@pytest.mark.parametrize(
    ("title", "name", "language"),
    [
        ("International Day of Neutrality", "Bob", "en"),
        (" ".join(["Международный день нейтралитета"] * 3), "Дмитрий", "ru"),  # folded, encoded
        (" ".join(["International Day of Neutrality"] * 4), "Zoë", "en"),  # folded ASCII
        ("Forum", "", "ru"),
    ],
)
def test_a_reminder_is_written_as_djangos_message_writes_it(db, monkeypatch, title, name, language):
    user = reader("dima", first_name=name, language=language)
    make_event(title=title, commitments=[CommitmentFactory(owner=user)], lead_times_days=[1])
    reminders.reminders_send(reminder_ids=claim_only(at(2026, 12, 11, 4)))
    [sent] = mail.outbox
    with time_machine.travel(at(2026, 12, 11, 4, 0, 7), tick=False):
        expected = the_long_way(sent)
        with monkeypatch.context() as patched:  # a reminder's usual email: no message built
            patched.setattr(ReminderEmail, "message", None)
            written = with_one_message_id(sent.bytes_to_send())
    assert written == expected
    parsed = email.message_from_bytes(written, policy=email.policy.default)
    assert parsed["Subject"].startswith(f"{title}: ")
    assert parsed.get_content().replace("\r\n", "\n") == sent.body


@pytest.mark.parametrize(
    ("body", "more"),
    [
        ("Dear Zoë,\n" + "é" * 500 + "\n", {}),  # a line over SMTP's 998 bytes: quoted-printable
        ("x" * 999, {}),
        ("Dear Zoë,\n", {"cc": ["carol@example.org"]}),
        ("Dear Zoë,\n", {"headers": {"Reply-To": "carol@example.org"}}),
    ],
)
def test_what_a_reminder_never_has_is_written_by_django(body, more):
    message = ReminderEmail("Forum", body, to=["zoe@example.org"], **more)
    with time_machine.travel(at(2026, 12, 11, 4, 0, 7), tick=False):
        assert with_one_message_id(message.bytes_to_send()) == the_long_way(message)
        message.encoding = "iso-8859-1"
        assert with_one_message_id(message.bytes_to_send()) == the_long_way(message)


def test_line_ends_and_non_ascii_addresses_are_written_as_django_writes_them():
    message = ReminderEmail(
        "Forum: in 3 days",
        "Dear Zoë,\r\nForum\ris in 3 days.\n\nÉ\n",
        to=["Zoë Müller <zoe@exämple.org>", "reader@example.org"],
        headers={"List-Unsubscribe": "<https://example.org/" + "u" * 120 + "/>"},
    )
    with time_machine.travel(at(2026, 12, 11, 4, 0, 7), tick=False):
        assert with_one_message_id(message.bytes_to_send()) == the_long_way(message)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_only_the_send_tasks_own_marks_skip_waiting_for_the_disk(transactional_db):
    claimed = claim_only(make_due_readers(3))
    with CaptureQueriesContext(connection) as queries:
        assert reminders.reminders_send(reminder_ids=claimed) == 3
    writes = [q["sql"] for q in queries if q["sql"].lstrip().startswith(("UPDATE", "SET"))]
    # claimed -> sending for the group waits for the disk (a crash of the server cannot undo
    # it, and its commit makes the marks before it durable); then sending -> sent per message,
    # each its own transaction that does not wait for the disk.
    move, *marks = writes
    assert move.startswith("UPDATE") and "'sending'" in move
    assert len(marks) == 3
    assert all(sql.startswith("SET LOCAL synchronous_commit TO OFF; UPDATE") for sql in marks)
    assert all("SET state = 'sent'" in sql for sql in marks)
    assert set(Reminder.objects.values_list("state", flat=True)) == {Reminder.State.SENT}
    with connection.cursor() as cursor:  # the setting ended with each of them
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone() == ("on",)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_inside_a_callers_transaction_the_marks_wait_for_the_disk_as_it_does(db):
    claimed = claim_only(make_due_readers(2))
    with CaptureQueriesContext(connection) as queries:
        assert reminders.reminders_send(reminder_ids=claimed) == 2
    assert not [q for q in queries if "synchronous_commit" in q["sql"]]
