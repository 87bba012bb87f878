"""Filters of the commitments table. Dropdowns list only what some commitment uses (selectors)."""

import django_filters
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Commitment, Paragraph
from .statuses import Status
from .tables import person_name


class OwnerChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, user) -> str:
        return person_name(user)


class OwnerChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerChoiceField


class ParagraphChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, paragraph: Paragraph) -> str:
        return f"¶{paragraph.number} {paragraph.operative_verb} ({paragraph.document.short_name})"


class ParagraphChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ParagraphChoiceField


class CommitmentFilter(django_filters.FilterSet):
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
    )
    actor = django_filters.ModelChoiceFilter(
        label=_("Actor (lead or supporting)"),
        queryset=lambda request: selectors.filter_choices_actors(),
        method="filter_actor",
        empty_label=_("Any actor"),
    )
    document = django_filters.ModelChoiceFilter(
        label=_("Document"),
        queryset=lambda request: selectors.filter_choices_documents(),
        method="filter_document",
        empty_label=_("Any document"),
        help_text=_("Choose a document and apply to pick one of its paragraphs."),
    )
    paragraph = ParagraphChoiceFilter(
        field_name="paragraphs",
        label=_("Paragraph"),
        queryset=lambda request: selectors.filter_choices_paragraphs(
            document=request and request.GET.get("document"),
            paragraph=request and request.GET.get("paragraph"),
        ),
        empty_label=_("Any paragraph"),
    )
    theme = django_filters.ModelChoiceFilter(
        field_name="themes",
        label=_("Theme"),
        queryset=lambda request: selectors.filter_choices_themes(),
        empty_label=_("Any theme"),
    )
    owner = OwnerChoiceFilter(
        label=_("Owner"),
        queryset=lambda request: selectors.filter_choices_owners(),
        empty_label=_("Anyone"),
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=Commitment.Kind.choices, empty_label=_("Any kind")
    )

    class Meta:
        model = Commitment
        fields = ["q", "status", "actor", "document", "paragraph", "theme", "owner", "kind"]

    def filter_document(self, queryset, name, value):
        # Exists rather than a join on paragraphs, so a commitment never appears twice.
        from_document = Commitment.paragraphs.through.objects.filter(
            commitment=OuterRef("pk"), paragraph__document=value
        )
        return queryset.filter(Exists(from_document))

    def filter_actor(self, queryset, name, value):
        return queryset.filter(selectors.commitments_of_actor(actor=value))

    def filter_text(self, queryset, name, value):
        user = self.request.user if self.request is not None else AnonymousUser()
        return queryset.filter(selectors.commitments_matching_text(user=user, text=value))
