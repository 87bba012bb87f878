"""The tables of the open-data bundle (tracker.open_data, docs/open-data.md): each field's name,
type, meaning and constraints, and how its value is read from the public record.

These definitions are the one source of the CSV headers, the JSON keys, the Table Schemas in
datapackage.json and the field list of the bundle's README: a field is described once, here.

What goes in is the public record as an anonymous visitor of the public site reads it: the
selectors are asked as an anonymous reader (public updates, public events only), a milestone's
proof only where that update is public, a withdrawal's reason only where reason_public says so.
No user appears: no author, owner, reviewer or email address.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from commitments.models import (
    Actor,
    Commitment,
    Document,
    EvidenceLink,
    Milestone,
    Paragraph,
    Source,
    StatusUpdate,
    Theme,
)
from commitments.selectors import status_update_visible_list
from commitments.statuses import DEFINITIONS
from tracker.events import events_visible_to
from tracker.models import Event

# The reader whose view of the record the bundle is: nobody logged in.
PUBLIC_READER = AnonymousUser()
# How a cell lists several names, e.g. the lead actors "Turkmenistan; UN OCHA".
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Field:
    """One column: its Table Schema type (string, integer, boolean, date, time, datetime) and
    `read`, which gives the value from a row (None for an empty cell)."""

    name: str
    type: str
    description: str
    read: Callable
    required: bool = False
    unique: bool = False
    # A coded field's allowed values, each with its meaning: the schema's enum, the README's
    # and the page's list of what each value means.
    values: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    format: str = "default"

    @property
    def enum(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.values)

    def constraints(self) -> dict:
        found = {"required": self.required}
        if self.unique:
            found["unique"] = True
        if self.enum:
            found["enum"] = list(self.enum)
        if self.minimum is not None:
            found["minimum"] = self.minimum
        if self.maximum is not None:
            found["maximum"] = self.maximum
        return found

    def schema(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "constraints": self.constraints(),
        }


@dataclass(frozen=True)
class Table:
    """One resource of the bundle: `name`.csv and `name`.json, rows from `rows()`."""

    name: str
    title: str
    description: str
    fields: tuple[Field, ...]
    rows: Callable[[], Iterable]
    primary_key: tuple[str, ...] = ("id",)
    # (field, other table, its field)
    foreign_keys: tuple[tuple[str, str, str], ...] = ()

    def schema(self) -> dict:
        return {
            "fields": [f.schema() for f in self.fields],
            "primaryKey": list(self.primary_key),
            "foreignKeys": [
                {"fields": own, "reference": {"resource": table, "fields": other}}
                for own, table, other in self.foreign_keys
            ],
            "missingValues": [""],
        }

    def records(self) -> Iterator[dict]:
        """Each row as {field name: value}, in the fields' order."""
        for row in self.rows():
            yield {f.name: f.read(row) for f in self.fields}


def attr(name: str) -> Callable:
    """Read `name` from the row, an empty value as None (an empty cell)."""

    def read(row):
        value = getattr(row, name)
        return None if value == "" else value

    return read


def page(row) -> str:
    return settings.TRACKER_SITE_URL.rstrip("/") + row.get_absolute_url()


def joined(values: Iterable[str]) -> str | None:
    return LIST_SEPARATOR.join(values) or None


def ident(description: str) -> Field:
    return Field("id", "integer", description, attr("pk"), required=True, unique=True, minimum=1)


def slug_field(description: str) -> Field:
    return Field("slug", "string", description, attr("slug"), required=True, unique=True)


def paragraph_ref(paragraph: Paragraph) -> str:
    return f"{paragraph.document.short_name}:{paragraph.number}"


def choices(model_choices) -> tuple[tuple[str, str], ...]:
    """A model's choices with their labels (translated when shown), the empty one left out."""
    return tuple((value, label) for value, label in model_choices.choices if value)


def status_choices() -> tuple[tuple[str, str], ...]:
    """Each status with the definition readers see beside it (commitments.statuses)."""
    return tuple(
        (status.value, format_lazy("{}: {}", status.label, gettext_lazy(raw)))
        for status, raw in dict.items(DEFINITIONS)
    )


# --- Documents and paragraphs ---------------------------------------------------------------


def _documents():
    return Document.objects.defer("full_text").order_by("pk")


DOCUMENTS = Table(
    "documents",
    "Documents",
    "The outcome documents whose paragraphs the tracker follows.",
    (
        ident("The document's number in this bundle and in the tracker."),
        Field(
            "short_name",
            "string",
            "The document's short name, as in its address on the tracker.",
            attr("short_name"),
            required=True,
            unique=True,
        ),
        Field("symbol", "string", "Its UN document symbol, if it has one.", attr("symbol")),
        Field("title", "string", "Its title.", attr("title"), required=True),
        Field(
            "alternative_title",
            "string",
            "Another title it is known by (a translation names the conference differently).",
            attr("alternative_title"),
        ),
        Field("place", "string", "Where it was adopted.", attr("place")),
        Field("adopted_on", "date", "The day it was adopted.", attr("adopted_on")),
        Field(
            "published_on",
            "date",
            "The day its text was issued, where that is not the day of adoption.",
            attr("published_on"),
        ),
        Field(
            "source_url",
            "string",
            "Where its official text is published.",
            attr("source_url"),
            format="uri",
        ),
        Field(
            "language",
            "string",
            "The language of the text kept (a code, e.g. en, ru).",
            attr("language"),
            required=True,
        ),
        Field("preamble", "string", "The text before its numbered paragraphs.", attr("preamble")),
        Field("page", "string", "Its page on the tracker.", page, required=True, format="uri"),
    ),
    _documents,
)


def _paragraphs():
    return (
        Paragraph.objects.select_related("document")
        .defer("document__full_text", "document__preamble")
        .order_by("document_id", "number")
    )


PARAGRAPHS = Table(
    "paragraphs",
    "Paragraphs",
    "The numbered operative paragraphs of each document, word for word.",
    (
        ident("The paragraph's number in this bundle (not its number in the document)."),
        Field(
            "document_id",
            "integer",
            "The document it belongs to (documents.id).",
            attr("document_id"),
            required=True,
        ),
        Field(
            "document_short_name",
            "string",
            "That document's short name.",
            lambda p: p.document.short_name,
            required=True,
        ),
        Field(
            "number",
            "integer",
            "Its number in the document: 1 for the first paragraph.",
            attr("number"),
            required=True,
            minimum=0,
        ),
        Field(
            "reference",
            "string",
            "The paragraph as other tables cite it: the document's short name, a colon and "
            "the paragraph's number, e.g. ashgabat-2020:3.",
            paragraph_ref,
            required=True,
            unique=True,
        ),
        Field(
            "operative_verb",
            "string",
            'The verb it opens with, e.g. "Encouraged".',
            attr("operative_verb"),
        ),
        Field("text", "string", "Its text, word for word.", attr("text"), required=True),
    ),
    _paragraphs,
    foreign_keys=(("document_id", "documents", "id"),),
)

# --- Actors and themes ----------------------------------------------------------------------

ACTORS = Table(
    "actors",
    "Actors",
    "Who acts on commitments: member states, UN bodies, groups of states, other organisations. "
    "actors.json has them in the Popolo format, as organizations with their identifiers.",
    (
        ident("The actor's number in this bundle and in the tracker."),
        slug_field("The actor's short name, as in its address on the tracker."),
        Field("name", "string", "Its name.", attr("name"), required=True, unique=True),
        Field(
            "kind",
            "string",
            "What it is: member_state, un_body, group or organisation.",
            attr("kind"),
            required=True,
            values=choices(Actor.Kind),
        ),
        Field(
            "iso_code",
            "string",
            "For a member state, its ISO 3166-1 alpha-2 country code (e.g. TM).",
            attr("iso_code"),
        ),
        Field("page", "string", "Its page on the tracker.", page, required=True, format="uri"),
    ),
    lambda: Actor.objects.order_by("pk"),
)

THEMES = Table(
    "themes",
    "Themes",
    "The themes commitments are grouped by.",
    (
        ident("The theme's number in this bundle and in the tracker."),
        slug_field("The theme's short name."),
        Field("name", "string", "Its name.", attr("name"), required=True, unique=True),
    ),
    lambda: Theme.objects.order_by("pk"),
)

# --- Commitments and what links them --------------------------------------------------------


def _commitments():
    paragraphs = (
        Paragraph.objects.select_related("document")
        .only("number", "document__short_name")
        .order_by("document_id", "number")
    )
    return Commitment.objects.prefetch_related(
        Prefetch("paragraphs", queryset=paragraphs),
        Prefetch("lead_actors", queryset=Actor.objects.order_by("name")),
        Prefetch("supporting_actors", queryset=Actor.objects.order_by("name")),
        Prefetch("themes", queryset=Theme.objects.order_by("name")),
    ).order_by("pk")


def names(relation: str) -> Callable:
    return lambda c: joined(item.name for item in getattr(c, relation).all())


COMMITMENTS = Table(
    "commitments",
    "Commitments",
    "What the paragraphs ask for, as something one can track, with the state its latest "
    "public official update gives it. The paragraph, actor and theme columns list names for "
    "a spreadsheet reader; commitment_paragraphs, commitment_actors and commitment_themes "
    "link the same by id.",
    (
        ident("The commitment's number in this bundle and in the tracker."),
        slug_field("Its short name, as in its address on the tracker."),
        Field("title", "string", "What is to be done, in a line.", attr("title"), required=True),
        Field(
            "summary", "string", "What the paragraphs ask for, in a few sentences.", attr("summary")
        ),
        Field(
            "kind",
            "string",
            "deliverable (done once), recurring (e.g. every year) or ongoing (a policy).",
            attr("kind"),
            required=True,
            values=choices(Commitment.Kind),
        ),
        Field(
            "status",
            "string",
            "Its status as its latest public official update gives it (not_started when it "
            "has none).",
            attr("public_status"),
            required=True,
            values=status_choices(),
        ),
        Field(
            "progress",
            "integer",
            "Its progress as that update gives it, in per cent.",
            attr("public_progress"),
            required=True,
            minimum=0,
            maximum=100,
        ),
        Field(
            "last_activity_on",
            "date",
            "The day its latest public official update says something happened.",
            attr("public_last_activity_on"),
        ),
        Field("target_date", "date", "The day it is due, if it has one.", attr("target_date")),
        Field(
            "reporting_cadence_months",
            "integer",
            "News of it is expected every this many months (empty: 6 for a deliverable, 12 "
            "otherwise).",
            attr("reporting_cadence_months"),
            minimum=1,
            maximum=120,
        ),
        Field(
            "paragraphs",
            "string",
            "The paragraphs it comes from (paragraphs.reference), separated by '; '.",
            lambda c: joined(paragraph_ref(p) for p in c.paragraphs.all()),
        ),
        Field(
            "lead_actors",
            "string",
            "Who leads it (actors.name), separated by '; '.",
            names("lead_actors"),
        ),
        Field(
            "supporting_actors",
            "string",
            "Who supports it (actors.name), separated by '; '.",
            names("supporting_actors"),
        ),
        Field("themes", "string", "Its themes (themes.name), separated by '; '.", names("themes")),
        Field(
            "retired_on",
            "date",
            "The day the secretariat stopped tracking it (its history stays), if it did.",
            attr("retired_on"),
        ),
        Field("retired_reason", "string", "Why it was retired.", attr("retired_reason")),
        Field("page", "string", "Its page on the tracker.", page, required=True, format="uri"),
    ),
    _commitments,
)


def _pairs(relation: str, other: str) -> Callable:
    def rows():
        through = getattr(Commitment, relation).through
        return through.objects.order_by("commitment_id", f"{other}_id").values_list(
            "commitment_id", f"{other}_id"
        )

    return rows


def pair_field(name: str, description: str, position: int) -> Field:
    return Field(name, "integer", description, lambda row: row[position], required=True)


COMMITMENT_PARAGRAPHS = Table(
    "commitment_paragraphs",
    "Commitments and their paragraphs",
    "Which paragraphs each commitment comes from, one pair a row.",
    (
        pair_field("commitment_id", "The commitment (commitments.id).", 0),
        pair_field("paragraph_id", "A paragraph it comes from (paragraphs.id).", 1),
    ),
    _pairs("paragraphs", "paragraph"),
    primary_key=("commitment_id", "paragraph_id"),
    foreign_keys=(
        ("commitment_id", "commitments", "id"),
        ("paragraph_id", "paragraphs", "id"),
    ),
)


def _commitment_actors():
    for relation, role in (("lead_actors", "lead"), ("supporting_actors", "supporting")):
        for commitment_id, actor_id in _pairs(relation, "actor")():
            yield commitment_id, actor_id, role


COMMITMENT_ACTORS = Table(
    "commitment_actors",
    "Commitments and their actors",
    "Who leads or supports each commitment, one actor a row.",
    (
        pair_field("commitment_id", "The commitment (commitments.id).", 0),
        pair_field("actor_id", "An actor on it (actors.id).", 1),
        Field(
            "role",
            "string",
            "lead (leads it) or supporting (supports it).",
            lambda row: row[2],
            required=True,
            values=(
                ("lead", gettext_lazy("leads it")),
                ("supporting", gettext_lazy("supports it")),
            ),
        ),
    ),
    _commitment_actors,
    primary_key=("commitment_id", "actor_id", "role"),
    foreign_keys=(("commitment_id", "commitments", "id"), ("actor_id", "actors", "id")),
)

COMMITMENT_THEMES = Table(
    "commitment_themes",
    "Commitments and their themes",
    "Each commitment's themes, one pair a row.",
    (
        pair_field("commitment_id", "The commitment (commitments.id).", 0),
        pair_field("theme_id", "One of its themes (themes.id).", 1),
    ),
    _pairs("themes", "theme"),
    primary_key=("commitment_id", "theme_id"),
    foreign_keys=(("commitment_id", "commitments", "id"), ("theme_id", "themes", "id")),
)

# --- Status updates, their evidence, milestones ---------------------------------------------


def _public_updates():
    return status_update_visible_list(user=PUBLIC_READER).order_by("pk")


def _updates():
    return _public_updates().select_related("commitment", "reported_by", "amends")


def _withdrawal(update) -> bool:
    return update.amendment == StatusUpdate.Amendment.WITHDRAWAL


def update_rows():
    """The public updates, each knowing which public row amends it and whether it is in effect."""
    updates = list(_updates())
    amended = {u.amends_id: u.pk for u in updates if u.amends_id is not None}
    in_effect = set(_public_updates().in_effect().values_list("pk", flat=True))
    for update in updates:
        update.open_data_amended_by = amended.get(update.pk)
        update.open_data_in_effect = update.pk in in_effect
    return updates


STATUS_UPDATES = Table(
    "status_updates",
    "Status updates",
    "Every public entry of each commitment's history: official updates from the secretariat, "
    "published reports of other organisations (source contributor, never the commitment's "
    "state), and the corrections and withdrawals that amend them. Internal updates are not "
    "in the bundle.",
    (
        ident("The update's number in this bundle and in the tracker."),
        Field(
            "commitment_id",
            "integer",
            "The commitment it is about (commitments.id).",
            attr("commitment_id"),
            required=True,
        ),
        Field(
            "commitment_slug",
            "string",
            "That commitment's short name.",
            lambda u: u.commitment.slug,
            required=True,
        ),
        Field(
            "source",
            "string",
            "official (the secretariat's record, which makes the commitment's state) or "
            "contributor (a published report of another organisation, shown apart).",
            attr("source"),
            required=True,
            values=choices(Source),
        ),
        Field(
            "reported_by_actor_id",
            "integer",
            "The state or organisation whose published report it is (actors.id), if any.",
            attr("reported_by_id"),
        ),
        Field(
            "reported_by",
            "string",
            "That actor's name.",
            lambda u: u.reported_by.name if u.reported_by else None,
        ),
        Field(
            "happened_on",
            "date",
            "The day what it reports happened.",
            attr("happened_on"),
            required=True,
        ),
        Field(
            "recorded_at",
            "datetime",
            "When it was entered in the tracker (UTC).",
            attr("recorded_at"),
            required=True,
        ),
        Field(
            "amendment",
            "string",
            "Empty for an update; correction (replaces the update in amends_id) or withdrawal "
            "(takes the update in amends_id back).",
            attr("amendment"),
            values=choices(StatusUpdate.Amendment),
        ),
        Field(
            "amends_id",
            "integer",
            "The update this correction or withdrawal amends (status_updates.id).",
            attr("amends_id"),
        ),
        Field(
            "amended_by_id",
            "integer",
            "The correction or withdrawal that amends this update (status_updates.id), if any.",
            attr("open_data_amended_by"),
        ),
        Field(
            "in_effect",
            "boolean",
            "Whether it still holds: neither corrected nor withdrawn, not a withdrawal, and "
            "official.",
            attr("open_data_in_effect"),
            required=True,
        ),
        Field(
            "status",
            "string",
            "The status it gives the commitment (empty for a withdrawal).",
            lambda u: None if _withdrawal(u) else u.status,
            values=status_choices(),
        ),
        Field(
            "progress",
            "integer",
            "The progress it gives, in per cent (empty for a withdrawal).",
            lambda u: None if _withdrawal(u) else u.progress,
            minimum=0,
            maximum=100,
        ),
        Field(
            "progress_reason",
            "string",
            "Why the figure is what it is, where it was typed.",
            attr("progress_reason"),
        ),
        Field(
            "narrative",
            "string",
            "What happened, in the secretariat's or reporter's words.",
            attr("narrative"),
        ),
        Field(
            "reason",
            "string",
            "Why a correction or withdrawal was made, where the secretariat made it public.",
            lambda u: (u.reason or None) if u.reason_public else None,
        ),
    ),
    update_rows,
    foreign_keys=(
        ("commitment_id", "commitments", "id"),
        ("reported_by_actor_id", "actors", "id"),
        ("amends_id", "status_updates", "id"),
        ("amended_by_id", "status_updates", "id"),
    ),
)


def _evidence_links():
    public = _public_updates().values("pk")
    return EvidenceLink.objects.filter(update__in=public).order_by("pk")


EVIDENCE_LINKS = Table(
    "evidence_links",
    "Evidence links",
    "The published sources each public status update cites.",
    (
        ident("The link's number in this bundle."),
        Field(
            "status_update_id",
            "integer",
            "The update citing it (status_updates.id).",
            attr("update_id"),
            required=True,
        ),
        Field("title", "string", "What the source is.", attr("title"), required=True),
        Field("url", "string", "Where it is.", attr("url"), required=True, format="uri"),
    ),
    _evidence_links,
    foreign_keys=(("status_update_id", "status_updates", "id"),),
)


def _public_proof(milestone) -> int | None:
    proof = milestone.proved_by
    return None if proof is None or proof.is_internal else proof.pk


MILESTONES = Table(
    "milestones",
    "Milestones",
    "The dated steps of commitments; a commitment with milestones has its progress computed "
    "from them (the weight of those done over the weight of all).",
    (
        ident("The milestone's number in this bundle and in the tracker."),
        Field(
            "commitment_id",
            "integer",
            "Its commitment (commitments.id).",
            attr("commitment_id"),
            required=True,
        ),
        Field(
            "position",
            "integer",
            "Its place among the commitment's milestones: 1 first.",
            attr("position"),
            required=True,
            minimum=0,
        ),
        Field("title", "string", "What the step is.", attr("title"), required=True),
        Field("due_on", "date", "The day it is due, if it has one.", attr("due_on")),
        Field(
            "weight",
            "integer",
            "How much it counts towards the commitment's progress.",
            attr("weight"),
            required=True,
            minimum=1,
            maximum=1000,
        ),
        Field("done_on", "date", "The day it was done, if it is.", attr("done_on")),
        Field(
            "evidence_url",
            "string",
            "A source showing it done.",
            attr("evidence_url"),
            format="uri",
        ),
        Field(
            "proved_by_update_id",
            "integer",
            "The public status update reporting it done (status_updates.id), if there is one.",
            _public_proof,
        ),
    ),
    lambda: Milestone.objects.select_related("proved_by").order_by("pk"),
    foreign_keys=(
        ("commitment_id", "commitments", "id"),
        ("proved_by_update_id", "status_updates", "id"),
    ),
)

# --- Events ---------------------------------------------------------------------------------


def _events():
    return (
        events_visible_to(user=PUBLIC_READER)
        .prefetch_related(Prefetch("commitments", queryset=Commitment.objects.order_by("pk")))
        .order_by("pk")
    )


EVENTS = Table(
    "events",
    "Events",
    "The public dates that matter: international days, forums, UN sessions, commitments' "
    "deadlines, anniversaries; once or recurring.",
    (
        ident("The event's number in this bundle and in the tracker."),
        slug_field("Its short name, as in its address on the tracker."),
        Field("title", "string", "Its name.", attr("title"), required=True),
        Field("description", "string", "What it is.", attr("description")),
        Field(
            "kind",
            "string",
            "What sort of date it is.",
            attr("kind"),
            required=True,
            values=choices(Event.Kind),
        ),
        Field(
            "rule",
            "string",
            "once (on start_date), yearly (every year on its day and month) or "
            "every_n_years (every interval_years years from start_date).",
            attr("rule"),
            required=True,
            values=choices(Event.Rule),
        ),
        Field(
            "start_date",
            "date",
            "The day, or the first occurrence of a recurring event.",
            attr("start_date"),
            required=True,
        ),
        Field("end_date", "date", "The last day of an event of several days.", attr("end_date")),
        Field("start_time", "time", "Its local start time; empty: all day.", attr("start_time")),
        Field(
            "time_zone",
            "string",
            "The time zone of its dates and time (IANA, e.g. Asia/Ashgabat).",
            attr("time_zone"),
            required=True,
        ),
        Field(
            "interval_years", "integer", "For every_n_years: N.", attr("interval_years"), minimum=1
        ),
        Field("until", "date", "No occurrences after this day.", attr("until")),
        Field(
            "anniversary_of_year",
            "integer",
            "The year its anniversaries are counted from (1995: neutrality adopted).",
            attr("anniversary_of_year"),
        ),
        Field(
            "deadline_of_commitment_id",
            "integer",
            "The commitment whose target date it is (commitments.id), for a deadline.",
            attr("deadline_of_id"),
        ),
        Field(
            "commitments",
            "string",
            "The commitments it concerns (commitments.slug), separated by '; '.",
            lambda e: joined(c.slug for c in e.commitments.all()),
        ),
        Field("page", "string", "Its page on the tracker.", page, required=True, format="uri"),
    ),
    _events,
    foreign_keys=(("deadline_of_commitment_id", "commitments", "id"),),
)

# In the order of the README and datapackage.json: a table after those its keys refer to.
TABLES = (
    DOCUMENTS,
    PARAGRAPHS,
    ACTORS,
    THEMES,
    COMMITMENTS,
    COMMITMENT_PARAGRAPHS,
    COMMITMENT_ACTORS,
    COMMITMENT_THEMES,
    STATUS_UPDATES,
    EVIDENCE_LINKS,
    MILESTONES,
    EVENTS,
)
