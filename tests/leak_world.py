"""A record with a marker planted in every field the public must never read (the open record's
leak tests: tests/test_public_record_leaks.py).

MARKER is in: an internal status update (narrative, progress reason, evidence link title and
address, evidence file title), the internal reason of a withdrawn public update and of a corrected
one, an internal event (title, description), a report still in draft, a returned report's comment
and its conversation, every user's email address, and the login names of everyone but the reader
(the secretariat's, who has no full name and so reads to others as "the secretariat"
(core.roles.person_shown), the supervisor's, the state's liaison's). Everything else is ordinary
public record that the pages, feeds, API and bundle do show, a retired commitment among it. Used by
tests/test_public_record_leaks.py and tests/test_public_site.py."""

import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from commitments import services, submissions
from commitments.models import StatusUpdate
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    EventFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
)

MARKER = "ZQXLEAKMARK"
PUBLIC = StatusUpdate.Visibility.PUBLIC
INTERNAL = StatusUpdate.Visibility.INTERNAL


class MarkedWorld:
    def __init__(self):
        self.secretariat = SecretariatFactory(
            username=f"officer-{MARKER}", email=f"officer-{MARKER}@example.org"
        )
        self.liaison = LiaisonFactory(
            username=f"diplomat-{MARKER}",
            email=f"diplomat-{MARKER}@example.org",
            actor__name="Turkmenistan",
        )
        self.actor = self.liaison.actor
        # A liaison of a state no commitment here concerns: reads the public record alone (the
        # first liaison also reads their own state's internal event and their own draft).
        # In UTC, so that their pages read the same days as an anonymous visitor's.
        self.outside_liaison = LiaisonFactory(
            username="observer",
            email=f"observer-{MARKER}@example.org",
            actor__name="Austria",
            time_zone="UTC",
        )
        self.theme = ThemeFactory(name="Neutrality")
        self.document = DocumentFactory(short_name="ashgabat-2020")
        self.paragraph = ParagraphFactory(document=self.document, number=5)
        self.commitment = CommitmentFactory(
            title="Group of Friends of Neutrality",
            paragraphs=[self.paragraph],
            lead_actors=[self.actor],
            owner=self.secretariat,
            supervisor=SecretariatFactory(
                username=f"supervisor-{MARKER}", email=f"supervisor-{MARKER}@example.org"
            ),
        )
        self.commitment.themes.add(self.theme)
        self.public = self.update(PUBLIC, "The group met in New York.", datetime.date(2021, 3, 1))
        upload = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4 minutes", "application/pdf")
        self.public_file = services.evidence_file_attach(update=self.public, upload=upload)
        self.internal = self.update(
            INTERNAL,
            f"Internal note {MARKER}",
            datetime.date(2021, 4, 1),
            progress_reason=f"Internal reason for the figure {MARKER}",
            links=[(f"Internal source {MARKER}", f"https://example.org/{MARKER}")],
        )
        upload = SimpleUploadedFile("note.pdf", b"%PDF-1.4 note", "application/pdf")
        self.internal_file = services.evidence_file_attach(
            update=self.internal, upload=upload, title=f"File {MARKER}"
        )
        withdrawn = self.update(PUBLIC, "A meeting that did not happen.", datetime.date(2021, 5, 1))
        self.withdrawal = services.status_update_withdraw(
            update=withdrawn,
            author=self.secretariat,
            reason=f"Withdrawn for an internal reason {MARKER}",
            expected_version=self.version(),
        )
        corrected = self.update(PUBLIC, "The group had 40 members.", datetime.date(2021, 6, 1))
        self.correction = services.status_update_correct(
            update=corrected,
            author=self.secretariat,
            status="in_progress",
            progress=45,
            narrative="The group had 41 members.",
            reason=f"Corrected for an internal reason {MARKER}",
            expected_version=self.version(),
        )
        self.public_event = EventFactory(
            title="Neutrality Day", start_date=datetime.date(2017, 12, 12)
        )
        self.internal_event = EventFactory(
            title=f"Internal planning {MARKER}",
            description=f"Who attends {MARKER}",
            is_public=False,
        )
        self.internal_event.commitments.add(self.commitment)
        self.public_event.commitments.add(self.commitment)
        draft = submissions.report_create(
            commitment=self.commitment,
            author=self.liaison,
            values={
                "status": "in_progress",
                "happened_on": datetime.date(2021, 7, 1),
                "narrative": f"A draft report {MARKER}",
            },
        )
        self.draft_report = draft
        self.returned_report = self.returned(f"Returned with a comment {MARKER}")
        self.retired = CommitmentFactory(title="An old promise", paragraphs=[self.paragraph])
        services.commitment_retire(
            commitment=self.retired,
            expected_version=self.retired.version,
            reason="Merged into the group.",
            retired_by=self.secretariat,
            retired_on=datetime.date(2022, 1, 1),
        )

    def returned(self, comment: str):
        """A report of the state's, submitted, discussed and returned with `comment`."""
        values = {
            "status": "in_progress",
            "happened_on": datetime.date(2021, 8, 1),
            "narrative": "The group met again.",
        }
        report = submissions.report_create(
            commitment=self.commitment, author=self.liaison, values=values
        )
        report = submissions.report_submit(report=report, expected_version=report.version)
        submissions.report_comment_add(
            report=report, author=self.secretariat, text=f"A question in the conversation {MARKER}"
        )
        report.refresh_from_db()
        return submissions.report_return(
            report=report,
            reviewer=self.secretariat,
            comment=comment,
            expected_version=report.version,
        )

    def version(self) -> int:
        self.commitment.refresh_from_db()
        return self.commitment.version

    def update(self, visibility, narrative, happened_on, **extra):
        return services.status_update_create(
            commitment=self.commitment,
            author=self.secretariat,
            status="in_progress",
            progress=40,
            narrative=narrative,
            happened_on=happened_on,
            visibility=visibility,
            **extra,
        )
