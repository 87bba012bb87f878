"""A table's rows written in Python (core/templatetags/table_rows.py) are the rows the
django-tables2 package's own template writes: compared cell for cell, on the commitments
table as its readers see it and on a table with what that one lacks (attributes that differ by
row, localized cells, no row)."""

import datetime
import re
from decimal import Decimal

import django_tables2 as tables
import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation

from commitments.tables import DATE_FORMAT, CommitmentTable, DayColumn
from tests.factories import (
    ActorFactory,
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    post_status_update,
)

LIST_URL = reverse("commitments:commitment_list")
PACKAGE_TEMPLATE = "django_tables2/table.html"


def tbody(page: str) -> str:
    """The table's body, without the whitespace between tags that the package's indented
    template has and the Python rows do not."""
    body = page[page.index("<tbody") : page.index("</tbody>")]
    return re.sub(r">\s+<", "><", body).rstrip()


@pytest.fixture
def record(secretariat):
    """Commitments with what a row can show: links, a title to escape, a retired one, dates
    and none, an overdue one, an owner with and without a full name, news or none."""
    document = DocumentFactory(short_name="ashgabat-2020")
    paragraph = ParagraphFactory(document=document, number=3)
    actor = ActorFactory(name="Turkmenistan & <friends>")
    late = CommitmentFactory(
        title='A "quoted" <b>title</b> & more',
        paragraphs=[paragraph],
        target_date=datetime.date(2021, 6, 1),
        owner=secretariat,
    )
    late.lead_actors.add(actor)
    post_status_update(late, secretariat, status="in_progress", progress=40)
    CommitmentFactory(title="Undated", paragraphs=[], target_date=None, owner=None)
    CommitmentFactory(title="Retired one", retired_on=datetime.date(2024, 1, 1), owner=secretariat)


@pytest.mark.parametrize("query", [{}, {"sort": "due"}, {"retired": "on", "sort": "-title"}])
@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("reader", ["secretariat_client", "liaison_client"])
def test_the_commitments_table_has_the_rows_the_package_writes(
    request, record, monkeypatch, query, language, reader
):
    client = request.getfixturevalue(reader)
    client.cookies["django_language"] = language
    ours = client.get(LIST_URL, query)
    assert ours.status_code == 200
    cache.clear()
    monkeypatch.setattr(CommitmentTable._meta, "template_name", PACKAGE_TEMPLATE)

    theirs = client.get(LIST_URL, query)

    assert "<td" in tbody(ours.content.decode())
    assert tbody(ours.content.decode()) == tbody(theirs.content.decode())


class Everything(tables.Table):
    """Cells whose attributes depend on the row, localized and unlocalized numbers, a date,
    a value to escape."""

    name = tables.Column(attrs={"td": {"data-row": lambda record: record["id"], "class": "n"}})
    amount = tables.Column(localize=True)
    raw = tables.Column(localize=False)
    plain = tables.Column()
    day = tables.DateColumn(format="j M Y")

    class Meta:
        template_name = "django_tables2/tracker_table.html"
        row_attrs = {"data-id": lambda record: record["id"]}
        empty_text = "Nothing <here>"


class ChoosesClasses(Everything):
    class Meta(Everything.Meta):
        pass

    def get_column_class_names(self, classes_set, bound_column):
        record = getattr(bound_column, "current_record", None)  # none in the header
        return {*classes_set, f"row-{record['id']}"} if record else classes_set


ROWS = [
    {"id": n, "name": f"<i>{n}</i> & co", "amount": Decimal("1234.5") * n, "raw": 1234567 * n,
     "plain": 1000.25 * n, "day": datetime.date(2020, 12, n + 1)}
    for n in range(1, 4)
]  # fmt: skip


def rendered(table_class, rows, template_name: str) -> str:
    table = table_class(rows, template_name=template_name)
    return table.as_html(RequestFactory().get("/"))


@pytest.mark.parametrize("table_class", [Everything, ChoosesClasses])
@pytest.mark.parametrize("rows", [ROWS, []], ids=["rows", "none"])
@pytest.mark.parametrize("language", ["en", "ru"])
@override_settings(USE_THOUSAND_SEPARATOR=True)
def test_any_table_has_the_rows_the_package_writes(table_class, rows, language):
    with translation.override(language):
        ours = rendered(table_class, rows, "django_tables2/tracker_table.html")
        theirs = rendered(table_class, rows, PACKAGE_TEMPLATE)

    assert tbody(ours) == tbody(theirs)
    if rows:
        assert 'data-row="2"' in ours and "&lt;i&gt;2&lt;/i&gt; &amp; co" in ours
    else:
        assert '<td colspan="5">Nothing &lt;here&gt;</td>' in ours
    if rows and table_class is ChoosesClasses:
        assert "row-3" in ours


class TwoDays(tables.Table):
    ours = DayColumn(accessor="day")
    theirs = tables.DateColumn(format=DATE_FORMAT, accessor="day")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_day_column_writes_the_day_as_the_packages_date_column(language):
    """commitments.tables.DayColumn formats without a template, as DateColumn's template does,
    and gives an export the same values."""
    days = [datetime.date(2020, 12, 12), datetime.date(2021, 5, 1), None]
    table = TwoDays([{"day": day} for day in days])
    with translation.override(language):
        cells = [(row.get_cell("ours"), row.get_cell("theirs")) for row in table.rows]
        values = list(table.as_values())[1:]  # what an export reads: ISO days

    assert [ours for ours, theirs in cells] == [theirs for ours, theirs in cells]
    assert values == [["2020-12-12"] * 2, ["2021-05-01"] * 2, ["—"] * 2]
    assert cells[2][0] == "—"
    assert cells[0][0] == ("12 Dec 2020" if language == "en" else "12 Дек 2020")
