"""The keys the commitments table sorts by (models.due_order_expression, news_on_expression,
status_order_expression), which its indexes hold, against what the table shows: the due date
written with today's date in it (deadlines.annotate), the last news and the status; and the
table's sorts in the order those give, for both audiences and every mix of state."""

import datetime
import re

import pytest
from django.db.models import F
from django.urls import reverse

from commitments import deadlines
from commitments import models as commitment_models
from commitments.models import Commitment
from commitments.statuses import Status
from core.local_time import reader_today
from tests.commitments.test_deadline_counts import AUDIENCES, DAYS, varied_record

pytestmark = pytest.mark.django_db

LIST_URL = reverse("commitments:commitment_list")


def shown(status_field: str, last_field: str, today: datetime.date):
    """Every commitment with the table's annotations for one audience's columns."""
    rows = Commitment.objects.annotate(
        shown_status=F(status_field),
        shown_progress=F(status_field.replace("status", "progress")),
        shown_last_activity=F(last_field),
    )
    return deadlines.annotate(rows, today=today).annotate(
        due_up=commitment_models.due_order_expression("shown_status"),
        due_down=commitment_models.due_order_expression("shown_status", descending=True),
        news=commitment_models.news_on_expression("shown_last_activity"),
        rank=commitment_models.status_order_expression("shown_status"),
    )


@pytest.mark.parametrize("today", DAYS[:3])
@pytest.mark.parametrize("status_field,last_field", AUDIENCES)
def test_the_sort_keys_are_what_the_table_shows(status_field, last_field, today):
    varied_record(today)

    rows = list(shown(status_field, last_field, today))

    assert any(row.due_date for row in rows) and any(row.due_date is None for row in rows)
    for row in rows:
        assert row.due_up == (row.due_date or datetime.date.max), row.pk
        assert row.due_down == (row.due_date or datetime.date.min), row.pk
        assert row.news == row.last_news, row.pk
        assert row.rank == Status.values.index(row.shown_status), row.pk


@pytest.mark.parametrize("status_field", ["status", "public_status"])
def test_the_indexes_finished_rule_is_the_deadlines_one(status_field):
    varied_record(DAYS[0])

    def ids(condition):
        return set(Commitment.objects.filter(condition).values_list("pk", flat=True))

    finished = ids(deadlines.finished(status_field))
    assert finished == ids(commitment_models._finished(status_field))
    assert 0 < len(finished) < Commitment.objects.count()


def table_titles(response) -> list[str]:
    page = response.content.decode()
    body = page[page.index("<tbody") : page.index("</tbody>")]
    return re.findall(r">(Commitment \d+)<", body)


SORTS = ["due", "-due", "freshness", "-freshness", "status", "-status", "progress", "-progress"]


def varied_progress() -> None:
    """Progress in steps of ten, so that rows tie on it too, each audience its own."""
    for pk in Commitment.objects.values_list("pk", flat=True):
        Commitment.objects.filter(pk=pk).update(
            progress=pk * 37 % 11 * 10, public_progress=pk * 53 % 11 * 10
        )


def every_page(client, params) -> list[str]:
    """The titles of every page of 25 in turn (those past the middle read backwards)."""
    titles, number = [], 1
    while page := table_titles(client.get(LIST_URL, {**params, "page": number})):
        titles += page
        number += 1
        if len(page) < 25:
            break
    return titles


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("role", ["secretariat", "liaison"])
def test_the_table_sorts_in_the_order_of_what_it_shows(client, secretariat, liaison, role, sort):
    """Ascending: by the value shown (a due date's absence last), ties by title; descending:
    the due dates latest first with the absent ones still last, the others the ascending
    order turned. The same order whole and page by page."""
    user = secretariat if role == "secretariat" else liaison
    today = reader_today(user)
    varied_record(today)
    varied_progress()
    client.force_login(user)
    status_field, last_field = AUDIENCES[0] if role == "secretariat" else AUDIENCES[1]
    rows = list(shown(status_field, last_field, today).filter(retired_on__isnull=True))
    column = sort.removeprefix("-")
    descending = sort.startswith("-")

    def key(row):
        if column == "due":
            if row.due_date is None:
                return (1, 0, row.title)
            days = row.due_date.toordinal()
            return (0, -days if descending else days, row.title)
        values = {
            "freshness": row.last_news.toordinal(),
            "status": row.rank,
            "progress": row.shown_progress,
        }
        return (values[column], row.title)

    expected = [row.title for row in sorted(rows, key=key, reverse=descending and column != "due")]

    listed = table_titles(client.get(LIST_URL, {"sort": sort, "per_page": 100}))

    assert listed == expected and len(set(expected)) == len(expected) > 50
    assert every_page(client, {"sort": sort}) == expected
