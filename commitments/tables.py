"""The commitments table; rows come from selectors.commitment_list, in the state the user sees."""

import django_tables2 as tables
from django.utils import dateformat
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from core.roles import person_shown

from . import deadlines, selectors
from .statuses import Status, status_definition

DATE_FORMAT = "j M Y"


def person_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _export_only(verbose_name, accessor="pk") -> tables.Column:
    """A column of the export alone (the page does not show it): what a bulk import needs to
    read a row back (commitments.bulk_import)."""
    return tables.Column(
        accessor=accessor, verbose_name=verbose_name, visible=False, orderable=False,
        empty_values=(),
    )  # fmt: skip


class DayColumn(tables.DateColumn):
    """A date column (the export writes its cells as dates) whose cells are the day in
    `day_format`, written directly: the package's DateColumn compiles a template for every
    cell, a tenth of a cold table page's time (issue 16)."""

    def __init__(self, *args, day_format: str = DATE_FORMAT, **kwargs):
        super().__init__(*args, format=day_format, **kwargs)
        self.day_format = day_format

    def render(self, value, bound_column):
        # As the package's template writes it: {{ value|date:format|default:default }}. Like
        # that template, the column is given empty values too (its export reads them as "").
        if value in (None, ""):
            return bound_column.default
        return dateformat.format(value, self.day_format)


# The export's columns a bulk import reads a new status update from: the secretariat's round
# trip, left out of everyone else's export (empty there, and of no use to a reader).
UPDATE_COLUMNS = ("update_date", "update_narrative", "update_visibility")


# Every order of the table ends on the id, so that it is total: a page past the middle is read
# backwards (core.pagination.NearerEndPaginator), and rows that tie on every sorted column were
# in no fixed order, so the two reads could repeat some rows and leave others out (a sort by
# owner with one owner listed 62 of 112 commitments). Status, progress, due and freshness get
# theirs from selectors.commitments_ordered.
class CommitmentTable(tables.Table):
    title = tables.Column(linkify=True, verbose_name=_("Title"), order_by=("title", "pk"))
    paragraphs = tables.Column(
        accessor="first_paragraph_number",
        verbose_name=_("Paragraphs"),
        order_by=("first_paragraph_number", "title", "pk"),
    )
    lead_actors = tables.Column(accessor="pk", verbose_name=_("Lead actors"), orderable=False)
    status = tables.Column(accessor="shown_status", verbose_name=_("Status"))
    progress = tables.Column(accessor="shown_progress", verbose_name=_("Progress"))
    target_date = DayColumn(verbose_name=_("Target date"))  # order_target_date
    # deadline, overdue_since, next_due, due_date, freshness: selectors.commitment_dated_list.
    due = tables.Column(accessor="due_date", verbose_name=_("Due"), empty_values=())
    last_activity = DayColumn(
        accessor="shown_last_activity",
        verbose_name=_("Last activity"),
        order_by=("shown_last_activity", "title", "pk"),
    )
    freshness = tables.Column(verbose_name=_("Freshness"), empty_values=())
    owner = tables.Column(
        accessor="owner",
        verbose_name=_("Owner"),
        order_by=("owner__last_name", "owner__first_name", "owner__username", "title", "pk"),
    )
    # The export's own columns, after the page's so those keep their letters in a spreadsheet.
    # The commitment's slug: the stable identifier a bulk import matches rows by.
    identifier = _export_only(_("ID"), accessor="slug")
    document = _export_only(_("Document"))
    supporting_actors = _export_only(_("Supporting actors"))
    themes = _export_only(_("Themes"))
    # Empty in the export: filled in a spreadsheet, they make a bulk import add a status update
    # where the row's status or progress differs from the commitment's. Only the secretariat
    # imports, so only its export has them (UPDATE_COLUMNS, views.CommitmentListView).
    update_date = _export_only(_("Update date"))
    update_narrative = _export_only(_("Update narrative"))
    update_visibility = _export_only(_("Update visibility"))

    class Meta:
        template_name = "django_tables2/tracker_table.html"
        empty_text = _("No commitment matches these filters.")
        attrs = {"class": "table commitments"}
        order_by = "paragraphs"  # the document's order

    def __init__(self, *args, due_filter: str = "", **kwargs):
        # The "Due" filter's value: rows all overdue, or all due soon, sort by their earliest
        # date (order_due).
        self.due_filter = due_filter
        super().__init__(*args, **kwargs)

    def render_title(self, record, value):
        if record.retired_on is None:
            return value
        return format_html('{} <span class="badge badge-retired">{}</span>', value, _("Retired"))

    def value_title(self, record):
        return record.title

    def value_identifier(self, record):
        return record.slug

    def value_document(self, record):
        """The short names of the documents of its paragraphs (one, nearly always)."""
        names = dict.fromkeys(p.document.short_name for p in record.paragraphs.all())
        return "; ".join(names)

    # Paragraphs and actors come from the selector's prefetch: no query per row.
    def render_paragraphs(self, record):
        return format_html_join(
            ", ",
            '<a href="{}">¶{}</a>',
            ((p.get_absolute_url(), p.number) for p in record.paragraphs.all()),
        )

    def value_paragraphs(self, record):
        return ", ".join(str(p.number) for p in record.paragraphs.all())

    def render_lead_actors(self, record):
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            ((a.get_absolute_url(), a.name) for a in record.lead_actors.all()),
        )

    def value_lead_actors(self, record):
        return "; ".join(actor.name for actor in record.lead_actors.all())

    def value_supporting_actors(self, record):
        return "; ".join(actor.name for actor in record.supporting_actors.all())

    def value_themes(self, record):
        return "; ".join(theme.name for theme in record.themes.all())

    def value_update_date(self, record):
        return ""

    def value_update_narrative(self, record):
        return ""

    def value_update_visibility(self, record):
        return ""

    def render_status(self, value):
        return format_html(
            '<span class="status status-{}" title="{}">{}</span>',
            value,
            status_definition(value),
            Status(value).label,
        )

    def value_status(self, value):
        return Status(value).label

    def order_status(self, queryset, is_descending):
        """Sort in the vocabulary's order (not started ... no longer pursued), not by the code."""
        return selectors.commitments_ordered(queryset, "status", descending=is_descending), True

    def render_progress(self, value):
        return format_html(
            '<progress max="100" value="{}" aria-hidden="true"></progress> {}%', value, value
        )

    def value_progress(self, value):
        return value

    def order_progress(self, queryset, is_descending):
        return selectors.commitments_ordered(queryset, "progress", descending=is_descending), True

    def order_target_date(self, queryset, is_descending):
        ordered = selectors.commitments_ordered(queryset, "target_date", descending=is_descending)
        return ordered, True

    def value_target_date(self, value):
        return value.isoformat() if value else ""

    def value_last_activity(self, value):
        return value.isoformat() if value else ""

    def render_due(self, record):
        return deadline_badge(record, day_format=DATE_FORMAT)

    def value_due(self, record):
        return deadline_text(record, day=lambda d: d.isoformat())

    def order_due(self, queryset, is_descending):
        """Soonest (the longest overdue) first; without a date last, whichever the direction."""
        if self.due_filter in deadlines.DEADLINE_LABELS and not is_descending:
            # Every row's due date is its earliest date (deadlines.earliest_due): the same
            # order, read from the partial indexes on that date and title (Commitment.Meta;
            # ties on both put in id order among themselves),
            # 25 rows, not all overdue ones sorted (19,000 at ten times the benchmark's data).
            return queryset.order_by(deadlines.earliest_due().asc(), "title", "pk"), True
        return selectors.commitments_ordered(queryset, "due", descending=is_descending), True

    def render_freshness(self, value):
        return freshness_badge(value)

    def value_freshness(self, value):
        return deadlines.FRESHNESS_LABELS[value] if value else ""

    def order_freshness(self, queryset, is_descending):
        """By the day of the last news: the stalest first when ascending."""
        return selectors.commitments_ordered(queryset, "freshness", descending=is_descending), True

    def render_owner(self, value):
        return self._owner_shown(value)

    def value_owner(self, value):
        return self._owner_shown(value)

    def _owner_shown(self, owner) -> str:
        """The secretariat's word for an owner without a full name, for everyone else."""
        return person_shown(owner, reader=getattr(getattr(self, "request", None), "user", None))


def deadline_text(record, *, day) -> str:
    """ "Overdue since D", "Due D" (due soon), the next due date alone, or nothing."""
    if record.deadline == deadlines.OVERDUE:
        return gettext("Overdue since %(day)s") % {"day": day(record.overdue_since)}
    if record.deadline == deadlines.DUE_SOON:
        return pgettext("due on a day", "Due %(day)s") % {"day": day(record.next_due)}
    return day(record.next_due) if record.next_due else ""


def deadline_badge(record, *, day_format: str) -> str:
    """The table's and pages' badge: a word and a date, the colour only a help (never alone)."""
    text = deadline_text(record, day=lambda d: dateformat.format(d, day_format))
    if not record.deadline:
        return text
    return format_html('<span class="deadline deadline-{}">{}</span>', record.deadline, text)


def freshness_badge(value: str) -> str:
    if not value:
        return ""
    return format_html(
        '<span class="freshness freshness-{}">{}</span>', value, deadlines.FRESHNESS_LABELS[value]
    )
