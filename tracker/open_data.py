"""The open-data bundle (docs/open-data.md): the public record as CSV and JSON files, with a
Frictionless Data Package (datapackage.json) and a README describing every field, zipped with
its SHA-256.

`open_data_export` writes one into a folder (`manage.py export_open_data DIR`);
`open_data_publish` writes the latest into OPEN_DATA_DIR for the public page (the nightly task),
keeping the latest few dated zips. Both build in a temporary folder beside the target and move
the result in place once whole, so a failed run leaves nothing half-written.

The tables and their fields are defined once, in tracker.open_data_tables.
"""

import csv
import datetime
import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation

from tracker.open_data_tables import ACTORS, TABLES, Table

# A bundle's dated name, e.g. open-data-20261212T020000Z: the zip's file name and its address.
NAME_FORMAT = "open-data-%Y%m%dT%H%M%SZ"
ZIP_NAME = re.compile(r"open-data-\d{8}T\d{6}Z\.zip")
# Beside the zips in OPEN_DATA_DIR: what the public page shows of the latest one.
MANIFEST = "latest.json"
DATAPACKAGE = "datapackage.json"
README = "README.md"
PACKAGE_NAME = "commitment-tracker-open-data"
# The files are for programs first: a value is written exactly as the record holds it, never
# altered for a spreadsheet (a quote before "=1+1" would be data the Table Schema does not have).
SPREADSHEET_NOTE = (
    "Values are exactly as the tracker holds them: a text starting with =, +, - or @ (a title "
    'such as "=1+1") is not made safe for spreadsheet programs, which may run it as a '
    "formula. Open a CSV file in a spreadsheet through its text import, with the columns as "
    "text, or read the JSON files."
)


class OpenDataError(Exception):
    """The bundle cannot be written where it was asked for; the message says why and what to do."""


def _text(value) -> str:
    """A value as a CSV cell, and as JSON where JSON has no type for it (dates, times)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _json_value(value):
    return value if value is None or isinstance(value, bool | int) else _text(value)


def _popolo(record: dict) -> dict:
    """An actor as a Popolo organization (https://www.popoloproject.com/specs/organization.html)."""
    identifiers = [{"scheme": "commitment-tracker", "identifier": record["slug"]}]
    if record["iso_code"]:
        identifiers.append({"scheme": "ISO 3166-1 alpha-2", "identifier": record["iso_code"]})
    return {
        "id": str(record["id"]),
        "name": record["name"],
        "classification": record["kind"],
        "identifiers": identifiers,
        "links": [{"url": record["page"], "note": "The actor's page on the commitment tracker"}],
    }


def _table_write(folder: Path, table: Table) -> int:
    records = list(table.records())
    with open(folder / f"{table.name}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([f.name for f in table.fields])
        writer.writerows([_text(value) for value in record.values()] for record in records)
    rows = [{key: _json_value(value) for key, value in r.items()} for r in records]
    document = {"organizations": [_popolo(r) for r in rows]} if table is ACTORS else rows
    (folder / f"{table.name}.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return len(records)


def _licence() -> dict:
    return {
        "name": settings.OPEN_DATA_LICENSE,
        "path": settings.OPEN_DATA_LICENSE_URL,
        "title": settings.OPEN_DATA_LICENSE,
    }


def _source_note() -> str:
    return (
        f"The public record of the commitment tracker at {settings.TRACKER_SITE_URL}: what an "
        "anonymous visitor of its public site reads (public status updates and published "
        "reports, public events), never an internal update, an internal reason, an internal "
        "event or anyone's email address."
    )


def _datapackage(created: str, counts: dict) -> dict:
    return {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": "Commitment tracker: the public record",
        "description": _source_note(),
        "created": created,
        "licenses": [_licence()],
        "sources": [{"title": "Commitment tracker", "path": settings.TRACKER_SITE_URL}],
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": table.name,
                "path": f"{table.name}.csv",
                "title": table.title,
                "description": f"{table.description} {counts[table.name]} rows; the same "
                f"rows are in {table.name}.json.",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": {"delimiter": ",", "quoteChar": '"', "header": True},
                "schema": table.schema(),
            }
            for table in TABLES
        ],
    }


def _readme(created: str, counts: dict) -> str:
    """The bundle's README, from the same field definitions as the schemas."""
    lines = [
        "# Commitment tracker: the public record as open data",
        "",
        f"Exported at {created} (UTC). {_source_note()}",
        "",
        f"Licence: {settings.OPEN_DATA_LICENSE} ({settings.OPEN_DATA_LICENSE_URL}).",
        "",
        "## Files",
        "",
        f"- `{DATAPACKAGE}`: the Frictionless Data Package describing every CSV file with its "
        "Table Schema (fields, types, constraints, keys). Check the bundle with "
        f"`frictionless validate {DATAPACKAGE}`.",
        f"- `{README}`: this file.",
    ]
    for table in TABLES:
        lines.append(
            f"- `{table.name}.csv` and `{table.name}.json`: {table.title.lower()}, "
            f"{counts[table.name]} rows."
        )
    lines += [
        "",
        "Empty cells are empty values. Dates are YYYY-MM-DD, moments are UTC "
        "(YYYY-MM-DDTHH:MM:SSZ), true and false are written so. The JSON files hold the same "
        "rows as lists of objects with the same names (numbers and true/false as JSON values, "
        "empty cells as null), except actors.json: Popolo organizations.",
        "",
        SPREADSHEET_NOTE,
    ]
    for table in TABLES:
        lines += _readme_table(table)
    return "\n".join(lines) + "\n"


def _readme_table(table: Table) -> list[str]:
    lines = ["", f"## {table.name}", "", table.description, ""]
    lines.append(f"Each row is identified by {', '.join(table.primary_key)}.")
    for own, other, key in table.foreign_keys:
        lines.append(f"{own} refers to {other}.{key}.")
    lines += ["", "| Field | Type | Required | Meaning |", "|---|---|---|---|"]
    for f in table.fields:
        required = "yes" if f.required else "no"
        lines.append(f"| {f.name} | {f.type} | {required} | {f.description} |")
    for f in table.fields:
        lines += _readme_values(f)
    return lines


def _readme_values(field) -> list[str]:
    """A coded field's allowed values and what each means, in English like the rest."""
    if not field.values:
        return []
    with translation.override("en"):
        meanings = [f"- `{value}`: {meaning}" for value, meaning in field.values]
    return ["", f"Values of {field.name}:", "", *meanings]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tables_write(folder: Path) -> dict:
    """Every table, read in one transaction: on PostgreSQL one snapshot (repeatable read), so a
    write during the export cannot leave a key pointing at a row the bundle lacks."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return {table.name: _table_write(folder, table) for table in TABLES}


def bundle_write(folder: Path, *, now: datetime.datetime) -> dict:
    """Write the bundle's files and its zip (with a .sha256 beside it) into the empty `folder`;
    return its manifest: the zip's name, creation time, size, SHA-256 and the files in it."""
    created = _text(now)
    counts = _tables_write(folder)
    (folder / DATAPACKAGE).write_text(
        json.dumps(_datapackage(created, counts), ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (folder / README).write_text(_readme(created, counts), encoding="utf-8")
    files = sorted(folder.iterdir(), key=lambda p: (p.name != README, p.name))
    name = now.astimezone(datetime.UTC).strftime(NAME_FORMAT) + ".zip"
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.name)
    sha256 = _sha256(folder / name)
    (folder / f"{name}.sha256").write_text(f"{sha256}  {name}\n", encoding="ascii")
    return {
        "name": name,
        "created": created,
        "size": (folder / name).stat().st_size,
        "sha256": sha256,
        "files": [{"name": p.name, "size": p.stat().st_size} for p in files],
        "rows": counts,
    }


def _temporary_folder(parent: Path, prefix: str) -> Path:
    if not parent.is_dir():
        raise OpenDataError(f"{parent} is not a folder: create it first, or choose another one.")
    try:
        return Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    except OSError as error:
        raise OpenDataError(
            f"cannot write in {parent} ({error.strerror or error}): choose a folder you may "
            "write in."
        ) from error


def _target_check(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise OpenDataError(f"{target} is a file, not a folder: give a folder for the bundle.")
    if target.is_dir() and any(target.iterdir()) and not (target / DATAPACKAGE).is_file():
        raise OpenDataError(
            f"{target} holds other files and no earlier bundle: give a new or empty folder, or "
            "one an earlier export wrote (its files are replaced)."
        )


def open_data_export(*, target: Path, now: datetime.datetime | None = None) -> dict:
    """Write a bundle into the folder `target` (new, empty, or an earlier bundle, which it
    replaces whole); raise OpenDataError, writing nothing, where it cannot."""
    target = Path(target).absolute()
    _target_check(target)
    building = _temporary_folder(target.parent, f".{target.name}.")
    try:
        manifest = bundle_write(building, now=now or timezone.now())
        building.chmod(0o755)  # mkdtemp's folder is its owner's alone; the bundle is public
        _swap_in(building, target)
    except OSError as error:
        raise OpenDataError(f"cannot write {target}: {error.strerror or error}") from error
    finally:
        shutil.rmtree(building, ignore_errors=True)  # gone already once moved in place
    return manifest


def _swap_in(building: Path, target: Path) -> None:
    """Move the new bundle to `target`; an earlier one there goes only once the new is in."""
    if not target.exists():
        os.rename(building, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
    os.rename(target, old / "bundle")
    try:
        os.rename(building, target)
    except OSError:
        os.rename(old / "bundle", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def open_data_publish(
    *, folder: Path | None = None, keep: int | None = None, now: datetime.datetime | None = None
) -> dict:
    """Write the latest bundle's zip into OPEN_DATA_DIR with the manifest the public page reads,
    and delete all but the latest `keep` (OPEN_DATA_KEEP) dated zips."""
    folder = Path(folder or settings.OPEN_DATA_DIR)
    keep = max(1, keep or settings.OPEN_DATA_KEEP)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OpenDataError(f"cannot create {folder}: {error.strerror or error}") from error
    building = _temporary_folder(folder, ".building-")
    try:
        manifest = bundle_write(building, now=now or timezone.now())
        os.replace(building / manifest["name"], folder / manifest["name"])
        _manifest_write(folder, manifest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    for old in sorted(_zips(folder))[:-keep]:
        if old.name != manifest["name"]:
            old.unlink(missing_ok=True)
    return manifest


def _manifest_write(folder: Path, manifest: dict) -> None:
    part = folder / f".{MANIFEST}.part"
    part.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    os.replace(part, folder / MANIFEST)


def _zips(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ZIP_NAME.fullmatch(p.name) and p.is_file()]


def open_data_latest(*, folder: Path | None = None) -> dict | None:
    """The latest published bundle's manifest, or None while there is none (or its zip is
    gone)."""
    folder = Path(folder or settings.OPEN_DATA_DIR)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        name = manifest["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or open_data_zip(name=name, folder=folder) is None:
        return None
    return manifest


def open_data_zip(*, name: str, folder: Path | None = None) -> Path | None:
    """The published zip of that dated name, or None: only names of the bundle's own pattern
    are looked up, so no other file (and no path outside the folder) is ever served."""
    if not ZIP_NAME.fullmatch(name):
        return None
    path = Path(folder or settings.OPEN_DATA_DIR) / name
    return path if path.is_file() else None
