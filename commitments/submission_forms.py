"""The forms of reports (commitments.submissions): a report, a review, a comment."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import EVIDENCE_LINK_SLOTS, StatusUpdateForm


class ReportForm(StatusUpdateForm):
    """What a liaison or a contributor reports: a status update's fields but its visibility
    (a report is published as a public update), and where the commitment has milestones,
    no figure but the milestone they believe done, in their words."""

    milestone_note = forms.CharField(
        required=False,
        max_length=300,
        label=_("Milestone you believe done"),
        help_text=_("Optional: name the milestone this report shows done, in your words."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["visibility"], self.fields["evidence_file_title"]
        self.fields["status"].help_text = _("The status you believe it has now.")
        if not self.has_milestones:
            del self.fields["milestone_note"]

    @classmethod
    def initial_of(cls, report) -> dict:
        """The form's values from a saved report, for its edit page."""
        initial = {
            name: getattr(report, name)
            for name in (
                "status",
                "progress",
                "progress_reason",
                "milestone_note",
                "happened_on",
                "narrative",
                "version",
            )
        }
        for slot, link in enumerate(report.links.all()[:EVIDENCE_LINK_SLOTS], start=1):
            initial[f"link_{slot}_title"], initial[f"link_{slot}_url"] = link.title, link.url
        return initial

    def report_arguments(self) -> dict:
        """The cleaned input as keyword arguments of submissions.report_create/report_update."""
        said = self._said_links()
        data = self.cleaned_data
        values = {
            "status": data["status"],
            "progress": data.get("progress"),
            "progress_reason": data.get("progress_reason", "").strip(),
            "milestone_note": data.get("milestone_note", "").strip(),
            "happened_on": data["happened_on"],
            "narrative": data["narrative"],
        }
        uploads = [data["evidence_file"]] if data.get("evidence_file") else []
        return {"values": values, "links": said, "uploads": uploads}

    def _said_links(self) -> list[tuple[str, str]]:
        data = self.cleaned_data
        return [
            (data[f"link_{slot}_title"].strip(), data[f"link_{slot}_url"])
            for slot in range(1, EVIDENCE_LINK_SLOTS + 1)
            if data[f"link_{slot}_url"]
        ]


class ReportVersionForm(forms.Form):
    """Submitting or publishing: nothing but the version the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReportReturnForm(ReportVersionForm):
    comment = forms.CharField(
        label=_("What should change"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The author reads this with the report, and gets it by email."),
    )


class ReportCommentForm(forms.Form):
    text = forms.CharField(
        label=_("Your comment"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Read only by the secretariat and the people of this report's state or organisation."
        ),
    )
