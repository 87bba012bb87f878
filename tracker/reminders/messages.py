"""Messages: the email a reminder becomes, in its reader's language and zone.

Owns the event, quiet-commitment and digest emails: the text is rendered once per chunk for
all readers of one occurrence in one language (chunk), each reader's own parts (name, time in
their zone, "today"/"tomorrow" counted from the moment of sending, signed links) filled in.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import (
    DNS_NAME,
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    SafeMIMEText,
    forbid_multi_line_headers,
)
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.local_time import format_day, format_instant, reader_today, zone_named
from core.roles import user_can_own_commitments
from tracker.events import (
    Occurrence,
    event_ids_visible_to_each,
    event_occurrences,
    occurrences_between,
)
from tracker.models import (
    Event,
    Notification,
    Reminder,
    User,
)
from tracker.notifications import change_text, covering_follow, news_digest_notices

from .chunk import _shared
from .following import _follows
from .planning import (
    DIGEST_DAYS_AHEAD,
    _open_owned_commitments,
    commitment_late_from,
    occurrence_starts_at,
)
from .unsubscribe import site_url, unsubscribe_url

Kind = Reminder.Kind


# Days and moments as core.local_time writes them (Django's formats, not strftime: day and
# month names follow the recipient's language), with the weekday, as an email names a date.
def _format_instant(instant: datetime.datetime, zone: str) -> str:
    return format_instant(instant, zone=zone_named(zone), with_weekday=True)


def _event_zone_text(*, event: Event, date: datetime.date) -> str:
    local = format_day(date, with_weekday=True)
    if event.start_time:
        local = _format_instant(occurrence_starts_at(event=event, date=date), event.time_zone)
    return f"{local} ({event.time_zone})"


def _reader_zone_text(*, event: Event, date: datetime.date, reader_zone: str) -> str:
    starts = occurrence_starts_at(event=event, date=date)
    return f"{_format_instant(starts, reader_zone)} ({reader_zone})"


def occurrence_dates_text(*, event: Event, date: datetime.date, reader_zone: str) -> dict:
    """The occurrence's date in the event's zone and when that is in the reader's zone."""
    return {
        "event_zone_text": _event_zone_text(event=event, date=date),
        "reader_zone_text": _reader_zone_text(event=event, date=date, reader_zone=reader_zone),
        "all_day": event.start_time is None,
    }


def _occurrence(event: Event, date: datetime.date) -> Occurrence:
    found = event_occurrences(event=event, start=date, end=date)
    return found[0] if found else Occurrence(event, date, None, None)


@dataclass
class _Parts:
    """An email's parts: `context` is what its templates read, the same for every reader whose
    email has the same `key` (None: this reader's alone); `reader` holds this reader's own
    texts, which the templates print as markers (_marker) filled in after rendering."""

    key: tuple | None
    context: Callable[[], dict]
    reader: dict[str, str]


def _marker(name: str) -> str:
    # NUL cannot occur in PostgreSQL text, nor in form input: no title or name contains one.
    return f"\0{name}\0"


def occurrence_reader_day(*, event: Event, date: datetime.date, time_zone: str) -> datetime.date:
    """The day the reader sees the occurrence on: an all-day event's own date; a timed event's
    start in the reader's zone (14:00 on the 11th in New York for 00:00 on the 12th in
    Ashgabat)."""
    if event.start_time is None:
        return date
    return occurrence_starts_at(event=event, date=date).astimezone(zone_named(time_zone)).date()


def _event_parts(reminder: Reminder) -> _Parts:
    event, user, date = reminder.event, reminder.recipient, reminder.occurrence_date
    language = translation.get_language()
    starts = occurrence_starts_at(event=event, date=date)  # events on one day often share it
    reader_zone_text = _shared(
        ("zone", starts, user.time_zone, language),
        lambda: _reader_zone_text(event=event, date=date, reader_zone=user.time_zone),
    )
    day = occurrence_reader_day(event=event, date=date, time_zone=user.time_zone)
    # "today", "tomorrow", "in 5 days": counted when the email is written, not from the lead
    # time, so a reminder sent late still says when the event is. An all-day occurrence whose
    # date has already ended in a reader's zone far east, but not in the event's, is "today".
    days_away = max((day - reader_today(user)).days, 0)

    def context() -> dict:
        return {
            "reminder": reminder,
            "occurrence": _occurrence(event, date),
            "day": day,
            "days_away": days_away,
            "event_zone_text": _event_zone_text(event=event, date=date),
            "all_day": event.start_time is None,
            "event_url": site_url(event.get_absolute_url()),
        }

    return _Parts(
        # The text names the day and how far away it is as the reader sees them now: readers
        # share it only if those match (not the lead time: a late 7-day reminder says 4 days).
        key=(Kind.EVENT, event.pk, date, day, days_away, language),
        context=context,
        reader={
            "reader_zone_text": reader_zone_text,
            "unsubscribe_url": unsubscribe_url(user=user, scope="event", object_id=event.pk),
        },
    )


def _stale_parts(reminder: Reminder) -> _Parts:
    commitment, user = reminder.commitment, reminder.recipient
    # Counted to the day it is sent: a nudge sent late after a downtime says how long it is.
    today = max(reminder.due_on, reader_today(user))
    context = {
        "commitment": commitment,
        "quiet_days": (today - reminder.quiet_since).days,
        "commitment_url": site_url(commitment.get_absolute_url()),
    }
    reader = {"unsubscribe_url": unsubscribe_url(user=user, scope="stale")}
    return _Parts(key=None, context=lambda: context, reader=reader)


def digest_contents(*, user: User, day: datetime.date) -> dict:
    """What a digest due on `day` lists: followed occurrences ahead, owned quiet commitments,
    only what the reader may see now; `left_out` counts what was left out for that reason."""
    end = day + datetime.timedelta(days=DIGEST_DAYS_AHEAD)
    occurrences = occurrences_between(start=day, end=end)
    follows, _ = _follows({o.event.pk for o in occurrences})
    followed = [o for o in occurrences if user.pk in follows.get(o.event.pk, set())]
    visible = event_ids_visible_to_each(users=[user], event_ids={o.event.pk for o in followed})
    upcoming = [
        {
            "occurrence": o,
            **occurrence_dates_text(event=o.event, date=o.date, reader_zone=user.time_zone),
        }
        for o in followed
        if o.event.pk in visible[user.pk]
    ]
    quiet = [
        c for c in _open_owned_commitments().filter(owner=user) if commitment_late_from(c) <= day
    ]
    # A quiet commitment's entry shows its internal state: only for a secretariat owner.
    shown_quiet = quiet if user_can_own_commitments(user) else []
    left_out = len(followed) - len(upcoming) + len(quiet) - len(shown_quiet)
    return {
        "upcoming": upcoming,
        "quiet": shown_quiet,
        "days_ahead": DIGEST_DAYS_AHEAD,
        "left_out": left_out,
        "day": day,
    }


def _digest_context(reminder: Reminder) -> dict:
    """digest_contents, worked out once per chunk of sends (_readers_may_see, then the email)."""
    # From the day it is sent: a digest sent late after a downtime lists no event already past.
    user = reminder.recipient
    day = max(reminder.due_on, reader_today(user))
    return _shared(("digest", user.pk, day), lambda: digest_contents(user=user, day=day))


def _digest_left_empty(reminder: Reminder) -> bool:
    """Nothing left to list once what its reader may not see is left out: not worth a message
    (a digest that had nothing to list anyway still goes out, saying so)."""
    context = _digest_context(reminder)
    return context["left_out"] > 0 and not context["upcoming"] and not context["quiet"]


def _digest_parts(reminder: Reminder) -> _Parts:
    user = reminder.recipient
    context = _digest_context(reminder)
    reader = {"unsubscribe_url": unsubscribe_url(user=user, scope="digest")}
    return _Parts(key=None, context=lambda: context, reader=reader)


def _deadline_parts(reminder: Reminder) -> _Parts:
    """A milestone ahead, a commitment overdue (to its owner) or overdue too long (to its
    supervisor): counted to the day it is sent, like the quiet-commitment nudge."""
    commitment, user = reminder.commitment, reminder.recipient
    today = max(reminder.due_on, reader_today(user))
    context = {
        "commitment": commitment,
        "milestone": reminder.milestone,
        "due_on": reminder.occurrence_date,
        "days_away": max((reminder.occurrence_date - today).days, 0)
        if reminder.occurrence_date
        else None,
        "overdue_since": reminder.overdue_since,
        # Overdue from the day after the date it was due.
        "overdue_days": (today - reminder.overdue_since).days - 1
        if reminder.overdue_since
        else None,
        "owner": commitment.owner,
        "commitment_url": site_url(commitment.get_absolute_url()),
    }
    reader = {"unsubscribe_url": unsubscribe_url(user=user, scope="deadlines")}
    return _Parts(key=None, context=lambda: context, reader=reader)


def _news_parts(reminder: Reminder) -> _Parts:
    """One change of something the reader follows, with a link that stops this follow."""
    user = reminder.recipient
    notice = Notification.objects.select_related(
        "change__commitment", "change__update__reported_by", "change__milestone"
    ).get(pk=reminder.notification_id)
    commitment = notice.change.commitment
    context = {
        "commitment": commitment,
        "what": change_text(notice.change),
        "commitment_url": site_url(commitment.get_absolute_url()),
        "notifications_url": site_url(reverse("notification_list")),
    }
    return _Parts(key=None, context=lambda: context, reader=_follow_links(user, [commitment]))


def _follow_links(user: User, commitments: list) -> dict[str, str]:
    """A signed link per follow that brought these commitments' news: "stop news of X"."""
    follows = {}
    for commitment in commitments:
        follow = covering_follow(user_id=user.pk, commitment=commitment)
        if follow is not None:
            follows[follow.pk] = follow
    lines = [
        f"{follow.target}: {unsubscribe_url(user=user, scope='follow', object_id=pk)}"
        for pk, follow in follows.items()
    ]
    return {"unsubscribe_url": "\n".join(lines)}


def _news_digest_parts(reminder: Reminder) -> _Parts:
    user = reminder.recipient
    notices = news_digest_notices(row=reminder)
    items = [
        {
            "commitment": n.change.commitment,
            "what": change_text(n.change),
            "url": site_url(n.change.commitment.get_absolute_url()),
        }
        for n in notices
    ]
    context = {
        "items": items,
        "every_days": reminder.lead_days,
        "notifications_url": site_url(reverse("notification_list")),
    }
    commitments = list({n.change.commitment_id: n.change.commitment for n in notices}.values())
    return _Parts(key=None, context=lambda: context, reader=_follow_links(user, commitments))


PARTS = {
    Kind.EVENT: _event_parts,
    Kind.STALE: _stale_parts,
    Kind.DIGEST: _digest_parts,
    Kind.MILESTONE: _deadline_parts,
    Kind.OVERDUE: _deadline_parts,
    Kind.ESCALATION: _deadline_parts,
    Kind.NEWS: _news_parts,
    Kind.NEWS_DIGEST: _news_digest_parts,
}


class _PlainText(SafeMIMEText):
    """Django's one-part text message, written out without the email package's generator.

    Its headers are ASCII already (Django encodes the rest, RFC 2047) and folded where Django
    folds them; its body is ASCII, or UTF-8 kept as surrogate escapes, or quoted-printable, so
    the bytes are the headers, a blank line and the body, with `linesep` ending every line,
    as BytesGenerator writes them but for refolding headers longer than 78 characters (the
    limit is 998). The generator (parsing Content-Type, folding every header again) cost
    more than half of building a reminder."""

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        headers = "".join(f"{name}: {value}\n" for name, value in self._headers)
        text = f"{headers}\n{self._payload}".replace("\r\n", "\n").replace("\r", "\n")
        try:
            if unixfrom or self.is_multipart():
                raise ValueError("not a plain one-part message")
            return text.replace("\n", linesep).encode("ascii", "surrogateescape")
        except (UnicodeEncodeError, ValueError):
            return super().as_bytes(unixfrom, linesep)


class ReminderEmail(EmailMessage):
    def message(self) -> SafeMIMEText:
        message = super().message()
        message.__class__ = _PlainText  # the same object, written out faster (as_bytes)
        return message

    def bytes_to_send(self) -> bytes:
        """message().as_bytes(linesep="\r\n"): for a reminder's usual email written without
        building the message, the rest (a long line, an attachment) the long way."""
        written = _plain_bytes(self)
        return written if written is not None else self.message().as_bytes(linesep="\r\n")


# The headers a reminder adds to Django's own (_reminder_message); with any other, an email is
# written by Django's message().
_REMINDER_HEADERS = {"List-Unsubscribe", "List-Unsubscribe-Post"}


def _plain_bytes(email: ReminderEmail) -> bytes | None:
    """The bytes _PlainText writes for Django's one-part UTF-8 text message, without the email
    package: building the message object (a Charset, a header object per header, the body's
    encoding) was most of writing a reminder. None where Django would do more: another
    charset, a part or header more, a line too long for SMTP (quoted-printable then).

    Each header value is still Django's own (forbid_multi_line_headers: a non-ASCII subject
    or address encoded, a newline refused), and the subject is encoded once per chunk of sends
    (readers of one event share it). The body is UTF-8, `8bit` unless it is ASCII (`7bit`), as
    Django's SafeMIMEText writes it for lines within the limit
    (tests/tracker/test_reminders_email.py compares the two)."""
    if (
        (email.encoding or settings.DEFAULT_CHARSET) != "utf-8"
        or email.content_subtype != "plain"
        or email.attachments
        or email.cc
        or email.reply_to
        or not email.to
        or not _REMINDER_HEADERS.issuperset(email.extra_headers)
    ):
        return None
    try:
        body = email.body.encode()
    except UnicodeEncodeError:
        return None  # Django raises it
    # bytes.splitlines() cuts at fewer places than Django's str.splitlines(): lines within
    # the limit here are within it there too.
    if len(body) > RFC5322_EMAIL_LINE_LENGTH_LIMIT and any(
        len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in body.splitlines()
    ):
        return None
    subject = _shared(("subject_header", email.subject), lambda: _header("Subject", email.subject))
    headers = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {'7bit' if body.isascii() else '8bit'}",
        f"Subject: {subject}",
        f"From: {_header('From', email.from_email)}",
        f"To: {_header('To', ', '.join(str(address) for address in email.to))}",
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
        f"Message-ID: {make_msgid(domain=DNS_NAME)}",
        *(f"{name}: {_header(name, value)}" for name, value in email.extra_headers.items()),
    ]
    # As _PlainText.as_bytes: every line ends with CRLF, however it ended before.
    text = "\n".join(headers) + "\n\n" + email.body
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n").encode()


def _header(name: str, value) -> str:
    return forbid_multi_line_headers(name, value, "utf-8")[1]


def reminder_message(*, reminder: Reminder) -> EmailMessage:
    """The email, written in the recipient's language (the site's default if they chose none)."""
    with translation.override(reminder.recipient.language or settings.LANGUAGE_CODE):
        return _reminder_message(reminder)


def _rendered(kind: str, context: dict) -> tuple[str, str]:
    subject = render_to_string(f"emails/reminder_{kind}_subject.txt", context)
    return " ".join(subject.split()), render_to_string(f"emails/reminder_{kind}.txt", context)


def _reminder_message(reminder: Reminder) -> EmailMessage:
    user = reminder.recipient
    parts = PARTS[reminder.kind](reminder)
    reader = {
        "reader_name": user.get_full_name() or user.username,
        "unsubscribe_all_url": unsubscribe_url(user=user, scope="all"),
        **parts.reader,
    }

    def render() -> tuple[str, str]:
        markers = {name: _marker(name) for name in reader}
        settings_url = _shared(("settings_url",), lambda: site_url(reverse("reminder_settings")))
        context = {**parts.context(), **markers, "settings_url": settings_url}
        return _rendered(reminder.kind, context)

    subject, body = render() if parts.key is None else _shared(parts.key, render)
    for name, text in reader.items():
        subject, body = (part.replace(_marker(name), text) for part in (subject, body))
    message = ReminderEmail(subject, body, to=[user.email])
    message.extra_headers["List-Unsubscribe"] = f"<{reader['unsubscribe_all_url']}>"
    # RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" to that link,
    # which reminder_views.reminder_unsubscribe accepts without a CSRF token.
    message.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message
