import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce, Least, TruncDate
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.roles import user_can_own_commitments

from .citations import paragraph_anchor
from .statuses import Status, status_definition

# The keys of an audit entry's additional_data that name the commitments a row is part of:
# tracker.audit reads a commitment's history as its own entries and those naming it here.
AUDIT_COMMITMENT_KEYS = ("commitment", "commitment_2")
# The key naming the status update a piece of evidence belongs to.
AUDIT_UPDATE_KEY = "update"


class CommitmentPart:
    """A row whose changes belong to a commitment's change history too (its milestones, its
    updates' evidence). `commitment_paths` lead from the row to the commitments' ids, e.g.
    ("commitment_id",) or ("update.commitment_id",); a row between two commitments names both.

    django-auditlog stores what get_additional_data returns beside each entry, so a deleted
    row's entry still names its commitment.
    """

    commitment_paths: tuple[str, ...] = ()

    def get_additional_data(self) -> dict:
        ids = [_follow(self, path) for path in self.commitment_paths]
        data = dict(zip(AUDIT_COMMITMENT_KEYS, ids, strict=False))
        # Evidence names its update too, so the history tells what a correction cites.
        if (update_id := getattr(self, "update_id", None)) is not None:
            data[AUDIT_UPDATE_KEY] = update_id
        return data


def _follow(obj, path: str):
    try:
        for name in path.split("."):
            obj = getattr(obj, name)
    except ObjectDoesNotExist:  # a row whose parent is already gone: no commitment to name
        return None
    return obj


class Document(models.Model):
    """An outcome document whose paragraphs we track, e.g. the 2020 Ashgabat Final Document."""

    short_name = models.SlugField(max_length=80, unique=True)
    symbol = models.CharField(max_length=80, blank=True, help_text="UN symbol, if it has one.")
    title = models.CharField(max_length=500)
    # Translations of the same document name the conference differently.
    alternative_title = models.CharField(max_length=500, blank=True)
    place = models.CharField(max_length=200, blank=True)
    adopted_on = models.DateField(null=True, blank=True)
    published_on = models.DateField(
        null=True, blank=True, help_text="When the text was issued, if that is not the adoption."
    )
    source_url = models.URLField(max_length=500, blank=True)
    language = models.CharField(max_length=10, default="en")
    preamble = models.TextField(blank=True)
    full_text = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Raised by every edit and every import that changes the text (core.editing.version_claim):
    # a form or an import preview made against an older version is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-adopted_on", "short_name"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("commitments:document_detail", kwargs={"short_name": self.short_name})


class DocumentLink(models.Model):
    """How one document relates to another, read both ways on each document's page."""

    class Kind(models.TextChoices):
        FOLLOWS_UP = "follows_up", _("follows up")
        IMPLEMENTS = "implements", _("implements")
        SUPERSEDES = "supersedes", _("supersedes")
        TRANSLATION_OF = "translation_of", _("is a translation of")

    # The same link read from the other document: "B is followed up by A".
    INVERSE = {
        Kind.FOLLOWS_UP: _("is followed up by"),
        Kind.IMPLEMENTS: _("is implemented by"),
        Kind.SUPERSEDES: _("is superseded by"),
        Kind.TRANSLATION_OF: _("is translated as"),
    }

    from_document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="links_from")
    to_document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="links_to")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_document", "to_document", "kind"], name="document_link_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_document=models.F("to_document")),
                name="document_link_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_document} {self.get_kind_display()} {self.to_document}"

    @property
    def inverse_wording(self) -> str:
        return self.INVERSE[self.kind]


# A document's own texts, up to megabytes each: a list of paragraphs with their document
# leaves them out, or every row would carry them (.select_related("document").defer(*...)).
DOCUMENT_TEXTS = ("document__full_text", "document__preamble")


class Paragraph(models.Model):
    """One numbered operative paragraph, kept verbatim."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="paragraphs")
    number = models.PositiveIntegerField()
    operative_verb = models.CharField(
        max_length=80, blank=True, help_text='The verb it opens with, e.g. "Encouraged".'
    )
    text = models.TextField()

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="paragraph_number_unique")
        ]

    def __str__(self) -> str:
        return f"¶{self.number}"

    def get_absolute_url(self) -> str:
        return f"{self.document.get_absolute_url()}#{paragraph_anchor(self.number)}"


class Actor(models.Model):
    """Someone who acts on commitments: a member state, a UN body, a group, an organisation."""

    class Kind(models.TextChoices):
        MEMBER_STATE = "member_state", _("Member state")
        UN_BODY = "un_body", _("UN body or office")
        GROUP = "group", _("Group of states")
        ORGANISATION = "organisation", _("Other organisation")

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    iso_code = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, for member states."
    )
    # Raised by every edit in the app; a form posted against an older one is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["iso_code"], condition=~models.Q(iso_code=""), name="actor_iso_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("commitments:actor_detail", kwargs={"slug": self.slug})


class Theme(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    # Raised by every edit in the app; a form posted against an older one is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _finished(status_field: str) -> models.Q:
    """deadlines.finished, for the indexes below (a test holds the two equal)."""
    return (
        models.Q(**{f"{status_field}__in": ("achieved", "no_longer_pursued")})
        | models.Q(retired_on__isnull=False)
        | models.Q(**{status_field: "recurring_on_track"})
    )


_DUE_DATES = ("target_date", "undone_milestone_due_on")


def _earliest_due() -> Least:
    # deadlines.earliest_due, which must stay equal to it for the indexes to serve.
    return Least(Coalesce(*_DUE_DATES), Coalesce(*reversed(_DUE_DATES)))


def _open_by_earliest_due(status_field: str, name: str) -> models.Index:
    """Commitments that can be overdue or due soon (not deadlines.finished on status_field) by
    the earlier of their target date and first undone milestone's due date, then title: the
    expression deadlines.earliest_due writes, which it must stay equal to for the index to
    serve. The overdue list's ties on both are put in id order among themselves
    (CommitmentTable.order_due); an id here made the dashboard's counts read the table."""
    dates = _DUE_DATES
    return models.Index(
        _earliest_due(),
        "title",
        condition=~_finished(status_field),
        name=name,
        # The dashboard's overdue and due-soon counts (deadlines.state_counts) read the index
        # alone: PostgreSQL reads an indexed expression's columns from the index only when
        # they are stored in it.
        include=dates,
    )


# Where the due and target date sorts put a commitment without a date, which sorts last both
# ways: a date past every other, or before every other (a sort key without nulls, whose place
# in an index SQLite cannot be told).
_NO_DATE = {False: datetime.date.max, True: datetime.date.min}


def due_order_expression(status_field: str, *, descending: bool = False) -> Coalesce:
    """The commitments table's due date as its sort reads it (CommitmentTable.order_due): the
    earliest date of a commitment that can be overdue or due soon, else one that sorts last.
    The due date the table shows (deadlines.deadline_annotations' due_date) is that date, but
    written with today's date in it, which no index can hold."""
    due = models.Case(
        models.When(~_finished(status_field), then=_earliest_due()),
        output_field=models.DateField(),
    )
    return Coalesce(due, models.Value(_NO_DATE[descending]), output_field=models.DateField())


def target_date_order_expression(*, descending: bool = False) -> Coalesce:
    """The target date as the commitments table and the API sort it
    (selectors.commitments_ordered): a commitment without one last both ways."""
    date = models.Value(_NO_DATE[descending])
    return Coalesce("target_date", date, output_field=models.DateField())


def status_order_expression(status_field: str) -> models.Case:
    """The status as the commitments table sorts it (CommitmentTable.order_status): its rank
    in the vocabulary (not started ... no longer pursued), not its code's letters."""
    ranks = [
        models.When(**{status_field: value}, then=models.Value(rank))
        for rank, value in enumerate(Status.values)
    ]
    return models.Case(*ranks, output_field=models.IntegerField())


def _table_order(key, name: str, *, descending: bool = False) -> models.Index:
    """One of the commitments table's sorts (CommitmentTable.order_*) of the commitments not
    retired (its rows unless "Show retired" is ticked), ties by title then id: a page is read
    from the index in the order shown, or backwards for a page past the middle
    (core.pagination.NearerEndPaginator), instead of every commitment sorted for 25 rows
    (0.6 s at ten times the benchmark's data, issue 16). Without a date last both ways: the
    due sort descending has its own index; the others read descending are this one turned."""
    ordered = key.desc() if descending else key
    return models.Index(
        ordered, "title", "id", condition=models.Q(retired_on__isnull=True), name=name
    )


def _table_orders(status_field: str, progress_field: str, last_field: str, prefix: str):
    """The table's sorts for one audience (the secretariat's columns, or the public_ ones)."""
    return [
        _table_order(due_order_expression(status_field), f"{prefix}_due"),
        _table_order(
            due_order_expression(status_field, descending=True),
            f"{prefix}_due_desc",
            descending=True,
        ),
        _table_order(news_on_expression(last_field), f"{prefix}_news"),
        _table_order(models.F(progress_field), f"{prefix}_progress"),
        _table_order(status_order_expression(status_field), f"{prefix}_status"),
    ]


def cadence_months_expression(defaults: dict[str, int]) -> models.Func:
    """Months between expected updates: the commitment's own, else its kind's default
    (Commitment.reporting_cadence; the database's form of it, deadlines reads it)."""
    kinds = [models.When(kind=kind, then=models.Value(n)) for kind, n in defaults.items()]
    default = models.Case(*kinds, default=models.Value(12), output_field=models.IntegerField())
    return Coalesce("reporting_cadence_months", default, output_field=models.IntegerField())


class EnteredOn(TruncDate):
    """The day of a datetime in TIME_ZONE (UTC, and no request activates another). On SQLite,
    which keeps datetimes as UTC text, its own date(): Django's TruncDate calls a function
    Django registers, which an index (Commitment.Meta) would then need in every connection
    that writes the table, the sqlite3 shell's too."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"date({sql})", params


def news_on_expression(last_field: str) -> models.Func:
    """The day freshness counts from: the last activity in last_field, else the day the
    commitment was entered."""
    return Coalesce(last_field, EnteredOn("created_at"), output_field=models.DateField())


# The defaults of DEFAULT_REPORTING_CADENCE_MONTHS (below), for the index of Commitment.Meta,
# which is made before the class it reads Kind from; a test holds the two equal.
_CADENCE_DEFAULTS = {"deliverable": 6, "recurring": 12, "ongoing": 12}


def _open_by_cadence_and_news(status_field: str, last_field: str, name: str) -> models.Index:
    """Commitments freshness applies to (not deadlines.closed on status_field) by cadence and
    the day their news dates from, the expressions deadlines.state_counts compares: a count of
    the late ones on a day is a range of this index per cadence, and the columns the
    expressions read are stored in it so that no row of the table is read."""
    closed = models.Q(**{f"{status_field}__in": ("achieved", "no_longer_pursued")}) | models.Q(
        retired_on__isnull=False
    )
    return models.Index(
        cadence_months_expression(_CADENCE_DEFAULTS),
        news_on_expression(last_field),
        condition=~closed,
        name=name,
        include=("reporting_cadence_months", "kind", last_field, "created_at"),
    )


class Commitment(models.Model):
    """What one or more paragraphs ask for, as something one can track."""

    class Kind(models.TextChoices):
        DELIVERABLE = "deliverable", _("One-off deliverable")
        RECURRING = "recurring", _("Recurring")
        ONGOING = "ongoing", _("Ongoing policy")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.TextField(blank=True)
    paragraphs = models.ManyToManyField(Paragraph, related_name="commitments")
    lead_actors = models.ManyToManyField(Actor, related_name="led_commitments", blank=True)
    supporting_actors = models.ManyToManyField(
        Actor, related_name="supported_commitments", blank=True
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DELIVERABLE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_commitments",
        help_text="Who in the secretariat follows this commitment.",
    )
    target_date = models.DateField(null=True, blank=True)
    themes = models.ManyToManyField(Theme, related_name="commitments", blank=True)
    # Status, progress and last_activity_on copy the latest status update (by the date it
    # happened), so lists can filter and sort without a subquery;
    # services.commitment_current_state_refresh keeps them in step.
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    last_activity_on = models.DateField(
        null=True, blank=True, help_text="When the latest status update says something happened."
    )
    # The same three from the latest *public* update: what liaisons see (commitments.selectors).
    public_status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.NOT_STARTED, editable=False
    )
    public_progress = models.PositiveSmallIntegerField(default=0, editable=False)
    public_last_activity_on = models.DateField(null=True, blank=True, editable=False)
    # The lowest number among its paragraphs: the table's default order (the document's),
    # read from an index instead of a subquery per commitment. commitments.apps keeps it in
    # step when paragraphs are linked, unlinked, renumbered or deleted.
    first_paragraph_number = models.PositiveIntegerField(null=True, editable=False)
    # The earliest due date among its milestones not done (null: none has one): the deadline
    # annotations read it instead of a subquery per commitment (commitments.deadlines).
    # commitments.receivers keeps it in step when milestones are saved or deleted.
    undone_milestone_due_on = models.DateField(null=True, editable=False)
    # Raised by every write; a form posted against an older version is refused as a conflict.
    version = models.PositiveIntegerField(default=1)
    # How often the record expects news of it; empty: the default for its kind
    # (DEFAULT_REPORTING_CADENCE_MONTHS). Freshness (on time, late, very late) is measured
    # against it.
    reporting_cadence_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Expect an update every this many months; empty for its kind's default.",
    )
    # Who hears when it has been overdue too long (escalation); secretariat staff, like owners.
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_commitments",
        help_text="Who in the secretariat is told when it has been overdue for too long.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Retired instead of deleted, so its history stays: a retired commitment takes no edits or
    # status updates and sends no reminders (commitments.services.commitment_retire).
    retired_on = models.DateField(null=True, blank=True, editable=False)
    retired_reason = models.TextField(blank=True, editable=False)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="retired_commitments",
    )

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="commitment_progress_at_most_100"
            )
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["last_activity_on"]),
            models.Index(fields=["first_paragraph_number", "title"]),
            models.Index(fields=["public_status"]),
            models.Index(fields=["public_last_activity_on"]),
            # The dashboard's overdue and due-soon lists (tracker.selectors: deadlines.overdue,
            # deadlines.due_soon, ordered by deadlines.earliest_due) per audience: read in order
            # from today or from the start, 20 rows, not every commitment sorted.
            _open_by_earliest_due("status", name="commitment_open_due"),
            _open_by_earliest_due("public_status", name="commitment_public_open_due"),
            # The dashboard's freshness counts (deadlines.state_counts) per audience.
            _open_by_cadence_and_news("status", "last_activity_on", name="commitment_open_news"),
            _open_by_cadence_and_news(
                "public_status", "public_last_activity_on", name="commitment_public_open_news"
            ),
            # The retired commitments by state, few: the dashboard's status counts take these
            # from every commitment's (tracker.selectors.dashboard_status_counts).
            models.Index(
                fields=["status", "public_status"],
                condition=models.Q(retired_on__isnull=False),
                name="commitment_retired_status",
            ),
            # The dashboard's upcoming target dates (selectors.dashboard_upcoming_commitments).
            models.Index(fields=["target_date", "title"], name="commitment_target_title"),
            # The table's and the API's target date order (selectors.commitments_ordered).
            _table_order(target_date_order_expression(), "commitment_target_asc"),
            _table_order(
                target_date_order_expression(descending=True),
                "commitment_target_desc",
                descending=True,
            ),
            # The table's and the API's counts of a status (views.CommitmentListView._rows_count,
            # api.views.CommitmentList), per audience: the open commitments of one status read
            # from the index alone, in id order, to be merged with a theme's link rows (their
            # index in migration 0025) rather than every commitment read from the table.
            models.Index(
                fields=["status", "id"],
                condition=models.Q(retired_on__isnull=True),
                name="commitment_open_status",
            ),
            models.Index(
                fields=["public_status", "id"],
                condition=models.Q(retired_on__isnull=True),
                name="commitment_public_open_status",
            ),
            # The admin's change list, in Meta.ordering with the primary key Django adds to
            # make it total (title, then -pk): a page read in order, not every row sorted.
            models.Index(fields=["title", "-id"], name="commitment_title_admin"),
            # The commitments table's sorts on dates, progress and status, per audience.
            *_table_orders("status", "progress", "last_activity_on", "commitment_table"),
            *_table_orders(
                "public_status",
                "public_progress",
                "public_last_activity_on",
                "commitment_pub_table",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("commitments:commitment_detail", kwargs={"slug": self.slug})

    @property
    def status_definition(self) -> str:
        return status_definition(self.status)

    @property
    def is_retired(self) -> bool:
        return self.retired_on is not None

    @property
    def reporting_cadence(self) -> int:
        """Months between expected updates: its own, or its kind's default."""
        return self.reporting_cadence_months or DEFAULT_REPORTING_CADENCE_MONTHS[self.kind]

    def clean(self) -> None:
        # The owner's reminders carry the internal state (tracker.reminders checks again when
        # each is sent, for an owner demoted since): only secretariat staff own a commitment.
        if self.owner_id is not None and not user_can_own_commitments(self.owner):
            raise ValidationError({"owner": owner_refused_message(self.owner)})
        if self.supervisor_id is not None and not user_can_own_commitments(self.supervisor):
            raise ValidationError(
                {"supervisor": owner_refused_message(self.supervisor, role="supervisor")}
            )


# A one-off deliverable should report twice a year; recurring and ongoing ones once a year.
DEFAULT_REPORTING_CADENCE_MONTHS = {
    Commitment.Kind.DELIVERABLE: 6,
    Commitment.Kind.RECURRING: 12,
    Commitment.Kind.ONGOING: 12,
}


def owner_refused_message(user, *, role: str = "owner") -> str:
    """Why `user` cannot be a commitment's owner, or (role "supervisor") its supervisor."""
    if role == "supervisor":
        return _(
            "%(name)s cannot supervise a commitment: supervisors must be active secretariat "
            "staff, since what they are told shows the internal status. Choose a secretariat "
            "user, or leave the supervisor empty."
        ) % {"name": user.get_username()}
    return _(
        "%(name)s cannot own a commitment: owners must be active secretariat staff, since "
        "owner reminders show the internal status. Choose a secretariat user, or leave the "
        "owner empty."
    ) % {"name": user.get_username()}


class Source(models.TextChoices):
    """Who a status update comes from (StatusUpdate.source)."""

    OFFICIAL = "official", _("Official")
    CONTRIBUTOR = "contributor", _("Other source")


class StatusUpdateQuerySet(models.QuerySet):
    def in_effect(self) -> "StatusUpdateQuerySet":
        """The official updates that still say something: neither corrected nor withdrawn
        since, and not a withdrawal itself. What every "latest update" reads (the current
        state, the report, the charts, the recent lists, search): a contributor's update is
        never the commitment's state, so it is left out here (see other_sources)."""
        # NOT EXISTS rather than amended_by__isnull: Django writes that as a LEFT JOIN with
        # "id IS NULL" on the joined row, which PostgreSQL estimates at one row and so joins
        # every update to its commitment and author before sorting (the dashboard's latest
        # updates took 3.7-6 s at 500,000 updates); NOT EXISTS is an anti-join it estimates.
        amendments = StatusUpdate.objects.filter(amends=models.OuterRef("pk"))
        return self.filter(~models.Exists(amendments), source=Source.OFFICIAL).exclude(
            amendment=StatusUpdate.Amendment.WITHDRAWAL
        )

    def official(self) -> "StatusUpdateQuerySet":
        return self.filter(source=Source.OFFICIAL)

    def other_sources(self) -> "StatusUpdateQuerySet":
        """Updates from outside organisations (contributors), shown apart from the official."""
        return self.filter(source=Source.CONTRIBUTOR)

    def shown_in_timeline(self) -> "StatusUpdateQuerySet":
        """Every entry of a history but the withdrawals, each shown on the update it withdraws."""
        return self.exclude(amendment=StatusUpdate.Amendment.WITHDRAWAL)


class CommitmentRelation(CommitmentPart, models.Model):
    """How one commitment stands to another; each is shown on both commitments' pages."""

    class Kind(models.TextChoices):
        DEPENDS_ON = "depends_on", _("depends on")
        SUPERSEDED_BY = "superseded_by", _("is superseded by")
        RELATED_TO = "related_to", _("is related to")

    from_commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="relations_from"
    )
    to_commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="relations_to"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # In the change history of both commitments (tracker.audit).
    commitment_paths = ("from_commitment_id", "to_commitment_id")

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_commitment", "to_commitment", "kind"],
                name="commitment_relation_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(from_commitment=models.F("to_commitment")),
                name="commitment_relation_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_commitment} {self.get_kind_display()} {self.to_commitment}"


class StatusUpdate(models.Model):
    """One entry in a commitment's append-only history: who said what, when, on what evidence.

    A published update is never edited: a correction is a new row that `amends` it and carries
    the corrected state (of the same day, with the same visibility); a withdrawal is a new row
    that `amends` it with a reason and nothing else to say (its status and progress repeat the
    original's only because the columns need a value; no reader uses them). `amends` is one to
    one, so an update is amended once: a later correction amends the latest correction.
    """

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Visible to liaisons")
        INTERNAL = "internal", _("Internal to the secretariat")

    class Amendment(models.TextChoices):
        NONE = "", _("Update")
        CORRECTION = "correction", _("Correction")
        WITHDRAWAL = "withdrawal", _("Withdrawal")

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="status_updates"
    )
    # History is often entered after the fact: when it happened differs from when it was recorded.
    happened_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=30, choices=Status.choices)
    progress = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    narrative = models.TextField()
    # Why the figure is what it is, where it was typed (a commitment without milestones); empty
    # where milestones computed it, and on updates from before it was asked for.
    progress_reason = models.CharField(max_length=300, blank=True)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    amends = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="amended_by"
    )
    amendment = models.CharField(
        max_length=12, choices=Amendment.choices, blank=True, default=Amendment.NONE
    )
    # Why it was corrected or withdrawn: the secretariat's own words, shown to liaisons only
    # when reason_public says so (a liaison otherwise reads "withdrawn by the secretariat").
    reason = models.TextField(blank=True, default="")
    reason_public = models.BooleanField(default=False)
    # Who said it: the secretariat's record ("official", which makes the commitment's state) or
    # an outside organisation ("contributor": shown apart, never the official state; in_effect
    # skips it). A report published from a state or an organisation names it in reported_by,
    # and the secretariat member who reviewed it in reviewed_by (commitments.submissions).
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.OFFICIAL)
    reported_by = models.ForeignKey(
        Actor, null=True, blank=True, on_delete=models.PROTECT, related_name="reported_updates"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_updates",
    )

    objects = StatusUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["-happened_on", "-recorded_at", "-pk"]
        get_latest_by = ["happened_on", "recorded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="status_update_progress_at_most_100"
            ),
            # An amendment says which update it amends, and only an amendment does.
            models.CheckConstraint(
                condition=models.Q(amends__isnull=True, amendment="")
                | (models.Q(amends__isnull=False) & ~models.Q(amendment="")),
                name="status_update_amendment_names_its_update",
            ),
        ]
        indexes = [
            models.Index(fields=["commitment", "-happened_on", "-recorded_at"]),
            # The dashboard's latest updates across the record (0.6 s at 500,000 without).
            models.Index(fields=["-happened_on", "-recorded_at", "-id"]),
            # The Atom feeds' latest changes across the record, by when they were recorded
            # (commitments.selectors.public_change_list).
            models.Index(fields=["-recorded_at", "-id"], name="status_update_recorded"),
        ]

    def __str__(self) -> str:
        return f"{self.commitment}: {self.get_status_display()} on {self.happened_on}"

    @property
    def is_internal(self) -> bool:
        return self.visibility == self.Visibility.INTERNAL

    @property
    def status_definition(self) -> str:
        return status_definition(self.status)

    @property
    def status_label(self) -> str:
        """get_status_display() without its 50 us a call (rebuilding the choices each time)."""
        return Status(self.status).label

    @property
    def amended_with(self) -> "StatusUpdate | None":
        """The correction or withdrawal of this update, if any (no query once selected)."""
        try:
            return self.amended_by
        except StatusUpdate.DoesNotExist:
            return None

    def reason_shown_to(self, *, internal_reader: bool) -> str:
        """The reason of this amendment as the reader may read it: "" for a liaison unless the
        secretariat chose to show it."""
        return self.reason if internal_reader or self.reason_public else ""


class AchievedSpan(models.Model):
    """Days a commitment stood achieved, as one audience reads its history: from the update in
    effect that made it achieved to the next one that did not (ended_on None: achieved still).
    The secretariat's spans read every update in effect, the public's (liaisons, visitors) the
    public ones only. The dashboard's "achieved over time" sums them (+1 from started_on, -1
    from ended_on) instead of a window query over every update.

    Derived from the history, never edited: services.achieved_spans_refresh rewrites one
    commitment's spans with each status update, correction and withdrawal (under the version
    claim that orders that commitment's writes, so concurrent writers to other commitments
    never wait on these rows), and every commitment's after a restore or bulk rows.
    """

    class Audience(models.TextChoices):  # as core.roles.reader_audience names them
        SECRETARIAT = "secretariat"
        PUBLIC = "public"

    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="achieved_spans"
    )
    audience = models.CharField(max_length=12, choices=Audience.choices)
    started_on = models.DateField()
    ended_on = models.DateField(null=True)

    class Meta:
        indexes = [
            # tracker.chart_selectors reads one audience's days from the index alone.
            models.Index(fields=["audience", "started_on", "ended_on"], name="achieved_span_days")
        ]

    def __str__(self) -> str:
        return f"{self.commitment_id} achieved {self.started_on} to {self.ended_on or 'now'}"


class EvidenceLink(CommitmentPart, models.Model):
    commitment_paths = ("update.commitment_id",)

    update = models.ForeignKey(StatusUpdate, on_delete=models.CASCADE, related_name="links")
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=1000)

    def __str__(self) -> str:
        return self.title


# A file system takes at most 255 bytes per name, and a Cyrillic letter is two of them: a long
# name from the uploader's computer (saved as it came) failed with "File name too long" and the
# page answered 503. The stored name keeps its extension and at most this many bytes in all,
# leaving room for the suffix the storage adds to a name already taken; the title the person
# gave is kept whole in the record.
STORED_FILE_NAME_BYTES = 150


def stored_file_name(filename: str) -> str:
    """The upload's own name, cut to STORED_FILE_NAME_BYTES of UTF-8 without splitting a
    character, its extension (if short) kept."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 16:
        stem, dot, extension = filename, "", ""
    room = STORED_FILE_NAME_BYTES - len(f"{dot}{extension}".encode())
    stem = stem.encode()[:room].decode(errors="ignore").strip() or "file"
    return f"{stem}{dot}{extension}"


def evidence_upload_to(instance: "EvidenceFile", filename: str) -> str:
    return f"evidence/{instance.update.commitment_id}/{stored_file_name(filename)}"


class EvidenceFile(CommitmentPart, models.Model):
    """A document attached to a status update; served only to those allowed to see the update."""

    commitment_paths = ("update.commitment_id",)

    update = models.ForeignKey(StatusUpdate, on_delete=models.CASCADE, related_name="files")
    title = models.CharField(max_length=300)
    file = models.FileField(upload_to=evidence_upload_to, max_length=500)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.title


class Milestone(CommitmentPart, models.Model):
    """One dated step of a commitment. A commitment with milestones has its progress computed
    from them: the weight of those done over the weight of all, as a whole per cent."""

    commitment_paths = ("commitment_id",)

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="milestones")
    # The order on the commitment's page: 1 first.
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=300)
    due_on = models.DateField(null=True, blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    done_on = models.DateField(null=True, blank=True)
    evidence_url = models.URLField(max_length=1000, blank=True)
    # The status update that reports it done, when one does.
    proved_by = models.ForeignKey(
        StatusUpdate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proved_milestones",
    )
    # Raised by every write; a form posted against an older version is refused (core.editing).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["commitment", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weight__gte=1), name="milestone_weight_positive"
            )
        ]
        indexes = [
            models.Index(fields=["due_on"], name="milestone_due_on"),
            # commitments.deadlines._undone_milestone_due: each commitment's earliest undone
            # milestone, asked once per commitment by the dashboard's deadline counts and the
            # table's due filter; without it PostgreSQL walked milestone_due_on for each.
            models.Index(
                fields=["commitment", "due_on"],
                condition=models.Q(done_on__isnull=True, due_on__isnull=False),
                name="milestone_undone_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SubmittedReport(models.Model):
    """What a state's liaison or a contributor reports about a commitment, for the secretariat
    to review (commitments.submissions). It changes nothing of the record: a draft until its
    author submits it, then waiting in the review queue; the secretariat returns it with a
    comment (editable again) or publishes it as a status update (`published_update`)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for review")
        RETURNED = "returned", _("Returned")
        PUBLISHED = "published", _("Published")

    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="submitted_reports"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submitted_reports"
    )
    # The state (a liaison's) or organisation (a contributor's) it speaks for; its people are
    # the report's parties (commitments.submissions.report_visible_list).
    reporter = models.ForeignKey(Actor, on_delete=models.PROTECT, related_name="submitted_reports")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.OFFICIAL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    happened_on = models.DateField()
    status = models.CharField(max_length=30, choices=Status.choices)
    # None where the commitment has milestones: their figure counts, not the reporter's.
    progress = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    progress_reason = models.CharField(max_length=300, blank=True)
    milestone_note = models.CharField(max_length=300, blank=True)
    narrative = models.TextField()
    return_comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviewed_reports",
    )
    published_update = models.OneToOneField(
        StatusUpdate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_report",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised by every write (core.editing.version_claim): a stale form is refused.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "submitted_at"], name="report_queue")]

    def __str__(self) -> str:
        return f"{self.reporter}: {self.commitment}"

    def get_absolute_url(self) -> str:
        return reverse("commitments:report_detail", kwargs={"pk": self.pk})

    @property
    def editable(self) -> bool:
        """Its author may still change and submit it: a draft or returned report on a commitment
        that is not retired."""
        return (
            self.state in (self.State.DRAFT, self.State.RETURNED) and not self.commitment.is_retired
        )


class ReportLink(models.Model):
    report = models.ForeignKey(SubmittedReport, on_delete=models.CASCADE, related_name="links")
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=1000)

    def __str__(self) -> str:
        return self.title


def report_upload_to(instance: "ReportFile", filename: str) -> str:
    return f"reports/{instance.report.commitment_id}/{stored_file_name(filename)}"


class ReportFile(models.Model):
    """A file attached to a report; served only to the report's parties and the secretariat
    (and, once published, as the update's evidence to whoever may read the update)."""

    report = models.ForeignKey(SubmittedReport, on_delete=models.CASCADE, related_name="files")
    title = models.CharField(max_length=300)
    file = models.FileField(upload_to=report_upload_to, max_length=500)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.title


class ReportComment(models.Model):
    """One comment of the conversation about a report, between the secretariat and the
    report's parties; nobody else reads it."""

    report = models.ForeignKey(SubmittedReport, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="report_comments"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author}: {self.text[:40]}"


class BulkImport(models.Model):
    """A spreadsheet in the commitments export's format, planned row by row (the dry run) and,
    once the secretariat applies it, written row by row by a Celery task
    (commitments.bulk_import plans, services.bulk_import_apply writes). Kept afterwards: its
    rows are the result report."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", _("Dry run, not applied")
        QUEUED = "queued", _("Waiting to be applied")
        APPLYING = "applying", _("Being applied")
        DONE = "done", _("Applied")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    # Columns the file has that an import reads but never writes (Due, Freshness...).
    ignored_columns = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PREVIEWED)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    # Moved by the applying task after each batch of rows: the page's progress bar, and how a
    # stalled run (a worker lost) is told from a slow one (services.bulk_imports_claim).
    touched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "queued_at"], name="bulk_import_queue")]

    def __str__(self) -> str:
        return self.file_name

    def get_absolute_url(self) -> str:
        return reverse("commitments:bulk_import_detail", kwargs={"pk": self.pk})


class BulkImportRow(models.Model):
    """One row of an imported file: what the dry run planned, and what applying it did."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        UNCHANGED = "unchanged", _("Unchanged")
        REFUSED = "refused", _("Refused")

    bulk_import = models.ForeignKey(BulkImport, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(help_text="The row's line in the file, the header 1.")
    action = models.CharField(max_length=10, choices=Action.choices)
    commitment = models.ForeignKey(
        Commitment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=500, blank=True)
    # The commitment's version the dry run read: applying refuses the row if it moved since.
    expected_version = models.PositiveIntegerField(null=True, blank=True)
    # What applying writes: the commitment's changed fields (row ids for links) and the status
    # update to add, if any; and for the preview, [label, old, new] per change and notes.
    values = models.JSONField(default=dict, blank=True)
    update = models.JSONField(null=True, blank=True)
    changes = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)
    # Set by applying, in the same transaction as the row's writes: a row with a result is
    # never written again (a run taken over from a lost worker skips it).
    result = models.CharField(max_length=10, choices=Action.choices, blank=True)
    result_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["bulk_import", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["bulk_import", "number"], name="bulk_import_row_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bulk_import} row {self.number}"

    @property
    def update_visibility_label(self) -> str:
        """Who will see the status update the row adds: it decides whether visitors see it."""
        if not self.update:
            return ""
        return str(StatusUpdate.Visibility(self.update["visibility"]).label)

    @property
    def update_summary(self) -> str:
        """The status update the row adds, in a line (the dry run, the report): when, who sees
        it, what happened."""
        if not self.update:
            return ""
        update = self.update
        return f"{update['happened_on']}, {self.update_visibility_label}: {update['narrative']}"
