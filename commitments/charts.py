"""Charts drawn on the server as SVG: no script, no library, nothing fetched, allowed by the CSP.

Each builder turns figures into geometry (coordinates in the SVG's own units) that a template in
templates/tracker/_chart_*.html draws; colours come from CSS classes in tracker.css, font sizes
from the builders (in the same units, so words scale with the chart on a phone).
Every chart carries its figures as rows too, which the template prints as a visually hidden
table: screen readers and the printed report get the numbers, not only the picture. A
commitment's progress chart draws a bounded few of its updates as dots and rows (_dotted), the
list of updates under it holding all of them.
"""

import datetime
import itertools
from dataclasses import dataclass, field

from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from commitments.statuses import Status
from core.local_time import format_day

# Colours as SVG presentation attributes, because WeasyPrint (the PDF report) does not apply
# the page's CSS to SVG; in the browser the classes in tracker.css take precedence over them.
STATUS_FILL = {
    Status.NOT_STARTED: "#8a96a3",
    Status.IN_PROGRESS: "#0b5c8e",
    Status.ACHIEVED: "#1d6b35",
    Status.RECURRING_ON_TRACK: "#3f8f5a",
    Status.STALLED: "#9b1c1c",
    Status.NO_LONGER_PURSUED: "#5b6875",
}
ACCENT, NONE_FILL = "#0b5c8e", "#d6dde4"

# Horizontal bar charts: each label above its bar, the figure after the bar. Labels stacked
# rather than beside the bars keep the chart narrow (420 units), so that on a 390 px phone it is
# drawn at about 0.8 of its size and its words stay readable (issue 10).
BAR_AREA_WIDTH = 360
BAR_VALUE_WIDTH = 60
BAR_ROW_HEIGHT = 44
BAR_LABEL_BASELINE = 15
BAR_TOP = 20  # the bar's top within its row, below the label
BAR_HEIGHT = 18
# Words in a chart, in its own units: presentation attributes, because the PDF's renderer
# ignores CSS in SVG. Sized with the charts' widths for at least 11 px on a 390 px phone.
BAR_FONT_SIZE = 15
LINE_FONT_SIZE = 16
# Charts over time.
LINE_WIDTH = 440
LINE_HEIGHT = 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 20, 12, 30
# A commitment's progress chart marks at most one update per this many units of width, the dot's
# diameter (closer dots would cover each other): MAX_DOTS however long the history.
DOT_SPACING = 10
MAX_DOTS = (LINE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT) // DOT_SPACING + 1


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str
    y: float
    width: float
    css_class: str
    fill: str = ACCENT

    # Coordinates for the template, which cannot do arithmetic on floats.
    @property
    def label_y(self) -> float:
        return self.y + BAR_LABEL_BASELINE

    @property
    def bar_y(self) -> float:
        return self.y + BAR_TOP

    @property
    def text_y(self) -> float:
        return self.y + BAR_TOP + BAR_HEIGHT / 2 + 5

    @property
    def value_x(self) -> float:
        return self.width + 6


@dataclass
class BarChart:
    id: str
    title: str
    description: str
    headers: tuple[str, str]
    bars: list[Bar]
    bar_height: int = BAR_HEIGHT
    font_size: int = BAR_FONT_SIZE

    @property
    def width(self) -> int:
        return BAR_AREA_WIDTH + BAR_VALUE_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * BAR_ROW_HEIGHT + 4

    @property
    def rows(self) -> list[tuple[str, str]]:
        return [(bar.label, bar.text) for bar in self.bars]

    @property
    def rows_html(self) -> SafeString:
        return figures_rows_html(self.rows)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    css_class: str = ""
    fill: str = ACCENT


@dataclass
class LineChart:
    id: str
    title: str
    description: str
    headers: tuple[str, str]
    rows: list[tuple[str, str]]
    path: str
    points: list[Point] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    width: int = LINE_WIDTH
    height: int = LINE_HEIGHT
    left: int = MARGIN_LEFT
    right: int = LINE_WIDTH - MARGIN_RIGHT
    top: int = MARGIN_TOP
    bottom: int = LINE_HEIGHT - MARGIN_BOTTOM
    font_size: int = LINE_FONT_SIZE

    @property
    def points_svg(self) -> SafeString:
        """The dots, written here rather than by a template loop: a commitment with 1,000
        updates has 1,000 of them, which took the template 60 ms a page."""
        return format_html_join(
            "\n",
            '<circle class="chart-point {}" fill="{}" stroke="#fff" cx="{}" cy="{}" r="5">'
            "<title>{}</title></circle>",
            ((p.css_class, p.fill, p.x, p.y, p.label) for p in self.points),
        )

    @property
    def rows_html(self) -> SafeString:
        return figures_rows_html(self.rows)


def figures_rows_html(rows: list[tuple[str, str]]) -> SafeString:
    """A chart's figures as table rows (tracker/_chart_table.html), one per point or bar."""
    return format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows)


def _bar_width(value: float, largest: float) -> float:
    return round(BAR_AREA_WIDTH * value / largest, 1) if largest else 0


def status_bars(counts, *, chart_id: str = "chart-status") -> BarChart:
    """Commitments by status, in the vocabulary's order (counts: dashboard StatusCount items)."""
    largest = max((item.count for item in counts), default=0)
    total = sum(item.count for item in counts)
    bars = [
        Bar(
            label=str(item.status.label),
            value=item.count,
            text=str(item.count),
            y=index * BAR_ROW_HEIGHT,
            width=_bar_width(item.count, largest),
            css_class=f"status-{item.status.value}",
            fill=STATUS_FILL[item.status],
        )
        for index, item in enumerate(counts)
    ]
    summary = ", ".join(f"{bar.label}: {bar.value}" for bar in bars)
    return BarChart(
        id=chart_id,
        title=_("Commitments by status"),
        description=f"{total} commitments. {summary}.",
        headers=(_("Status"), _("Commitments")),
        bars=bars,
    )


@dataclass(frozen=True)
class ParagraphProgress:
    number: int
    verb: str
    commitments: int
    progress: int  # average progress of its commitments, 0-100


def paragraph_progress_bars(rows: list[ParagraphProgress], *, chart_id: str, title: str):
    """Average progress of each paragraph's commitments; a paragraph with none says so."""
    bars = [
        Bar(
            label=f"¶{row.number} {row.verb}".strip(),
            value=row.progress,
            text=f"{row.progress}%" if row.commitments else "no commitment",
            y=index * BAR_ROW_HEIGHT,
            width=_bar_width(row.progress, 100),
            css_class="progress" if row.commitments else "progress none",
            fill=ACCENT if row.commitments else NONE_FILL,
        )
        for index, row in enumerate(rows)
    ]
    tracked = [row for row in rows if row.commitments]
    mean = round(sum(row.progress for row in tracked) / len(tracked)) if tracked else 0
    return BarChart(
        id=chart_id,
        title=title,
        description=(
            f"Average progress of the commitments drawn from each of {len(rows)} paragraphs; "
            f"{len(tracked)} paragraphs have commitments, averaging {mean}%."
        ),
        headers=(_("Paragraph"), _("Average progress")),
        bars=bars,
    )


def _x_scale(start: datetime.date, end: datetime.date):
    span, usable = max((end - start).days, 1), LINE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    return lambda day: round(MARGIN_LEFT + usable * (day - start).days / span, 1)


def _y_scale(largest: int):
    usable = LINE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    return lambda value: round(LINE_HEIGHT - MARGIN_BOTTOM - usable * value / max(largest, 1), 1)


def _year_ticks(start: datetime.date, end: datetime.date, x) -> list[Tick]:
    years = range(start.year + (start.month > 1 or start.day > 1), end.year + 1)
    step = max(1, len(years) // 8)
    return [Tick(x(datetime.date(year, 1, 1)), str(year)) for year in years[::step]]


def _value_ticks(largest: int, y, suffix: str = "") -> list[Tick]:
    step = max(1, -(-largest // 4))
    return [Tick(y(value), f"{value}{suffix}") for value in range(0, max(largest, 1) + 1, step)]


def _step_path(points: list[tuple[float, float]], right: float) -> str:
    """A step line: a value holds until the next change, then to the right edge. Within one unit
    of width it turns only to the lowest, the highest and the last value there (_turns): the
    same line, with at most four commands a unit however many values share it."""
    if not points:
        return ""
    (at, level), commands = points[0], [f"M{points[0][0]},{points[0][1]}"]
    for _unit, column in itertools.groupby(points, key=lambda point: int(point[0])):
        column = list(column)
        moves = []
        for y in _turns(level, [point[1] for point in column]):
            if y != (moves[-1] if moves else level):
                moves.append(y)
        if moves:
            commands += [f"H{column[0][0]}"] if column[0][0] != at else []
            commands += [f"V{y}" for y in moves]
            at, level = column[0][0], moves[-1]
    commands.append(f"H{right}")
    return " ".join(commands)


def _turns(level: float, values: list[float]) -> tuple[float, ...]:
    """From `level`, the values to go to that cover all of `values` and end at the last."""
    low, high = min(values), max(values)
    if level <= low:
        return high, values[-1]
    if level >= high:
        return low, values[-1]
    return low, high, values[-1]


def achieved_over_time(
    monthly: list[tuple[datetime.date, int]], *, chart_id: str, total: int, since: str
) -> LineChart:
    """How many commitments were achieved at the end of each month, as a step line."""
    if not monthly:
        return LineChart(chart_id, "Achieved over time", "No history yet.", ("", ""), [], "")
    start, end = monthly[0][0].replace(day=1), monthly[-1][0]
    largest = max(total, max(count for _, count in monthly), 1)
    x, y = _x_scale(start, end), _y_scale(largest)
    coordinates = [(x(day), y(count)) for day, count in monthly]
    last = monthly[-1][1]
    return LineChart(
        id=chart_id,
        title=_("Commitments achieved over time"),
        description=(
            f"How many of {total} commitments were achieved at the end of each month since "
            f"{since}: {monthly[0][1]} in {monthly[0][0]:%B %Y}, {last} in {end:%B %Y}."
        ),
        headers=(_("Month"), _("Achieved")),
        rows=[(f"{day:%B %Y}", str(count)) for day, count in monthly],
        path=_step_path(coordinates, x(end)),
        x_ticks=_year_ticks(start, end, x),
        y_ticks=_value_ticks(largest, y),
    )


def progress_timeline(updates, *, chart_id: str, today: datetime.date) -> LineChart:
    """One commitment's progress through its updates (oldest first): the line through all of
    them, dots in their status for some (_dotted); the figures table holds the dotted ones."""
    if not updates:
        return LineChart(chart_id, "Progress over time", "No status update yet.", ("", ""), [], "")
    start = updates[0].happened_on
    end = max(today, updates[-1].happened_on, start + datetime.timedelta(days=30))
    x, y = _x_scale(start, end), _y_scale(100)
    placed = [(x(update.happened_on), y(update.progress), update) for update in updates]
    points = [_progress_point(*dot) for dot in _dotted(placed)]
    return LineChart(
        id=chart_id,
        title=_("Progress over time"),
        description=_progress_description(updates, points),
        headers=(_("Date"), _("Status and progress")),
        rows=[tuple(point.label.split(": ", 1)) for point in points],
        path=_step_path([(px, py) for px, py, _update in placed], x(end)),
        points=points,
        x_ticks=_year_ticks(start, end, x),
        y_ticks=_value_ticks(100, y, "%"),
    )


def _dotted(placed: list[tuple]) -> list[tuple]:
    """One update in each DOT_SPACING of width: the last there whose status differs from the one
    before it (the first update counts), else the last there; in the last stretch the latest."""
    kept, before = {}, None
    for dot in placed:
        column = int((dot[0] - MARGIN_LEFT) // DOT_SPACING)
        changed, before = dot[2].status != before, dot[2].status
        if changed or not kept.get(column, (None, False))[1]:
            kept[column] = (dot, changed)
    kept[column] = (placed[-1], True)
    return [dot for dot, _changed in kept.values()]


def _progress_point(x: float, y: float, update) -> Point:
    status = Status(update.status)
    label = f"{format_day(update.happened_on)}: {status.label}, {update.progress}%"
    return Point(x, y, label, f"status-{update.status}", STATUS_FILL[status])


def _progress_description(updates, points: list[Point]) -> str:
    count = len(updates)
    said = {"count": count, "start": format_day(updates[0].happened_on), "latest": points[-1].label}
    text = ngettext(
        "%(count)s status update from %(start)s; latest: %(latest)s.",
        "%(count)s status updates from %(start)s; latest: %(latest)s.",
        count,
    )
    if len(points) == count:
        return text % said
    marked = _("The dots mark %(dots)s of them, changes of status first; the list below holds all.")
    return f"{text % said} {marked % {'dots': len(points)}}"
