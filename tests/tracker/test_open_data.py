"""The open-data bundle (tracker.open_data, docs/open-data.md): what it holds, that it validates
as a Frictionless Data Package, that nothing internal reaches it, the command's refusals, the
nightly task and the public page."""

import csv
import datetime
import hashlib
import json
import os
import zipfile
from pathlib import Path

import frictionless
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from commitments import milestones, services
from commitments.models import Milestone, Source, StatusUpdate
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    EventFactory,
    SecretariatFactory,
    ThemeFactory,
)
from tracker import open_data, tasks
from tracker.open_data_tables import TABLES

pytestmark = pytest.mark.django_db

# Planted in every internal field: none of them may appear in any file of the bundle.
MARKER = "SECRET-MARKER-7c1f"
DAY = datetime.date(2021, 4, 16)


def update(commitment, author, *, narrative, visibility="public", **extra):
    return services.status_update_create(
        commitment=commitment,
        author=author,
        status="in_progress",
        progress=extra.pop("progress", 40),
        narrative=narrative,
        happened_on=extra.pop("happened_on", DAY),
        visibility=visibility,
        **extra,
    )


def version(commitment) -> int:
    commitment.refresh_from_db()
    return commitment.version


@pytest.fixture
def record():
    """Public and internal updates, a correction, a withdrawal with an internal reason and one
    with a public reason, a contributor's published report, milestones, public and internal
    events; the marker in every internal field and in the users' emails."""
    officer = SecretariatFactory(username="officer", email=f"{MARKER}@example.org")
    state = ActorFactory(name="Turkmenistan", slug="turkmenistan", iso_code="TM")
    theme = ThemeFactory(name="Peace", slug="peace")
    commitment = CommitmentFactory(title="OCHA office", lead_actors=[state])
    commitment.themes.set([theme])
    commitment.supporting_actors.set([ActorFactory(name="UN OCHA", slug="un-ocha")])
    original = update(
        commitment,
        officer,
        narrative="The office was proposed.",
        links=[("Press release", "https://example.org/press")],
    )
    services.status_update_correct(
        update=original,
        author=officer,
        status="in_progress",
        progress=50,
        narrative="The office was proposed by the host state.",
        reason="A typo.",
        reason_public=True,
        expected_version=version(commitment),
    )
    update(
        commitment,
        officer,
        narrative=f"Internal note {MARKER}",
        visibility="internal",
        links=[(f"Memo {MARKER}", f"https://example.org/{MARKER}")],
    )
    withdrawn = update(commitment, officer, narrative="A rumour.", happened_on=DAY.replace(day=20))
    services.status_update_withdraw(
        update=withdrawn,
        author=officer,
        reason=f"Internal reason {MARKER}",
        expected_version=version(commitment),
    )
    retracted = update(commitment, officer, narrative="A mistake.", happened_on=DAY.replace(day=21))
    services.status_update_withdraw(
        update=retracted,
        author=officer,
        reason="Published in error.",
        reason_public=True,
        expected_version=version(commitment),
    )
    update(
        commitment,
        officer,
        narrative="The institute's report.",
        source=Source.CONTRIBUTOR,
        reported_by=ActorFactory(name="Institute", slug="institute", kind="organisation"),
    )
    stepped = CommitmentFactory(title="Forum every five years")
    step = milestones.milestone_create(commitment=stepped, author=officer, title="First", weight=1)
    internal_proof = update(
        stepped, officer, narrative=f"Proof {MARKER}", visibility="internal", progress=None
    )
    Milestone.objects.filter(pk=step.pk).update(done_on=DAY, proved_by=internal_proof)
    EventFactory(title="Neutrality Day", commitments=[commitment])
    EventFactory(title=f"Planning {MARKER}", description=f"Internal {MARKER}", is_public=False)
    EventFactory(title="Retreat", description=f"Agenda {MARKER}", is_public=False)
    return {"commitment": commitment, "withdrawn": withdrawn, "retracted": retracted}


@pytest.fixture
def bundle(record, tmp_path) -> Path:
    target = tmp_path / "bundle"
    call_command("export_open_data", str(target), stdout=open(os.devnull, "w"))  # noqa: SIM115
    return target


def csv_rows(folder: Path, name: str) -> list[dict]:
    with open(folder / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_bundle_validates_as_a_frictionless_data_package(bundle):
    report = frictionless.validate(bundle / "datapackage.json")

    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads((bundle / "datapackage.json").read_text())
    assert package["profile"] == "tabular-data-package"
    assert [r["name"] for r in package["resources"]] == [t.name for t in TABLES]
    for resource in package["resources"]:
        assert resource["schema"]["primaryKey"]
        for field in resource["schema"]["fields"]:
            assert {"name", "type", "format", "description", "constraints"} <= set(field)
            assert field["description"].strip()


def test_no_internal_field_reaches_any_file_of_the_bundle(bundle):
    texts = {path.name: path.read_bytes() for path in bundle.iterdir()}
    (zip_name,) = [name for name in texts if name.endswith(".zip")]
    with zipfile.ZipFile(bundle / zip_name) as archive:
        texts |= {f"zip:{n}": archive.read(n) for n in archive.namelist()}

    assert [name for name, text in texts.items() if MARKER.encode() in text] == []
    assert "@" not in (bundle / "status_updates.csv").read_text()


def test_public_updates_come_with_their_amendments_linked_by_id(bundle, record):
    rows = {int(r["id"]): r for r in csv_rows(bundle, "status_updates")}
    withdrawn, retracted = record["withdrawn"], record["retracted"]
    withdrawal = rows[int(rows[withdrawn.pk]["amended_by_id"])]

    assert withdrawal["amendment"] == "withdrawal"
    assert withdrawal["amends_id"] == str(withdrawn.pk)
    assert withdrawal["reason"] == ""  # the secretariat kept it internal
    assert rows[int(rows[retracted.pk]["amended_by_id"])]["reason"] == "Published in error."
    corrections = [r for r in rows.values() if r["amendment"] == "correction"]
    assert [r["reason"] for r in corrections] == ["A typo."]
    assert rows[int(corrections[0]["amends_id"])]["in_effect"] == "false"
    assert {r["source"] for r in rows.values()} == {"official", "contributor"}
    assert not StatusUpdate.objects.filter(
        pk__in=list(rows), visibility=StatusUpdate.Visibility.INTERNAL
    ).exists()


def test_a_milestone_proved_by_an_internal_update_is_shown_without_its_proof(bundle):
    (row,) = [r for r in csv_rows(bundle, "milestones") if r["title"] == "First"]

    assert row["done_on"] == "2021-04-16"
    assert row["proved_by_update_id"] == ""


def test_only_public_events_are_in_the_bundle(bundle, record):
    rows = csv_rows(bundle, "events")

    assert [r["title"] for r in rows] == ["Neutrality Day"]
    assert rows[0]["commitments"] == record["commitment"].slug


def test_commitments_name_their_links_for_a_spreadsheet_and_link_tables_by_id(bundle, record):
    commitment = record["commitment"]
    (row,) = [r for r in csv_rows(bundle, "commitments") if r["slug"] == commitment.slug]
    paragraph = commitment.paragraphs.get()

    assert row["lead_actors"] == "Turkmenistan"
    assert row["supporting_actors"] == "UN OCHA"
    assert row["themes"] == "Peace"
    assert row["paragraphs"] == f"{paragraph.document.short_name}:{paragraph.number}"
    links = csv_rows(bundle, "commitment_actors")
    assert {(r["actor_id"], r["role"]) for r in links if r["commitment_id"] == row["id"]} == {
        (str(commitment.lead_actors.get().pk), "lead"),
        (str(commitment.supporting_actors.get().pk), "supporting"),
    }


def _as_csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("table", [t.name for t in TABLES if t.name != "actors"])
def test_the_csv_and_json_files_hold_the_same_rows(bundle, table):
    from_json = json.loads((bundle / f"{table}.json").read_text())

    assert [{k: _as_csv(v) for k, v in row.items()} for row in from_json] == csv_rows(bundle, table)
    assert from_json, f"{table} is empty in the test's world"


def test_actors_json_is_popolo_organizations_agreeing_with_the_csv(bundle):
    organizations = json.loads((bundle / "actors.json").read_text())["organizations"]
    rows = {r["id"]: r for r in csv_rows(bundle, "actors")}

    assert sorted(o["id"] for o in organizations) == sorted(rows)
    for organization in organizations:
        row = rows[organization["id"]]
        assert organization["name"] == row["name"]
        assert organization["classification"] == row["kind"]
        assert organization["links"] == [
            {"url": row["page"], "note": organization["links"][0]["note"]}
        ]
        schemes = {i["scheme"]: i["identifier"] for i in organization["identifiers"]}
        assert schemes["commitment-tracker"] == row["slug"]
        assert schemes.get("ISO 3166-1 alpha-2", "") == row["iso_code"]
    (turkmenistan,) = [o for o in organizations if o["name"] == "Turkmenistan"]
    assert {"scheme": "ISO 3166-1 alpha-2", "identifier": "TM"} in turkmenistan["identifiers"]


def test_the_readme_defines_every_field_and_the_zip_holds_every_file(bundle):
    readme = (bundle / "README.md").read_text()
    for table in TABLES:
        assert f"## {table.name}\n" in readme
        for field in table.fields:
            assert f"| {field.name} | {field.type} |" in readme
            assert field.description in readme
    assert "Licence: CC-BY-4.0" in readme
    (zip_path,) = bundle.glob("open-data-*.zip")
    sha256 = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    assert (bundle / f"{zip_path.name}.sha256").read_text() == f"{sha256}  {zip_path.name}\n"
    with zipfile.ZipFile(zip_path) as archive:
        files = {p.name for p in bundle.iterdir() if not p.name.startswith("open-data-")}
        assert set(archive.namelist()) == files


def test_the_readme_lists_every_coded_fields_values_with_their_meaning(bundle):
    """From the same definitions as the schema's enum, not typed twice."""
    readme = (bundle / "README.md").read_text()
    package = json.loads((bundle / "datapackage.json").read_text())
    coded = 0
    for resource in package["resources"]:
        section = readme[readme.index(f"## {resource['name']}\n") :]
        for field in resource["schema"]["fields"]:
            for value in field["constraints"].get("enum", []):
                assert f"\n- `{value}`: " in section, (resource["name"], field["name"], value)
                coded += 1
    assert coded > 20
    assert "- `achieved`: Achieved: What was asked for exists or took place, with evidence." in (
        readme
    )
    for coded in ("- `member_state`: Member state", "- `yearly`: ", "- `lead`: leads it"):
        assert coded in readme


def test_the_page_lists_a_coded_fields_values_and_the_command_with_the_venv(
    client, settings, tmp_path
):
    settings.OPEN_DATA_DIR = tmp_path
    settings.TRACKER_PUBLIC_SITE = True

    text = client.get(reverse("open_data")).content.decode()

    assert "<li><code>in_progress</code>: In progress: Work has begun" in text
    assert '<table class="table open-data-fields">' in text
    assert "<code>.venv/bin/python manage.py export_open_data --publish</code>" in text


def test_a_text_like_a_formula_is_written_exactly_and_the_readme_says_so(record, tmp_path):
    CommitmentFactory(title="=1+1 for the record")
    target = tmp_path / "bundle"
    call_command("export_open_data", str(target), stdout=open(os.devnull, "w"))  # noqa: SIM115

    titles = {row["title"] for row in csv_rows(target, "commitments")}
    assert "=1+1 for the record" in titles  # as the record holds it, for programs
    json_titles = {row["title"] for row in json.loads((target / "commitments.json").read_text())}
    assert titles == json_titles
    assert "is not made safe for spreadsheet programs" in (target / "README.md").read_text()


def test_an_export_replaces_an_earlier_bundle_whole(bundle, record):
    (bundle / "stale.csv").write_text("left from before")

    call_command("export_open_data", str(bundle), stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert not (bundle / "stale.csv").exists()
    assert frictionless.validate(bundle / "datapackage.json").valid
    assert [p.name for p in bundle.parent.iterdir()] == ["bundle"]  # no temporary folder left


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file", "is a file"),
        (lambda tmp: tmp / "missing" / "bundle", "is not a folder"),
        (
            lambda tmp: (
                (tmp / "mine").mkdir()
                or (tmp / "mine" / "notes.txt").write_text("keep")
                and tmp / "mine"
            ),
            "holds other files",
        ),
    ],
)
def test_the_command_refuses_a_bad_folder_and_writes_nothing(record, tmp_path, make, says):
    target = make(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    with pytest.raises(CommandError, match=says) as refusal:
        call_command("export_open_data", str(target))

    assert "Nothing was written" in str(refusal.value)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any folder")
def test_the_command_refuses_a_folder_it_may_not_write_in(record, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)

    with pytest.raises(CommandError, match="cannot write in"):
        call_command("export_open_data", str(locked / "bundle"))

    assert list(locked.iterdir()) == []


def test_a_failure_while_writing_leaves_nothing_behind(record, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(open_data, "_readme", broken)

    with pytest.raises(CommandError, match="No space left on device"):
        call_command("export_open_data", str(tmp_path / "bundle"))

    assert list(tmp_path.iterdir()) == []


def test_the_nightly_task_publishes_the_latest_and_keeps_the_latest_few(record, settings, tmp_path):
    settings.OPEN_DATA_DIR = tmp_path
    settings.OPEN_DATA_KEEP = 2
    names = []
    for hour in (1, 2, 3):
        now = datetime.datetime(2020, 12, 12, hour, tzinfo=datetime.UTC)
        names.append(open_data.open_data_publish(now=now)["name"])
    latest = tasks.publish_open_data()

    assert sorted(p.name for p in tmp_path.glob("*.zip")) == sorted([names[-1], latest])
    assert open_data.open_data_latest()["name"] == latest
    assert settings.CELERY_BEAT_SCHEDULE["publish-open-data"]["task"] == (
        "tracker.tasks.publish_open_data"
    )
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- The page ---------------------------------------------------------------------------------


@pytest.fixture
def published(record, settings, tmp_path):
    settings.OPEN_DATA_DIR = tmp_path
    settings.TRACKER_PUBLIC_SITE = True
    return open_data.open_data_publish()


def test_the_page_shows_the_latest_bundle_whose_checksum_matches_the_download(client, published):
    page = client.get(reverse("open_data"))
    text = page.content.decode()
    download = reverse("open_data_download", kwargs={"name": published["name"]})
    response = client.get(download)
    content = b"".join(response.streaming_content)

    assert page.status_code == 200
    assert f'href="{download}"' in text
    assert hashlib.sha256(content).hexdigest() in text
    assert hashlib.sha256(content).hexdigest() == published["sha256"]
    assert "status_updates.csv" in text and 'id="fields"' in text
    assert response["Content-Type"] == "application/zip"
    assert "public" in page["Cache-Control"] and "max-age" in page["Cache-Control"]
    assert MARKER not in text


def test_a_logged_in_reader_gets_the_page_privately(client, published, record):
    client.force_login(SecretariatFactory(username="reader"))

    response = client.get(reverse("open_data"))

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


@pytest.mark.parametrize(
    "name",
    ["latest.json", "open-data-20261212T020000Z.zip", "..%2Flatest.json", "open-data.zip"],
)
def test_only_a_published_zip_is_served(client, published, name):
    assert client.get(f"/open-data/{name}").status_code == 404


def test_without_a_bundle_the_page_says_how_to_publish_one(client, settings, tmp_path):
    settings.OPEN_DATA_DIR = tmp_path
    settings.TRACKER_PUBLIC_SITE = True

    response = client.get(reverse("open_data"))

    assert response.status_code == 200
    assert "export_open_data --publish" in response.content.decode()


def test_with_the_public_site_off_a_visitor_is_sent_to_log_in(client, published, settings):
    settings.TRACKER_PUBLIC_SITE = False

    for url in (
        reverse("open_data"),
        reverse("open_data_download", kwargs={"name": published["name"]}),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_every_page_links_to_the_open_data_page(client, secretariat):
    client.force_login(secretariat)

    assert f'href="{reverse("open_data")}"' in client.get(reverse("dashboard")).content.decode()
