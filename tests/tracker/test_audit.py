"""The audit trail: who changed what, when, from what to what, read as sentences by the
secretariat only, in their language and on their clock."""

import datetime
import re

import pytest
import time_machine
from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from axes.models import AccessFailureLog, AccessLog
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from commitments.models import EvidenceFile, Milestone, Status
from commitments.services import status_update_create
from core.local_time import zone_named
from core.roles import Role
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    EventFactory,
    EvidenceLinkFactory,
    ParagraphFactory,
    SecretariatFactory,
    StatusUpdateFactory,
    ThemeFactory,
)
from tracker.audit import FIELD_LABELS, _hidden, _value, audit_entries_for

pytestmark = pytest.mark.django_db

MARCH_3 = datetime.datetime(2026, 3, 3, 9, 5, 30, 123456, tzinfo=datetime.UTC)


def as_request_by(user, change):
    """Run `change` inside a request made by `user`, through the middleware that names the actor."""
    request = RequestFactory().post("/anything/")
    request.user = user

    def view(request):
        change()
        return None

    AuditlogMiddleware(view)(request)


def sentences(obj, viewer) -> list[str]:
    return [s for entry in audit_entries_for(obj, viewer=viewer) for s in entry.sentences]


def render_trail(user, obj) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load audit %}{% audit_trail obj %}")
    return template.render(Context({"request": request, "obj": obj}))


def edit(obj, **values):
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()


# Every model the tracker writes is in the trail.


def evidence_file(update):
    return EvidenceFile.objects.create(
        update=update,
        title="Founding charter",
        file=f"evidence/{update.commitment_id}/charter.pdf",
        content_type="application/pdf",
        size=1000,
    )


NEWLY_AUDITED = {
    "document": (DocumentFactory, "title"),
    "paragraph": (ParagraphFactory, "text"),
    "theme": (ThemeFactory, "name"),
    "evidence link": (EvidenceLinkFactory, "title"),
    "evidence file": (lambda: evidence_file(StatusUpdateFactory()), "title"),
    "milestone": (lambda: Milestone.objects.create(commitment=CommitmentFactory()), "title"),
}


@pytest.mark.parametrize("kind", NEWLY_AUDITED)
def test_each_model_records_its_creation_change_and_deletion(kind):
    make, field = NEWLY_AUDITED[kind]
    obj = make()
    edit(obj, **{field: "Renamed"})
    model, pk = type(obj), obj.pk
    obj.delete()

    log = LogEntry.objects.filter(content_type__model=model._meta.model_name, object_pk=str(pk))
    assert sorted(log.values_list("action", flat=True)) == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    assert log.get(action=LogEntry.Action.UPDATE).changes_dict[field][1] == "Renamed"


def test_every_audited_field_has_a_name_the_reader_knows():
    """A model added to the trail needs its fields in tracker.audit.FIELD_LABELS (and Russian)."""
    unnamed = []
    for model in auditlog.get_models():
        tracked = auditlog.get_model_fields(model)["include_fields"]
        for field in model._meta.get_fields():
            visible = (field.concrete or field.many_to_many) and not _hidden(field)
            if not visible or (tracked and field.name not in tracked):
                continue
            if field.name not in FIELD_LABELS and (
                f"{model._meta.label_lower}.{field.name}" not in FIELD_LABELS
            ):
                unnamed.append(f"{model._meta.label}.{field.name}")
    assert unnamed == []


# The sentences, for each kind of field.


@pytest.fixture
def commitment(db):
    with time_machine.travel(MARCH_3):
        return CommitmentFactory(title="Open the OCHA office", owner=None, paragraphs=[])


def test_a_creation_names_who_made_it(commitment, secretariat):
    as_request_by(secretariat, lambda: CommitmentFactory(title="Found the centre", owner=None))
    from commitments.models import Commitment

    created = Commitment.objects.get(title="Found the centre")
    assert sentences(created, secretariat)[-1] == "Created by officer"


def test_a_change_outside_a_request_is_the_systems(commitment, secretariat):
    assert sentences(commitment, secretariat) == ["Created by the system"]


def test_plain_text_reads_from_old_to_new(commitment, secretariat):
    as_request_by(secretariat, lambda: edit(commitment, title="Open the OCHA regional office"))
    assert sentences(commitment, secretariat)[0] == (
        "Title changed from Open the OCHA office to Open the OCHA regional office by officer"
    )


def test_a_choice_reads_by_its_label(commitment, secretariat):
    as_request_by(secretariat, lambda: edit(commitment, kind="recurring"))
    assert sentences(commitment, secretariat)[0] == (
        "Kind changed from One-off deliverable to Recurring by officer"
    )


def test_a_person_reads_by_name_and_emptiness_as_set_and_cleared(commitment, secretariat):
    alice = SecretariatFactory(username="alice")
    bob = SecretariatFactory(username="bob")
    as_request_by(secretariat, lambda: edit(commitment, owner=alice))
    as_request_by(secretariat, lambda: edit(commitment, owner=bob))
    as_request_by(secretariat, lambda: edit(commitment, owner=None))

    assert sentences(commitment, secretariat)[:3] == [
        "Owner cleared (was bob) by officer",
        "Owner changed from alice to bob by officer",
        "Owner set to alice by officer",
    ]


def test_a_date_reads_in_the_sites_day_format(commitment, secretariat):
    as_request_by(secretariat, lambda: edit(commitment, target_date=datetime.date(2026, 12, 31)))
    as_request_by(secretariat, lambda: edit(commitment, target_date=None))

    assert sentences(commitment, secretariat)[:2] == [
        "Target date cleared (was 31 December 2026) by officer",
        "Target date set to 31 December 2026 by officer",
    ]


def test_linked_actors_read_as_added_and_removed(commitment, secretariat):
    turkmenistan = ActorFactory(name="Turkmenistan")
    as_request_by(secretariat, lambda: commitment.lead_actors.add(turkmenistan))
    as_request_by(secretariat, lambda: commitment.lead_actors.remove(turkmenistan))

    assert sentences(commitment, secretariat)[:2] == [
        "Lead actors: Turkmenistan removed by officer",
        "Lead actors: Turkmenistan added by officer",
    ]


def test_a_status_update_reads_as_the_change_of_status(commitment, secretariat):
    status_update_create(
        commitment=commitment,
        author=secretariat,
        status=Status.IN_PROGRESS,
        progress=40,
        narrative="Started.",
        happened_on=datetime.date(2026, 3, 1),
    )
    status_update_create(
        commitment=commitment,
        author=secretariat,
        status=Status.ACHIEVED,
        progress=100,
        narrative="Opened.",
        happened_on=datetime.date(2026, 3, 2),
        links=[("Opening ceremony", "https://example.org/opening")],
    )

    latest = sentences(commitment, secretariat)
    assert "Status changed from In progress to Achieved by officer" in latest
    assert "Progress changed from 40 to 100 by officer" in latest
    # The evidence posted with it is in the commitment's history.
    assert any(s.startswith('Evidence link "Opening ceremony" added by') for s in latest)


def test_a_commitments_milestones_are_in_its_history(commitment, secretariat):
    milestone = Milestone.objects.create(commitment=commitment, title="Centre founded")
    as_request_by(secretariat, lambda: edit(milestone, due_on=datetime.date(2026, 6, 30)))
    as_request_by(secretariat, lambda: edit(milestone, done_on=datetime.date(2026, 3, 3)))
    as_request_by(secretariat, lambda: edit(milestone, done_on=None))
    as_request_by(secretariat, milestone.delete)

    assert sentences(commitment, secretariat)[:5] == [
        'Milestone "Centre founded" removed by officer',
        'Milestone "Centre founded" no longer marked done (was done on 3 March 2026) by officer',
        'Milestone "Centre founded" marked done on 3 March 2026 by officer',
        'Milestone "Centre founded": due date set to 30 June 2026 by officer',
        'Milestone "Centre founded" added by the system',
    ]


def test_another_commitments_parts_stay_out(commitment, secretariat):
    Milestone.objects.create(commitment=CommitmentFactory(), title="Elsewhere")
    assert sentences(commitment, secretariat) == ["Created by the system"]


def test_evidence_files_read_by_title_not_their_folder(commitment, secretariat):
    update = StatusUpdateFactory(commitment=commitment)
    evidence = evidence_file(update)
    as_request_by(secretariat, lambda: edit(evidence, file="evidence/1/charter-signed.pdf"))

    assert sentences(commitment, secretariat)[:2] == [
        'Evidence file "Founding charter": file changed from charter.pdf to '
        "charter-signed.pdf by officer",
        'Evidence file "Founding charter" added by the system',
    ]


def test_no_ids_versions_copies_or_none_reach_the_reader(commitment, secretariat):
    def rewrite():
        commitment.version += 1
        commitment.first_paragraph_number = 7
        commitment.save()
        edit(commitment, summary="New summary", target_date=None, version=commitment.version + 1)

    as_request_by(secretariat, rewrite)
    html = render_trail(secretariat, commitment)

    assert "Summary changed from What the paragraph asks for. to New summary" in html
    for leak in ("None", "version", "Version", "First paragraph", f">{commitment.pk}<"):
        assert leak not in html
    # A write that changed only what the reader is not shown is not a line of its own.
    assert len(audit_entries_for(commitment, viewer=secretariat)) == 2


def test_a_role_change_reads_by_its_labels(secretariat):
    person = SecretariatFactory(username="new-hire", role=Role.LIAISON)
    as_request_by(secretariat, lambda: edit(person, role=Role.SECRETARIAT))

    assert sentences(person, secretariat)[0] == (
        "Role changed from Member-state liaison to Secretariat by officer"
    )


def test_a_login_does_not_fill_the_trail_with_last_login(secretariat, client):
    before = len(audit_entries_for(secretariat, viewer=secretariat))
    client.post("/login/", {"username": "officer", "password": "correct horse battery staple"})
    assert len(audit_entries_for(secretariat, viewer=secretariat)) == before


def test_a_yes_or_no_reads_as_words(secretariat):
    person = SecretariatFactory(username="leaver")
    as_request_by(secretariat, lambda: edit(person, is_active=False))

    assert sentences(person, secretariat)[0] == "Active changed from yes to no by officer"


def test_a_recorded_moment_reads_on_the_readers_clock_without_microseconds():
    field = Milestone._meta.get_field("created_at")  # as django-auditlog records one: naive UTC
    recorded = "2026-03-03 09:05:30.123456"
    ashgabat, new_york = (zone_named(name) for name in ("Asia/Ashgabat", "America/New_York"))

    assert _value(field, recorded, ashgabat) == "3 March 2026, 14:05 +05"
    assert _value(field, recorded, new_york) == "3 March 2026, 04:05 EST"


def test_linking_an_event_to_a_commitment_is_recorded(secretariat):
    event = EventFactory()
    event.commitments.add(CommitmentFactory(title="Hold the Neutrality Day event"))

    assert sentences(event, secretariat)[0] == (
        "Commitments: Hold the Neutrality Day event added by the system"
    )


def test_the_sentences_read_in_russian(commitment, secretariat):
    as_request_by(secretariat, lambda: edit(commitment, target_date=datetime.date(2026, 12, 31)))
    as_request_by(secretariat, lambda: edit(commitment, kind="recurring"))
    turkmenistan = ActorFactory(name="Туркменистан")
    as_request_by(secretariat, lambda: commitment.lead_actors.add(turkmenistan))
    milestone = Milestone.objects.create(commitment=commitment, title="Центр основан")
    as_request_by(secretariat, lambda: edit(milestone, done_on=datetime.date(2026, 3, 3)))

    with translation.override("ru"):
        said = sentences(commitment, secretariat)

    assert said == [
        "Этап «Центр основан» отмечен выполненным 3 марта 2026 — officer",
        "Добавлен этап «Центр основан» — автоматически",
        "Поле «Ведущие участники»: добавлено Туркменистан — officer",
        "Поле «Вид» изменено: было Разовый результат, стало Регулярное — officer",
        "Поле «Целевой срок» заполнено: 31 декабря 2026 — officer",
        "Создано — автоматически",
    ]


# Who may read it, on whose clock, at what cost.


def test_a_liaison_never_sees_the_trail(commitment, secretariat, liaison):
    assert audit_entries_for(commitment, viewer=secretariat)
    assert audit_entries_for(commitment, viewer=liaison) == []
    assert render_trail(liaison, commitment).strip() == ""
    assert "Change history" in render_trail(secretariat, commitment)


def test_a_liaisons_commitment_page_has_no_history(liaison_client, liaison):
    commitment = CommitmentFactory(title="Open the OCHA office", lead_actors=[liaison.actor])
    page = liaison_client.get(commitment.get_absolute_url())
    assert page.status_code == 200
    assert "Change history" not in page.content.decode()


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Asia/Ashgabat", "3 March 2026, 14:05 +05"), ("America/New_York", "3 March 2026, 04:05 EST")],
)
def test_each_reader_sees_the_moment_on_their_clock(commitment, secretariat, zone, shown):
    edit(secretariat, time_zone=zone)
    html = render_trail(secretariat, commitment)

    assert f'Created by the system, <time datetime="2026-03-03T09:05Z">{shown}</time>' in html
    text = re.sub(r"<[^>]+>", "", html)
    assert not re.search(r"\d\d:\d\d:\d\d|123|09:05", text)  # no seconds, no UTC clock


def test_the_trail_costs_one_query_however_long(commitment, secretariat, django_assert_num_queries):
    def grow(n):
        for i in range(n):
            edit(commitment, summary=f"Version {i}", owner=SecretariatFactory())
            milestone = Milestone.objects.create(commitment=commitment, title=f"Step {i}")
            edit(milestone, done_on=datetime.date(2026, 3, 3))
            EvidenceLinkFactory(update=StatusUpdateFactory(commitment=commitment))

    grow(2)
    audit_entries_for(commitment, viewer=secretariat)  # warm the content-type cache
    with django_assert_num_queries(1):
        short = audit_entries_for(commitment, viewer=secretariat)
    grow(18)
    with django_assert_num_queries(1):
        long = audit_entries_for(commitment, viewer=secretariat)
    assert len(long) - len(short) == 18 * 4


def test_login_success_and_failure_are_recorded(client, secretariat):
    client.post("/login/", {"username": "officer", "password": "wrong"})
    client.post("/login/", {"username": "officer", "password": "correct horse battery staple"})

    failure = AccessFailureLog.objects.get()
    assert (failure.username, failure.ip_address) == ("officer", "127.0.0.1")
    assert AccessLog.objects.get().username == "officer"


# Sentences of their own: merges, corrections and withdrawals, two-factor authentication.


def test_an_actor_merge_reads_as_a_merge(secretariat):
    from commitments.services import actor_merge

    kept, merged = ActorFactory(name="Neutralia Renamed"), ActorFactory(name="OrgY")
    as_request_by(secretariat, lambda: actor_merge(keep=kept, remove=merged, expected_versions={}))
    said = sentences(kept, secretariat)
    assert said[0] == "OrgY merged into Neutralia Renamed by officer"
    assert not any("Merged changed" in sentence for sentence in said)


@pytest.fixture
def updates(commitment, secretariat):
    def post(narrative, day, links=()):
        return status_update_create(
            commitment=commitment,
            author=secretariat,
            status=Status.IN_PROGRESS,
            progress=40,
            narrative=narrative,
            happened_on=day,
            links=list(links),
        )

    first = post("Talks began.", datetime.date(2026, 3, 1), [("Minutes", "https://example.org/m")])
    second = post("Office leased.", datetime.date(2026, 3, 2))
    return first, second


def correct_and_withdraw(commitment, secretariat, first, second):
    from commitments.services import status_update_correct, status_update_withdraw

    def correct():
        status_update_correct(
            update=first,
            author=secretariat,
            status=Status.IN_PROGRESS,
            progress=30,
            narrative="Talks began, slowly.",
            reason="The figure was too high.",
            expected_version=commitment.__class__.objects.get(pk=commitment.pk).version,
            links=[("Minutes", "https://example.org/m")],
        )

    def withdraw():
        status_update_withdraw(
            update=second,
            author=secretariat,
            reason="Posted on the wrong commitment.",
            expected_version=commitment.__class__.objects.get(pk=commitment.pk).version,
        )

    as_request_by(secretariat, correct)
    as_request_by(secretariat, withdraw)


def test_corrections_and_withdrawals_read_as_such_with_their_reason(
    commitment, secretariat, updates
):
    correct_and_withdraw(commitment, secretariat, *updates)
    said = sentences(commitment, secretariat)
    assert "Update of 2 March 2026 withdrawn by officer: Posted on the wrong commitment." in said
    assert "Update of 1 March 2026 corrected by officer: The figure was too high." in said
    # The link the correction carries over is part of it, not new evidence.
    assert 'Evidence link "Minutes" cited by the correction by officer' in said
    assert said.count('Evidence link "Minutes" added by the system') == 1  # the original's


def test_the_amendment_sentences_read_in_russian(commitment, secretariat, updates):
    correct_and_withdraw(commitment, secretariat, *updates)
    with translation.override("ru"):
        said = sentences(commitment, secretariat)
    assert (
        "Обновление от 1 марта 2026 исправлено — officer. Причина: The figure was too high." in said
    )
    assert (
        "Обновление от 2 марта 2026 отозвано — officer. Причина: Posted on the wrong commitment."
        in said
    )


def test_two_factor_values_read_in_the_readers_language(secretariat):
    from tracker.two_factor import _audit

    _audit(user=secretariat, actor=secretariat, old="off", new="on")
    assert sentences(secretariat, secretariat)[0] == (
        "Two-factor authentication changed from off to on by officer"
    )
    with translation.override("ru"):
        said = sentences(secretariat, secretariat)[0]
    assert "выключена" in said and "включена" in said
    assert not re.search(r"\b(on|off)\b", said)


def test_the_trail_with_amendments_costs_one_query_however_long(
    commitment, secretariat, django_assert_num_queries
):
    def grow(n):
        for _ in range(n):
            correct_and_withdraw(commitment, secretariat, *updates_of(commitment, secretariat))

    grow(1)
    audit_entries_for(commitment, viewer=secretariat)  # warm the content-type cache
    with django_assert_num_queries(1):
        short = audit_entries_for(commitment, viewer=secretariat)
    grow(5)
    with django_assert_num_queries(1):
        long = audit_entries_for(commitment, viewer=secretariat)
    assert len(long) > len(short)


def updates_of(commitment, secretariat):
    made = []
    for day in (4, 5):
        made.append(
            status_update_create(
                commitment=commitment,
                author=secretariat,
                status=Status.IN_PROGRESS,
                progress=40,
                narrative="More.",
                happened_on=datetime.date(2026, 3, day),
                links=[("Minutes", "https://example.org/m")],
            )
        )
    return made
