"""Filters of the commitments table. Dropdowns list only what some commitment uses (selectors)."""

from collections.abc import Callable, Collection

import django_filters
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from core import pagination
from core.ids import row_id
from core.local_time import reader_today
from core.roles import person_shown
from core.widgets import QuickSelect, TypeAhead

from . import deadlines, selectors
from .models import Commitment, Paragraph
from .selectors import FilterChoice, name_folded
from .statuses import Status

# Django's message for a wrong choice of a list of rows, which does not repeat the value (the
# table shows every invalid value as filters.INVALID); Django translates it.
NOT_A_CHOICE = {
    "invalid_choice": _("Select a valid choice. That choice is not one of the available choices.")
}


class OwnerChoiceField(django_filters.fields.ModelChoiceField):
    reader = None  # who reads the table (OwnerChoiceFilter.field)

    def label_from_instance(self, user) -> str:
        return person_shown(user, reader=self.reader)


class OwnerChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerChoiceField

    @property
    def field(self):
        field = super().field
        request = self.get_request()
        field.reader = request.user if request is not None else None
        return field


class ParagraphChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, paragraph: Paragraph) -> str:
        return f"¶{paragraph.number} {paragraph.operative_verb} ({paragraph.document.short_name})"


class ParagraphChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ParagraphChoiceField


class CommitmentFilter(django_filters.FilterSet):
    # Every dropdown is a QuickSelect: its options written out without a template each. The
    # filters on rows that grow with the record (2,000 documents and owners at ten times the
    # benchmark's data) are TypeAhead boxes instead, which list none of them in the page.
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_text",
        help_text=_("Words in the title, summary, paragraph or status updates and their evidence."),
    )
    # shown_status: the state this user may see (selectors.commitment_list annotates it).
    status = django_filters.ChoiceFilter(
        field_name="shown_status",
        label=_("Status"),
        choices=Status.choices,
        empty_label=_("Any status"),
        widget=QuickSelect,
        error_messages=NOT_A_CHOICE,
    )
    actor = django_filters.ModelChoiceFilter(
        label=_("Actor (lead or supporting)"),
        queryset=lambda request: selectors.filter_choices_actors(),
        method="filter_actor",
        empty_label=_("Any actor"),
        widget=TypeAhead(attrs={"placeholder": _("Any actor")}),
    )
    document = django_filters.ModelChoiceFilter(
        label=_("Document"),
        queryset=lambda request: selectors.filter_choices_documents(),
        method="filter_document",
        empty_label=_("Any document"),
        widget=TypeAhead(attrs={"placeholder": _("Any document")}),
        help_text=_(
            "Type part of its title or short name; choose one and apply to pick one of its "
            "paragraphs."
        ),
    )
    paragraph = ParagraphChoiceFilter(
        field_name="paragraphs",
        label=_("Paragraph"),
        queryset=lambda request: selectors.filter_choices_paragraphs(
            document=request and request.GET.get("document"),
            paragraph=request and request.GET.get("paragraph"),
        ),
        empty_label=_("Any paragraph"),
        widget=QuickSelect,
    )
    theme = django_filters.ModelChoiceFilter(
        field_name="themes",
        label=_("Theme"),
        queryset=lambda request: selectors.filter_choices_themes(),
        empty_label=_("Any theme"),
        widget=QuickSelect,
    )
    owner = OwnerChoiceFilter(
        label=_("Owner"),
        queryset=lambda request: selectors.filter_choices_owners(),
        empty_label=_("Anyone"),
        widget=TypeAhead(attrs={"placeholder": _("Anyone")}),
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"),
        choices=Commitment.Kind.choices,
        empty_label=_("Any kind"),
        widget=QuickSelect,
        error_messages=NOT_A_CHOICE,
    )
    # deadline and freshness: selectors.commitment_dated_list annotates them for the reader's day.
    due = django_filters.ChoiceFilter(
        field_name="deadline",
        method="filter_due",
        label=_("Due"),
        choices=list(deadlines.DEADLINE_LABELS.items()),
        empty_label=_("Any due date"),
        widget=QuickSelect,
        error_messages=NOT_A_CHOICE,
    )
    freshness = django_filters.ChoiceFilter(
        label=_("Freshness"),
        choices=list(deadlines.FRESHNESS_LABELS.items()),
        empty_label=_("Any freshness"),
        widget=QuickSelect,
        error_messages=NOT_A_CHOICE,
    )

    # Retired commitments are left out of the table unless asked for; the view's queryset
    # does it (CommitmentListView.get_queryset), since an unbound filter filters nothing.
    retired = django_filters.BooleanFilter(
        label=_("Show retired"), method="filter_retired", widget=forms.CheckboxInput
    )

    class Meta:
        model = Commitment
        fields = [
            "q",
            "status",
            "actor",
            "document",
            "paragraph",
            "theme",
            "owner",
            "kind",
            "retired",
            "due",
            "freshness",
        ]

    def filter_retired(self, queryset, name, value):
        return queryset

    def filter_due(self, queryset, name, value):
        """The rows whose deadline annotation is the value, said as deadlines.overdue and
        deadlines.due_soon say it (the same rows: tests/commitments/test_deadline_counts.py):
        by the earliest date, which the partial indexes on it read (Commitment.Meta), instead
        of each row's deadline computed by a scan of every commitment."""
        today = reader_today(self._reader())
        rows = {deadlines.OVERDUE: deadlines.overdue, deadlines.DUE_SOON: deadlines.due_soon}
        return queryset.filter(rows[value](today=today))

    def _reader(self):
        return self.request.user if self.request is not None else AnonymousUser()

    def filter_document(self, queryset, name, value):
        # Exists rather than a join on paragraphs, so a commitment never appears twice.
        from_document = Commitment.paragraphs.through.objects.filter(
            commitment=OuterRef("pk"), paragraph__document=value
        )
        return queryset.filter(Exists(from_document))

    def filter_actor(self, queryset, name, value):
        return queryset.filter(selectors.commitments_of_actor(actor=value))

    def filter_text(self, queryset, name, value):
        user = self._reader()
        return queryset.filter(selectors.commitments_matching_text(user=user, text=value))


# --- The table's query string, validated -----------------------------------------------------

CHOICE_VALUES = {
    "status": frozenset(Status.values),
    "kind": frozenset(Commitment.Kind.values),
    "due": frozenset(deadlines.DEADLINE_LABELS),
    "freshness": frozenset(deadlines.FRESHNESS_LABELS),
}
ROW_FILTERS = ("actor", "document", "paragraph", "theme", "owner")
# The filters on what the record holds (caching.CATALOGUE), not on the commitments' state or
# the day: the rows they find change only with the catalogue (views.CommitmentListView).
CATALOGUE_FILTERS = frozenset({*ROW_FILTERS, "kind", "retired"})
# What a filter's invalid value becomes: no choice is spelt so.
INVALID = "invalid"
EXPORT_PARAM = "_export"
SHOW_RETIRED = "retired"


def table_query(
    params: QueryDict,
    *,
    choice_ids: Callable[[str], Collection[int]],
    sortable: frozenset[str],
    default_size: int,
    exports: tuple[str, ...],
) -> QueryDict:
    """The commitments table's query string with only what it can use, in a fixed order: the
    filters, a sort on an orderable column, a bounded page size and number
    (core.pagination), and a known export format.

    Anything else is dropped, so the page shows the default for it; two query strings that
    differ only in what is dropped or invalid are the same query (and the same cache entry)."""
    query = _filter_query(params, choice_ids=choice_ids)
    if str(params.get("sort", "")).removeprefix("-") in sortable:
        query["sort"] = params["sort"]
    if (size := pagination.page_size(params.get("per_page"), default=default_size)) != default_size:
        query["per_page"] = str(size)
    if (number := pagination.page_number(params.get("page"))) not in (None, 1):
        query["page"] = str(number)
    if str(params.get(SHOW_RETIRED, "")).lower() in ("on", "true", "1"):
        query[SHOW_RETIRED] = "on"
    if params.get(EXPORT_PARAM) in exports:
        query[EXPORT_PARAM] = params[EXPORT_PARAM]
    return query


def _filter_query(params: QueryDict, *, choice_ids: Callable[[str], Collection[int]]) -> QueryDict:
    """The filters asked for: each with its value if one of the choices its dropdown offers
    (choice_ids(name): selectors.filter_choice_ids), or INVALID, whatever the value was, so the
    form says "Select a valid choice" and shows no row, as for any wrong choice."""
    query = QueryDict(mutable=True)
    if text := str(params.get("q", "")).strip():
        query["q"] = text
    for name in (*CHOICE_VALUES, *ROW_FILTERS):
        if value := str(params.get(name, "")).strip():
            query[name] = _choice(name, value, choice_ids) or INVALID
    # The paragraph list holds the chosen document's paragraphs only.
    document, paragraph = query.get("document", INVALID), query.get("paragraph", INVALID)
    other = INVALID not in (document, paragraph) and choice_ids("paragraph")[int(paragraph)]
    if other and other != int(document):
        query["paragraph"] = INVALID
    return query


def _choice(name: str, value: str, choice_ids) -> str | None:
    """The value as the dropdown spells it ("05" is "5") if it is one of its choices."""
    if name in CHOICE_VALUES:
        return value if value in CHOICE_VALUES[name] else None
    row_id = pagination.whole_number(value)
    return str(row_id) if row_id is not None and row_id in choice_ids(name) else None


# --- The type-ahead filters (core.widgets.TypeAhead) -------------------------------------------

TYPE_AHEAD_FILTERS = ("actor", "document", "owner")
TEXT_SUFFIX = TypeAhead.TEXT_SUFFIX
SUGGESTED = 20  # the labels suggested for a text, at most
TYPED_LENGTH = 500  # a typed text is cut to this, longer than any label
# What to do when a typed text names no row, or several (%(text)s is what was typed).
NOT_FOUND = {
    "actor": _("No actor matches “%(text)s”: type part of its name or its two-letter code."),
    "document": _("No document matches “%(text)s”: type part of its title or its short name."),
    "owner": _("No owner matches “%(text)s”: type part of their name."),
}
# Owners a liaison reads as one word for their role: a name cannot tell them apart.
SAME_LABEL = _(
    "Several owners are shown to you as “%(text)s”, so none of them can be chosen by name; "
    "use the other filters."
)


def _several(name: str, count: int) -> str:
    if name == "actor":
        return ngettext(
            "%(count)d actor matches “%(text)s”, among them %(examples)s: type more of the one "
            "you mean, or choose it from the suggestions.",
            "%(count)d actors match “%(text)s”, among them %(examples)s: type more of the one "
            "you mean, or choose it from the suggestions.",
            count,
        )
    if name == "document":
        return ngettext(
            "%(count)d document matches “%(text)s”, among them %(examples)s: type more of the "
            "one you mean, or its short name.",
            "%(count)d documents match “%(text)s”, among them %(examples)s: type more of the "
            "one you mean, or its short name.",
            count,
        )
    return ngettext(
        "%(count)d owner matches “%(text)s”, among them %(examples)s: type more of the one "
        "you mean, or choose them from the suggestions.",
        "%(count)d owners match “%(text)s”, among them %(examples)s: type more of the one "
        "you mean, or choose them from the suggestions.",
        count,
    )


def typed_text(value) -> str:
    """A typed text as it is read and shown back: spaces run together, cut to TYPED_LENGTH."""
    return " ".join(str(value).split())[:TYPED_LENGTH]


def _quoted(label: str) -> str:
    return pgettext("a name quoted in a message", "“%(name)s”") % {"name": label}


def _rank(choice: FilterChoice, folded: str) -> int | None:
    """0 if the text names the choice exactly, 1 if one of its names starts with it, 2 if one
    holds it; None if none does."""
    if folded in choice.names:
        return 0
    if any(name.startswith(folded) for name in choice.names):
        return 1
    if any(folded in name for name in choice.names):
        return 2
    return None


def choices_suggested(choices: list[FilterChoice], text: str) -> list[FilterChoice]:
    """At most SUGGESTED of the choices the text names: exact names first, then names that
    start with it, then names that hold it, each in the choices' order; with no text, the
    first ones."""
    folded = name_folded(typed_text(text))
    ranked = ((_rank(choice, folded), n, choice) for n, choice in enumerate(choices))
    found = sorted((rank, n, choice) for rank, n, choice in ranked if rank is not None)
    labels = {}  # each label once: owners a liaison reads as "the secretariat" are one choice
    for *_order, choice in found:
        labels.setdefault(choice.label, choice)
    return list(labels.values())[:SUGGESTED]


def choice_typed(name: str, choices: list[FilterChoice], text: str) -> FilterChoice | str:
    """The one choice the text names (an exact name, else the only name that holds it), or
    what to say when it names none or several."""
    folded = name_folded(text)
    exact = [choice for choice in choices if folded in choice.names]
    found = exact or [choice for choice in choices if _rank(choice, folded) is not None]
    if len(found) == 1:
        return found[0]
    if not found:
        return str(NOT_FOUND[name]) % {"text": text}
    if exact and len({choice.label for choice in exact}) == 1:
        return str(SAME_LABEL) % {"text": exact[0].label}
    examples = ", ".join(_quoted(label) for label in dict.fromkeys(c.label for c in found[:3]))
    return _several(name, len(found)) % {"count": len(found), "text": text, "examples": examples}


def typed_filters(
    params: QueryDict,
    *,
    choice_list: Callable[[str], list[FilterChoice]],
    paragraph_document: Callable[[str], int | None],
) -> tuple[QueryDict, dict[str, tuple[str, str]]]:
    """The table's query string once what was typed in its type-ahead boxes
    (`document_text=...`) is read: each box's key gone, its filter's id the row the text names
    (choice_list(name): the rows the filter offers), or no filter for an empty box. A text
    equal to a name of the row already chosen keeps it, so two rows of one label (owners a
    liaison reads as "the secretariat") can be kept apart. A filter whose text names no single row
    is INVALID, and returned with the text and what to say: {name: (text, message)}. A new
    document keeps the paragraph asked for only if it is one of its own (paragraph_document:
    a paragraph's document id, None for no paragraph of a commitment)."""
    query, problems = params.copy(), {}
    for name in TYPE_AHEAD_FILTERS:
        if (key := name + TEXT_SUFFIX) not in params:
            continue
        text = typed_text(params[key])
        del query[key]
        choices = choice_list(name) if text else []
        chosen = _chosen(choices, params.get(name, ""))
        if chosen is not None and name_folded(text) in chosen.names:
            continue
        found = choice_typed(name, choices, text) if text else None
        if isinstance(found, str):
            problems[name] = (text, found)
        new = "" if found is None else INVALID if isinstance(found, str) else str(found.id)
        if new != params.get(name, ""):
            query.pop("page", None)  # the first page of what the new filter finds
            _change(query, name, new)
            if name == "document" and paragraph_document(query.get("paragraph", "")) != row_id(new):
                query.pop("paragraph", None)
    return query, problems


def _chosen(choices: list[FilterChoice], value: str) -> FilterChoice | None:
    chosen_id = row_id(value)
    return next((choice for choice in choices if choice.id == chosen_id), None)


def _change(query: QueryDict, name: str, value: str) -> None:
    if value:
        query[name] = value
    else:
        query.pop(name, None)
