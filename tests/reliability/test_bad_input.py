"""Bad input, generated (hypothesis): every form and the document importer answer random input
with a page or a clear error, never a server error, and a refusal changes nothing at all."""

import datetime
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, event, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from commitments.models import (
    Commitment,
    Document,
    EvidenceFile,
    EvidenceLink,
    Paragraph,
    StatusUpdate,
)
from commitments.statuses import Status
from tests.factories import CommitmentFactory, EventFactory
from tracker.models import Event, Reminder, ReminderPreference, ReminderSubscription, User

# The database and the client live for the whole test; each example checks its own effect.
EXAMPLES = examples(
    max_examples=60,
    deadline=None,
    database=None,  # a failure prints its example; nothing is kept in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEED = Path(settings.BASE_DIR) / "fixtures" / "ashgabat-final-document-2020.txt"
RECORD = (
    Document,
    Paragraph,
    Commitment,
    StatusUpdate,
    EvidenceLink,
    EvidenceFile,
    Event,
    Reminder,
    ReminderPreference,
    ReminderSubscription,
    User,
)

# What people and programs actually send: empty, blanks, numbers out of range, impossible
# dates, markup, NUL, right-to-left and full-width digits, very long values.
NASTY = st.sampled_from(
    ["", " ", "0", "-1", "101", "1e9", "2026-02-30", "0000-00-00", "9999-12-31", "\x00",
     "<script>alert(1)</script>", "'; DROP TABLE x; --", "\u202ereversed", "\uff11\uff12",
     "x" * 5000, "javascript:alert(1)", "http://[::1", "None", "null", "[]"]
)  # fmt: skip
JUNK = st.one_of(NASTY, st.text(max_size=300))


def maybe(valid) -> st.SearchStrategy:
    """Mostly valid values (so that some posts succeed), often junk, sometimes left out."""
    return st.one_of(valid, JUNK, st.none())


def record_state() -> dict:
    return {model.__name__: model.objects.count() for model in RECORD}


def stored_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:2000]


@pytest.fixture
def commitment(db):
    return CommitmentFactory(slug="research-centre")


@pytest.fixture
def neutrality_day(db):
    return EventFactory(slug="neutrality-day")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- the status update form ---------------------------------------------------------------

LINK_URLS = st.sampled_from(
    ["", "https://www.un.org/en/ga/", "example.org/report", "ftp://example.org/x",
     "https://" + "a" * 1100 + ".org"]
)  # fmt: skip
UPLOADS = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(
            [
                "report.pdf",
                "photo.PNG",
                "run.exe",
                "noextension",
                "../../etc.txt",
                ".pdf",
                "résumé.docx",
                "a" * 300 + ".pdf",
            ]
        ),
        st.binary(max_size=2000),
    ),  # fmt: skip
)
UPDATE_FIELDS = (
    "status", "progress", "progress_reason", "happened_on", "narrative", "visibility",
    "link_1_title", "link_1_url", "link_2_title", "link_2_url", "evidence_file_title",
)  # fmt: skip
VALID_UPDATES = st.fixed_dictionaries(
    {
        "status": st.sampled_from(Status.values),
        "progress": st.integers(0, 100).map(str),
        "progress_reason": st.just("As the plenary reported."),
        "happened_on": st.dates(datetime.date(1990, 1, 1), datetime.date(2025, 12, 31)).map(str),
        "narrative": st.text(min_size=1, max_size=300),
        "visibility": st.sampled_from(["public", "internal"]),
        "link_1_title": st.just("General Assembly"),
        "link_1_url": st.just("https://www.un.org/en/ga/"),
        "evidence_file_title": st.text(max_size=50),
    }
)
# A valid form with up to three fields damaged: junk in place of the value, or left out.
DAMAGE = st.dictionaries(st.sampled_from(UPDATE_FIELDS), st.one_of(JUNK, st.none()), max_size=3)


@EXAMPLES
@given(
    valid=VALID_UPDATES,
    damage=DAMAGE,
    stale=st.sampled_from([False, False, False, True]),
    upload=UPLOADS,
)
def test_status_update_form(secretariat_client, commitment, media, valid, damage, stale, upload):
    commitment.refresh_from_db()
    before, files_before = record_state(), stored_files()
    data = {k: v for k, v in (valid | damage).items() if v is not None}
    data["version"] = str(commitment.version - 1 if stale else commitment.version)
    if upload is not None:
        data["evidence_file"] = SimpleUploadedFile(upload[0], upload[1])

    response = secretariat_client.post(commitment.get_absolute_url(), data)

    assert_no_server_error(response)
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics: both kinds occur
    after = record_state()
    if response.status_code == 302:
        assert after["StatusUpdate"] == before["StatusUpdate"] + 1
        assert after["EvidenceFile"] - before["EvidenceFile"] == (upload is not None)
        assert len(stored_files() - files_before) == (upload is not None)
    else:
        assert response.status_code in (400, 409)
        assert after == before and stored_files() == files_before
        assert Commitment.objects.get(pk=commitment.pk).version == commitment.version


# --- logging in ---------------------------------------------------------------------------


@EXAMPLES
@given(username=maybe(st.sampled_from(["officer", "OFFICER", "officer "])), password=maybe(JUNK))
def test_login_form(client, secretariat, username, password):
    before = record_state()
    data = {k: v for k, v in {"username": username, "password": password}.items() if v}
    response = client.post("/login/", data)
    assert_no_server_error(response)
    assert response.status_code != 302  # no junk password logs anyone in
    assert record_state() == before


# --- events, calendar and reminder subscriptions --------------------------------------------

PATH_PART = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/"), min_size=1
).map(lambda s: quote(s, safe=""))


@EXAMPLES
@given(
    kind=maybe(st.sampled_from(Event.Kind.values)),
    year=st.integers(-5, 10**6),
    month=st.integers(-5, 10**4),
    token=PATH_PART,
)
def test_event_pages_and_feeds(secretariat_client, neutrality_day, kind, year, month, token):
    assert_no_server_error(secretariat_client.get("/events/", {"kind": kind or ""}))
    if year >= 0 and month >= 0:  # the URL pattern takes digits only
        assert_no_server_error(secretariat_client.get(f"/events/{year}/{month}/"))
    assert_no_server_error(secretariat_client.get(f"/events/{token}/"))
    assert secretariat_client.get(f"/calendar/{token}.ics").status_code == 404
    before = record_state()
    assert_no_server_error(secretariat_client.post("/calendar/", {"reset": kind or ""}))
    assert record_state() == before


@EXAMPLES
@given(
    options=st.fixed_dictionaries(
        {name: maybe(st.sampled_from(["on", "true", "1"]))
         for name in ("weekly_digest", "stale_reminders", "muted", "follow_state")}
    ),
    events=st.lists(st.one_of(st.integers(-10, 10**12).map(str), JUNK), max_size=4),
)  # fmt: skip
def test_reminder_settings_form(liaison_client, liaison, neutrality_day, options, events):
    before = record_state()
    data = {k: v for k, v in options.items() if v is not None} | {"events": events}
    response = liaison_client.post("/reminders/", data)
    assert_no_server_error(response)
    if response.status_code != 302:
        assert record_state() == before


@EXAMPLES
@given(token=PATH_PART, post=st.booleans())
def test_unsubscribe_links(client, secretariat, token, post):
    before = record_state()
    url = f"/reminders/unsubscribe/{token}/"
    response = client.post(url) if post else client.get(url)
    assert response.status_code == 400  # forged or broken: refused, and it says so
    assert record_state() == before


@EXAMPLES
@given(
    query=st.fixed_dictionaries(
        {name: maybe(st.text(max_size=40))
         for name in ("q", "status", "actor", "paragraph", "theme", "owner", "sort", "page",
                      "_export")}
    )
)  # fmt: skip
def test_commitment_table_filters(secretariat_client, commitment, query):
    params = {k: v for k, v in query.items() if v is not None}
    assert_no_server_error(secretariat_client.get("/commitments/", params))


# --- the document importer ----------------------------------------------------------------


def seed_mutations() -> st.SearchStrategy[bytes]:
    """The real seed text with a slice cut out, replaced or repeated, as damaged copies are."""
    seed = SEED.read_text(encoding="utf-8")

    def mutate(start: int, length: int, insert: str, mode: str) -> str:
        end = start + length
        if mode == "cut":
            return seed[:start] + seed[end:]
        if mode == "repeat":
            return seed[:end] + seed[start:end] + seed[end:]
        return seed[:start] + insert + seed[end:]

    return st.builds(
        mutate,
        st.integers(0, len(seed)),
        st.integers(0, 60),
        st.one_of(JUNK, st.sampled_from(["\n\n1. Again;", "\n\n99. Late;", "\r\n", "\ufeff"])),
        st.sampled_from(["cut", "repeat", "replace"]),
    ).map(lambda text: text.encode("utf-8"))


def synthetic_documents() -> st.SearchStrategy[bytes]:
    """A title line (at times far too long) and numbered paragraphs with any numbers."""
    paragraph = st.tuples(st.integers(-1, 30), st.sampled_from([".", ")", ""]), JUNK)
    return st.builds(
        lambda title, paragraphs: "\n\n".join(
            [title, *(f"{n}{mark} {text}" for n, mark, text in paragraphs)]
        ),
        st.one_of(JUNK, st.text(min_size=400, max_size=900)),
        st.lists(paragraph, max_size=8),
    ).map(lambda text: text.encode("utf-8"))


def well_formed_documents() -> st.SearchStrategy[bytes]:
    """A title, a preamble and paragraphs numbered 1, 2, 3... with any words in them."""
    line = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=200)
    return st.builds(
        lambda title, preamble, texts: "\n\n".join(
            [title, preamble, *(f"{n}. Encouraged {text};" for n, text in enumerate(texts, 1))]
        ),
        st.one_of(line, st.text(min_size=400, max_size=900)),
        line,
        st.lists(line, min_size=1, max_size=8),
    ).map(lambda text: text.encode("utf-8"))


DOCUMENT_FILES = st.one_of(
    seed_mutations(),
    synthetic_documents(),
    well_formed_documents(),
    st.binary(max_size=3000),
    st.just(b""),
)


def document_snapshot() -> list:
    return [
        list(Document.objects.order_by("pk").values_list()),
        list(Paragraph.objects.order_by("pk").values_list()),
    ]


@pytest.fixture
def imported_seed(db):
    """The seed already imported, and a commitment citing its paragraph 12."""
    call_command(
        "import_document", str(SEED), "--short-name", "ashgabat-2020", stdout=io.StringIO()
    )
    CommitmentFactory(paragraphs=[Paragraph.objects.get(number=12)])


@EXAMPLES
@given(
    content=DOCUMENT_FILES,
    short_name=st.one_of(st.none(), st.just("ashgabat-2020"), JUNK),
    source_url=st.one_of(st.none(), JUNK),
)
def test_document_importer(imported_seed, tmp_path, content, short_name, source_url):
    path = tmp_path / "document.txt"
    path.write_bytes(content)
    options = ["--short-name", short_name] if short_name is not None else []
    options += ["--source-url", source_url] if source_url is not None else []
    before, documents = document_snapshot(), Document.objects.count()
    try:
        call_command("import_document", str(path), *options, stdout=io.StringIO())
    except CommandError as error:
        event("refused")
        assert str(error).strip()  # a message that says what is wrong
        assert document_snapshot() == before
    else:
        event("imported")
        assert Document.objects.count() - documents in (0, 1)
        assert Paragraph.objects.filter(number=12, commitments__isnull=False).exists()
