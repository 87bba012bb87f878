"""A send task's own way through Django's SMTP backend (tracker.reminders.sending._deliver):
the same envelope and bytes as message.send(), without parsing a plain address again."""

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

from tests.reminder_helpers import LoopbackController
from tests.tracker.test_reminders import at, claim_only, make_due_readers
from tests.tracker.test_reminders_email import with_one_message_id
from tracker.models import Reminder
from tracker.reminders import sending
from tracker.reminders.messages import ReminderEmail

PLAIN = [
    "reader@example.org",
    "user00042@bench.example.org",
    "First.Last+tag@Sub.Example.ORG",
    "o'brien@x-y.example",
    "a!#$%&'*+/=?^_`{|}~-@localhost",
    "x@" + "a" * 63 + ".org",
]
# Parsed by Django as before: a name, non-ASCII, quoting, dots where a dot-atom has none.
PARSED = [
    "Reader <reader@example.org>",
    "Zoë Müller <zoe@example.org>",
    "josé@example.org",
    "reader@exämple.org",
    '"quoted local"@example.org',
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "no-at-sign",
]
REFUSED = [
    "x@" + "a" * 64 + ".org",
    "reader@example..org",
    "a@b@c.org",
    "two@one.org, three@one.org",
]


@pytest.mark.parametrize("address", PLAIN + PARSED)
def test_an_address_is_what_djangos_backend_makes_of_it(address):
    assert sending._address(address, "utf-8") == sanitize_address(address, "utf-8")


@pytest.mark.parametrize("address", REFUSED)
def test_an_address_django_refuses_is_refused(address):
    with pytest.raises(ValueError):
        sanitize_address(address, "utf-8")
    with pytest.raises(ValueError):
        sending._address(address, "utf-8")


@pytest.mark.parametrize("address", PLAIN)
def test_a_plain_address_is_not_parsed_again(address, monkeypatch):
    def parse(*args):
        raise AssertionError("parsed")

    monkeypatch.setattr(sending, "sanitize_address", parse)
    assert sending._address(address, "utf-8") == address


class Keeping:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, envelope.rcpt_tos, envelope.original_content))
        return "250 OK"


@pytest.fixture
def sink():
    handler = Keeping()
    controller: Controller = LoopbackController(handler)
    controller.start()
    yield controller, handler
    controller.stop()


def email() -> ReminderEmail:
    message = ReminderEmail(
        "Forum: in 3 days, 14 December 2026",
        "Dear Zoë,\n\nForum is in 3 days.\n",
        from_email="Tracker <tracker@example.org>",
        to=["Zoë Müller <zoe@example.org>", "reader@example.org"],
    )
    # Fixed, so that both ways write the same bytes.
    message.extra_headers["Date"] = "Fri, 11 Dec 2026 12:00:00 -0000"
    message.extra_headers["Message-ID"] = "<1@example.org>"
    message.extra_headers["List-Unsubscribe"] = "<https://example.org/reminders/unsubscribe/x/>"
    return message


def test_a_message_goes_out_as_djangos_smtp_backend_sends_it(sink):
    controller, handler = sink
    with EmailBackend(host="127.0.0.1", port=controller.port) as smtp:
        message = email()
        message.connection = smtp
        message.send()
        sending._deliver(email(), smtp)
        smtp.close()  # as after an SMTP error: the next message opens a new connection
        sending._deliver(email(), smtp)
        assert smtp.connection is None  # and closes it again, as message.send() does
    assert len(handler.received) == 3
    assert handler.received[1] == handler.received[0] == handler.received[2]
    sender, recipients, _ = handler.received[0]
    assert sender == "tracker@example.org"
    assert recipients == ["zoe@example.org", "reader@example.org"]


def test_readers_of_one_event_share_it_and_its_commitments_read_once(db, django_assert_num_queries):
    claimed = claim_only(make_due_readers(3))
    rows = list(Reminder.objects.filter(pk__in=claimed).select_related("event"))
    with django_assert_num_queries(1):
        sending._share_events(rows)
    assert len({id(row.event) for row in rows}) == 1
    with django_assert_num_queries(0):
        assert len({tuple(row.event.commitments.all()) for row in rows}) == 1


def test_a_reminders_usual_email_goes_out_as_django_writes_it(sink):
    controller, handler = sink
    message = email()
    for name in ("Date", "Message-ID"):  # made by the message itself, as a reminder's are
        del message.extra_headers[name]
    message.from_email = "tracker@example.org"
    with time_machine.travel(at(2026, 12, 11, 4, 0, 7), tick=False):
        expected = with_one_message_id(message.message().as_bytes(linesep="\r\n"))
        with EmailBackend(host="127.0.0.1", port=controller.port) as smtp:
            sending._deliver(message, smtp)
    [(_, _, received)] = handler.received
    assert b"Content-Transfer-Encoding: 8bit\r\n" in received
    assert with_one_message_id(received) == expected
