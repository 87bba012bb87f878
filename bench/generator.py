"""A scale dataset for the benchmark, written with bulk inserts into an empty, migrated database.

Deterministic for a seed, so two runs measure the same data. Each commitment's version counts
its generated updates, as services.status_update_create raises it once per update; what a
commitment copies from its history and paragraphs (status, progress, last activity, their
public_* twins, first paragraph number, the days each stood achieved: AchievedSpan) is computed
by services.commitments_copies_refresh once every row is in, as the services keep it (days
are distinct within a commitment, so "latest" never depends on recorded_at). The second
commitment has MILESTONES milestones, half of them done, so its progress is the rule's figure
(commitments.progress).
"""

import datetime
import importlib
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone
from tqdm import tqdm

from commitments.models import (
    Actor,
    Commitment,
    Document,
    Milestone,
    Paragraph,
    StatusUpdate,
    Theme,
)
from commitments.services import commitments_copies_refresh
from commitments.statuses import Status
from core.roles import Role
from tracker.models import Event, User

from .sizes import Sizes

BATCH_SIZE = 5_000
HISTORY_SPAN_DAYS = 3_650
VERBS = ["Highlighted", "Encouraged", "Recommended", "Supported", "Welcomed", "Confirmed"]
TOPICS = ["preventive diplomacy", "mediation", "neutrality", "dialogue", "trust", "cooperation"]
ZONES = ["Asia/Ashgabat", "Europe/Zurich", "America/New_York", "UTC", "Asia/Tokyo"]
FINAL_STATUSES = [
    (Status.IN_PROGRESS, 40),
    (Status.ACHIEVED, 25),
    (Status.RECURRING_ON_TRACK, 15),
    (Status.STALLED, 15),
    (Status.NO_LONGER_PURSUED, 5),
]
INTERMEDIATE_STATUSES = [Status.IN_PROGRESS] * 8 + [Status.STALLED, Status.NOT_STARTED]
BENCH_PASSWORD = "bench-only-password"
# The commitment page with many milestones: its query count must not grow with them.
MILESTONES = 50


@dataclass(frozen=True)
class Landmarks:
    """What the load driver asks for: the names it needs to build its URLs and sessions."""

    document_short_name: str
    long_history_slug: str
    milestones_slug: str
    actor_slug: str
    secretariat_username: str
    liaison_username: str
    admin_username: str


@dataclass(frozen=True)
class Entry:
    """One generated status update, before it becomes a row."""

    happened_on: datetime.date
    status: str
    progress: int
    internal: bool


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def bulk_insert(model: type[models.Model], rows: Iterable, *, total: int, bar: bool) -> list:
    """Insert in batches with a progress bar; return the saved objects (with their pks)."""
    saved = []
    with tqdm(total=total, desc=model._meta.label, unit="row", disable=not bar) as progress:
        for batch in batched(rows, BATCH_SIZE):
            saved.extend(model.objects.bulk_create(batch))
            progress.update(len(batch))
    return saved


def bulk_insert_stream(model: type[models.Model], rows: Iterable, *, total: int, bar: bool):
    """Like bulk_insert, without keeping the objects: for the half million status updates."""
    with tqdm(total=total, desc=model._meta.label, unit="row", disable=not bar) as progress:
        for batch in batched(rows, BATCH_SIZE):
            model.objects.bulk_create(batch)
            progress.update(len(batch))


# --- The history of each commitment ------------------------------------------------------


def update_counts(sizes: Sizes, rng: random.Random) -> list[int]:
    """How many updates each commitment gets: one long history, 5% none, the rest at random."""
    counts = [0] * sizes.commitments
    if not sizes.commitments:
        return counts
    counts[0] = min(sizes.long_history, sizes.status_updates, HISTORY_SPAN_DAYS)
    silent = set(rng.sample(range(1, sizes.commitments), (sizes.commitments - 1) // 20))
    active = [i for i in range(1, sizes.commitments) if i not in silent] or [0]
    for index, count in Counter(rng.choices(active, k=sizes.status_updates - counts[0])).items():
        counts[index] += count
    # A commitment cannot have two updates on one day; spill the excess onto commitment 0's
    # neighbours only in absurd sizes (more than ten years of daily updates each).
    return [min(count, HISTORY_SPAN_DAYS) for count in counts]


def history(*, index: int, count: int, seed: int, end: datetime.date) -> list[Entry]:
    """The updates of commitment `index`, oldest first, on distinct days up to `end`."""
    rng = random.Random(seed * 1_000_003 + index)
    days = sorted(rng.sample(range(HISTORY_SPAN_DAYS), count))
    final = rng.choices([s for s, _ in FINAL_STATUSES], [w for _, w in FINAL_STATUSES])[0]
    entries, progress = [], 0
    for position, day in enumerate(days):
        status = final if position == count - 1 else rng.choice(INTERMEDIATE_STATUSES)
        progress = 100 if status == Status.ACHIEVED else min(95, progress + rng.randint(0, 8))
        happened_on = end - datetime.timedelta(days=HISTORY_SPAN_DAYS - 1 - day)
        entries.append(Entry(happened_on, status, progress, rng.random() < 0.1))
    return entries


# --- Rows ---------------------------------------------------------------------------------


def actor_rows(sizes: Sizes) -> Iterator[Actor]:
    states = max(1, sizes.actors * 4 // 5)
    for i in range(sizes.actors):
        code = chr(65 + i // 26 % 26) + chr(65 + i % 26) if i < min(states, 676) else ""
        kind = Actor.Kind.MEMBER_STATE if code else Actor.Kind.UN_BODY
        yield Actor(name=f"Bench actor {i:04d}", slug=f"actor-{i:04d}", kind=kind, iso_code=code)


def user_rows(sizes: Sizes, actors: list[Actor], rng: random.Random) -> Iterator[User]:
    """The bench's three named accounts first, then secretariat staff (2%) and liaisons."""
    password = make_password(BENCH_PASSWORD)  # hashed once: 10,000 hashes would take minutes
    yield User(username="bench-admin", password=password, is_staff=True, is_superuser=True)
    yield User(username="bench-secretariat", password=password, role=Role.SECRETARIAT)
    yield User(username="bench-liaison", password=password, role=Role.LIAISON, actor=actors[0])
    for i in range(max(0, sizes.users - 3)):
        role = Role.SECRETARIAT if i % 50 == 0 else Role.LIAISON
        actor = rng.choice(actors) if role == Role.LIAISON else None
        yield User(
            username=f"user{i:05d}",
            email=f"user{i:05d}@bench.example.org",
            password=password,
            role=role,
            actor=actor,
            time_zone=rng.choice(ZONES),
        )


def document_rows(sizes: Sizes) -> Iterator[Document]:
    for i in range(sizes.documents):
        yield Document(
            short_name=f"bench-document-{i:04d}",
            symbol=f"A/BENCH/{i}",
            title=f"Final document of bench conference {i}",
            place="Ashgabat",
            adopted_on=datetime.date(2000 + i % 26, 12, 12),
            preamble="The participants of the conference, recalling their commitments,",
            full_text="The participants of the conference agreed as follows.",
        )


def paragraph_rows(sizes: Sizes, documents: list[Document], rng: random.Random):
    for i in range(sizes.paragraphs):
        document = documents[i % len(documents)]
        verb = rng.choice(VERBS)
        yield Paragraph(
            document=document,
            number=i // len(documents) + 1,
            operative_verb=verb,
            text=f"{verb} the importance of {rng.choice(TOPICS)} for the region ({i});",
        )


def commitment_rows(sizes, counts, *, seed, end, owners, rng) -> Iterator[Commitment]:
    for i in range(sizes.commitments):
        entries = history(index=i, count=counts[i], seed=seed, end=end)
        has_target = rng.random() < 0.5
        yield Commitment(
            title=f"Commitment {i:05d}: {rng.choice(TOPICS)}",
            slug=f"c-{i:05d}",
            summary="What the paragraph asks for, as something one can track.",
            kind=rng.choice(Commitment.Kind.values),
            owner=rng.choice(owners),
            target_date=end + datetime.timedelta(days=rng.randint(-400, 800))
            if has_target
            else None,
            version=1 + len(entries),
        )


def update_rows(commitments, counts, *, seed, end, authors, rng) -> Iterator[StatusUpdate]:
    for i, commitment in enumerate(commitments):
        for entry in history(index=i, count=counts[i], seed=seed, end=end):
            yield StatusUpdate(
                commitment_id=commitment.pk,
                author_id=rng.choice(authors).pk,
                happened_on=entry.happened_on,
                status=entry.status,
                progress=entry.progress,
                narrative=f"On {entry.happened_on}: progress reported by the lead actor.",
                visibility="internal" if entry.internal else "public",
            )


def event_rows(sizes: Sizes, end: datetime.date, rng: random.Random) -> Iterator[Event]:
    rules = [Event.Rule.ONCE, Event.Rule.YEARLY, Event.Rule.EVERY_N_YEARS]
    for i in range(sizes.events):
        rule = rules[i % 3]
        yield Event(
            title=f"Bench event {i:05d}",
            slug=f"event-{i:05d}",
            kind=rng.choice(Event.Kind.values),
            time_zone=rng.choice(ZONES),
            rule=rule,
            start_date=end + datetime.timedelta(days=rng.randint(-3_000, 700)),
            interval_years=5 if rule == Event.Rule.EVERY_N_YEARS else 1,
            anniversary_of_year=1995 if i % 10 == 0 else None,
        )


# --- Links between rows ---------------------------------------------------------------------


def link_rows(through, left: str, right: str, pairs: Iterable[tuple[int, int]]):
    seen = set()
    for pair in pairs:
        if pair not in seen:
            seen.add(pair)
            yield through(**{f"{left}_id": pair[0], f"{right}_id": pair[1]})


def commitment_links(commitments, paragraphs, actors, themes, rng, bar) -> None:
    """Each commitment comes from one or two paragraphs, has a lead, supporters and themes."""
    field = Commitment._meta.get_field
    plan = {
        "paragraphs": ("paragraph", paragraphs, 1, 2),
        "lead_actors": ("actor", actors, 1, 1),
        "supporting_actors": ("actor", actors, 0, 2),
        "themes": ("theme", themes, 1, 2),
    }
    for name, (right, targets, low, high) in plan.items():
        through = field(name).remote_field.through
        pairs = [
            (commitment.pk, rng.choice(targets).pk)
            for commitment in commitments
            for _ in range(rng.randint(low, high))
        ]
        rows = link_rows(through, "commitment", right, pairs)
        bulk_insert(through, rows, total=len(pairs), bar=bar)
    # Every paragraph has at least one commitment, so the document page shows them all linked.
    through = field("paragraphs").remote_field.through
    pairs = [(commitments[i % len(commitments)].pk, p.pk) for i, p in enumerate(paragraphs)]
    existing = set(through.objects.values_list("commitment_id", "paragraph_id"))
    fresh = [pair for pair in pairs if pair not in existing]
    bulk_insert(
        through, link_rows(through, "commitment", "paragraph", fresh), total=len(fresh), bar=bar
    )


def event_links(events, commitments, rng, bar) -> None:
    through = Event._meta.get_field("commitments").remote_field.through
    pairs = [(event.pk, rng.choice(commitments).pk) for event in events]
    bulk_insert(
        through, link_rows(through, "event", "commitment", pairs), total=len(pairs), bar=bar
    )


# --- The whole dataset -----------------------------------------------------------------------


def generate(sizes: Sizes, *, seed: int = 2020, bar: bool = True) -> Landmarks:
    """Fill an empty, migrated database; return what the load driver needs to find."""
    rng = random.Random(seed)
    end = timezone.now().date()
    with transaction.atomic():
        actors = bulk_insert(Actor, actor_rows(sizes), total=sizes.actors, bar=bar)
        themes = bulk_insert(Theme, theme_rows(sizes), total=sizes.themes, bar=bar)
        users = bulk_insert(User, user_rows(sizes, actors, rng), total=sizes.users, bar=bar)
        staff = [user for user in users if user.role == Role.SECRETARIAT]
        documents = bulk_insert(Document, document_rows(sizes), total=sizes.documents, bar=bar)
        rows = paragraph_rows(sizes, documents, rng)
        paragraphs = bulk_insert(Paragraph, rows, total=sizes.paragraphs, bar=bar)
        counts = update_counts(sizes, rng)
        rows = commitment_rows(sizes, counts, seed=seed, end=end, owners=staff, rng=rng)
        commitments = bulk_insert(Commitment, rows, total=sizes.commitments, bar=bar)
        commitment_links(commitments, paragraphs, actors, themes, rng, bar)
        rows = update_rows(commitments, counts, seed=seed, end=end, authors=staff, rng=rng)
        bulk_insert_stream(StatusUpdate, rows, total=sum(counts), bar=bar)
        milestoned = commitments[1 % len(commitments)]
        rows = milestone_rows(milestoned, end=end)
        bulk_insert(Milestone, rows, total=MILESTONES, bar=bar)
        # Links, updates and milestones went in as bulk rows, past the services and receivers
        # that keep each commitment's copies of them. The planner is told first how big the
        # tables now are: it still counts them as empty, and with no statistics it refreshes
        # 200,000 commitments by reading every status update for each (hours, not a minute,
        # at 10x).
        tables_analyze([Commitment, StatusUpdate, Milestone, Paragraph])
        commitments_copies_refresh()
        events = bulk_insert(Event, event_rows(sizes, end, rng), total=sizes.events, bar=bar)
        event_links(events, commitments, rng, bar)
    return landmarks(commitments[0], milestoned, documents[0], actors[0])


def tables_analyze(models_: list[type[models.Model]]) -> None:
    """Fresh planner statistics for tables filled inside the still-open transaction."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')


def milestone_rows(commitment: Commitment, *, end: datetime.date) -> Iterator[Milestone]:
    """MILESTONES steps a month apart, ending a year after `end`; the first half done."""
    first_due = end - datetime.timedelta(days=30 * (MILESTONES - 12))
    for i in range(MILESTONES):
        due_on = first_due + datetime.timedelta(days=30 * i)
        done = i < MILESTONES // 2
        yield Milestone(
            commitment_id=commitment.pk,
            position=i + 1,
            title=f"Step {i + 1:02d}: {TOPICS[i % len(TOPICS)]}",
            due_on=due_on,
            weight=1 + i % 3,
            done_on=due_on if done else None,
            evidence_url=f"https://example.org/bench/step-{i + 1}" if done else "",
        )


def theme_rows(sizes: Sizes) -> Iterator[Theme]:
    for i in range(sizes.themes):
        yield Theme(name=f"Bench theme {i:02d}", slug=f"theme-{i:02d}")


def landmarks(
    commitment: Commitment, milestoned: Commitment, document: Document, actor: Actor
) -> Landmarks:
    return Landmarks(
        document_short_name=document.short_name,
        long_history_slug=commitment.slug,
        milestones_slug=milestoned.slug,
        actor_slug=actor.slug,
        secretariat_username="bench-secretariat",
        liaison_username="bench-liaison",
        admin_username="bench-admin",
    )


def session_for(username: str) -> str:
    """A logged-in session written straight to the session store: no login round-trip under
    load (and no lockout from django-axes)."""
    user = User.objects.get(username=username)
    store = importlib.import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    # The last backend is Django's ModelBackend, also behind a lockout backend placed first.
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key
