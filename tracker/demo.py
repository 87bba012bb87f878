"""The demo record: the 2020 Ashgabat Final Document, its commitments and their real history.

`manage.py load_demo` (run by `make run`) calls `demo_load`, which runs DEMO_LOADERS in order
inside one transaction. The data lives in fixtures/ashgabat-2020-demo.json; this module only
turns it into rows. Each loader creates what is missing and leaves what exists alone, so a
second run changes nothing but the demo accounts' password (the one printed this time).

The fixture types no progress figure: each commitment has milestones, and the progress of each
status update is computed here from the milestones done by the update's date
(`progress_from_milestones`).
"""

import datetime
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from commitments.importers import document_import
from commitments.models import (
    Actor,
    Commitment,
    Document,
    DocumentLink,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.services import (
    commitment_current_state_refresh,
    document_link_create,
    status_update_create,
)
from core.roles import Role
from tracker.demo_events import events_demo_load
from tracker.models import User
from tracker.notifications import follow_defaults_set

FIXTURES_DIR = Path(settings.BASE_DIR) / "fixtures"
DEMO_DATA_PATH = FIXTURES_DIR / "ashgabat-2020-demo.json"
SECRETARIAT_USERNAME = "secretariat"
LIAISON_USERNAME = "liaison"
ADMIN_USERNAME = "admin"
LIAISON_ACTOR_ISO = "TM"
# The kinds of link between documents (commitments.models.DocumentLink.Kind values).
DOCUMENT_LINK_KINDS = ("follows_up", "implements", "supersedes", "translation_of")


class DemoDataError(Exception):
    """The demo fixture does not fit the document it describes; nothing was written."""


@dataclass
class DemoRun:
    """What the loaders share: the fixture, the accounts' password and what was done."""

    data: dict
    password: str
    messages: list[str] = field(default_factory=list)
    document: Document | None = None
    # Short name -> the documents the demo record holds besides the seed document.
    documents: dict[str, Document] = field(default_factory=dict)
    owner: User | None = None
    # Fixture slug -> row; a row found by name or ISO code may carry another slug.
    actors: dict[str, Actor] = field(default_factory=dict)
    themes: dict[str, Theme] = field(default_factory=dict)

    def say(self, message: str) -> None:
        self.messages.append(message)


def demo_password_choose(environ: Mapping[str, str]) -> tuple[str, bool]:
    """The password for the demo accounts: DEMO_PASSWORD, or a fresh one (then True)."""
    password = environ.get("DEMO_PASSWORD", "").strip()
    if password:
        return password, False
    return secrets.token_urlsafe(12), True


def demo_data_read(path: Path = DEMO_DATA_PATH) -> dict:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def demo_load(*, password: str, data: dict | None = None) -> list[str]:
    """Build the demo record; return one line per thing done, for the command to print."""
    run = DemoRun(data=data if data is not None else demo_data_read(), password=password)
    # One transaction: a fixture that does not fit the document leaves the database untouched.
    with transaction.atomic():
        for loader in DEMO_LOADERS:
            loader(run)
    return run.messages


def demo_document_load(run: DemoRun) -> None:
    """Import the seed text unless the document is already there, then add what the text lacks."""
    spec = run.data["document"]
    document = Document.objects.filter(short_name=spec["short_name"]).first()
    if document is None:
        text = (FIXTURES_DIR / spec["text_file"]).read_text(encoding="utf-8")
        report = document_import(
            text=text, short_name=spec["short_name"], source_url=spec["source_url"]
        )
        document = Document.objects.get(short_name=spec["short_name"])
        run.say(f"Document: {report.summary}.")
    else:
        run.say(f"Document {document.short_name}: already there, left as it is.")
    _document_notes_fill(document, spec)
    run.document = document


def _document_notes_fill(document: Document, spec: dict) -> None:
    # The seed text carries neither the second translation's title nor a symbol; fill only
    # what is still empty so an edit made in the admin survives a re-run.
    changed = [name for name in ("alternative_title", "symbol") if not getattr(document, name)]
    for name in changed:
        setattr(document, name, spec[name])
    if changed:
        document.save(update_fields=[*changed, "updated_at"])


def demo_documents_load(run: DemoRun) -> None:
    """The documents that followed the seed document, as records: their source and date, and
    no text the facts do not give (so no paragraphs). Their links to the seed document are in
    the fixture ("links") for the document links to be created from."""
    known = {run.document.short_name, *(spec["short_name"] for spec in run.data["documents"])}
    created = 0
    for spec in run.data["documents"]:
        for link in spec["links"]:
            if link["kind"] not in DOCUMENT_LINK_KINDS or link["to"] not in known:
                raise DemoDataError(
                    f"Document {spec['short_name']} has a link the demo cannot make: {link}."
                )
        document = Document.objects.filter(short_name=spec["short_name"]).first()
        if document is None:
            document = Document.objects.create(
                short_name=spec["short_name"],
                title=spec["title"],
                symbol=spec["symbol"],
                place=spec["place"],
                adopted_on=datetime.date.fromisoformat(spec["adopted_on"]),
                source_url=spec["source_url"],
            )
            created += 1
        run.documents[spec["short_name"]] = document
    run.say(
        f"Documents that followed: {created} created, {len(run.documents) - created} already there."
    )


def demo_actors_load(run: DemoRun) -> None:
    before = Actor.objects.count()
    for spec in run.data["actors"]:
        match = Q(slug=spec["slug"]) | Q(name=spec["name"])
        if spec["iso_code"]:
            match |= Q(iso_code=spec["iso_code"])
        run.actors[spec["slug"]] = _row_ensure(Actor, match, spec)
    created = Actor.objects.count() - before
    run.say(f"Actors: {created} created, {len(run.actors) - created} already there.")


def demo_themes_load(run: DemoRun) -> None:
    before = Theme.objects.count()
    for spec in run.data["themes"]:
        match = Q(slug=spec["slug"]) | Q(name=spec["name"])
        run.themes[spec["slug"]] = _row_ensure(Theme, match, spec)
    created = Theme.objects.count() - before
    run.say(f"Themes: {created} created, {len(run.themes) - created} already there.")


def _row_ensure(model, match: Q, spec: dict):
    """The row matching on any unique field, else a new one; an existing row is not changed."""
    return model.objects.filter(match).first() or model.objects.create(**spec)


def demo_accounts_load(run: DemoRun) -> None:
    """The three demo accounts; existing ones keep their settings and get this run's password."""
    turkmenistan = Actor.objects.get(iso_code=LIAISON_ACTOR_ISO)
    accounts = [
        (SECRETARIAT_USERNAME, {"role": Role.SECRETARIAT}, "secretariat"),
        (
            LIAISON_USERNAME,
            {"role": Role.LIAISON, "actor": turkmenistan},
            "liaison for Turkmenistan",
        ),
        (
            ADMIN_USERNAME,
            {"role": Role.SECRETARIAT, "is_staff": True, "is_superuser": True},
            "secretariat, superuser with the Django admin",
        ),
    ]
    run.say(f"Accounts (password: {run.password}):")
    for username, defaults, label in accounts:
        user = _account_ensure(username, defaults, run.password)
        follow_defaults_set(user=user)  # the liaison follows their state, as a new one does
        run.say(f"  {username:<12} {label}")
        if username == SECRETARIAT_USERNAME:
            run.owner = user


def _account_ensure(username: str, defaults: dict, password: str) -> User:
    user, _ = User.objects.get_or_create(
        username=username, defaults={**defaults, "email": f"{username}@example.org"}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def progress_from_milestones(*, milestones: list[tuple[int, datetime.date | None]], on) -> int:
    """The weight of the milestones done by `on` over the weight of all, as a whole per cent
    rounded down. `milestones` are (weight, done_on) pairs. The demo's own plain copy of the
    rule: where commitments has a progress rule of its own, call that instead."""
    total = sum(weight for weight, _ in milestones)
    done = sum(weight for weight, done_on in milestones if done_on is not None and done_on <= on)
    return done * 100 // total


def _milestones_check(spec: dict) -> None:
    # The figures come from the milestones; a typed one would be an invented figure.
    problems = []
    if not spec.get("milestones"):
        problems.append("it has no milestones")
    problems += [
        f"its update of {entry['date']} types a progress figure"
        for entry in spec["history"]
        if "progress" in entry
    ]
    problems += [
        f"milestone “{milestone['title']}” has a weight below 1"
        for milestone in spec.get("milestones", [])
        if milestone["weight"] < 1
    ]
    if problems:
        raise DemoDataError(
            f"Commitment {spec['slug']}: {'; '.join(problems)}. Fix fixtures/{DEMO_DATA_PATH.name}."
        )


def demo_commitments_load(run: DemoRun) -> None:
    _paragraph_coverage_check(run)
    for spec in run.data["commitments"]:
        _milestones_check(spec)
    paragraphs = {p.number: p for p in run.document.paragraphs.all()}
    created = updates = 0
    for spec in run.data["commitments"]:
        if Commitment.objects.filter(slug=spec["slug"]).exists():
            continue  # already in the record, possibly with updates posted since: left alone
        commitment = _commitment_create(run, spec, paragraphs)
        milestones = [_milestone_read(milestone) for milestone in spec["milestones"]]
        posted = _history_post(commitment, spec["history"], milestones, author=run.owner)
        _milestones_create(commitment, milestones, posted)
        # From now on the milestones give its figure (commitments.progress).
        commitment_current_state_refresh(commitment=commitment)
        updates += len(posted)
        created += 1
    skipped = len(run.data["commitments"]) - created
    run.say(
        f"Commitments: {created} created with {updates} status updates, {skipped} already there."
    )
    for number, reason in sorted(run.data["document"]["untracked_paragraphs"].items()):
        run.say(f"  ¶{number} is not tracked: {reason}")


def _paragraph_coverage_check(run: DemoRun) -> None:
    # Every paragraph is either tracked by a commitment or listed as untracked with a reason,
    # so a paragraph cannot silently drop out of the record.
    numbers = set(run.document.paragraphs.values_list("number", flat=True))
    tracked = {n for spec in run.data["commitments"] for n in spec["paragraphs"]}
    untracked = {int(n) for n in run.data["document"]["untracked_paragraphs"]}
    if numbers != tracked | untracked:
        raise DemoDataError(
            f"Paragraphs of {run.document.short_name}: {sorted(numbers)}; the demo data covers "
            f"{sorted(tracked | untracked)}. Fix fixtures/{DEMO_DATA_PATH.name}."
        )


def _commitment_create(run: DemoRun, spec: dict, paragraphs: dict[int, Paragraph]) -> Commitment:
    target = spec["target_date"]
    commitment = Commitment.objects.create(
        slug=spec["slug"],
        title=spec["title"],
        summary=spec["summary"],
        kind=spec["kind"],
        owner=run.owner,
        target_date=datetime.date.fromisoformat(target) if target else None,
        reporting_cadence_months=spec.get("reporting_cadence_months"),
    )
    commitment.paragraphs.set([paragraphs[number] for number in spec["paragraphs"]])
    commitment.lead_actors.set(_rows_pick(run.actors, spec["lead_actors"], spec))
    commitment.supporting_actors.set(_rows_pick(run.actors, spec["supporting_actors"], spec))
    commitment.themes.set(_rows_pick(run.themes, spec["themes"], spec))
    return commitment


def _rows_pick(rows: dict, slugs: list[str], spec: dict) -> list:
    unknown = [slug for slug in slugs if slug not in rows]
    if unknown:
        raise DemoDataError(f"Commitment {spec['slug']} names unknown actors or themes: {unknown}.")
    return [rows[slug] for slug in slugs]


def demo_document_links_load(run: DemoRun) -> None:
    """The links the fixture gives the documents that followed; an existing one is left alone."""
    documents = {run.document.short_name: run.document, **run.documents}
    created = 0
    for spec in run.data["documents"]:
        for link in spec["links"]:
            source, target = documents[spec["short_name"]], documents[link["to"]]
            if DocumentLink.objects.filter(
                from_document=source, to_document=target, kind=link["kind"]
            ).exists():
                continue
            document_link_create(
                from_document=source, to_document=target, kind=link["kind"], author=run.owner
            )
            created += 1
    run.say(f"Document links: {created} created.")


def _optional_date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _milestone_read(spec: dict) -> Milestone:
    done_on = _optional_date(spec["done_on"])
    return Milestone(
        title=spec["title"],
        due_on=_optional_date(spec["due_on"]),
        weight=spec["weight"],
        done_on=done_on,
        # The evidence of a milestone done; an open one cites its source in the fixture only.
        evidence_url=spec["source"]["url"] if done_on else "",
    )


# Entered after the fact, each update records the figure its day's milestones gave (the
# milestones are saved after the history, so the service cannot compute it on the day).
DEMO_PROGRESS_REASON = "The weight of the milestones done by this day over the weight of all."


def _history_post(
    commitment: Commitment, history: list[dict], milestones: list[Milestone], *, author: User
) -> list[StatusUpdate]:
    """Post the history through the service, as an officer entering it after the fact would,
    each update with the progress its date's milestones give."""
    weights = [(milestone.weight, milestone.done_on) for milestone in milestones]
    posted = []
    for entry in history:
        happened_on = datetime.date.fromisoformat(entry["date"])
        posted.append(
            status_update_create(
                commitment=commitment,
                author=author,
                status=entry["status"],
                progress=progress_from_milestones(milestones=weights, on=happened_on),
                progress_reason=DEMO_PROGRESS_REASON,
                narrative=entry["narrative"],
                happened_on=happened_on,
                visibility=entry.get("visibility", StatusUpdate.Visibility.PUBLIC),
                links=[(source["title"], source["url"]) for source in entry["sources"]],
            )
        )
    return posted


def _milestones_create(
    commitment: Commitment, milestones: list[Milestone], posted: list[StatusUpdate]
) -> None:
    """Save the milestones in fixture order; one done on the day of a public update is proved
    by it (the first such update)."""
    proofs = {}
    for update in posted:
        if update.visibility == StatusUpdate.Visibility.PUBLIC:
            proofs.setdefault(update.happened_on, update)
    for position, milestone in enumerate(milestones, start=1):
        milestone.commitment = commitment
        milestone.position = position
        milestone.proved_by = proofs.get(milestone.done_on)
        milestone.save()  # one by one, so the save signals (cache, audit trail) see each


# The order matters: accounts need the liaison's actor, commitments need the document, actors,
# themes and the secretariat owner. Demo events (issue 3) go after the commitments they cite.
DEMO_LOADERS: list[Callable[[DemoRun], None]] = [
    demo_document_load,
    demo_documents_load,
    demo_actors_load,
    demo_themes_load,
    demo_accounts_load,
    demo_document_links_load,
    demo_commitments_load,
    events_demo_load,
]
