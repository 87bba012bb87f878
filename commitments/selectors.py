"""Reads from the record, shaped for the pages: each returns what a template can loop over
without further queries, and never anything the user may not see.

Liaisons never see internal status updates. Commitment.status/progress/last_activity_on copy the
latest update of any visibility, so a liaison is shown public_status/public_progress/
public_last_activity_on instead, the copy of the latest *public* update (`commitment_list`
annotates either as shown_*); otherwise an internal note would leak through the status column,
the CSV or the filters.
"""

import datetime
import hashlib
from collections import Counter
from functools import partial
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchVector, SearchVectorExact
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.ids import row_id
from core.local_time import reader_today
from core.roles import Role, person_shown, reader_audience, user_can_see_internal

from . import deadlines
from .models import (
    DOCUMENT_TEXTS,
    Actor,
    BulkImport,
    BulkImportRow,
    Commitment,
    CommitmentRelation,
    Document,
    DocumentLink,
    EvidenceFile,
    EvidenceLink,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
    due_order_expression,
    news_on_expression,
    status_order_expression,
    target_date_order_expression,
)

TIMELINE_ORDER = ("-happened_on", "-recorded_at", "-pk")


def status_update_visible_list(*, user) -> QuerySet[StatusUpdate]:
    """Every status update the user may read: all for the secretariat, public ones otherwise."""
    updates = StatusUpdate.objects.all()
    if not user_can_see_internal(user):
        updates = updates.filter(visibility=StatusUpdate.Visibility.PUBLIC)
    return updates


def status_update_timeline_count(*, user) -> int:
    """How many entries status_update_visible_list(user).shown_in_timeline() holds. PostgreSQL
    keeps the figure with each write (migration 0021_timeline_count), where counting read every
    update: a parallel scan of 5,000,000 rows (0.26 s) for each first read after a write.
    Elsewhere (SQLite), or if its row is missing, the updates are counted."""
    audience = "secretariat" if user_can_see_internal(user) else "public"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT entries FROM commitments_timeline_count WHERE audience = %s", [audience]
            )
            row = cursor.fetchone()
        if row is not None:
            return row[0]
    return status_update_visible_list(user=user).shown_in_timeline().count()


def status_update_in_effect_list(*, user) -> QuerySet[StatusUpdate]:
    """The updates the user may read that still hold: no correction's original, no withdrawn
    update, no withdrawal (StatusUpdate.objects.in_effect)."""
    return status_update_visible_list(user=user).in_effect()


def _visible_state(*, user) -> dict:
    """Annotations for the state a user sees: shown_status, shown_progress, shown_last_activity
    (the commitment's copy of its latest update, or of its latest public one for liaisons)."""
    prefix = "" if user_can_see_internal(user) else "public_"
    return {
        "shown_status": F(prefix + "status"),
        "shown_progress": F(prefix + "progress"),
        "shown_last_activity": F(prefix + "last_activity_on"),
    }


def state_columns(*, user) -> tuple[str, str]:
    """The columns of the state the user sees (_visible_state): status and last activity."""
    prefix = "" if user_can_see_internal(user) else "public_"
    return prefix + "status", prefix + "last_activity_on"


def commitment_list(*, user) -> QuerySet[Commitment]:
    """Commitments with what the table shows, prefetched; state as the user may see it."""
    paragraphs = (
        Paragraph.objects.select_related("document").defer(*DOCUMENT_TEXTS).order_by("number")
    )
    return (
        Commitment.objects.select_related("owner")
        .prefetch_related(
            Prefetch("paragraphs", queryset=paragraphs),
            Prefetch("lead_actors", queryset=Actor.objects.order_by("name")),
        )
        .annotate(**_visible_state(user=user))
    )


def commitment_adopted_on(commitment: Commitment) -> datetime.date | None:
    """When the commitment's document was adopted (the earliest of its paragraphs' documents),
    read from the paragraphs commitment_list prefetches: no query of its own."""
    days = [row.document.adopted_on for row in commitment.paragraphs.all()]
    return min(filter(None, days), default=None)


def commitment_export_links(rows: QuerySet[Commitment]) -> QuerySet[Commitment]:
    """The links only the export's columns show (CommitmentTable's export-only columns),
    prefetched: two queries per chunk, none per row."""
    return rows.prefetch_related(
        Prefetch("supporting_actors", queryset=Actor.objects.order_by("name")),
        Prefetch("themes", queryset=Theme.objects.order_by("name")),
    )


def commitment_dated_list(*, user, today: datetime.date | None = None) -> QuerySet[Commitment]:
    """commitment_list with each commitment's deadline and freshness on `today` (the reader's
    today unless given): overdue_since, next_due, due_date, deadline, last_news, freshness
    (commitments.deadlines), computed by the database so the table filters and sorts by them."""
    today = today or reader_today(user)
    return deadlines.annotate(commitment_list(user=user), today=today)


# The orders commitments_ordered gives, each read from an index (models._table_orders).
INDEXED_ORDERS = ("status", "progress", "due", "freshness", "target_date")


def commitments_ordered(rows: QuerySet[Commitment], order: str, *, descending: bool):
    """The commitments table's and the API's order by status (its rank in the vocabulary),
    progress, due date, freshness (the day of the last news) or target date, in the state each
    row shows (commitment_list's shown_ annotations), ties by title then id. Descending: the
    due and target dates latest first with the commitments without one still last, ties by
    title, on SQLite as on PostgreSQL; the others the ascending order turned. Each is the key
    of one of Commitment.Meta's indexes, which gives a page its rows in order instead of every
    commitment sorted."""
    dated = {
        # The due date the table shows (deadlines.annotate's due_date), without today's date
        # in it: an index can hold it.
        "due": partial(due_order_expression, "shown_status"),
        "target_date": target_date_order_expression,
    }
    if order in dated:
        date = dated[order](descending=descending)
        return rows.order_by(date.desc() if descending else date, "title", "pk")
    keys = {
        "status": status_order_expression("shown_status"),
        "progress": F("shown_progress"),
        "freshness": news_on_expression("shown_last_activity"),
    }
    terms = (keys[order], F("title"), F("pk"))
    return rows.order_by(*(term.desc() if descending else term.asc() for term in terms))


def commitment_state_count(*, user, state: str, today: datetime.date) -> int:
    """How many commitments are in one deadline or freshness state (deadlines.OVERDUE ...
    VERY_LATE) on `today`, in the state the user sees: the table's count of its due or
    freshness filter alone, read as the dashboard's counts are (deadlines.state_counts)."""
    status_field, last_field = state_columns(user=user)
    counts = deadlines.state_counts(today=today, status_field=status_field, last_field=last_field)
    return counts[state]


def record_cache_parts(*, user, page: str, details: tuple = ()) -> tuple:
    """What a cached piece of a record page depends on (core.caching, family RECORD: a
    write forgets it): the page, whether the user sees the secretariat's state or the public
    one liaisons see, the language, and the piece's own details."""
    return (page, reader_audience(user), get_language(), *details)


def hashed(text: str) -> str:
    """A fixed-length stand-in for text from a URL, in a cache key."""
    return hashlib.sha256(text.encode()).hexdigest()


def commitment_get(*, user, slug: str) -> Commitment:
    """One commitment with everything its page shows; raises Commitment.DoesNotExist."""
    return (
        commitment_dated_list(user=user)
        .prefetch_related("supporting_actors", "themes")
        .get(slug=slug)
    )


def commitment_timeline(*, user, commitment: Commitment) -> QuerySet[StatusUpdate]:
    """The commitment's history the user may read, newest first, with its evidence; each
    update with its correction or withdrawal, if any, and a correction with what it corrects
    (a withdrawal is shown on the update it withdraws, not as an entry of its own)."""
    return _timeline_of(status_update_visible_list(user=user).official(), commitment)


def commitment_other_sources(*, user, commitment: Commitment) -> QuerySet[StatusUpdate]:
    """What outside organisations (contributors) reported on the commitment, as published by
    the secretariat: shown apart from the official history, never its state."""
    return _timeline_of(status_update_visible_list(user=user).other_sources(), commitment)


def _timeline_of(updates: QuerySet[StatusUpdate], commitment: Commitment):
    return (
        updates.shown_in_timeline()
        .filter(commitment=commitment)
        .select_related("author", "amends", "amended_by__author", "reported_by", "reviewed_by")
        .prefetch_related("links", "files")
        .order_by(*TIMELINE_ORDER)
    )


def commitment_milestones(*, user, commitment: Commitment) -> list[Milestone]:
    """The commitment's milestones in their order, in one query, each with `shown_proof`: the
    update proving it done if the user may read it (a liaison is not shown an internal one)."""
    milestones = list(
        Milestone.objects.filter(commitment=commitment)
        .select_related("proved_by")
        .order_by("position", "pk")
    )
    internal_hidden = not user_can_see_internal(user)
    for milestone in milestones:
        proof = milestone.proved_by
        hidden = proof is not None and internal_hidden and proof.is_internal
        milestone.shown_proof = None if hidden else proof
    return milestones


def milestone_get(*, pk: int) -> Milestone:
    """A milestone with its commitment; raises Milestone.DoesNotExist."""
    return Milestone.objects.select_related("commitment").get(pk=pk)


def commitment_proof_choices(*, commitment: Commitment) -> QuerySet[StatusUpdate]:
    """The updates that may prove one of the commitment's milestones done, newest first: the
    public ones in effect, since liaisons read milestones (commitments.milestones)."""
    return (
        StatusUpdate.objects.in_effect()
        .filter(commitment=commitment, visibility=StatusUpdate.Visibility.PUBLIC)
        .order_by(*TIMELINE_ORDER)
    )


def commitment_progress_points(*, user, commitment: Commitment) -> QuerySet:
    """The history the user may read as bare rows for the progress chart, oldest first:
    the updates that still hold (a corrected one is drawn as corrected, a withdrawn one not)."""
    return (
        status_update_in_effect_list(user=user)
        .filter(commitment=commitment)
        .order_by("happened_on", "recorded_at", "pk")
        .values_list("pk", "happened_on", "recorded_at", "status", "progress", named=True)
    )


def commitments_of_actor(*, actor: Actor) -> Q:
    """Commitments the actor leads or supports (a filter; avoids duplicate rows from two joins).
    An IN over the two link tables' rows of the actor, read from their actor index: as two
    EXISTS joined by OR, PostgreSQL tested every commitment (20,000 rows for the 170 of a
    state's page, tests/commitments/test_actor_plans.py)."""
    return Q(pk__in=actor_commitment_ids(actor=actor))


def actor_commitment_ids(*, actor: Actor) -> QuerySet:
    """The ids of the commitments the actor leads or supports, from the link tables alone."""
    leads = Commitment.lead_actors.through.objects.filter(actor=actor)
    supports = Commitment.supporting_actors.through.objects.filter(actor=actor)
    return leads.values_list("commitment_id", flat=True).union(
        supports.values_list("commitment_id", flat=True)
    )


def commitments_matching_text(*, user, text: str) -> Q:
    """Commitments with the words in their title, summary or paragraph text, or in the
    narrative or an evidence title of a status update the user may read (a filter; Exists, so
    a commitment never appears twice). A liaison's search never looks into internal updates:
    a word there would otherwise reveal that the note exists. Nor does anyone's search find the
    words of a corrected or withdrawn update: they no longer hold."""
    in_paragraph = Paragraph.objects.filter(commitments=OuterRef("pk"), text__icontains=text)
    said = (
        _words_in(text, "narrative")
        | Q(Exists(EvidenceLink.objects.filter(_words_in(text, "title"), update=OuterRef("pk"))))
        | Q(Exists(EvidenceFile.objects.filter(_words_in(text, "title"), update=OuterRef("pk"))))
    )
    in_update = status_update_in_effect_list(user=user).filter(said, commitment=OuterRef("pk"))
    return (
        Q(title__icontains=text)
        | Q(summary__icontains=text)
        | Q(Exists(in_paragraph))
        | Q(Exists(in_update))
    )


# Narratives and evidence titles are searched as words with PostgreSQL's full-text search
# (English stemming, so "meetings" finds "meeting"); the GIN index of the migration
# status_update_narrative_search_index serves the narratives. Other databases (SQLite in
# development and tests) compare substrings.
SEARCH_CONFIG = "english"


def _words_in(text: str, field: str) -> Q:
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__icontains": text})
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    return Q(SearchVectorExact(SearchVector(field, config=SEARCH_CONFIG), query))


def _link_count(through) -> Coalesce:
    """How many rows of a commitment-actor link table name the actor (a subquery per actor)."""
    links = through.objects.filter(actor=OuterRef("pk")).order_by().values("actor")
    # COUNT(*), not COUNT(id): the actor index alone answers it (an index-only scan), where
    # reading each link's id fetched every row (43 ms for the API's 25 actors at 200,000
    # commitments, against 15).
    counted = links.annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def actor_list() -> QuerySet[Actor]:
    """All actors with how many commitments each leads and supports. Counted by a subquery per
    link table: two COUNT(DISTINCT) over both joins multiplied each actor's lead links by its
    supporting ones (6,400 rows for an actor with 80 of each; 280 ms for the API's list of 250
    actors on the benchmark's data)."""
    return Actor.objects.annotate(
        lead_count=_link_count(Commitment.lead_actors.through),
        supporting_count=_link_count(Commitment.supporting_actors.through),
    ).order_by("kind", "name")


# The actor page's order; the id last, so that a page never repeats or skips a commitment of
# the same paragraph and title.
ACTOR_COMMITMENT_ORDER = ("first_paragraph_number", "title", "pk")


def actor_commitment_list(*, user, actor: Actor) -> QuerySet[Commitment]:
    """Everything that involves the actor, with whether it leads (is_lead)."""
    return _with_actor_role(
        commitment_dated_list(user=user).filter(commitments_of_actor(actor=actor)), actor=actor
    )


def actor_commitment_count(*, actor: Actor) -> int:
    """How many commitments involve the actor, counted from the link tables alone."""
    return actor_commitment_ids(actor=actor).count()


def actor_commitment_page(*, user, actor: Actor, number: int, size: int) -> QuerySet[Commitment]:
    """Page `number` (from 1) of actor_commitment_list, `size` a page. The page's ids are
    sorted from the actor's commitments alone, and only those rows get the deadline and
    freshness annotations: sorting the annotated list instead ran their subqueries for every
    commitment of the state (24 ms for the 1,638 of a state at ten times the benchmark's data,
    docs/performance-work-scale.md)."""
    start = (number - 1) * size
    involved = Commitment.objects.filter(commitments_of_actor(actor=actor))
    # Sorted by a sum, not the column: the table's index on (first_paragraph_number, title)
    # would let PostgreSQL walk every commitment in order to find the page's (all 200,000 for
    # a small state's last page); the actor's ids, each read by its key, are few.
    by_paragraph = F("first_paragraph_number") + 0
    page_ids = involved.order_by(by_paragraph, "title", "pk").values("pk")[start : start + size]
    return _with_actor_role(commitment_dated_list(user=user).filter(pk__in=page_ids), actor=actor)


def _with_actor_role(commitments: QuerySet[Commitment], *, actor: Actor) -> QuerySet[Commitment]:
    is_lead = Exists(
        Commitment.lead_actors.through.objects.filter(actor=actor, commitment=OuterRef("pk"))
    )
    return commitments.annotate(is_lead=is_lead).order_by(*ACTOR_COMMITMENT_ORDER)


def actor_recent_updates(*, user, actor: Actor, limit: int = 10) -> QuerySet[StatusUpdate]:
    """The latest updates the user may read on commitments that involve the actor (those
    that still hold: not corrected, not withdrawn)."""
    # The ids first, as a list: given the subquery instead, PostgreSQL sorted every update of
    # the record to walk it newest first (0.4 s at 500,000 updates); with the list it reads
    # only these commitments' updates from their index (a few ms).
    involved = list(actor_commitment_ids(actor=actor))
    return (
        status_update_in_effect_list(user=user)
        .filter(commitment__in=involved)
        .select_related("commitment", "author")
        .order_by(*TIMELINE_ORDER)[:limit]
    )


# How many changes an Atom feed lists (commitments.feeds): the latest, as feed readers expect.
FEED_CHANGES = 50


def public_change_list(
    *, commitment: Commitment | None = None, actor: Actor | None = None, limit: int = FEED_CHANGES
) -> list[StatusUpdate]:
    """The latest changes of the public record, newest recorded first: public updates (official
    and other sources), their corrections and withdrawals, of one commitment, of the commitments
    an actor leads or supports, or of the whole record. Read as an anonymous visitor reads it,
    whoever asks: a feed reader is shared (commitments.feeds)."""
    updates = status_update_visible_list(user=AnonymousUser())
    if commitment is not None:
        updates = updates.filter(commitment=commitment)
    if actor is not None:
        # The ids as a list, as in actor_recent_updates.
        updates = updates.filter(commitment__in=list(actor_commitment_ids(actor=actor)))
    return list(
        updates.select_related("commitment", "amends", "reported_by").order_by(
            "-recorded_at", "-pk"
        )[:limit]
    )


def document_get(*, short_name: str) -> Document:
    """A document with its paragraphs, the commitments each gives rise to, and its links to
    other documents both ways (links_from: what it does to others; links_to: what others do
    to it)."""
    return (
        _document_with_links()
        .prefetch_related(Prefetch("paragraphs", queryset=_paragraphs_with_commitments()))
        .get(short_name=short_name)
    )


def document_page_get(*, short_name: str) -> Document:
    """A document with its links both ways, for its page, which takes its paragraphs from the
    cache (document_paragraph_list)."""
    return _document_with_links().get(short_name=short_name)


def document_paragraph_list(*, document: Document) -> QuerySet[Paragraph]:
    """The document's paragraphs in order, each with the commitments it gives rise to (and
    `document` as its own, not read again for each paragraph's address)."""
    return _with_commitments(document.paragraphs.order_by("number"))


def _document_with_links() -> QuerySet[Document]:
    links = DocumentLink.objects.order_by("kind", "pk")
    return Document.objects.prefetch_related(
        Prefetch("links_from", queryset=links.select_related("to_document")),
        Prefetch("links_to", queryset=links.select_related("from_document")),
    )


def _paragraphs_with_commitments() -> QuerySet[Paragraph]:
    return _with_commitments(Paragraph.objects.order_by("number"))


def _with_commitments(paragraphs: QuerySet[Paragraph]) -> QuerySet[Paragraph]:
    commitments = Commitment.objects.order_by("title")
    return paragraphs.prefetch_related(Prefetch("commitments", queryset=commitments))


def document_list() -> QuerySet[Document]:
    """Every document, newest adoption first, with how many paragraphs it has: counted by a
    subquery for the rows shown, where a join grouped every paragraph of the record (and the
    API's paginator then counted that grouping: 40 ms at 2,000 documents, 3 ms for a page of
    them now; count() drops the unused subquery)."""
    paragraphs = Paragraph.objects.filter(document=OuterRef("pk")).order_by().values("document")
    counted = paragraphs.annotate(n=Count("*")).values("n")
    return Document.objects.annotate(
        paragraph_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0)
    ).order_by(F("adopted_on").desc(nulls_last=True), "short_name")


def evidence_file_get(*, user, pk: int) -> EvidenceFile:
    """An evidence file whose update the user may read; raises EvidenceFile.DoesNotExist."""
    visible = status_update_visible_list(user=user)
    return EvidenceFile.objects.select_related("update").get(pk=pk, update__in=visible)


def filter_choices_actors() -> QuerySet[Actor]:
    """Actors that lead or support at least one commitment (filter dropdown)."""
    leads = Commitment.lead_actors.through.objects.filter(actor=OuterRef("pk"))
    supports = Commitment.supporting_actors.through.objects.filter(actor=OuterRef("pk"))
    return Actor.objects.filter(Q(Exists(leads)) | Q(Exists(supports))).order_by("name")


def _row_id(value) -> int | None:
    """A primary key from a URL parameter, or None for anything no row can have."""
    return row_id(value)


def filter_choices_documents() -> QuerySet[Document]:
    """Documents that at least one commitment comes from (filter dropdown)."""
    used = Commitment.paragraphs.through.objects.filter(paragraph__document=OuterRef("pk"))
    return Document.objects.filter(Exists(used)).order_by("-adopted_on", "short_name")


def filter_choices_paragraphs(*, document=None, paragraph=None) -> QuerySet[Paragraph]:
    """Paragraphs of one document that a commitment comes from (filter dropdown).

    A programme has thousands of paragraphs, so the list holds only the chosen document's, or
    the document of the paragraph asked for (the dashboard links give the paragraph alone);
    with neither it is empty.
    """
    used = Commitment.paragraphs.through.objects.filter(paragraph=OuterRef("pk"))
    paragraphs = (
        Paragraph.objects.filter(Exists(used))
        .select_related("document")
        .defer(*DOCUMENT_TEXTS)
        .order_by("number")
    )
    if (document_id := _row_id(document)) is not None:
        return paragraphs.filter(document_id=document_id)
    if (paragraph_id := _row_id(paragraph)) is not None:
        return paragraphs.filter(
            document__in=Paragraph.objects.filter(pk=paragraph_id).values("document")
        )
    return paragraphs.none()


def filter_choices_themes() -> QuerySet[Theme]:
    used = Commitment.themes.through.objects.filter(theme=OuterRef("pk"))
    return Theme.objects.filter(Exists(used)).order_by("name")


def filter_choices_owners() -> QuerySet:
    """Only secretariat people who own a commitment: the dropdown must not list every account."""
    owns = Commitment.objects.filter(owner=OuterRef("pk"))
    secretariat = Q(role=Role.SECRETARIAT) | Q(is_superuser=True)  # as user_can_edit_record
    return get_user_model().objects.filter(secretariat, Exists(owns)).order_by("username")


def filter_choice_ids(*, name: str) -> frozenset[int] | dict[int, int]:
    """The ids one dropdown of the commitments table offers (the filter's valid values);
    paragraphs map to their document, as the paragraph list holds one document's."""
    if name == "paragraph":
        used = Commitment.paragraphs.through.objects.filter(paragraph=OuterRef("pk"))
        return dict(Paragraph.objects.filter(Exists(used)).values_list("pk", "document_id"))
    choices = {
        "actor": filter_choices_actors,
        "document": filter_choices_documents,
        "theme": filter_choices_themes,
        "owner": filter_choices_owners,
    }[name]()
    return frozenset(choices.values_list("pk", flat=True))


class FilterChoice(NamedTuple):
    """One row a type-ahead filter of the commitments table offers (core.widgets.TypeAhead):
    its id, its label as the reader reads it, and the spellings that name it exactly (the
    label; a document's title and short name; a state's ISO code), as name_folded folds them."""

    id: int
    label: str
    names: tuple[str, ...]


def name_folded(text: str) -> str:
    """A name or a typed text as the type-ahead filters compare them: any run of spaces (a
    no-break space, a line break) one space, case folded, ё read as е (as Russian is typed)."""
    return " ".join(text.split()).casefold().replace("ё", "е")


def filter_choice_list(*, name: str, reader) -> list[FilterChoice]:
    """What the type-ahead filter `name` ("actor", "document" or "owner") offers `reader`: only
    rows some commitment uses. A document reads "title (short name)", so no two read the same.
    Owners are named as person_shown names them to this reader (a liaison never matches a login
    name), in the order of those names; the secretariat reads the login name beside a name two
    owners share."""
    if name == "document":
        documents = filter_choices_documents().only("title", "short_name")
        return [
            _choice(d.pk, f"{d.title} ({d.short_name})", d.title, d.short_name) for d in documents
        ]
    if name == "actor":
        actors = filter_choices_actors().only("name", "iso_code")
        return [_choice(a.pk, a.name, a.iso_code) for a in actors]
    owners = filter_choices_owners().only(
        "username", "first_name", "last_name", "role", "is_superuser"
    )
    named = [(user, person_shown(user, reader=reader)) for user in owners]
    counts = Counter(label for _user, label in named)
    shared = {label for label, count in counts.items() if count > 1}
    if user_can_see_internal(reader):
        named = [
            (user, f"{label} ({user.get_username()})" if label in shared else label)
            for user, label in named
        ]
    choices = [_choice(user.pk, label) for user, label in named]
    return sorted(choices, key=lambda choice: (name_folded(choice.label), choice.id))


def _choice(pk: int, label: str, *other_names: str) -> FilterChoice:
    names = tuple(dict.fromkeys(name_folded(n) for n in (label, *other_names) if n))
    return FilterChoice(pk, label, names)


# How a relation reads from each end: (from the commitment that holds it, from the other one).
RELATION_WORDS = {
    CommitmentRelation.Kind.DEPENDS_ON: (_("Depends on"), _("Needed by")),
    CommitmentRelation.Kind.SUPERSEDED_BY: (_("Superseded by"), _("Supersedes")),
    CommitmentRelation.Kind.RELATED_TO: (_("Related to"), _("Related to")),
}


def commitment_relations(*, commitment: Commitment) -> list[tuple[str, Commitment, int]]:
    """(how it reads, the other commitment, the relation's id) for every relation the
    commitment is in, either way, in one query; by kind, then the other's title."""
    relations = CommitmentRelation.objects.filter(
        Q(from_commitment=commitment) | Q(to_commitment=commitment)
    ).select_related("from_commitment", "to_commitment")
    rows = []
    for relation in relations:
        outgoing = relation.from_commitment_id == commitment.pk
        other = relation.to_commitment if outgoing else relation.from_commitment
        rows.append((relation.kind, 0 if outgoing else 1, other, relation.pk))
    order = list(CommitmentRelation.Kind.values)
    rows.sort(key=lambda row: (order.index(row[0]), row[1], row[2].title))
    return [(RELATION_WORDS[kind][end], other, pk) for kind, end, other, pk in rows]


def bulk_import_recent_list(limit: int = 20) -> QuerySet[BulkImport]:
    return BulkImport.objects.select_related("created_by")[:limit]


def bulk_import_counts(*, bulk_import: BulkImport) -> dict[str, int]:
    """Rows per planned action, and once applied per result."""
    field = "result" if bulk_import.state == BulkImport.State.DONE else "action"
    counts = dict.fromkeys(BulkImportRow.Action.values, 0)
    for value, count in bulk_import.rows.values_list(field).annotate(n=Count("pk")):
        if value:
            counts[value] = count
    return counts


def bulk_import_rows(*, bulk_import: BulkImport) -> QuerySet[BulkImportRow]:
    """The rows worth reading on the page: every one but the unchanged."""
    return (
        bulk_import.rows.exclude(action=BulkImportRow.Action.UNCHANGED)
        .select_related("commitment")
        .order_by("number")
    )


def bulk_import_report_rows(*, bulk_import: BulkImport):
    """The result report's header, then one list per row (commitments.bulk_import_views)."""
    yield [
        _("Row"), _("ID"), _("Title"), _("Planned"), _("Result"), _("Changes"),
        _("Status update"), _("Reason"),
    ]  # fmt: skip
    rows = bulk_import.rows.select_related("commitment").order_by("number")
    for row in rows.iterator(chunk_size=1000):
        changes = "; ".join(f"{label}: {old} -> {new}" for label, old, new in row.changes)
        yield [
            row.number,
            row.commitment.slug if row.commitment else "",
            row.title,
            row.get_action_display(),
            row.get_result_display(),
            changes,
            row.update_summary,
            row.result_reason or row.reason,
        ]
