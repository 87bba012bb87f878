"""The secretariat's set-up work: documents, actors, themes, commitments.

Status updates are a trail: the admin shows them but cannot change or delete them, and new
ones are posted on the commitment page, through services.status_update_create, so that the
commitment's current state and version stay in step.
"""

from functools import partial

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import caching
from core.editing import VersionedModelAdmin
from core.roles import owner_candidates_q

from .models import (
    Actor,
    Commitment,
    Document,
    EvidenceFile,
    EvidenceLink,
    Paragraph,
    StatusUpdate,
    Theme,
)

# An address typed without a scheme is taken as https (Django 6's default, chosen now).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class ParagraphInline(admin.StackedInline):
    model = Paragraph
    extra = 0
    fields = ["number", "operative_verb", "text"]


@admin.register(Document)
class DocumentAdmin(VersionedModelAdmin):
    list_display = ["short_name", "title", "place", "adopted_on"]
    search_fields = ["short_name", "symbol", "title", "alternative_title"]
    prepopulated_fields = {"short_name": ["title"]}
    inlines = [ParagraphInline]
    formfield_overrides = HTTPS_URLS


@admin.register(Actor)
class ActorAdmin(VersionedModelAdmin):
    list_display = ["name", "kind", "iso_code"]
    list_filter = ["kind"]
    search_fields = ["name", "iso_code"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Theme)
class ThemeAdmin(VersionedModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class CommitmentAdminForm(forms.ModelForm):
    """Carries the version the page was opened at, so an edit made meanwhile is not overwritten."""

    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Commitment
        fields = [
            "title", "slug", "summary", "paragraphs", "lead_actors", "supporting_actors",
            "kind", "owner", "target_date", "themes", "reporting_cadence_months",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["opened_version"].initial = self.instance.version
        owner = self.fields["owner"]
        # Secretariat staff only (Commitment.clean says why). The current owner stays listed
        # when no longer eligible, so the form shows who it is and clean() asks for another
        # instead of the empty choice silently clearing it.
        current = Q(pk=self.instance.owner_id) if self.instance.owner_id else Q(pk__in=[])
        owner.queryset = owner.queryset.filter(owner_candidates_q() | current)
        owner.error_messages["invalid_choice"] = _(
            "Only active secretariat staff can own a commitment: choose one from the list, "
            "or leave the owner empty."
        )

    def clean(self):
        cleaned = super().clean()
        opened = cleaned.get("opened_version")
        if self.instance.pk and opened is not None:
            current = Commitment.objects.filter(pk=self.instance.pk).values_list(
                "version", flat=True
            )
            if current.first() != opened:
                raise forms.ValidationError(
                    "Someone changed this commitment (or posted a status update) after you "
                    "opened this page. Open it again to see the current values; nothing was saved."
                )
        return cleaned


class KeptOwnerFilter(admin.RelatedOnlyFieldListFilter):
    """The owners of some commitment, kept with the catalogue (core.caching.CATALOGUE): Django
    reads them as the distinct owners of every commitment, a scan of the whole table (0.29 s
    at 200,000 commitments) on every page of the change list."""

    def field_choices(self, field, request, model_admin):
        choices = partial(super().field_choices, field, request, model_admin)
        return caching.cached(caching.CATALOGUE, ("admin-owners", get_language()), choices)


# What the change list's document filter asked for in its links (a document's id), before the
# filter was taken out of the list (CommitmentAdmin.list_filter).
DOCUMENT_LOOKUPS = {"paragraphs__document__id__exact", "paragraphs__document__exact"}


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin):
    form = CommitmentAdminForm
    list_display = ["title", "status", "progress", "kind", "owner", "target_date"]
    # The owner filter lists only people who own a commitment, not every account; the change
    # list skips counting the whole table again beside the filtered count. A document is found
    # by its exact short name in the search box, not in a filter: a filter lists every document
    # on every page (2,000 links at ten times the benchmark's data, the page 110 -> 276 KB and
    # 87 -> 147 ms to make), and the commitments table's document filter is the readers' own.
    # The filter's addresses still filter (DOCUMENT_LOOKUPS), so links kept from it still work.
    list_filter = ["status", "kind", "themes", ("owner", KeptOwnerFilter)]
    show_full_result_count = False
    search_fields = ["title", "summary", "paragraphs__text", "=paragraphs__document__short_name"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["paragraphs", "lead_actors", "supporting_actors", "themes"]
    list_select_related = ["owner"]
    # The current state copies the latest status update; it is changed by posting one.
    readonly_fields = ["status", "progress", "last_activity_on", "version"]

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in DOCUMENT_LOOKUPS or super().lookup_allowed(lookup, value, request)

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = super().get_paginator(
            request, queryset, per_page, orphans, allow_empty_first_page
        )
        if not queryset.query.where:  # no filter, no search: every commitment, counted once
            count = caching.cached(caching.CATALOGUE, ("admin-commitments",), queryset.count)
            paginator.count = count  # Paginator.count is a cached property: this is its value
        return paginator

    def save_model(self, request, obj, form, change):
        if change:
            # Only the columns the form edits: the state copied from the history (status,
            # public_status, ...) as loaded when the request began must not overwrite a status
            # update posted since the version check.
            edited = [f.name for f in obj._meta.concrete_fields if f.name in form.fields]
            obj.save(update_fields=edited)
        else:
            super().save_model(request, obj, form, change)
        if change:
            # Every write raises the version: an update form opened before this edit is refused.
            Commitment.objects.filter(pk=obj.pk).update(version=F("version") + 1)
            obj.refresh_from_db(fields=["version"])

    def has_delete_permission(self, request, obj=None):
        # A commitment with a history is part of the trail: mark it "no longer pursued" instead.
        if obj is not None and obj.updates.exists():
            return False
        return super().has_delete_permission(request, obj)


class ReadOnlyMixin:
    """Neither add, change nor delete here: the history is appended on the commitment page."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EvidenceLinkInline(ReadOnlyMixin, admin.TabularInline):
    model = EvidenceLink
    extra = 0
    formfield_overrides = HTTPS_URLS


class EvidenceFileInline(ReadOnlyMixin, admin.TabularInline):
    model = EvidenceFile
    extra = 0
    fields = ["title", "download", "content_type", "size"]
    readonly_fields = fields

    @admin.display(description="File")
    def download(self, obj):
        # Through the view that checks access; MEDIA_URL itself is not served.
        url = reverse("commitments:evidence_file", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.file.name)


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["commitment", "happened_on", "status", "progress", "visibility", "author"]
    list_filter = ["status", "visibility", "happened_on"]
    search_fields = ["commitment__title", "narrative"]
    list_select_related = ["commitment", "author"]
    date_hierarchy = "happened_on"
    inlines = [EvidenceLinkInline, EvidenceFileInline]
