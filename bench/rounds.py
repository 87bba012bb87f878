"""Alternating rounds: the reference and the pages take turns, so noise from the shared machine
falls on both sides of each ratio.

The schedule is reference, page, reference, page, ..., reference: each round of a page sits
between two rounds of the reference, and its ratio is to their mean. A page's figure is the
median of its rounds' ratios, with their spread.
"""

from collections.abc import Sequence

from .stats import spread

REFERENCE = "reference"


def schedule(pages: Sequence[str], rounds: int) -> list[str]:
    """The order in which to drive: every page `rounds` times, each turn between two of the
    reference's, a page's rounds one after another."""
    if rounds < 1:
        raise ValueError(f"at least one round per page, got {rounds}")
    order = [REFERENCE]
    for page in pages:
        for _ in range(rounds):
            order += [page, REFERENCE]
    return order


def round_ratios(order: Sequence[str], rps: Sequence[float | None]) -> dict[str, list[float]]:
    """Each page's ratio in each of its rounds: its requests per second over the mean of the
    reference's on either side. `rps` is what was measured at each step of `order`
    (None where it failed)."""
    if len(order) != len(rps):
        raise ValueError(f"{len(rps)} figures for a schedule of {len(order)} steps")
    ratios: dict[str, list[float]] = {}
    for step, name in enumerate(order):
        if name == REFERENCE or rps[step] is None:  # None: the step failed
            continue
        sides = [figure for figure in (rps[step - 1], rps[step + 1]) if figure]
        if sides:
            ratios.setdefault(name, []).append(rps[step] / (sum(sides) / len(sides)))
    return ratios


def page_summary(ratios: Sequence[float], page_rps: Sequence[float]) -> dict:
    """What the results file and the table keep of a page's rounds."""
    return {"ratio": spread(ratios), "rps": spread(page_rps), "rounds": len(ratios)}
