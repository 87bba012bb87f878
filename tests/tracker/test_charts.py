import datetime
import random
from types import SimpleNamespace

import pytest
from django.urls import reverse

from commitments import charts, history
from commitments import selectors as commitment_selectors
from commitments.models import Document, StatusUpdate
from commitments.statuses import Status
from tests.factories import (
    CommitmentFactory,
    DocumentFactory,
    ParagraphFactory,
    post_status_update,
)
from tracker import chart_selectors, selectors

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 27)


def post(commitment, author, day, status, progress, visibility=StatusUpdate.Visibility.PUBLIC):
    return post_status_update(
        commitment,
        author,
        status=status,
        progress=progress,
        narrative="Reported.",
        happened_on=day,
        visibility=visibility,
    )


@pytest.fixture
def record(secretariat):
    document = DocumentFactory(adopted_on=datetime.date(2020, 12, 12))
    first = ParagraphFactory(document=document, number=1, operative_verb="Highlighted")
    second = ParagraphFactory(document=document, number=2, operative_verb="Encouraged")
    ParagraphFactory(document=document, number=3, operative_verb="")  # no commitment from it
    done = CommitmentFactory(paragraphs=[first])
    post(done, secretariat, datetime.date(2021, 3, 5), Status.ACHIEVED, 100)
    secret = CommitmentFactory(paragraphs=[first, second])
    post(secret, secretariat, datetime.date(2022, 1, 5), Status.IN_PROGRESS, 30)
    # Only the secretariat knows this one is achieved.
    post(secret, secretariat, datetime.date(2023, 1, 5), Status.ACHIEVED, 100, "internal")
    return document


def test_status_bars_are_as_long_as_their_counts():
    counts = [
        selectors.StatusCount(status, n)
        for status, n in zip(Status, [4, 2, 1, 0, 0, 0], strict=True)
    ]

    chart = charts.status_bars(counts)

    assert [bar.width for bar in chart.bars[:3]] == [charts.BAR_AREA_WIDTH, 180, 90]
    assert chart.bars[3].width == 0
    assert chart.description.startswith("7 commitments. Not started: 4, In progress: 2")
    assert chart.rows[0] == ("Not started", "4")


def test_paragraph_progress_for_the_secretariat_and_for_a_liaison(record, secretariat, liaison):
    chart = chart_selectors.chart_paragraph_progress(user=secretariat, document=record)
    assert chart.id == f"chart-paragraphs-{record.pk}"
    assert chart.rows == [
        ("¶1 Highlighted", "100%"),
        ("¶2 Encouraged", "100%"),
        ("¶3", "no commitment"),
    ]

    chart = chart_selectors.chart_paragraph_progress(user=liaison, document=record)
    assert chart.rows[:2] == [("¶1 Highlighted", "65%"), ("¶2 Encouraged", "30%")]


def test_paragraph_progress_leaves_retired_commitments_out_as_the_matrix_does(secretariat):
    paragraph = ParagraphFactory(number=1, operative_verb="")
    CommitmentFactory(paragraphs=[paragraph], progress=40)
    CommitmentFactory(paragraphs=[paragraph], progress=100, retired_on=TODAY)
    alone = ParagraphFactory(document=paragraph.document, number=2, operative_verb="")
    CommitmentFactory(paragraphs=[alone], progress=100, retired_on=TODAY)

    chart = chart_selectors.chart_paragraph_progress(user=secretariat, document=paragraph.document)

    assert chart.rows == [("¶1", "40%"), ("¶2", "no commitment")]


def test_a_retired_commitment_is_in_the_achieved_history_and_its_total_not_the_status_bars(
    record, secretariat
):
    done = record.paragraphs.get(number=1).commitments.order_by("pk").first()
    type(done).objects.filter(pk=done.pk).update(retired_on=TODAY)
    counts = selectors.dashboard_status_counts(user=secretariat)

    shown = chart_selectors.dashboard_charts(
        user=secretariat, status_counts=counts, today=TODAY, document=None
    )

    assert shown.status.description.startswith(
        "1 commitments. Not started: 0, In progress: 0, Achieved: 1,"
    )
    assert shown.over_time.description.startswith("How many of 2 commitments were achieved")
    assert shown.over_time.rows[-1] == ("November 2026", "2")


def test_achieved_over_time_follows_the_history_each_user_may_see(record, secretariat, liaison):
    chart = chart_selectors.chart_achieved_over_time(user=secretariat, today=TODAY, total=2)
    rows = dict(chart.rows)
    assert rows["December 2020"] == "0"
    assert rows["March 2021"] == "1"
    assert rows["January 2023"] == "2"
    assert chart.rows[-1] == ("November 2026", "2")

    liaison_chart = chart_selectors.chart_achieved_over_time(user=liaison, today=TODAY, total=2)
    assert liaison_chart.rows[-1] == ("November 2026", "1")


def test_chart_figures_cost_a_fixed_number_of_queries(
    record, secretariat, django_assert_num_queries
):
    for _ in range(10):
        commitment = CommitmentFactory(paragraphs=[record.paragraphs.first()])
        post(commitment, secretariat, datetime.date(2024, 2, 2), Status.ACHIEVED, 100)
    counts = selectors.dashboard_status_counts(user=secretariat)

    with django_assert_num_queries(4):
        chart_selectors.dashboard_charts(
            user=secretariat, status_counts=counts, today=TODAY, document=record
        )


def test_progress_timeline_puts_each_update_in_its_status(record, secretariat):
    commitment = record.paragraphs.get(number=2).commitments.get()
    updates = list(commitment.updates.order_by("happened_on"))

    chart = charts.progress_timeline(updates, chart_id="chart-timeline", today=TODAY)

    assert [point.css_class for point in chart.points] == ["status-in_progress", "status-achieved"]
    assert chart.points[0].y > chart.points[1].y  # 30% sits lower than 100%
    assert chart.path.startswith(f"M{chart.points[0].x},{chart.points[0].y}")
    assert chart.rows[1] == ("5 January 2023", "Achieved, 100%")


def test_dashboard_draws_the_charts_with_text_alternatives(client, record, liaison):
    client.force_login(liaison)

    content = client.get(reverse("dashboard")).content.decode()

    for chart_id in ("chart-status", "chart-achieved", f"chart-paragraphs-{record.pk}"):
        assert f'aria-labelledby="{chart_id}-title"' in content
        assert f'<title id="{chart_id}-title">' in content
        assert f'<desc id="{chart_id}-desc">' in content
        assert f'<table class="visually-hidden chart-data" id="{chart_id}-data">' in content
    assert "style=" not in content  # the CSP allows no inline style


def test_commitment_page_draws_its_timeline_from_visible_updates(client, record, liaison):
    commitment = record.paragraphs.get(number=2).commitments.get()
    client.force_login(liaison)

    content = client.get(commitment.get_absolute_url()).content.decode()

    assert '<title id="chart-timeline-title">Progress over time</title>' in content
    assert content.count('class="chart-point ') == 1  # the internal update is not drawn


def test_a_line_charts_dots_and_figures_are_written_escaped():
    chart = charts.LineChart(
        id="chart-x",
        title="Progress",
        description="",
        headers=("Date", "Value"),
        rows=[("1 May 2021", "<b>Stalled</b>, 10%")],
        path="M0,0",
        points=[charts.Point(12.5, 40.0, "1 May 2021: <b>", "status-stalled", "#a00")],
    )

    assert chart.points_svg == (
        '<circle class="chart-point status-stalled" fill="#a00" stroke="#fff" cx="12.5" '
        'cy="40.0" r="5"><title>1 May 2021: &lt;b&gt;</title></circle>'
    )
    assert chart.rows_html == (
        '<tr><th scope="row">1 May 2021</th><td>&lt;b&gt;Stalled&lt;/b&gt;, 10%</td></tr>'
    )


def test_achieved_over_time_in_sql_agrees_with_replaying_the_history(record, secretariat, liaison):
    # Same-day updates (the later recorded one counts), back and forth, internal notes.
    steps = [
        (datetime.date(2021, 5, 1), Status.ACHIEVED, "public"),
        (datetime.date(2021, 5, 1), Status.STALLED, "public"),
        (datetime.date(2021, 8, 9), Status.ACHIEVED, "internal"),
        (datetime.date(2022, 2, 1), Status.ACHIEVED, "public"),
        (datetime.date(2024, 4, 4), Status.IN_PROGRESS, "public"),
    ]
    for n in range(3):
        commitment = CommitmentFactory(paragraphs=[record.paragraphs.first()])
        for day, status, visibility in steps[n:]:
            post(commitment, secretariat, day, status, 50, visibility)

    for user in (secretariat, liaison):
        chart = chart_selectors.chart_achieved_over_time(user=user, today=TODAY, total=5)
        assert chart.rows == replayed_rows(user, start=record.adopted_on)


def replayed_rows(user, *, start: datetime.date) -> list[tuple[str, str]]:
    """The chart's rows replayed in Python from the updates in effect the user may read."""
    rows = list(
        commitment_selectors.status_update_in_effect_list(user=user)
        .order_by("happened_on", "recorded_at", "pk")
        .values_list("commitment_id", "happened_on", "status", "progress", named=True)
    )
    replayed = history.count_by_month(rows, start=start, end=TODAY, status=Status.ACHIEVED)
    return [(f"{day:%B %Y}", str(count)) for day, count in replayed]


def test_achieved_over_time_agrees_with_replaying_what_each_audience_reads(
    record, secretariat, liaison
):
    """The chart sums the spans kept with each write (commitments.achieved_spans); replayed
    here from the updates in effect: corrections, withdrawals, internal notes, two updates of a
    day, achieved then not, and a commitment deleted since."""
    from django.contrib.auth.models import AnonymousUser

    from commitments import services

    paragraph = record.paragraphs.first()
    a, b, c, gone = (CommitmentFactory(paragraphs=[paragraph]) for _ in range(4))
    post(a, secretariat, datetime.date(2021, 5, 1), Status.ACHIEVED, 100)
    post(a, secretariat, datetime.date(2021, 5, 1), Status.STALLED, 50)
    post(a, secretariat, datetime.date(2022, 7, 9), Status.ACHIEVED, 100, "internal")
    wrong = post(b, secretariat, datetime.date(2021, 9, 1), Status.ACHIEVED, 100)
    post(b, secretariat, datetime.date(2023, 2, 1), Status.IN_PROGRESS, 60)
    services.status_update_correct(
        update=wrong, author=secretariat, status=Status.STALLED, progress=20,
        narrative="Not yet.", reason="Misread.", expected_version=b.version,
    )  # fmt: skip
    post(c, secretariat, datetime.date(2022, 1, 1), Status.ACHIEVED, 100)
    undone = post(c, secretariat, datetime.date(2024, 4, 4), Status.IN_PROGRESS, 50)
    services.status_update_withdraw(
        update=undone, author=secretariat, reason="Wrong one.", expected_version=c.version
    )
    post(gone, secretariat, datetime.date(2021, 1, 1), Status.ACHIEVED, 100)
    gone.delete()

    for user in (secretariat, liaison, AnonymousUser()):
        chart = chart_selectors.chart_achieved_over_time(user=user, today=TODAY, total=6)
        assert chart.rows == replayed_rows(user, start=record.adopted_on)
    assert dict(chart.rows)["January 2021"] == "0"  # the deleted commitment's span went too
    assert chart.rows[-1] == ("November 2026", "2")  # the first from before 2020, and c


def test_achieved_over_time_starts_at_the_first_update_without_an_adoption_date(secretariat):
    commitment = CommitmentFactory()
    post(commitment, secretariat, datetime.date(2025, 10, 3), Status.IN_PROGRESS, 10)
    post(commitment, secretariat, datetime.date(2026, 1, 9), Status.ACHIEVED, 100)
    Document.objects.update(adopted_on=None)  # a document entered without its date

    chart = chart_selectors.chart_achieved_over_time(user=secretariat, today=TODAY, total=1)

    assert chart.rows[0] == ("October 2025", "0")
    assert dict(chart.rows)["January 2026"] == "1"


def test_the_achieved_series_queries_do_not_grow_with_the_updates(
    record, secretariat, django_assert_num_queries
):
    def chart_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            chart_selectors.chart_achieved_over_time(user=secretariat, today=TODAY, total=1)
        return len(queries)

    few = chart_queries()
    for n in range(30):
        commitment = CommitmentFactory(paragraphs=[record.paragraphs.first()])
        for year in (2021, 2022, 2023):
            status = Status.ACHIEVED if (n + year) % 2 else Status.STALLED
            post(commitment, secretariat, datetime.date(year, 3, 3), status, 50)

    assert chart_queries() == few == 2


def random_history(count: int, *, seed: int = 16) -> list[SimpleNamespace]:
    """`count` updates spread over ten years, progress and status changing at random."""
    rng, first = random.Random(seed), datetime.date(2016, 12, 1)
    days = sorted(rng.sample(range(3650), count))
    return [
        SimpleNamespace(
            happened_on=first + datetime.timedelta(days=day),
            status=rng.choice([Status.IN_PROGRESS, Status.STALLED]).value,
            progress=rng.randrange(101),
        )
        for day in days
    ]


def test_a_long_historys_chart_stays_the_same_size():
    charts_of = {
        count: charts.progress_timeline(
            random_history(count), chart_id="chart-timeline", today=TODAY
        )
        for count in (40, 400, 3000)
    }

    for count, chart in charts_of.items():
        assert 2 <= len(chart.points) <= charts.MAX_DOTS
        assert chart.points[-1].label.startswith(
            charts.format_day(random_history(count)[-1].happened_on)
        )
        assert chart.rows == [tuple(point.label.split(": ", 1)) for point in chart.points]
        # At most four turns a unit of width, the move and the last stretch.
        assert len(chart.path.split()) <= 4 * (charts.LINE_WIDTH - charts.MARGIN_LEFT) + 2
    sizes = [
        len(chart.points_svg) + len(chart.rows_html) + len(chart.path)
        for chart in charts_of.values()
    ]
    assert sizes[2] < 1.5 * sizes[1]  # 7.5 times the updates
    assert f"3000 status updates from {charts.format_day(random_history(3000)[0].happened_on)}" in (
        charts_of[3000].description
    )
    assert f"The dots mark {len(charts_of[3000].points)} of them" in charts_of[3000].description


def test_the_step_line_keeps_each_units_lowest_highest_and_last_value():
    # Four values within one unit of width, then the same value again further on.
    points = [(56.0, 100.0), (56.3, 50.0), (56.6, 150.0), (56.9, 120.0), (60.0, 120.0)]

    assert charts._step_path(points, 420.0) == "M56.0,100.0 V50.0 V150.0 V120.0 H420.0"
    # A value that moves one way only goes there once; each new unit starts with its place.
    assert charts._step_path([(56.0, 100.0), (57.2, 80.0), (57.5, 60.0)], 420.0) == (
        "M56.0,100.0 H57.2 V60.0 H420.0"
    )


def test_a_dot_shows_its_stretchs_change_of_status_and_the_last_dot_the_latest_update():
    def update(day, status, progress):
        return SimpleNamespace(happened_on=day, status=status.value, progress=progress)

    # The first four days of 2021 share a stretch of the chart's width (it spans six years).
    january = [datetime.date(2021, 1, day) for day in range(1, 5)]
    updates = [
        update(january[0], Status.IN_PROGRESS, 10),
        update(january[1], Status.IN_PROGRESS, 20),
        update(january[2], Status.STALLED, 20),
        update(january[3], Status.STALLED, 25),
    ]

    chart = charts.progress_timeline(updates, chart_id="chart-timeline", today=TODAY)

    assert chart.rows == [("4 January 2021", "Stalled, 25%")]  # the stretch's last: the latest
    assert chart.description == "4 status updates from 1 January 2021; latest: " + (
        "4 January 2021: Stalled, 25%. The dots mark 1 of them, changes of status first; "
        "the list below holds all."
    )
    # A stretch of its own in June: its change of status, not the update after it.
    updates += [
        update(datetime.date(2021, 6, 1), Status.IN_PROGRESS, 30),
        update(datetime.date(2021, 6, 2), Status.IN_PROGRESS, 35),
        update(TODAY, Status.ACHIEVED, 100),
    ]

    chart = charts.progress_timeline(updates, chart_id="chart-timeline", today=TODAY)

    assert [row[1] for row in chart.rows] == [
        "Stalled, 20%",
        "In progress, 30%",
        "Achieved, 100%",
    ]
