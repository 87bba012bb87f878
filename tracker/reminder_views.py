"""Reminder pages: the secretariat's delivery log, each person's subscriptions, and the
unsubscribe link from an email (no login needed). Writes go through tracker.reminders."""

import datetime

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import pagination
from core.ids import RowIdsField
from core.local_time import format_day, reader_today
from core.roles import liaison_state_id, user_can_edit_record, user_can_own_commitments
from tracker import reminders
from tracker.events import event_next_occurrences, events_visible_to
from tracker.models import Event, Reminder
from tracker.models.events import default_lead_times
from tracker.reminders.planning import CHOOSABLE_LEAD_DAYS

TIME_FORMAT = "j M Y H:i e"
# Later than this, a reminder was held up by more than the retries and requeues of a running
# system (the claim timeout, SMTP backoff): the dispatcher or the workers were down.
SENT_LATE_AFTER = datetime.timedelta(hours=1)


class ReminderFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Reminder.State.choices, empty_label=_("Any state"))
    kind = django_filters.ChoiceFilter(choices=Reminder.Kind.choices, empty_label=_("Any kind"))

    class Meta:
        model = Reminder
        fields = ["state", "kind"]


class ReminderTable(tables.Table):
    due_at = tables.DateTimeColumn(format=TIME_FORMAT, verbose_name=_("Due (UTC)"))
    recipient = tables.Column(accessor="recipient__email", verbose_name="To")
    about = tables.Column(accessor="pk", verbose_name="About", orderable=False)
    state = tables.Column()
    attempts = tables.Column()
    sent_at = tables.DateTimeColumn(format=TIME_FORMAT, verbose_name=_("Sent (UTC)"))
    # empty_values=(): render_note decides for every row (a skipped row's `error` is empty).
    note = tables.Column(
        accessor="error", verbose_name=_("Error or reason"), orderable=False, empty_values=()
    )
    resend = tables.Column(accessor="pk", verbose_name="", orderable=False)

    class Meta:
        model = Reminder
        fields = ["due_at", "kind", "recipient", "about", "state", "attempts", "sent_at"]
        order_by = ("-due_at",)
        empty_text = _("No reminder matches this filter.")

    def render_about(self, record):
        if record.kind == Reminder.Kind.EVENT:
            day = format_day(record.occurrence_date)
            return f"{record.event.title}, {day} ({record.lead_days} days ahead)"
        if record.kind == Reminder.Kind.STALE:
            return f"{record.commitment.title} (quiet since {format_day(record.quiet_since)})"
        if record.kind == Reminder.Kind.MILESTONE:
            day = format_day(record.occurrence_date)
            return f"{record.milestone.title}, due {day} ({record.lead_days} days ahead)"
        if record.kind == Reminder.Kind.NEWS:
            change = record.notification.change
            return f"{change.commitment.title}: {change.get_kind_display()}"
        if record.kind == Reminder.Kind.NEWS_DIGEST:
            return f"News of the {record.lead_days} day(s) to {format_day(record.due_on)}"
        if record.kind in (Reminder.Kind.OVERDUE, Reminder.Kind.ESCALATION):
            return f"{record.commitment.title} (overdue since {format_day(record.overdue_since)})"
        return f"Week of {format_day(record.due_on)}"

    def render_note(self, record):
        """Why a row was skipped, why it failed, or that it went out late, in the reader's
        language."""
        if record.state == Reminder.State.SKIPPED:
            return reminders.skip_reason_text(record.skip_reason) or "—"
        if record.error:
            return record.error
        if record.sent_at and record.sent_at - record.due_at > SENT_LATE_AFTER:
            delay = timesince(record.due_at, record.sent_at)
            return _("sent late, %(delay)s after it was due") % {"delay": delay}
        return "—"

    def render_resend(self, record):
        if record.state != Reminder.State.FAILED:
            return ""
        return format_html(
            '<form method="post" action="{}"><input type="hidden" name="csrfmiddlewaretoken"'
            ' value="{}"><button type="submit">Resend</button></form>',
            reverse("reminder_resend", kwargs={"pk": record.pk}),
            self.csrf_token,
        )


def _require_secretariat(user) -> None:
    if not user_can_edit_record(user):
        raise PermissionDenied(
            _(
                "Only the secretariat sees the reminder delivery log. Your own reminder "
                "choices are on the My reminders page."
            )
        )


# Reminders per page unless the query string asks for another of core.pagination.PAGE_SIZES.
LOG_PAGE_SIZE = 50


def reminder_log(request):
    _require_secretariat(request.user)
    # RequestConfig reads per_page and page from request.GET: only bounded ones reach it.
    request.GET = pagination.bounded_pagination(request.GET, default_size=LOG_PAGE_SIZE)
    rows = Reminder.objects.select_related(
        "recipient", "event", "commitment", "milestone", "notification__change__commitment"
    )
    reminder_filter = ReminderFilter(request.GET, queryset=rows)
    table = ReminderTable(reminder_filter.qs)
    table.csrf_token = get_token(request)
    tables.RequestConfig(request, paginate={"per_page": LOG_PAGE_SIZE}).configure(table)
    context = {"filter": reminder_filter, "table": table}
    return render(request, "tracker/reminder_log.html", context)


@require_POST
def reminder_resend(request, pk: int):
    _require_secretariat(request.user)
    reminder = get_object_or_404(Reminder, pk=pk)
    if reminders.reminder_resend(reminder=reminder):
        messages.success(request, _("Queued again: it goes out within a minute."))
    else:
        messages.error(request, _("Only a failed reminder can be resent; this one is not failed."))
    return redirect("reminder_log")


OPTIONS = ("weekly_digest", "stale_reminders", "deadline_reminders", "muted", "notify")
LEAD_CHOICES = [
    (30, _("30 days before")),
    (7, _("7 days before")),
    (1, _("the day before")),
    (0, _("on the day itself")),
]


class ReminderSettingsForm(forms.Form):
    weekly_digest = forms.BooleanField(
        required=False, label=_("One weekly digest instead of one email per reminder")
    )
    stale_reminders = forms.BooleanField(
        required=False, label=_("Remind me of commitments I own that have gone quiet")
    )
    deadline_reminders = forms.BooleanField(
        required=False,
        label=_("Remind me of milestones ahead and of commitments overdue that I own or supervise"),
    )
    muted = forms.BooleanField(required=False, label=_("Send me no reminder emails at all"))
    notify = forms.ChoiceField(
        choices=[
            ("immediate", _("at once, one email per change")),
            ("daily", _("in a daily digest")),
            ("weekly", _("in a weekly digest")),
        ],
        widget=forms.RadioSelect,
        required=False,  # left as it was when not sent
        label=_("News of what I follow (commitments, actors, documents) reaches me by email"),
    )
    lead_days = forms.TypedMultipleChoiceField(
        choices=LEAD_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Remind me of the events I follow"),
        help_text=_("Tick none to get no event reminders (news still comes)."),
    )
    follow_state = forms.BooleanField(
        required=False, label=_("Follow every event concerning my state")
    )
    events = RowIdsField(
        queryset=Event.objects.order_by("title"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Events I follow"),
    )


def _settings_initial(user) -> dict:
    preference = reminders.preferences_of([user.pk])[user.pk]
    return {
        "weekly_digest": preference.weekly_digest,
        "stale_reminders": preference.stale_reminders,
        "deadline_reminders": preference.deadline_reminders,
        "muted": preference.muted,
        "notify": preference.notify,
        "leads_default": preference.event_lead_days is None,
        "lead_days": sorted(
            preference.event_lead_days
            if preference.event_lead_days is not None
            else default_lead_times(),
            reverse=True,
        ),
        "follow_state": reminders.follows_state(user=user),
        "events": sorted(reminders.events_followed_by(user=user)),
    }


def reminder_settings(request):
    initial = _settings_initial(request.user)
    form = ReminderSettingsForm(request.POST or None, initial=initial)
    # A liaison chooses among the events they may see, not deadlines of other states' work;
    # and nobody among events without an occurrence ahead.
    form.fields["events"].queryset = _events_ahead(request.user)
    if liaison_state_id(request.user) is None:  # only a liaison follows their state's events
        del form.fields["follow_state"]
    if not user_can_own_commitments(request.user):  # a liaison owns and supervises nothing
        del form.fields["deadline_reminders"]
        del form.fields["stale_reminders"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        reminders.reminder_settings_update(
            user=request.user,
            options={
                **{k: data[k] for k in OPTIONS if data.get(k) not in (None, "")},
                "event_lead_days": _lead_days_chosen(data["lead_days"], initial),
            },
            follow_state=data.get("follow_state", False),
            shown_events=set(initial["events"]),
            chosen_events={e.pk for e in data["events"]},
        )
        messages.success(request, _("Your reminder choices are saved."))
        return redirect("reminder_settings")
    context = {"form": form, "horizon_days": max(CHOOSABLE_LEAD_DAYS)}
    status = 400 if request.method == "POST" else 200  # a valid POST has redirected
    return render(request, "tracker/reminder_settings.html", context, status=status)


def _lead_days_chosen(chosen: list[int], initial: dict) -> list[int] | None:
    """The reader's lead times; None (each event's own) while they leave the defaults alone."""
    chosen = sorted(set(chosen), reverse=True)
    return None if initial["leads_default"] and chosen == initial["lead_days"] else chosen


def _events_ahead(user):
    """The events the user may see that have an occurrence from their today on."""
    today = reader_today(user)
    events = list(events_visible_to(user=user).order_by("title"))
    ahead = [e.pk for e in events if event_next_occurrences(event=e, today=today, count=1)]
    return Event.objects.filter(pk__in=ahead).order_by("title")


SCOPE_TEXT = {
    "event": _("reminders about {target}"),
    "state": _("reminders about every event concerning your state"),
    "stale": _("reminders about commitments you own that have gone quiet"),
    "deadlines": _("reminders about milestones ahead and commitments overdue"),
    "digest": _("the weekly digest (you will get one email per reminder again)"),
    "all": _("all reminder emails"),
    "follow": _("news of {target}"),
}


# No CSRF token: the signed link is the secret, and mail clients' one-click unsubscribe
# (RFC 8058) posts without one.
@csrf_exempt
@login_not_required
def reminder_unsubscribe(request, token: str):
    """GET shows what the link stops and asks to confirm (mail scanners follow links);
    POST does it."""
    unsubscribe = reminders.unsubscribe_request_from_token(token)
    if unsubscribe is None:
        context = {"invalid": True}
        return render(request, "tracker/reminder_unsubscribe.html", context, status=400)
    target = unsubscribe.target
    what = SCOPE_TEXT[unsubscribe.scope].format(target=getattr(target, "target", target))
    done = request.method == "POST"
    if done:
        reminders.reminders_unsubscribe(request=unsubscribe)
    context = {"what": what, "done": done, "person": unsubscribe.user}
    return render(request, "tracker/reminder_unsubscribe.html", context)
