import copy
import datetime
import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from commitments.models import (
    Actor,
    Commitment,
    Document,
    DocumentLink,
    EvidenceLink,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.statuses import Status
from core.roles import Role
from tracker.demo import DemoDataError, demo_data_read, demo_load, demo_password_choose
from tracker.models import Event, User
from tracker.open_data import open_data_latest

PASSWORD = "demo-password-for-tests"
EXPECTED_COMMITMENTS = {
    "neutrality-in-conflict-prevention": [1, 3, 4],
    "integral-security-and-economic-ties": [2, 11],
    "culture-of-peace-and-trust": [7],
    "group-of-friends-of-neutrality": [9],
    "unrcca-resolution-75th-session": [5, 6],
    "year-and-forum-of-peace-and-trust-2021": [8],
    "international-year-of-peace-and-trust-2025": [8],
    "un-code-of-practice-on-neutrality": [10],
    "ocha-office-in-central-asia": [12],
    "neutrality-research-and-training-centre": [13],
    "international-neutrality-day-events": [14],
    "neutrality-forum-every-five-years": [15],
}


def load(monkeypatch, password: str | None = PASSWORD) -> str:
    """Run the command as `make run` does; return what it printed."""
    if password is None:
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DEMO_PASSWORD", password)
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [Document, Paragraph, Actor, Theme, Commitment, StatusUpdate, EvidenceLink, User]
    models += [Milestone, Event, DocumentLink]
    return {model.__name__: model.objects.count() for model in models}


def logs_in(username: str, password: str) -> bool:
    # django-axes wants the request it checks for lockouts.
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


@pytest.fixture
def loaded(db, monkeypatch):
    return load(monkeypatch)


def test_the_demo_publishes_an_open_data_bundle_for_the_page(db, monkeypatch, settings, tmp_path):
    settings.OPEN_DATA_DIR = tmp_path / "open-data"
    printed = load(monkeypatch)

    latest = open_data_latest()
    assert latest is not None, "the Open data page would say no bundle is published"
    assert (settings.OPEN_DATA_DIR / latest["name"]).exists()
    assert f"Open data: published {latest['name']}" in printed


def test_the_demo_loads_even_where_no_bundle_can_be_published(db, monkeypatch, settings, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    settings.OPEN_DATA_DIR = tmp_path / "a-file" / "open-data"

    load(monkeypatch)

    assert Commitment.objects.exists()


def test_the_seed_document_is_imported_with_its_sixteen_paragraphs_and_both_titles(loaded):
    document = Document.objects.get(short_name="ashgabat-2020")

    assert list(document.paragraphs.values_list("number", flat=True)) == list(range(1, 17))
    assert document.source_url == "https://mfa.gov.tm/en/articles/493"
    assert "ensuring international peace" in document.alternative_title
    assert document.alternative_title != document.title
    assert document.symbol.startswith("Not found")


def test_the_paragraphs_become_the_expected_commitments(loaded):
    commitments = Commitment.objects.prefetch_related("paragraphs")

    assert {c.slug: sorted(p.number for p in c.paragraphs.all()) for c in commitments} == (
        EXPECTED_COMMITMENTS
    )
    assert not Paragraph.objects.get(number=16).commitments.exists()
    assert "¶16 is not tracked" in loaded


def test_every_commitment_is_owned_led_themed_and_has_a_history(loaded):
    secretariat = User.objects.get(username="secretariat")
    for commitment in Commitment.objects.all():
        assert commitment.owner == secretariat, commitment.slug
        assert commitment.title and commitment.summary, commitment.slug
        assert commitment.themes.exists(), commitment.slug
        assert commitment.updates.exists(), commitment.slug
    # The general paragraphs 2 and 11 name no actor; no lead is invented for them.
    unled = Commitment.objects.filter(lead_actors=None).values_list("slug", flat=True)
    assert list(unled) == ["integral-security-and-economic-ties"]


def test_every_status_update_cites_a_full_https_source(loaded):
    updates = StatusUpdate.objects.prefetch_related("links")

    assert updates.count() == 41
    for update in updates:
        urls = [link.url for link in update.links.all()]
        assert urls, f"{update} cites no source"
        assert all(url.startswith("https://") for url in urls), urls


def test_the_current_state_follows_the_facts(loaded):
    state = {c.slug: (c.status, c.kind) for c in Commitment.objects.all()}

    assert state["unrcca-resolution-75th-session"] == (Status.ACHIEVED, "deliverable")
    assert state["year-and-forum-of-peace-and-trust-2021"] == (Status.ACHIEVED, "deliverable")
    assert state["ocha-office-in-central-asia"] == (Status.NOT_STARTED, "deliverable")
    assert state["un-code-of-practice-on-neutrality"] == (Status.STALLED, "deliverable")
    assert state["neutrality-research-and-training-centre"] == (Status.IN_PROGRESS, "deliverable")
    assert state["international-neutrality-day-events"] == (
        Status.RECURRING_ON_TRACK,
        "recurring",
    )
    forum = Commitment.objects.get(slug="neutrality-forum-every-five-years")
    assert (forum.kind, forum.target_date) == ("recurring", datetime.date(2030, 12, 12))
    assert forum.last_activity_on == datetime.date(2025, 12, 12)


def test_uncertain_facts_are_flagged_not_invented(loaded):
    narratives = StatusUpdate.objects.values_list("narrative", flat=True)

    assert any("August or September 2020" in text for text in narratives)
    assert sum("ymbol not found" in text for text in narratives) == 2


def test_the_states_named_in_the_facts_support_the_group_of_friends(loaded):
    group = Commitment.objects.get(slug="group-of-friends-of-neutrality")

    assert set(group.supporting_actors.values_list("iso_code", flat=True)) == {
        "BF",
        "SY",
        "UG",
        "TJ",
    }
    assert group.lead_actors.filter(iso_code="TM").exists()


def test_some_working_notes_are_internal_to_the_secretariat(loaded):
    internal = StatusUpdate.objects.filter(visibility=StatusUpdate.Visibility.INTERNAL)

    assert 1 <= internal.count() <= 3
    assert all(update.narrative.startswith("Working note") for update in internal)


def test_the_demo_accounts_have_their_roles(loaded):
    secretariat = User.objects.get(username="secretariat")
    liaison = User.objects.get(username="liaison")
    admin = User.objects.get(username="admin")

    assert secretariat.role == Role.SECRETARIAT and not secretariat.is_staff
    assert liaison.role == Role.LIAISON and liaison.actor.iso_code == "TM"
    assert not liaison.can_edit_record
    assert admin.is_superuser and admin.is_staff and admin.role == Role.SECRETARIAT
    assert "Open http://127.0.0.1:8000/" in loaded


def test_demo_password_is_the_accounts_password(loaded):
    for username in ["secretariat", "liaison", "admin"]:
        assert logs_in(username, PASSWORD), username
    assert f"password: {PASSWORD}" in loaded


def test_without_demo_password_a_generated_one_is_printed_and_works(db, monkeypatch):
    output = load(monkeypatch, password=None)

    assert "DEMO_PASSWORD is not set" in output
    password = re.search(r"password: (\S+)\)", output).group(1)
    assert len(password) >= 16
    assert logs_in("liaison", password)


def test_an_empty_demo_password_counts_as_unset():
    password, generated = demo_password_choose({"DEMO_PASSWORD": "  "})

    assert generated and password.strip()
    assert demo_password_choose({"DEMO_PASSWORD": "s3cret"}) == ("s3cret", False)


def test_running_twice_changes_nothing_but_the_password(db, monkeypatch):
    load(monkeypatch, password="first-password")
    before = counts()

    output = load(monkeypatch, password="second-password")

    assert counts() == before
    assert "0 created with 0 status updates, 12 already there" in output
    assert logs_in("admin", "second-password")
    assert not logs_in("admin", "first-password")


def test_a_record_edited_since_is_left_as_it_is(loaded, monkeypatch):
    ocha = Commitment.objects.get(slug="ocha-office-in-central-asia")
    Commitment.objects.filter(pk=ocha.pk).update(title="OCHA office (renamed)")
    Document.objects.filter(short_name="ashgabat-2020").update(symbol="A/75/000")
    User.objects.filter(username="liaison").update(actor=None)

    load(monkeypatch)

    assert Commitment.objects.get(pk=ocha.pk).title == "OCHA office (renamed)"
    assert Document.objects.get(short_name="ashgabat-2020").symbol == "A/75/000"
    assert User.objects.get(username="liaison").actor is None


def test_actors_already_there_under_another_slug_are_reused(db, monkeypatch):
    Actor.objects.create(name="Republic of Uganda", slug="ug", kind="member_state", iso_code="UG")

    load(monkeypatch)

    uganda = Actor.objects.get(iso_code="UG")
    assert uganda.slug == "ug"
    assert uganda.supported_commitments.filter(slug="group-of-friends-of-neutrality").exists()


def test_data_that_does_not_fit_the_document_writes_nothing(db):
    data = copy.deepcopy(demo_data_read())
    data["commitments"] = [c for c in data["commitments"] if 12 not in c["paragraphs"]]

    with pytest.raises(DemoDataError, match="Paragraphs of ashgabat-2020"):
        demo_load(password=PASSWORD, data=data)

    assert counts() == dict.fromkeys(counts(), 0)


def test_the_command_reports_bad_data_as_an_error(db, monkeypatch):
    data = copy.deepcopy(demo_data_read())
    data["commitments"][0]["themes"].append("no-such-theme")
    monkeypatch.setattr("tracker.demo.demo_data_read", lambda: data)
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)

    with pytest.raises(CommandError, match="unknown actors or themes.*Nothing was loaded"):
        call_command("load_demo", stdout=StringIO())

    assert not Commitment.objects.exists()


def test_recurring_commitments_are_not_called_late_between_their_occurrences(loaded):
    """Neutrality Day is yearly and the forum five-yearly: their reporting cadences (13 and 62
    months) let the silence between occurrences pass as on time."""
    from commitments.selectors import commitment_dated_list

    secretariat = User.objects.get(username="secretariat")
    dated = commitment_dated_list(user=secretariat, today=datetime.date(2026, 11, 27))
    slugs = set(dated.filter(freshness__in=["late", "very_late"]).values_list("slug", flat=True))

    assert "international-neutrality-day-events" not in slugs
    assert "neutrality-forum-every-five-years" not in slugs
    # The research centre was last discussed in January 2026: ten months of silence is news.
    assert "neutrality-research-and-training-centre" in slugs


def test_the_accounts_file_holds_the_accounts_and_this_runs_password(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    accounts = tmp_path / "var" / "demo-accounts.txt"
    call_command("load_demo", "--accounts-file", str(accounts), stdout=StringIO())
    lines = accounts.read_text().splitlines()
    assert lines[0] == f"Accounts (password: {PASSWORD}):"
    assert [line.split()[0] for line in lines[1:]] == ["secretariat", "liaison", "admin"]
    assert accounts.stat().st_mode & 0o077 == 0  # the password is for its owner's eyes


def test_the_documents_that_followed_link_to_the_2020_document(loaded):
    links = DocumentLink.objects.values_list(
        "from_document__short_name", "kind", "to_document__short_name"
    )
    assert set(links) == {
        ("unrcca-resolution-2021", "implements", "ashgabat-2020"),
        ("a-res-78-266", "follows_up", "ashgabat-2020"),
        ("ashgabat-declaration-2025", "follows_up", "ashgabat-2020"),
    }
