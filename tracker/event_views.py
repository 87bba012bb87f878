"""Event pages (list, month, detail) and calendar feeds. Read-only, except resetting one's own
feed URL, which changes the person's account, not the record."""

import calendar
import datetime
import gzip
import hashlib
from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.http import quote_etag
from django.utils.text import compress_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from commitments.models import DOCUMENT_TEXTS, Commitment, Paragraph
from core import caching
from core.addresses import site_host
from core.local_time import reader_today
from core.public_site import public_record

from .calendar_feeds import (
    calendar_build,
    calendar_personal_events,
    calendar_public_events,
    calendar_token_reset,
)
from .events import (
    date_in_year,
    event_next_occurrences,
    event_rule_text,
    events_visible_to,
    occurrences_between,
)
from .models import Event, User

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


class EventFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", _("All kinds")), *Event.Kind.choices], required=False)


@public_record
@require_safe
def event_list(request):
    today = reader_today(request.user)
    end = date_in_year(day=today, year=today.year + 1) - datetime.timedelta(days=1)
    form = EventFilterForm(request.GET)
    events = events_visible_to(user=request.user)
    if form.is_valid() and form.cleaned_data["kind"]:
        events = events.filter(kind=form.cleaned_data["kind"])
    context = {
        "form": form,
        "occurrences": occurrences_between(start=today, end=end, events=events, overlapping=True),
        "start": today,
        "end": end,
        "month_url": reverse("event_month", kwargs={"year": today.year, "month": today.month}),
    }
    return render(request, "tracker/event_list.html", context)


def _month_weeks(year: int, month: int, occurrences) -> list[list[dict]]:
    by_date = defaultdict(list)
    for occurrence in occurrences:
        # An event of several days shows on each day it covers.
        for day in occurrence.days():
            by_date[day].append(occurrence)
    weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month)
    return [
        [{"date": day, "in_month": day.month == month, "occurrences": by_date[day]} for day in week]
        for week in weeks
    ]


def _month_link(first: datetime.date, months: int) -> str | None:
    index = first.year * 12 + first.month - 1 + months
    year, month = divmod(index, 12)
    if not datetime.MINYEAR < year < datetime.MAXYEAR:
        return None
    return reverse("event_month", kwargs={"year": year, "month": month + 1})


@public_record
@require_safe
def event_month(request, year: int, month: int):
    # The edges of the date range have no neighbouring month to show in a full grid.
    if not (1 <= month <= 12 and datetime.MINYEAR < year < datetime.MAXYEAR):
        raise Http404("No such month: use /events/YEAR/MONTH/ with a month from 1 to 12.")
    first = datetime.date(year, month, 1)
    weeks = _month_weeks(year, month, [])
    occurrences = occurrences_between(
        start=weeks[0][0]["date"],
        end=weeks[-1][-1]["date"],
        events=events_visible_to(user=request.user),
        overlapping=True,
    )
    context = {
        "first": first,
        "weeks": _month_weeks(year, month, occurrences),
        # Django's weekday names follow the active language; calendar.day_abbr is the
        # process's C locale, which printed "Mon" on the Russian grid.
        "day_names": [(WEEKDAYS[day], WEEKDAYS_ABBR[day]) for day in range(7)],
        "previous_url": _month_link(first, -1),
        "next_url": _month_link(first, 1),
        "today": reader_today(request.user),
    }
    return render(request, "tracker/event_month.html", context)


@public_record
@require_safe
def event_detail(request, slug: str):
    events = (
        events_visible_to(user=request.user)
        .select_related("deadline_of")
        .prefetch_related(
            Prefetch("commitments", queryset=Commitment.objects.order_by("title")),
            Prefetch(
                "paragraphs",
                queryset=Paragraph.objects.select_related("document").defer(*DOCUMENT_TEXTS),
            ),
        )
    )
    event = get_object_or_404(events, slug=slug)
    context = {
        "event": event,
        "rule_text": event_rule_text(event=event),
        "occurrences": event_next_occurrences(event=event, today=reader_today(request.user)),
    }
    return render(request, "tracker/event_detail.html", context)


def _feed_response(request, *, events, name: str, audience: tuple) -> HttpResponse:
    """The feed, serialised and compressed once per audience until an event or commitment
    changes, and sent compressed to a client that accepts gzip (calendar apps do).

    Calendar apps poll: with the ETag an unchanged feed costs them a 304 and no body. The ETags
    are kept with the feed: hashing 4 MB of a feed at ten times the benchmark's events took 12
    ms a request, a third of serving it from the cache (issue 16). The feed is kept compressed
    because moving it out of the cache was most of a cached request, and grew with the events:
    390 KB at the benchmark's 2,000 events, 13.6 times less compressed.
    """

    # The feed's links and UIDs name the site as this request reached it, and its category
    # labels are in the request's language. Only the site's own names are kept in the cache:
    # any Host a client sends (another port, other letter case) would otherwise add entries.
    keep = site_host(request.get_host())

    def build() -> tuple[str, str, bytes]:
        body = calendar_build(
            events=events,
            name=name,
            host=request.get_host(),
            url_for=request.build_absolute_uri,
            keep_events=keep,
        )
        return _feed_compressed(body)

    if not keep:
        plain_etag, gzip_etag, compressed = build()
    else:
        key = (*audience, request.build_absolute_uri("/"), get_language())
        plain_etag, gzip_etag, compressed = caching.cached(caching.CALENDAR, key, build)
    gzip_accepted = accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    response = HttpResponse(content_type=CALENDAR_CONTENT_TYPE)
    response["ETag"] = gzip_etag if gzip_accepted else plain_etag
    # Shared caches must not hand the compressed feed to a client that cannot read it.
    patch_vary_headers(response, ["Accept-Encoding"])
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    if conditional is not response:  # 304 Not Modified: no body to decompress
        return conditional
    if gzip_accepted:
        response["Content-Encoding"] = "gzip"
        response.content = compressed
    else:
        response.content = gzip.decompress(compressed)
    return response


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether a request's Accept-Encoding takes gzip (RFC 9110, 12.5.3): named (or x-gzip,
    its old name) with a weight above 0, or not named and `*` so weighted. `gzip;q=0` refuses
    it, which Django's GZipMiddleware, finding the word alone, would not see. A weight that is
    not a number refuses too: the plain feed is never wrong."""
    weights = {}
    for item in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        coding = coding.lower()
        weight = 1.0
        for parameter in parameters:
            name, _equals, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:  # named twice: the lower weight (the plain feed is never wrong)
            weights[coding] = min(weight, weights.get(coding, weight))
    named = [weights[c] for c in ("gzip", "x-gzip") if c in weights]
    weight = max(named) if named else weights.get("*", 0.0)
    return 0 < weight <= 1


def _feed_compressed(body: bytes) -> tuple[str, str, bytes]:
    """The feed's ETag, its compressed form's ETag, and that compressed form.

    Compressed as django.middleware.gzip.GZipMiddleware does (level 6, no time in the header)
    but without its random padding against BREACH: the compressed form depends on the feed
    alone, and so does its ETag. BREACH needs a secret and text an attacker chooses in one body: a
    feed echoes nothing of the request but the site's name, and the personal feed's token is
    in its address, not its body. Each ETag is the one django.utils.cache.set_response_etag
    makes of the body sent, so the two differ, as Apache's two do: If-None-Match finds the
    representation the client holds, never the other. (The middleware makes the ETag weak
    instead, and If-None-Match's weak comparison matches a weak tag to either.)
    """
    compressed = compress_string(body)
    return _body_etag(body), _body_etag(compressed), compressed


def _body_etag(body: bytes) -> str:
    return quote_etag(hashlib.md5(body, usedforsecurity=False).hexdigest())


def _feed_day() -> datetime.date:
    # The window's day (tracker.calendar_feeds.calendar_window), in UTC for every reader: a
    # window of years does not need a reader's own midnight.
    return timezone.now().date()


@login_not_required
@require_safe
def calendar_public_feed(request):
    today = _feed_day()
    return _feed_response(
        request,
        events=calendar_public_events(today=today),
        name="Commitment tracker: public events",
        audience=("public", today.isoformat()),
    )


@login_not_required
@require_safe
def calendar_personal_feed(request, token: str):
    # Calendar apps cannot log in: the secret token in the URL is the credential.
    user = get_object_or_404(User, calendar_token=token, is_active=True)
    # What the feed lists depends on the person's role and state (tracker.events).
    person = (user.pk, user.get_username(), user.role, user.is_superuser)
    today = _feed_day()
    response = _feed_response(
        request,
        events=calendar_personal_events(user=user, today=today),
        name=f"Commitment tracker: {user.get_username()}",
        audience=("personal", today.isoformat(), *person, getattr(user, "actor_id", None)),
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def calendar_feeds(request):
    """Where a person finds their feed URLs and can replace their secret one."""
    if request.method == "POST":
        calendar_token_reset(user=request.user)
        messages.success(
            request, _("Your personal feed has a new address; the old one no longer works.")
        )
        return redirect("calendar_feeds")
    personal_path = reverse("calendar_personal_feed", kwargs={"token": request.user.calendar_token})
    context = {
        "personal_url": request.build_absolute_uri(personal_path),
        "public_url": request.build_absolute_uri(reverse("calendar_public_feed")),
    }
    return render(request, "tracker/event_calendar_feeds.html", context)
