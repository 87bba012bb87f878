"""Lists of paragraphs with their document leave the document's own texts out: an imported
programme's full text is megabytes, and every paragraph row would carry a copy of it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commitments import selectors
from commitments.forms import CommitmentForm
from tests.factories import CommitmentFactory, DocumentFactory, ParagraphFactory


def selected_columns(sql: str) -> str:
    return sql.split(" FROM ")[0]


@pytest.fixture
def paragraph(db):
    document = DocumentFactory(full_text="Whole text. " * 1000, preamble="Recalling...")
    return ParagraphFactory(document=document)


def test_the_commitment_forms_paragraph_choices_leave_the_documents_texts_out(paragraph):
    with CaptureQueriesContext(connection) as queries:
        form = CommitmentForm()
    sql = " ".join(q["sql"] for q in queries.captured_queries if "paragraph" in q["sql"])
    assert "document" in sql
    assert "full_text" not in sql and "preamble" not in sql
    assert paragraph.pk in [pk for _, group in form.fields["paragraphs"].choices for pk, _ in group]


def test_the_commitment_lists_paragraphs_leave_the_documents_texts_out(paragraph, secretariat):
    CommitmentFactory(paragraphs=[paragraph])
    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.commitment_list(user=secretariat))
    assert rows[0].paragraphs.all()[0].document.title
    sql = " ".join(selected_columns(q["sql"]) for q in queries.captured_queries)
    assert "full_text" not in sql and "preamble" not in sql
