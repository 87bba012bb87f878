"""What a client sends to post a status update, and what it gets back (docs/api.md#writing-a-
status-update). The input is checked by the page's own form (commitments.forms.StatusUpdateForm),
so the API and the page refuse the same things with the same messages."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from commitments.forms import EVIDENCE_LINK_SLOTS, StatusUpdateForm
from commitments.models import EvidenceLink, StatusUpdate
from commitments.statuses import Status

# The form's fields that are the page's alone: an evidence file is uploaded on the page.
PAGE_ONLY_ARGUMENTS = ("upload", "upload_title")


MILESTONES_COMPUTE_PROGRESS = _(
    "This commitment has milestones, so its progress is computed from them: send the update "
    "without progress (and without progress_reason). Nothing was written."
)


class EvidenceLinkInputSerializer(serializers.Serializer):
    # A blank title is the form's to refuse, with the page's message.
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=1000)


def version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        help_text=_(
            "The commitment's version when you read it: if it changed since, nothing is "
            "written and the answer is 409 with the current version."
        ),
    )


class VersionSentSerializer(serializers.Serializer):
    """The version alone, checked before the rest of the input (api.write_views): a stale
    one is a conflict whatever else the input would be refused for."""

    version = version_field()


class StatusUpdateWriteSerializer(serializers.Serializer):
    """A new status update. Needs context: `today` (the poster's) and `has_milestones`."""

    version = version_field()
    status = serializers.ChoiceField(choices=Status.choices)
    progress = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        help_text=_(
            "Per cent done; required, unless the commitment has milestones (then omit it)."
        ),
    )
    progress_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text=_("Why this per cent.")
    )
    happened_on = serializers.DateField(help_text=_("When it happened; not in the future."))
    # Its length is checked by the form, whose message says what to do (NARRATIVE_MAX_CHARACTERS).
    narrative = serializers.CharField()
    visibility = serializers.ChoiceField(
        choices=StatusUpdate.Visibility.choices, default=StatusUpdate.Visibility.PUBLIC
    )
    links = EvidenceLinkInputSerializer(many=True, required=False, max_length=EVIDENCE_LINK_SLOTS)

    def validate(self, attrs: dict) -> dict:
        if self.context["has_milestones"] and attrs.get("progress") is not None:
            # The form's own message speaks to a page opened before the milestones were
            # added; a client sending a figure is told what to send instead.
            raise serializers.ValidationError({"progress": [MILESTONES_COMPUTE_PROGRESS]})
        form = StatusUpdateForm(
            self._form_data(attrs),
            today=self.context["today"],
            has_milestones=self.context["has_milestones"],
            adopted_on=self.context.get("adopted_on"),
        )
        if not form.is_valid():
            raise serializers.ValidationError(_form_errors(form))
        arguments = form.service_arguments()
        for name in PAGE_ONLY_ARGUMENTS:
            arguments.pop(name)
        return arguments

    @staticmethod
    def _form_data(attrs: dict) -> dict:
        data = {
            "version": attrs["version"],
            "status": attrs["status"],
            "progress_reason": attrs.get("progress_reason", ""),
            "happened_on": attrs["happened_on"].isoformat(),
            "narrative": attrs["narrative"],
            "visibility": attrs["visibility"],
        }
        if attrs.get("progress") is not None:
            data["progress"] = attrs["progress"]
        for slot, link in enumerate(attrs.get("links", []), start=1):
            data[f"link_{slot}_title"] = link.get("title", "")
            data[f"link_{slot}_url"] = link["url"]
        return data


def _form_errors(form: StatusUpdateForm) -> dict:
    """The form's messages under the API's field names, shaped as REST framework's own:
    `links` by the refused link's place in the list (from 0), the form's own (`__all__`) as
    `non_field_errors`."""
    errors: dict = {}
    for name, messages in form.errors.items():
        if name.startswith("link_"):
            _prefix, slot, part = name.split("_")
            errors.setdefault("links", {}).setdefault(int(slot) - 1, {})[part] = list(messages)
        elif name == "__all__":
            errors["non_field_errors"] = list(messages)
        else:
            errors[name] = list(messages)
    return errors


class EvidenceLinkReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = EvidenceLink
        fields = ["title", "url"]


class StatusUpdateWrittenSerializer(serializers.ModelSerializer):
    links = EvidenceLinkReadSerializer(many=True, read_only=True)

    class Meta:
        model = StatusUpdate
        fields = [
            "id",
            "happened_on",
            "recorded_at",
            "status",
            "progress",
            "progress_reason",
            "narrative",
            "visibility",
            "links",
        ]


class CommitmentVersionSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    version = serializers.IntegerField()


class StatusUpdatePostedSerializer(serializers.Serializer):
    """The answer to a post: the new update, and the commitment's new version."""

    update = StatusUpdateWrittenSerializer()
    commitment = CommitmentVersionSerializer()


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    """409: a stale version or a retired commitment; nothing was written."""

    detail = serializers.CharField()
    current_version = serializers.IntegerField()
