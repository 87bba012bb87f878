"""The site's URLs and one of everything they can point at, for the tests that walk every URL
(tests/test_roles.py: who may do what; tests/test_cache_headers.py: what may be kept).

A new URL pattern with arguments needs an entry in KWARGS saying how to reach it."""

import datetime
import zipfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from commitments import milestones, services, submissions
from commitments.models import BulkImport, CommitmentRelation, StatusUpdate
from tests.factories import (
    CommitmentFactory,
    ContributorFactory,
    DocumentFactory,
    EventFactory,
    LiaisonFactory,
    ParagraphFactory,
    SecretariatFactory,
    ThemeFactory,
    UserFactory,
)
from tracker import accounts, reminders
from tracker.api_tokens import api_token_create
from tracker.models import Invitation, Reminder
from tracker.models.invitations import invitation_token_hash


def walk(patterns, namespace: str = "", prefix: str = ""):
    """Yield (name, route) for every URL pattern, with namespaces joined as reverse() wants."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from walk(pattern.url_patterns, inner, route)
        elif isinstance(pattern, URLPattern):
            name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else None
            yield name or f"unnamed {route}", route


class World:
    """One of everything a URL can point at, built with the factories."""

    def __init__(self):
        self.users = {
            "anonymous": None,
            "liaison": LiaisonFactory(username="diplomat", actor__name="Turkmenistan"),
            "secretariat": SecretariatFactory(username="officer"),
            "admin": UserFactory(username="root", is_staff=True, is_superuser=True),
        }
        self.actor = self.users["liaison"].actor
        self.theme = ThemeFactory()
        self.document = DocumentFactory()
        self.follow_up = DocumentFactory(
            title="Declaration", adopted_on=datetime.date(2025, 12, 12)
        )
        self.document_link = services.document_link_create(
            from_document=self.follow_up,
            to_document=self.document,
            kind="follows_up",
            author=self.users["secretariat"],
        )
        paragraph = ParagraphFactory(document=self.document)
        self.commitment = CommitmentFactory(paragraphs=[paragraph], lead_actors=[self.actor])
        self.relation = CommitmentRelation.objects.create(
            from_commitment=self.commitment,
            to_commitment=CommitmentFactory(paragraphs=[paragraph]),
            kind=CommitmentRelation.Kind.RELATED_TO,
        )
        self.milestone = milestones.milestone_create(
            commitment=self.commitment, author=self.users["secretariat"], title="Office", weight=1
        )
        self.public_file = self.evidence(StatusUpdate.Visibility.PUBLIC)
        self.internal_file = self.evidence(StatusUpdate.Visibility.INTERNAL)
        self.event = EventFactory(title="Neutrality Day", start_date=datetime.date(1995, 12, 12))
        self.private_event = EventFactory(title="Internal planning", is_public=False)
        self.bulk_import = BulkImport.objects.create(
            created_by=self.users["secretariat"], file_name="commitments.csv"
        )
        self.failed_reminder = self.reminder(Reminder.State.FAILED)
        self.unsubscribe_token = reminders.unsubscribe_token(
            user=self.users["liaison"], scope="all"
        )
        self.invitation_token = self.invitation("open-invitation-token")
        self.used_invitation_token = self.invitation("used-invitation-token", used=True)
        liaison = self.users["liaison"]
        self.report = self.submitted_report()
        self.contributor_report = self.submitted_report(contributor=True)
        self.email_change_token = accounts.email_change_token(
            user=liaison, new_email="new-address@example.org"
        )
        self.open_data_zip = self.open_data()

    def open_data(self) -> str:
        """A published open-data zip (a stand-in: writing a real bundle for every test of the
        roles table would cost a second each; tests/tracker/test_open_data.py writes real ones)."""
        name = "open-data-20261212T020000Z.zip"
        folder = Path(settings.OPEN_DATA_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(folder / name, "w") as archive:
            archive.writestr("README.md", "# A stand-in bundle\n")
        return name

    def password_reset(self) -> dict:
        """The liaison's reset link as of now: a log-in (force_login) changes the token."""
        liaison = type(self.users["liaison"]).objects.get(pk=self.users["liaison"].pk)
        return {
            "uidb64": urlsafe_base64_encode(force_bytes(liaison.pk)),
            "token": default_token_generator.make_token(liaison),
        }

    def invitation(self, token: str, used: bool = False) -> str:
        Invitation.objects.create(
            email=f"{token}@example.org",
            role="liaison",
            actor=self.actor,
            language="en",
            token_hash=invitation_token_hash(token),
            expires_at=timezone.now() + datetime.timedelta(days=7),
            accepted_at=timezone.now() if used else None,
        )
        return token

    def submitted_report(self, *, contributor: bool = False):
        """A report waiting for review, with a file: by the liaison's state, or by a
        contributor's organisation (which the liaison does not find)."""
        author = self.users["liaison"]
        if contributor:
            author = ContributorFactory(username="researcher", actor__name="Neutrality Institute")
        values = {
            "status": "in_progress",
            "happened_on": datetime.date(2021, 5, 1),
            "narrative": "The office opened.",
        }
        upload = SimpleUploadedFile("annex.pdf", b"%PDF-1.4 annex", "application/pdf")
        report = submissions.report_create(
            commitment=self.commitment, author=author, values=values, uploads=[upload]
        )
        return submissions.report_submit(report=report, expected_version=report.version)

    def reminder(self, state):
        now = timezone.now()
        return Reminder.objects.create(
            kind=Reminder.Kind.DIGEST,
            recipient=self.users["secretariat"],
            due_on=now.date(),
            due_at=now,
            state=state,
        )

    def evidence(self, visibility):
        update = services.status_update_create(
            commitment=self.commitment,
            author=self.users["secretariat"],
            status="in_progress",
            progress=None,
            narrative=f"A {visibility} update.",
            happened_on=datetime.date(2021, 4, 16),
            visibility=visibility,
        )
        upload = SimpleUploadedFile("report.pdf", b"%PDF-1.4 report", "application/pdf")
        return services.evidence_file_attach(update=update, upload=upload)


# How each URL's arguments come from the world; URLs without arguments need no entry.
KWARGS = {
    "commitments:bulk_import_detail": lambda w: {"pk": w.bulk_import.pk},
    "commitments:bulk_import_apply": lambda w: {"pk": w.bulk_import.pk},
    "commitments:bulk_import_status": lambda w: {"pk": w.bulk_import.pk},
    "commitments:bulk_import_report": lambda w: {"pk": w.bulk_import.pk},
    "commitments:commitment_detail": lambda w: {"slug": w.commitment.slug},
    "commitments:filter_choices": lambda w: {"name": "owner"},
    "commitments:commitment_edit": lambda w: {"slug": w.commitment.slug},
    "commitments:commitment_retire": lambda w: {"slug": w.commitment.slug},
    "commitments:commitment_relation_add": lambda w: {"slug": w.commitment.slug},
    "commitments:commitment_relation_remove": lambda w: {
        "slug": w.commitment.slug,
        "pk": w.relation.pk,
    },
    "commitments:milestone_add": lambda w: {"slug": w.commitment.slug},
    "commitments:milestone_edit": lambda w: {"pk": w.milestone.pk},
    "commitments:milestone_done": lambda w: {"pk": w.milestone.pk},
    "commitments:milestone_not_done": lambda w: {"pk": w.milestone.pk},
    "commitments:milestone_move": lambda w: {"pk": w.milestone.pk},
    "commitments:milestone_delete": lambda w: {"pk": w.milestone.pk},
    "commitments:document_detail": lambda w: {"short_name": w.document.short_name},
    "commitments:document_edit": lambda w: {"short_name": w.document.short_name},
    "commitments:document_link_create": lambda w: {"short_name": w.document.short_name},
    "commitments:document_link_delete": lambda w: {
        "short_name": w.document.short_name,
        "pk": w.document_link.pk,
    },
    "commitments:document_report": lambda w: {"short_name": w.document.short_name},
    "commitments:document_report_pdf": lambda w: {"short_name": w.document.short_name},
    "commitments:actor_detail": lambda w: {"slug": w.actor.slug},
    "commitments:commitment_changes_feed": lambda w: {"slug": w.commitment.slug},
    "commitments:actor_changes_feed": lambda w: {"slug": w.actor.slug},
    "commitments:status_update_correct": lambda w: {
        "slug": w.commitment.slug,
        "pk": w.public_file.update_id,
    },
    "commitments:status_update_withdraw": lambda w: {
        "slug": w.commitment.slug,
        "pk": w.public_file.update_id,
    },
    "commitments:actor_edit": lambda w: {"slug": w.actor.slug},
    "commitments:actor_merge": lambda w: {"slug": w.actor.slug},
    "commitments:theme_edit": lambda w: {"slug": w.theme.slug},
    "commitments:evidence_file": lambda w: {"pk": w.public_file.pk},
    "commitments:evidence_file#internal": lambda w: {"pk": w.internal_file.pk},
    "commitments:report_create": lambda w: {"slug": w.commitment.slug},
    "commitments:report_detail": lambda w: {"pk": w.report.pk},
    "commitments:report_detail#contributor": lambda w: {"pk": w.contributor_report.pk},
    "commitments:report_edit": lambda w: {"pk": w.report.pk},
    "commitments:report_submit": lambda w: {"pk": w.report.pk},
    "commitments:report_comment": lambda w: {"pk": w.report.pk},
    "commitments:report_comment#contributor": lambda w: {"pk": w.contributor_report.pk},
    "commitments:report_publish": lambda w: {"pk": w.report.pk},
    "commitments:report_return": lambda w: {"pk": w.report.pk},
    "commitments:report_file": lambda w: {"pk": w.report.files.get().pk},
    "commitments:report_file#contributor": lambda w: {"pk": w.contributor_report.files.get().pk},
    "api:document_detail": lambda w: {"short_name": w.document.short_name},
    "api:actor_detail": lambda w: {"slug": w.actor.slug},
    "api:commitment_detail": lambda w: {"slug": w.commitment.slug},
    "api:commitment_updates": lambda w: {"slug": w.commitment.slug},
    "api:commitment_milestones": lambda w: {"slug": w.commitment.slug},
    "api:event_detail": lambda w: {"slug": w.event.slug},
    "api:event_detail#private": lambda w: {"slug": w.private_event.slug},
    "event_month": lambda w: {"year": 2026, "month": 12},
    "two_factor_reset": lambda w: {"pk": w.users["liaison"].pk},
    "event_detail": lambda w: {"slug": w.event.slug},
    "follow_toggle": lambda w: {"kind": "commitment", "key": w.commitment.slug},
    "follow_toggle#private": lambda w: {"kind": "event", "key": w.private_event.slug},
    "event_detail#private": lambda w: {"slug": w.private_event.slug},
    "event_edit": lambda w: {"slug": w.event.slug},
    "open_data_download": lambda w: {"name": w.open_data_zip},
    "open_data_download#unknown": lambda w: {"name": "open-data-20200101T000000Z.zip"},
    "calendar_personal_feed": lambda w: {"token": w.users["liaison"].calendar_token},
    "calendar_personal_feed#unknown": lambda w: {"token": "no-such-token"},
    "reminder_resend": lambda w: {"pk": w.failed_reminder.pk},
    "reminder_unsubscribe": lambda w: {"token": w.unsubscribe_token},
    "reminder_unsubscribe#forged": lambda w: {"token": w.unsubscribe_token[:-4] + "AAAA"},
    "account_edit": lambda w: {"pk": w.users["liaison"].pk},
    "invitation_accept": lambda w: {"token": w.invitation_token},
    "invitation_accept#used": lambda w: {"token": w.used_invitation_token},
    "api_token_revoke": lambda w: {
        "pk": api_token_create(user=w.users["liaison"], name="Script")[0].pk
    },
    "profile_email_confirm": lambda w: {"token": w.email_change_token},
    "profile_email_confirm#forged": lambda w: {"token": w.email_change_token[:-4] + "AAAA"},
    "password_reset_confirm": lambda w: w.password_reset(),
    "password_reset_confirm#forged": lambda w: w.password_reset() | {"token": "1-forged"},
}


def url_for(key: str, world: World) -> str:
    name = key.split("#")[0]
    return reverse(name, kwargs=KWARGS.get(key, lambda w: {})(world))
