"""The document importer, on the real seed text and on broken variants built from it."""

import datetime
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commitments.importers import (
    DocumentFormatError,
    document_import,
    document_parse,
    document_text_decode,
    operative_verb,
)
from commitments.models import Document, Paragraph
from tests.factories import CommitmentFactory

SEED_PATH = Path(settings.BASE_DIR) / "fixtures" / "ashgabat-final-document-2020.txt"
SEED = SEED_PATH.read_text(encoding="utf-8")
LATIN_1 = SEED.replace("Organization1", "Organización").encode("latin-1", "replace")
SEED_VERBS = [
    "Highlighted",
    "Encouraged",
    "Recommended",
    "Highlighted",
    "Noted",
    "Supported",
    "Encouraged",
    "Supported",
    "Welcomed",
    "Extended support",
    "Highlighted",
    "Confirmed",
    "Highlighted",
    "Encouraged",
    "Stressed",
    "Expressed",
]
SEED_TITLE = (
    "Final document Of International Conference “Policy of neutrality and its importance in "
    "provision of universal peace, security and sustainable development”"
)
OTHER_TITLE = (
    "Final document of the International conference dedicated to the 25th anniversary of the "
    "neutrality of Turkmenistan"
)
PARAGRAPH_7 = (
    "Encouraged the world community to continue supporting development of peace and trust "
    "culture with regards to the relations between the states, which is closely related to the "
    "policy of neutrality as a value, which supports sustainable development, peace and security "
    "by strengthening of solidarity and harmony, having noted the necessity to follow the "
    "Declaration and Action Program in the sphere of peace culture adopted by the United Nations "
    "Organization;"
)


def other_translation(text: str) -> str:
    """The seed with the second English translation's title and verbs, and no date line."""
    text = text.replace("15 December 2020\n", "", 1).replace(SEED_TITLE, OTHER_TITLE)
    text = re.sub(r"^(\d+)\. Highlighted", r"\1. Emphasized", text, flags=re.M)
    return text.replace("2. Encouraged to support", "2. Called to promote")


def wrapped(text: str) -> str:
    return "\n".join(textwrap.fill(line, 70) if line else line for line in text.split("\n"))


def without_blank_lines_between_paragraphs(text: str) -> str:
    return re.sub(r"\n\n(?=\d+\. )", "\n", text)


def renumbered(text: str, old: int, new: int) -> str:
    return re.sub(rf"^{old}\. ", f"{new}. ", text, count=1, flags=re.M)


def without_paragraph(text: str, number: int) -> str:
    return re.sub(rf"^{number}\. .*\n\n", "", text, flags=re.M)


def import_file(tmp_path, content: str | bytes, *args, **options) -> str:
    path = tmp_path / "document.txt"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    out = io.StringIO()
    call_command("import_document", str(path), *args, stdout=out, **options)
    return out.getvalue()


def database_state() -> tuple[list, list]:
    documents = list(Document.objects.order_by("pk").values())
    paragraphs = list(Paragraph.objects.order_by("pk").values())
    return documents, paragraphs


@pytest.fixture
def seeded(db, tmp_path):
    import_file(tmp_path, SEED)
    return Document.objects.get(short_name="ashgabat-2020")


# --- Parsing the seed --------------------------------------------------------------------------


def test_the_seed_has_sixteen_paragraphs_each_with_its_verb():
    parsed = document_parse(SEED)

    assert [p.number for p in parsed.paragraphs] == list(range(1, 17))
    assert [p.operative_verb for p in parsed.paragraphs] == SEED_VERBS


def test_the_seed_gives_title_dates_place_and_preamble():
    parsed = document_parse(SEED)

    assert parsed.title == SEED_TITLE
    assert parsed.published_on == datetime.date(2020, 12, 15)
    assert (parsed.place, parsed.adopted_on) == ("Ashgabat", datetime.date(2020, 12, 12))
    assert [part.split()[0] for part in parsed.preamble] == [
        "Confirming",
        "Noting",
        "Highlighting",
        "Taking",
        "The",
    ]
    # The lead-in belongs to the preamble, not to paragraph 1.
    assert parsed.preamble[-1].endswith("have therefore:")
    assert parsed.default_short_name() == "ashgabat-2020"


def test_paragraph_7_loses_its_footnote_marker_and_keeps_every_word():
    assert document_parse(SEED).paragraphs[6].text == PARAGRAPH_7


def test_paragraphs_are_verbatim_without_their_numbers():
    paragraphs = document_parse(SEED).paragraphs

    assert paragraphs[14].text.startswith("Based on the Final Document of International Conference")
    assert paragraphs[7].text.endswith("International Year of Peace and Trust.")
    assert paragraphs[15].text == (
        "Expressed deep gratitude to people and Government of Turkmenistan for organization and "
        "conduct of International conference."
    )


@pytest.mark.parametrize(
    ("opening", "verb"),
    [
        # The seed's translation.
        ("Highlighted that policy of neutrality plays an important role;", "Highlighted"),
        ("Encouraged to support the implementation of active neutral policy;", "Encouraged"),
        ("Extended support to the efforts of Turkmenistan;", "Extended support"),
        ("Expressed deep gratitude to people and Government of Turkmenistan.", "Expressed"),
        ("Confirmed special humanitarian importance of the policy of neutrality;", "Confirmed"),
        (
            "Based on the Final Document of International Conference “Policy of Neutrality”, "
            "which was adopted on December 12, 2015, additionally stressed the necessity;",
            "Stressed",
        ),
        # The second translation.
        ("Emphasized that the policy of neutrality proclaimed by the Member States;", "Emphasized"),
        ("Called to promote the implementation of an active neutral policy;", "Called to promote"),
        # Other forms outcome documents use.
        ("Called upon all Member States to join the Group;", "Called upon"),
        ("Took note of the report of the Secretary-General;", "Took note"),
        ("Also welcomed the establishment of the Group of Friends;", "Welcomed"),
        ("Guided by the Charter, reaffirmed its commitment to peace;", "Reaffirmed"),
        ("Welcomed with appreciation the report, adopted on 1 May 2021;", "Welcomed"),
        ("Encourages all Member States to observe the Day;", "Encourages"),
    ],
)
def test_the_operative_verb_is_found_by_grammar_not_by_a_list(opening, verb):
    assert operative_verb(opening) == verb


def test_the_other_translation_gives_its_own_verbs_and_title():
    parsed = document_parse(other_translation(SEED))

    assert parsed.title == OTHER_TITLE
    assert parsed.published_on is None
    verbs = [p.operative_verb for p in parsed.paragraphs]
    assert verbs[:4] == ["Emphasized", "Called to promote", "Recommended", "Emphasized"]
    assert (
        verbs[4:]
        == SEED_VERBS[4:10] + ["Emphasized"] + SEED_VERBS[11:12] + ["Emphasized"] + SEED_VERBS[13:]
    )


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: t.replace("\n", "\r"), id="old-mac-cr"),
        pytest.param(lambda t: "\ufeff" + t, id="byte-order-mark"),
        pytest.param(lambda t: re.sub(r"^(\d+)\. ", r"\1) ", t, flags=re.M), id="1)-numbering"),
        pytest.param(lambda t: t.replace(";\n", ".\n"), id="period-endings"),
        pytest.param(wrapped, id="wrapped-lines"),
        pytest.param(without_blank_lines_between_paragraphs, id="no-blank-lines"),
        pytest.param(lambda t: t + "\n1 A/RES/53/243, 13 September 1999.\n", id="footnote-text"),
        pytest.param(lambda t: "\n\n" + t + "\n\n\n", id="trailing-blank-lines"),
    ],
)
def test_real_world_variants_give_the_same_paragraphs(variant):
    seed = document_parse(SEED)
    parsed = document_parse(variant(SEED))

    assert [p.number for p in parsed.paragraphs] == list(range(1, 17))
    assert [p.operative_verb for p in parsed.paragraphs] == SEED_VERBS
    assert parsed.paragraphs[6].text.rstrip(";.") == PARAGRAPH_7.rstrip(";")
    assert (parsed.title, parsed.preamble) == (seed.title, seed.preamble)
    assert (parsed.place, parsed.adopted_on) == ("Ashgabat", datetime.date(2020, 12, 12))


def test_a_wrapped_line_that_starts_with_a_number_stays_in_its_paragraph():
    text = "Title\n\n1. Noted that the forum met on\n12. December, with all;\n2. Welcomed it.\n"

    paragraphs = document_parse(text).paragraphs

    assert [p.text for p in paragraphs] == [
        "Noted that the forum met on 12. December, with all;",
        "Welcomed it.",
    ]


def first_preamble_clause_ending(ending: str) -> str:
    text = SEED.replace("of the Charter of the United Nations Organization,", ending)
    return (
        document_parse(text)
        .preamble[0]
        .removeprefix("Confirming their commitment to the goals and principles ")
    )


def test_footnote_markers_are_dropped_from_the_preamble_too():
    assert first_preamble_clause_ending("of the Charter¹ of the UN system2,") == (
        "of the Charter of the UN system,"
    )
    # After a capital the digits are part of a name, so they stay.
    assert first_preamble_clause_ending("of the G20 and the UN2,") == "of the G20 and the UN2,"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n \r\n\t\n", "empty"),
        ("Final document\n\nThe participants agreed that peace is good.\n", "no numbered"),
        (renumbered(SEED, 4, 5), "from 3 to 5: paragraph 4 is missing"),
        (renumbered(SEED, 5, 4), "Paragraph 4 appears twice"),
        (renumbered(SEED, 12, 3), "Paragraph 3 appears twice"),
        (renumbered(SEED, 1, 2), "numbering starts at 2, not 1"),
        (without_paragraph(SEED, 1), "numbering starts at 2, not 1"),
        (SEED.replace("15 December 2020\n\n\n" + SEED_TITLE + "\n\n", ""), "no title"),
        ("Title\n\n1. Noted\x00 the text.\n", "NUL"),
        (without_blank_lines_between_paragraphs(renumbered(SEED, 4, 5)), "paragraph 4 is missing"),
    ],
)
def test_texts_that_are_not_documents_are_refused_with_a_reason(text, message):
    with pytest.raises(DocumentFormatError, match=f"(?i){message}"):
        document_parse(text)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (SEED.encode("cp1252"), "not UTF-8 text \\(byte 0x93 on line 4\\)"),
        (SEED.encode("utf-16"), "UTF-16"),
    ],
)
def test_bytes_that_are_not_utf8_text_are_refused(data, message):
    with pytest.raises(DocumentFormatError, match=message):
        document_text_decode(data, name="seed.txt")


# --- The command and the write -----------------------------------------------------------------


def test_the_command_imports_the_seed(db, tmp_path):
    output = import_file(tmp_path, SEED)

    assert output.strip() == "Imported 'ashgabat-2020': 16 paragraphs, preamble 5 parts"
    document = Document.objects.get(short_name="ashgabat-2020")
    assert (document.title, document.place) == (SEED_TITLE, "Ashgabat")
    assert document.adopted_on == datetime.date(2020, 12, 12)
    assert document.preamble.startswith("Confirming their commitment")
    assert document.preamble.endswith("have therefore:")
    assert document.full_text == SEED.strip("\n") + "\n"
    paragraphs = list(document.paragraphs.order_by("number"))
    assert [p.operative_verb for p in paragraphs] == SEED_VERBS
    assert paragraphs[6].text == PARAGRAPH_7


def test_the_demo_loader_call_imports_under_the_given_short_name(db):
    report = document_import(text=SEED, short_name="ashgabat-final", source_url="https://x.org/1")

    assert report.created and report.summary.startswith("Imported 'ashgabat-final'")
    assert Document.objects.get().source_url == "https://x.org/1"
    with pytest.raises(TypeError):
        document_import(SEED)  # keyword-only, so a loader cannot mix up text and name


def test_running_it_twice_writes_nothing_and_says_so(seeded, tmp_path):
    before = database_state()

    with CaptureQueriesContext(connection) as queries:
        output = import_file(tmp_path, SEED)

    assert output.strip() == "'ashgabat-2020' is already up to date"
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert database_state() == before


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda t: "\ufeff" + t.replace("\n", "\r\n"), id="crlf-and-bom"),
        pytest.param(lambda t: t + "\n\n", id="extra-blank-lines"),
    ],
)
def test_the_same_text_in_another_encoding_of_lines_is_up_to_date(seeded, tmp_path, variant):
    before = database_state()

    assert "already up to date" in import_file(tmp_path, variant(SEED))
    assert database_state() == before


def test_a_changed_text_reports_each_change_and_applies_it(seeded, tmp_path):
    cited = seeded.paragraphs.get(number=16)
    CommitmentFactory(paragraphs=[cited])
    text = SEED.replace("Expressed deep gratitude", "Expressed sincere gratitude")
    text = text.replace("\nAshgabat, December", "\n17. Noted the next steps.\n\nAshgabat, December")
    text = text.replace("Confirming their commitment", "Reaffirming their commitment")

    output = import_file(tmp_path, text)

    assert output.splitlines() == [
        "Updated 'ashgabat-2020' (3 changes): 17 paragraphs, preamble 5 parts",
        "  - preamble changed",
        "  - paragraphs added: ¶17",
        "  - text changed: ¶16",
    ]
    seeded.refresh_from_db()
    assert seeded.preamble.startswith("Reaffirming")
    cited.refresh_from_db()  # updated in place: the commitment still cites the same row
    assert cited.text.startswith("Expressed sincere gratitude")
    assert cited.commitments.count() == 1
    assert seeded.paragraphs.get(number=17).operative_verb == "Noted"


def test_another_translation_changes_title_verbs_and_text(seeded, tmp_path):
    output = import_file(tmp_path, other_translation(SEED), short_name="ashgabat-2020")

    assert "  - title changed" in output.splitlines()
    assert "  - operative verb of paragraph 2 changed: Encouraged -> Called to promote" in output
    assert seeded.paragraphs.get(number=4).operative_verb == "Emphasized"
    seeded.refresh_from_db()
    assert seeded.title == OTHER_TITLE


def test_an_uncited_paragraph_that_is_gone_is_removed(seeded, tmp_path):
    output = import_file(tmp_path, without_paragraph(SEED, 16))

    assert "  - paragraphs removed: ¶16" in output.splitlines()
    assert list(seeded.paragraphs.values_list("number", flat=True)) == list(range(1, 16))


def test_removing_a_cited_paragraph_is_refused_and_nothing_changes(seeded, tmp_path):
    CommitmentFactory(title="Annual forum", paragraphs=[seeded.paragraphs.get(number=16)])
    text = without_paragraph(SEED, 16).replace(SEED_TITLE, "A new title, not applied either")
    before = database_state()

    with pytest.raises(CommandError, match="no paragraph 16, which commitments cite \\('Annual"):
        import_file(tmp_path, text, short_name="ashgabat-2020")  # a new title: named explicitly

    assert database_state() == before


def test_a_dry_run_reports_without_writing(db, tmp_path):
    output = import_file(tmp_path, SEED, dry_run=True)

    assert output.strip() == (
        "Would import 'ashgabat-2020': 16 paragraphs, preamble 5 parts (dry run, nothing written)"
    )
    assert database_state() == ([], [])


def test_a_dry_run_of_a_changed_text_lists_the_changes_without_writing(seeded, tmp_path):
    before = database_state()

    output = import_file(tmp_path, SEED.replace("Organization1;", "Organisation;"), "--dry-run")

    assert output.splitlines() == [
        "Would update 'ashgabat-2020' (1 change): 16 paragraphs, preamble 5 parts "
        "(dry run, nothing written)",
        "  - text changed: ¶7",
    ]
    assert database_state() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary", id="binary"),
        pytest.param(LATIN_1, "not UTF-8", id="not-utf8"),
        pytest.param(b"Minutes\n\nThe meeting was opened.\n", "no numbered paragraphs", id="prose"),
        pytest.param(renumbered(SEED, 9, 10), "paragraph 9 is missing", id="skipped-number"),
        pytest.param(renumbered(SEED, 10, 9), "Paragraph 9 appears twice", id="repeated-number"),
    ],
)
def test_unreadable_files_fail_with_a_reason_and_change_nothing(seeded, tmp_path, content, message):
    before = database_state()

    with pytest.raises(CommandError, match=message) as raised:
        import_file(tmp_path, content)

    assert raised.value.returncode != 0
    assert database_state() == before


def test_a_missing_file_says_what_to_do(db, tmp_path):
    with pytest.raises(CommandError, match="does not exist. Give the path") as raised:
        call_command("import_document", str(tmp_path / "nowhere.txt"))

    assert raised.value.returncode == 1
    with pytest.raises(CommandError, match="is a folder"):
        call_command("import_document", str(tmp_path))


def test_a_failed_import_exits_non_zero_from_the_shell(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "import_document", str(tmp_path / "nowhere.txt")],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "does not exist" in result.stderr


@pytest.mark.parametrize("short_name", ["Ashgabat-2020", "ashgabat 2020", "ashgabat_2020", ""])
def test_a_bad_short_name_is_refused(db, tmp_path, short_name):
    with pytest.raises(CommandError, match="lowercase letters, digits and hyphens"):
        import_file(tmp_path, SEED, short_name=short_name)

    assert database_state() == ([], [])


def test_a_source_address_that_is_not_one_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="not a web address"):
        import_file(tmp_path, SEED, source_url="mfa.gov.tm articles")

    assert database_state() == ([], [])


def test_another_document_from_the_same_place_and_year_needs_its_own_short_name(seeded, tmp_path):
    text = SEED.replace("Ashgabat, December 12, 2020", "Ashgabat, January 14, 2020")
    before = database_state()

    with pytest.raises(CommandError, match="adopted on 2020-12-12.*own --short-name"):
        import_file(tmp_path, text)

    assert database_state() == before
    output = import_file(tmp_path, text, short_name="ashgabat-january")
    assert output.startswith("Imported 'ashgabat-january'")


def test_a_stored_source_address_is_kept_when_none_is_given(db):
    document_import(text=SEED, source_url="https://mfa.gov.tm/en/articles/493")

    report = document_import(text=SEED)

    assert report.up_to_date
    assert Document.objects.get().source_url == "https://mfa.gov.tm/en/articles/493"


def test_a_file_far_larger_than_a_document_is_refused(seeded, tmp_path, monkeypatch):
    monkeypatch.setattr("commitments.importers.MAX_FILE_BYTES", len(SEED.encode()) - 1)
    before = database_state()

    with pytest.raises(CommandError, match="is larger than .* Check that this is the right file"):
        import_file(tmp_path, SEED)

    assert database_state() == before


# --- Which document a text is (issue 10) -------------------------------------------------------


def resolution(title: str, *, closing: str = "New York, 12 December 2020", words: str = "") -> str:
    return (
        f"{title}\n\nThe General Assembly,\n\n1. Decided to meet{words} again;\n\n"
        f"2. Requested a report.\n\n{closing}\n"
    )


@pytest.fixture
def resolution_a(db, tmp_path):
    import_file(tmp_path, resolution("Resolution A"))
    document = Document.objects.get(short_name="new-york-2020")
    commitment = CommitmentFactory(paragraphs=[document.paragraphs.get(number=1)])
    return commitment


def test_another_document_with_the_same_place_and_date_is_refused_naming_both(
    resolution_a, tmp_path
):
    before = database_state()

    with pytest.raises(CommandError) as raised:
        import_file(tmp_path, resolution("Resolution B", words=" in Almaty"))

    message = str(raised.value)
    assert "'Resolution B' has the same place and date as the recorded 'Resolution A'" in message
    assert "--short-name new-york-2020-b" in message and "--short-name new-york-2020 " in message
    assert raised.value.returncode == 1
    assert database_state() == before
    assert resolution_a.paragraphs.get().text == "Decided to meet again;"


def test_the_refusal_holds_for_a_dry_run(resolution_a, tmp_path):
    before = database_state()

    with pytest.raises(CommandError, match="'Resolution B' has the same place and date"):
        import_file(tmp_path, resolution("Resolution B"), dry_run=True)

    assert database_state() == before


@pytest.mark.parametrize(
    "title", ["Resolution A", "resolution  a", "RESOLUTION A", "Resolution A."], ids=repr
)
def test_the_same_document_again_updates_it(resolution_a, tmp_path, title):
    output = import_file(tmp_path, resolution(title, words=" in Almaty"))

    assert output.startswith("Updated 'new-york-2020'")
    assert resolution_a.paragraphs.get().text == "Decided to meet in Almaty again;"
    assert Document.objects.count() == 1


def test_a_translation_is_refused_until_named_then_replaces_the_text(resolution_a, tmp_path):
    translation = resolution("Résolution A (version française)", words=" à nouveau")

    with pytest.raises(CommandError, match="new version or a translation"):
        import_file(tmp_path, translation)
    output = import_file(tmp_path, translation, short_name="new-york-2020")

    assert output.startswith("Updated 'new-york-2020'")
    assert resolution_a.paragraphs.get().text == "Decided to meet à nouveau again;"


def test_the_other_document_is_imported_under_its_own_short_name(resolution_a, tmp_path):
    output = import_file(tmp_path, resolution("Resolution B"), short_name="new-york-2020-b")

    assert output.startswith("Imported 'new-york-2020-b'")
    assert resolution_a.paragraphs.get().document.title == "Resolution A"
    assert Document.objects.get(short_name="new-york-2020-b").title == "Resolution B"


def test_the_same_title_on_another_date_of_the_year_is_another_document(resolution_a, tmp_path):
    with pytest.raises(CommandError, match="already a document adopted on 2020-12-12"):
        import_file(tmp_path, resolution("Resolution A", closing="New York, 1 March 2020"))

    output = import_file(tmp_path, resolution("Resolution A", closing="New York, 1 March 2021"))
    assert output.startswith("Imported 'new-york-2021'")


LONG_TITLE = (
    "Final document of the high-level international conference on neutrality, peace and trust"
)


def test_documents_without_place_and_date_are_told_apart_by_title_too(db, tmp_path):
    import_file(tmp_path, resolution(f"{LONG_TITLE}: part one", closing=""))
    name = Document.objects.get().short_name
    before = database_state()

    with pytest.raises(CommandError, match=f"has the same short name as the recorded .*'{name}'"):
        import_file(tmp_path, resolution(f"{LONG_TITLE}: part two", closing=""))

    assert database_state() == before
    output = import_file(tmp_path, resolution(f"{LONG_TITLE} -- Part One", closing="", words=" x"))
    assert output.startswith(f"Updated '{name}'")


# --- Lengths the database would refuse ---------------------------------------------------------


def test_a_first_word_longer_than_an_operative_verb_is_refused_before_writing(db, tmp_path):
    word = "Reaffirmed" + "x" * 71  # 81 characters, one more than Paragraph.operative_verb
    text = f"Title\n\n1. Noted it;\n\n2. {word} the rest.\n"

    with pytest.raises(CommandError, match="Paragraph 2 \\(line 5\\) opens with .*81 characters"):
        import_file(tmp_path, text)

    assert database_state() == ([], [])
    fits = f"Title\n\n1. Noted it;\n\n2. {word[:80]} the rest.\n"
    assert import_file(tmp_path, fits).startswith("Imported 'title'")


def test_a_light_verb_phrase_longer_than_a_verb_is_refused_too(db):
    with pytest.raises(DocumentFormatError, match="82 characters; an operative verb has at most"):
        document_parse(f"Title\n\n1. Extended {'a' * 73} to all.\n")


def test_a_title_over_its_length_says_how_long_it_is(db, tmp_path):
    with pytest.raises(CommandError, match="The title is 501 characters; at most 500 fit"):
        import_file(tmp_path, f"{'T' * 501}\n\n1. Noted it.\n")

    assert database_state() == ([], [])
    assert import_file(tmp_path, f"{'T' * 500}\n\n1. Noted it.\n").startswith("Imported")


# --- Paragraph numbers -------------------------------------------------------------------------


def numbered(count: int, *, separator: str = "\n\n") -> str:
    paragraphs = separator.join(f"{n}. Noted item {n};" for n in range(1, count + 1))
    return f"Title\n\n{paragraphs}\n\nGeneva, 1 March 2024\n"


@pytest.mark.parametrize("separator", ["\n\n", "\n"], ids=["blank-lines", "no-blank-lines"])
def test_a_thousand_and_one_paragraphs_are_a_thousand_and_one(db, tmp_path, separator):
    import_file(tmp_path, numbered(1001, separator=separator))

    document = Document.objects.get()
    assert document.paragraphs.count() == 1001
    assert document.paragraphs.get(number=999).text == "Noted item 999;"
    assert document.paragraphs.get(number=1001).text == "Noted item 1001;"


def test_five_digit_paragraph_numbers_are_read():
    parsed = document_parse(numbered(12345, separator="\n"))

    assert [p.number for p in parsed.paragraphs] == list(range(1, 12346))
    assert parsed.paragraphs[-1].text == "Noted item 12345;"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1. Noted that it met\n3. Encouraged it.", "from 1 to 3: paragraph 2 is missing"),
        ("1. Noted that it met\n4. Encouraged it.", "from 1 to 4: paragraph 2 is missing"),
        ("1. Noted it;\n2. Noted that it met\n1. Welcomed it.", "Paragraph 1 appears twice"),
        ("1. Noted it;\n2. Noted that it met\n2. Welcomed it.", "Paragraph 2 appears twice"),
        ("1. Noted that it met\n\n3. Encouraged it.", "from 1 to 3: paragraph 2 is missing"),
        ("1. Noted that it met,\n3. Encouraged it.", "from 1 to 3: paragraph 2 is missing"),
    ],
    ids=["gap-after-open-line", "gap-of-two", "backwards", "duplicate", "blank-line", "comma"],
)
def test_a_numbering_gap_is_an_error_naming_the_line_never_merged(body, message):
    with pytest.raises(DocumentFormatError, match=message) as raised:
        document_parse(f"\n\nTitle\n\n{body}\n")

    last_line = 5 + body.count("\n")  # two blank lines, the title and a blank line come first
    assert f"line {last_line}: '" in str(raised.value)


@pytest.mark.parametrize("rest", ["December, with all;", "Dec. 2020, with all;", "and more;"])
def test_a_wrapped_line_that_reads_as_the_sentence_going_on_stays_in_it(rest):
    paragraphs = document_parse(f"Title\n\n1. Noted that it met on\n12. {rest}\n2. Welcomed.\n")

    assert [p.text for p in paragraphs.paragraphs] == [
        f"Noted that it met on 12. {rest}",
        "Welcomed.",
    ]


# --- Files that are not a document's text ------------------------------------------------------


def command_error(path) -> str:
    with pytest.raises(CommandError) as raised:
        call_command("import_document", str(path))
    assert raised.value.returncode == 1
    return str(raised.value)


def test_a_loop_of_symbolic_links_is_named(db, tmp_path):
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")

    assert "a.txt is a loop of symbolic links" in command_error(tmp_path / "a.txt")


def test_a_link_to_nowhere_is_named(db, tmp_path):
    (tmp_path / "a.txt").symlink_to(tmp_path / "gone.txt")

    assert "a symbolic link to" in command_error(tmp_path / "a.txt")


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(db, tmp_path):
    os.mkfifo(tmp_path / "pipe")

    assert "pipe is a named pipe, not a file" in command_error(tmp_path / "pipe")


def test_a_device_and_a_folder_are_named(db, tmp_path):
    assert "/dev/null is a character device (such as /dev/null), not a file" in command_error(
        "/dev/null"
    )
    assert f"{tmp_path} is a folder, not a file" in command_error(tmp_path)


def test_a_file_this_user_may_not_read_says_so(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SEED, encoding="utf-8")
    path.chmod(0o200)
    tmp_path.chmod(0o755)
    # root reads any file: it runs without the capabilities that let it, as another user would.
    without_root_reading = [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]
    prefix = without_root_reading if os.geteuid() == 0 else []
    result = subprocess.run(
        [*prefix, sys.executable, "manage.py", "import_document", str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "secret.txt cannot be read by this user (permission denied)" in result.stderr


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    "text", [SEED, resolution("Итоговый документ", closing="")], ids=["en", "ru"]
)
def test_utf16_without_a_byte_order_mark_is_named(text, encoding):
    with pytest.raises(DocumentFormatError, match="looks like UTF-16 text without a byte-order"):
        document_text_decode(text.encode(encoding), name="seed.txt")


def test_a_cyrillic_title_gets_a_transliterated_short_name(db, tmp_path):
    output = import_file(tmp_path, resolution("Итоговый документ конференции", closing=""))

    assert output.startswith("Imported 'itogovyi-dokument-konferentsii'")


def test_a_title_without_latin_or_cyrillic_letters_asks_for_a_short_name(db, tmp_path):
    text = resolution("最后文件", closing="")

    with pytest.raises(
        CommandError, match="Cannot make a short name from the title '最后文件'.*--short-name"
    ):
        import_file(tmp_path, text)

    assert database_state() == ([], [])
    assert import_file(tmp_path, text, short_name="final-2020").startswith("Imported 'final-2020'")


def test_the_recorded_alternative_title_is_the_same_document(resolution_a, tmp_path):
    Document.objects.update(alternative_title="Resolution A (second translation)")

    output = import_file(tmp_path, resolution("Resolution A (Second translation)", words=" x"))

    assert output.startswith("Updated 'new-york-2020'")
    with pytest.raises(CommandError, match="another title"):
        import_file(tmp_path, resolution("Resolution A (third translation)"))
