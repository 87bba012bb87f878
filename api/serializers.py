"""What the API says of each thing in the record: the fields the pages show their reader.

Objects are named by their public, stable ids (a document's short name, a slug, a paragraph's
document and number) and carry `url`, the address of their page. People appear by display
name only, never by email. What a reader may not see is never given to a serializer: the
views read through the pages' selectors (commitments.selectors, tracker.events), and the few
fields that differ by reader (a withdrawal's reason, who amended an update, a commitment's
version) ask `internal_reader` in the context.
"""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commitments import deadlines
from commitments.models import (
    Actor,
    Commitment,
    Document,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.statuses import Status
from commitments.tables import person_name
from core.roles import person_shown
from tracker.models import Event


class PageUrlField(serializers.Field):
    """The absolute address of the object's page (its get_absolute_url)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return self.context["request"].build_absolute_uri(value.get_absolute_url())


extend_schema_field({"type": "string", "format": "uri"})(PageUrlField)


class PersonField(serializers.Field):
    """A person by display name (core.roles.person_shown: the full name, else the username for
    the secretariat and a word for their role for everyone else): never an email."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, user) -> str:
        request = self.context.get("request")
        return person_shown(user, reader=request.user if request is not None else None)


extend_schema_field({"type": "string", "nullable": True})(PersonField)


def internal_reader(serializer) -> bool:
    return bool(serializer.context.get("internal_reader"))


class ParagraphRefSerializer(serializers.ModelSerializer):
    """A paragraph named by its document and number."""

    document = serializers.SlugRelatedField(slug_field="short_name", read_only=True)
    url = PageUrlField()

    class Meta:
        model = Paragraph
        fields = ["document", "number", "url"]


class ParagraphSerializer(ParagraphRefSerializer):
    commitments = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Paragraph
        fields = ["document", "number", "operative_verb", "text", "url", "commitments"]


class DocumentSerializer(serializers.ModelSerializer):
    url = PageUrlField()
    paragraph_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Document
        fields = [
            "short_name",
            "symbol",
            "title",
            "alternative_title",
            "place",
            "adopted_on",
            "published_on",
            "source_url",
            "language",
            "url",
            "paragraph_count",
        ]


class DocumentLinkSerializer(serializers.Serializer):
    kind = serializers.CharField()
    document = serializers.CharField(help_text="The other document's short name.")


class DocumentDetailSerializer(DocumentSerializer):
    preamble = serializers.CharField()
    paragraphs = ParagraphSerializer(many=True, read_only=True)
    links = serializers.SerializerMethodField(help_text="What it does to other documents.")
    linked_from = serializers.SerializerMethodField(help_text="What other documents do to it.")

    class Meta(DocumentSerializer.Meta):
        fields = [f for f in DocumentSerializer.Meta.fields if f != "paragraph_count"] + [
            "preamble",
            "paragraphs",
            "links",
            "linked_from",
        ]

    @extend_schema_field(DocumentLinkSerializer(many=True))
    def get_links(self, document):
        return [
            {"kind": link.kind, "document": link.to_document.short_name}
            for link in document.links_from.all()
        ]

    @extend_schema_field(DocumentLinkSerializer(many=True))
    def get_linked_from(self, document):
        return [
            {"kind": link.kind, "document": link.from_document.short_name}
            for link in document.links_to.all()
        ]


class ActorSerializer(serializers.ModelSerializer):
    url = PageUrlField()
    lead_count = serializers.IntegerField(read_only=True)
    supporting_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Actor
        fields = ["slug", "name", "kind", "iso_code", "url", "lead_count", "supporting_count"]


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["slug", "name"]


class CommitmentSerializer(serializers.ModelSerializer):
    """A row of the table: the state is the one the reader may see (shown_*: the latest
    public update's for everyone but the secretariat)."""

    url = PageUrlField()
    status = serializers.ChoiceField(choices=Status.choices, source="shown_status")
    progress = serializers.IntegerField(source="shown_progress")
    last_activity_on = serializers.DateField(source="shown_last_activity", allow_null=True)
    paragraphs = ParagraphRefSerializer(many=True, read_only=True)
    lead_actors = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    owner = PersonField(allow_null=True)
    deadline = serializers.ChoiceField(
        choices=[*deadlines.DEADLINE_LABELS, ""], help_text="overdue, due_soon, or empty."
    )
    overdue_since = serializers.DateField(allow_null=True)
    next_due = serializers.DateField(allow_null=True)
    freshness = serializers.ChoiceField(
        choices=[*deadlines.FRESHNESS_LABELS, ""], help_text="Empty for a closed commitment."
    )

    class Meta:
        model = Commitment
        fields = [
            "slug",
            "title",
            "kind",
            "status",
            "progress",
            "last_activity_on",
            "target_date",
            "deadline",
            "overdue_since",
            "next_due",
            "freshness",
            "paragraphs",
            "lead_actors",
            "owner",
            "retired_on",
            "url",
        ]


class MilestoneSerializer(serializers.ModelSerializer):
    proved_by = serializers.SerializerMethodField(
        help_text="The id of the status update reporting it done, if the reader may read it."
    )

    class Meta:
        model = Milestone
        fields = ["position", "title", "due_on", "weight", "done_on", "evidence_url", "proved_by"]

    @extend_schema_field(OpenApiTypes.INT)
    def get_proved_by(self, milestone) -> int | None:
        proof = getattr(milestone, "shown_proof", None)
        return proof.pk if proof is not None else None


class CommitmentDetailSerializer(CommitmentSerializer):
    supporting_actors = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    themes = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    milestones = MilestoneSerializer(source="milestone_list", many=True, read_only=True)
    version = serializers.SerializerMethodField(
        help_text="For the secretariat: the version a change must name (null for others)."
    )

    class Meta(CommitmentSerializer.Meta):
        fields = CommitmentSerializer.Meta.fields + [
            "summary",
            "supporting_actors",
            "themes",
            "reporting_cadence_months",
            "retired_reason",
            "milestones",
            "version",
        ]

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_version(self, commitment):
        # It rises with internal updates too: a liaison seeing it move would learn of them.
        return commitment.version if internal_reader(self) else None


class EvidenceLinkSerializer(serializers.Serializer):
    title = serializers.CharField()
    url = serializers.URLField()


class EvidenceFileSerializer(serializers.Serializer):
    title = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.SerializerMethodField()

    def get_url(self, evidence) -> str:
        path = reverse("commitments:evidence_file", kwargs={"pk": evidence.pk})
        return self.context["request"].build_absolute_uri(path)


class AmendmentSerializer(serializers.Serializer):
    """The correction or withdrawal of an update, as its reader may read it."""

    kind = serializers.ChoiceField(choices=["correction", "withdrawal"], source="amendment")
    id = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    reason = serializers.SerializerMethodField(
        help_text="Why; empty unless the reader is the secretariat or the reason is public."
    )
    author = serializers.SerializerMethodField(help_text="Who, for the secretariat only.")

    def get_reason(self, amendment) -> str:
        return amendment.reason_shown_to(internal_reader=internal_reader(self))

    @extend_schema_field({"type": "string", "nullable": True})
    def get_author(self, amendment):
        return person_name(amendment.author) if internal_reader(self) else None


class StatusUpdateSerializer(serializers.ModelSerializer):
    commitment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = PersonField()
    reported_by = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    amends = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    amended_by = serializers.SerializerMethodField(
        help_text="Its correction or withdrawal, if it no longer holds as written."
    )
    links = EvidenceLinkSerializer(many=True, read_only=True)
    files = EvidenceFileSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = StatusUpdate
        fields = [
            "id",
            "commitment",
            "happened_on",
            "recorded_at",
            "status",
            "progress",
            "narrative",
            "progress_reason",
            "visibility",
            "source",
            "author",
            "reported_by",
            "amendment",
            "amends",
            "amended_by",
            "links",
            "files",
            "url",
        ]

    @extend_schema_field(AmendmentSerializer(allow_null=True))
    def get_amended_by(self, update):
        amended = update.amended_with
        if amended is None:
            return None
        return AmendmentSerializer(amended, context=self.context).data

    def get_url(self, update) -> str:
        page = update.commitment.get_absolute_url()
        return self.context["request"].build_absolute_uri(f"{page}#entry-{update.pk}")


class EventSerializer(serializers.ModelSerializer):
    url = PageUrlField()
    commitments = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)

    class Meta:
        model = Event
        fields = [
            "slug",
            "title",
            "description",
            "kind",
            "rule",
            "start_date",
            "end_date",
            "start_time",
            "time_zone",
            "interval_years",
            "until",
            "anniversary_of_year",
            "is_public",
            "commitments",
            "url",
        ]


class OccurrenceSerializer(serializers.Serializer):
    date = serializers.DateField()
    last_day = serializers.DateField()
    starts_at = serializers.DateTimeField(allow_null=True)
    anniversary = serializers.IntegerField(allow_null=True)


class EventDetailSerializer(EventSerializer):
    next_occurrences = OccurrenceSerializer(many=True, read_only=True)

    class Meta(EventSerializer.Meta):
        fields = EventSerializer.Meta.fields + ["next_occurrences"]
