"""The implementation report: a document's record as it stood on a chosen day, public part only.

It is what the secretariat takes to the next five-yearly forum, so it shows only what liaisons
may read (public updates) and only what had happened by that day (happened_on <= as_of): a
later update, or any internal one, changes nothing in it. The state of each commitment is
replayed from that history (commitments.history), not read from Commitment.status, which is
today's state of all updates.

Each commitment's due or overdue badge is the rule of commitments.deadlines on the "as of" day,
from its replayed status and the milestones not done by then.

Fixed number of queries (eight) whatever the size of the document.
"""

import dataclasses
import datetime
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from core.local_time import format_day

from . import charts, deadlines, history
from .models import Actor, Commitment, Document, Paragraph, StatusUpdate
from .progress import progress_from_weights
from .statuses import Status


@dataclass
class ReportCommitment:
    commitment: Commitment
    state: history.State
    latest: StatusUpdate | None  # the latest public update by as_of, with links and files
    evidence: StatusUpdate | None  # the latest of those that cites evidence
    deadline: deadlines.Deadline = deadlines.NO_DEADLINE  # on the "as of" day

    @property
    def status_label(self) -> str:
        return Status(self.state.status).label


@dataclass
class ReportParagraph:
    paragraph: Paragraph
    commitments: list[ReportCommitment]


@dataclass(frozen=True)
class ReportStatusCount:
    """Shaped like tracker.selectors.StatusCount, so charts.status_bars draws both."""

    status: Status
    count: int


@dataclass
class Report:
    document: Document
    as_of: datetime.date
    paragraphs: list[ReportParagraph]
    status_counts: list[ReportStatusCount]
    status_chart: charts.BarChart
    paragraph_chart: charts.BarChart
    over_time_chart: charts.LineChart

    @property
    def total(self) -> int:
        return sum(item.count for item in self.status_counts)


def _public_history(*, document: Document, as_of: datetime.date) -> list[StatusUpdate]:
    """Public updates on the document's commitments that had happened by as_of, oldest first.

    As the record stands today: a corrected update counts as its correction (of the same
    day), a withdrawn one not at all, whenever the correction or withdrawal was made."""
    return list(
        StatusUpdate.objects.in_effect()
        .filter(
            visibility=StatusUpdate.Visibility.PUBLIC,
            happened_on__lte=as_of,
            commitment__paragraphs__document=document,
        )
        .distinct()
        .prefetch_related("links", "files")
        .order_by("happened_on", "recorded_at", "pk")
    )


def _document_paragraphs(document: Document, as_of: datetime.date) -> list[Paragraph]:
    """The paragraphs with the commitments still in the record on the day: one retired by then
    is in none of the report's rows and counts, as the dashboard and the table leave it out;
    one retired later is, as it stood that day."""
    in_record = Q(retired_on__isnull=True) | Q(retired_on__gt=as_of)
    commitments = (
        Commitment.objects.filter(in_record)
        .order_by("title")
        .prefetch_related(
            Prefetch("lead_actors", queryset=Actor.objects.order_by("name")), "milestones"
        )
    )
    return list(
        document.paragraphs.order_by("number").prefetch_related(
            Prefetch("commitments", queryset=commitments)
        )
    )


def _latest_by_commitment(updates: list[StatusUpdate]) -> tuple[dict, dict]:
    """commitment id -> its latest update, and -> its latest update citing evidence."""
    latest, evidence = {}, {}
    for update in updates:  # oldest first: the last one wins
        latest[update.commitment_id] = update
        if update.links.all() or update.files.all():
            evidence[update.commitment_id] = update
    return latest, evidence


def _paragraph_rows(paragraphs, states, updates, as_of) -> list[ReportParagraph]:
    latest, evidence = _latest_by_commitment(updates)
    return [
        ReportParagraph(
            paragraph,
            [
                _report_commitment(
                    c, states.get(c.pk, history.NOT_STARTED), latest, evidence, as_of
                )
                for c in paragraph.commitments.all()
            ],
        )
        for paragraph in paragraphs
    ]


def _report_commitment(commitment, state, latest, evidence, as_of) -> ReportCommitment:
    milestones = [(m.due_on, m.done_on) for m in commitment.milestones.all()]
    deadline = deadlines.deadline_state(
        status=state.status, target_date=commitment.target_date, milestones=milestones, today=as_of
    )
    if commitment.milestones.all():
        state = dataclasses.replace(state, progress=_milestone_progress_on(commitment, as_of))
    pk = commitment.pk
    return ReportCommitment(commitment, state, latest.get(pk), evidence.get(pk), deadline)


def _milestone_progress_on(commitment, as_of: datetime.date) -> int:
    """The progress rule on the milestones done by as_of: a milestone marked done with no
    status update after it moves the report's figure as it moves the commitment page's."""
    milestones = commitment.milestones.all()
    done = sum(m.weight for m in milestones if m.done_on is not None and m.done_on <= as_of)
    return progress_from_weights(done=done, total=sum(m.weight for m in milestones))


def _status_counts(commitment_ids: set[int], states) -> list[ReportStatusCount]:
    shown = [states.get(pk, history.NOT_STARTED).status for pk in commitment_ids]
    return [ReportStatusCount(status, shown.count(status.value)) for status in Status]


def _paragraph_chart(document: Document, rows: list[ReportParagraph]) -> charts.BarChart:
    figures = []
    for row in rows:
        progress = [item.state.progress for item in row.commitments]
        mean = round(sum(progress) / len(progress)) if progress else 0
        figures.append(
            charts.ParagraphProgress(
                row.paragraph.number, row.paragraph.operative_verb, len(progress), mean
            )
        )
    return charts.paragraph_progress_bars(
        figures, chart_id="chart-report-paragraphs", title=_("Progress per paragraph")
    )


def document_report(*, short_name: str, as_of: datetime.date) -> Report:
    """The report of one document as of a day; raises Document.DoesNotExist."""
    document = Document.objects.get(short_name=short_name)
    updates = _public_history(document=document, as_of=as_of)
    states = history.states_as_of(updates)
    paragraphs = _paragraph_rows(_document_paragraphs(document, as_of), states, updates, as_of)
    commitment_ids = {item.commitment.pk for row in paragraphs for item in row.commitments}
    counts = _status_counts(commitment_ids, states)
    start = document.adopted_on or (updates[0].happened_on if updates else as_of)
    monthly = history.count_by_month(updates, start=start, end=as_of, status=Status.ACHIEVED)
    return Report(
        document=document,
        as_of=as_of,
        paragraphs=paragraphs,
        status_counts=counts,
        status_chart=charts.status_bars(counts, chart_id="chart-report-status"),
        paragraph_chart=_paragraph_chart(document, paragraphs),
        over_time_chart=charts.achieved_over_time(
            monthly,
            chart_id="chart-report-achieved",
            total=len(commitment_ids),
            since=format_day(start),
        ),
    )
