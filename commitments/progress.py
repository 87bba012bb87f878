"""The progress rule: a commitment with milestones has its progress computed from them.

progress = floor(100 x weight of the milestones done / weight of all its milestones)

A commitment without milestones keeps the figure its latest status update typed (with the
reason for it). commitments.services copies the figure onto Commitment.progress and
public_progress (milestones are public, so both audiences see the same figure), which the
table, charts, report and exports read.
"""

import dataclasses

from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)

from .models import Milestone


def progress_from_weights(*, done: int, total: int) -> int:
    """The rule in Python: whole per cent, rounded down (99.9 % done is not 100 %)."""
    return 100 * done // total


def milestone_progress() -> Subquery:
    """Each commitment's figure by the rule, as an expression; NULL for one without milestones.
    Integer division in the database rounds down as progress_from_weights does."""
    done = Sum(Case(When(done_on__isnull=False, then=F("weight")), default=Value(0)))
    figure = ExpressionWrapper(done * 100 / Sum("weight"), output_field=IntegerField())
    rows = (
        Milestone.objects.filter(commitment=OuterRef("pk"))
        .order_by()
        .values("commitment")
        .annotate(figure=figure)
        .values("figure")
    )
    return Subquery(rows[:1], output_field=IntegerField())


@dataclasses.dataclass(frozen=True)
class MilestoneSums:
    """What the commitment page writes under its milestones: the rule worked out."""

    count: int
    done_count: int
    done_weights: tuple[int, ...]
    total_weight: int

    @property
    def done_weights_text(self) -> str:
        """The weights done as a sum, "1+2"; "0" while none is done."""
        return "+".join(str(weight) for weight in self.done_weights) or "0"

    @property
    def progress(self) -> int:
        return progress_from_weights(done=sum(self.done_weights), total=self.total_weight)


def milestone_sums(milestones) -> MilestoneSums | None:
    """The sums of milestones already read (a list), or None where there are none."""
    if not milestones:
        return None
    done = tuple(m.weight for m in milestones if m.done_on is not None)
    return MilestoneSums(
        count=len(milestones),
        done_count=len(done),
        done_weights=done,
        total_weight=sum(m.weight for m in milestones),
    )
