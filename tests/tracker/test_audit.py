"""The audit trail: who changed what, when, from what to what; seen by the secretariat only."""

import datetime

import pytest
import time_machine
from auditlog.middleware import AuditlogMiddleware
from axes.models import AccessFailureLog, AccessLog
from django.template import Context, Template
from django.test import RequestFactory

from core.roles import Role
from tests.factories import ActorFactory, CommitmentFactory, EventFactory, SecretariatFactory
from tracker.audit import SYSTEM_ACTOR, audit_entries_for

pytestmark = pytest.mark.django_db


def as_request_by(user, change):
    """Run `change` inside a request made by `user`, through the middleware that names the actor."""
    request = RequestFactory().post("/anything/")
    request.user = user

    def view(request):
        change()
        return None

    AuditlogMiddleware(view)(request)


def test_a_commitment_change_records_the_user_and_old_and_new_values(secretariat):
    commitment = CommitmentFactory(title="Convene the Group of Friends")

    def rename():
        commitment.title = "Convene the Group of Friends of Neutrality"
        commitment.save()

    as_request_by(secretariat, rename)

    latest = audit_entries_for(commitment, viewer=secretariat)[0]
    assert latest.actor == "officer"
    assert latest.action == "changed"
    title_change = next(c for c in latest.changes if c.field == "title")
    assert (title_change.old, title_change.new) == (
        "Convene the Group of Friends",
        "Convene the Group of Friends of Neutrality",
    )


def test_a_role_change_records_who_made_it_with_labels(secretariat):
    person = SecretariatFactory(username="new-hire", role=Role.LIAISON)

    def promote():
        person.role = Role.SECRETARIAT
        person.save()

    as_request_by(secretariat, promote)

    latest = audit_entries_for(person, viewer=secretariat)[0]
    assert latest.actor == "officer"
    assert [(c.field, c.old, c.new) for c in latest.changes] == [
        ("role", "Member-state liaison", "Secretariat")
    ]


def test_a_login_does_not_fill_the_trail_with_last_login(secretariat, client):
    before = len(audit_entries_for(secretariat, viewer=secretariat))
    client.post("/login/", {"username": "officer", "password": "correct horse battery staple"})
    assert len(audit_entries_for(secretariat, viewer=secretariat)) == before


def test_changes_outside_a_request_are_the_systems(secretariat):
    actor = ActorFactory(name="Turkmenistan")
    actor.name = "Turkmenistan (Permanent Mission)"
    actor.save()

    entries = audit_entries_for(actor, viewer=secretariat)
    assert [e.action for e in entries] == ["changed", "created"]
    assert {e.actor for e in entries} == {SYSTEM_ACTOR}


def test_linking_an_event_to_a_commitment_is_recorded(secretariat):
    event = EventFactory()
    commitment = CommitmentFactory(title="Hold the Neutrality Day event")
    event.commitments.add(commitment)

    latest = audit_entries_for(event, viewer=secretariat)[0]
    assert [(c.old, c.new) for c in latest.changes] == [("", "Hold the Neutrality Day event")]


def test_a_liaison_never_sees_audit_entries(liaison, secretariat):
    commitment = CommitmentFactory()
    commitment.summary = "Changed"
    commitment.save()
    assert audit_entries_for(commitment, viewer=secretariat)
    assert audit_entries_for(commitment, viewer=liaison) == []


def render_trail(user, obj) -> str:
    request = RequestFactory().get("/")
    request.user = user
    template = Template("{% load audit %}{% audit_trail obj %}")
    return template.render(Context({"request": request, "obj": obj}))


def test_the_include_shows_the_history_to_the_secretariat_only(secretariat, liaison):
    commitment = CommitmentFactory(title="Open the OCHA office")
    commitment.title = "Open the OCHA regional office"
    commitment.save()

    html = render_trail(secretariat, commitment)
    assert "Change history" in html
    assert "Open the OCHA regional office" in html
    assert "system" in html
    assert render_trail(liaison, commitment).strip() == ""


def test_the_trail_costs_one_query_however_long(secretariat, django_assert_num_queries):
    commitment = CommitmentFactory()
    for n in range(5):
        commitment.summary = f"Version {n}"
        commitment.save()
    audit_entries_for(commitment, viewer=secretariat)  # warm the content-type cache
    with django_assert_num_queries(1):
        entries = audit_entries_for(commitment, viewer=secretariat)
    assert len(entries) >= 6


def test_login_success_and_failure_are_recorded(client, secretariat):
    client.post("/login/", {"username": "officer", "password": "wrong"})
    client.post("/login/", {"username": "officer", "password": "correct horse battery staple"})

    failure = AccessFailureLog.objects.get()
    assert (failure.username, failure.ip_address) == ("officer", "127.0.0.1")
    assert AccessLog.objects.get().username == "officer"


def test_the_trail_shows_each_change_on_the_readers_clock(secretariat):
    secretariat.time_zone = "Asia/Ashgabat"  # UTC+5
    secretariat.save()
    with time_machine.travel(datetime.datetime(2026, 4, 20, 22, 30, tzinfo=datetime.UTC)):
        commitment = CommitmentFactory(title="Open the OCHA office")

    html = render_trail(secretariat, commitment)

    assert "21 April 2026, 03:30 +05" in html
    assert ">2026-04-20 22:30</time>" not in html  # the server's UTC, as it was
