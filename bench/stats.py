"""Latency statistics of the load driver: median, 95th and 99th percentiles of measured
samples, and the summary of a page's cold reads."""

import math
from collections.abc import Sequence


def median(samples: Sequence[float]) -> float:
    """The middle sample; the mean of the two middle ones for an even count."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples: the page was never measured")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q% of samples at or below it.

    Nearest rank always returns a measured latency (no interpolation between two requests).
    """
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples: the page was never measured")
    rank = math.ceil(q / 100 * len(ordered))
    return float(ordered[rank - 1])


def latency_summary(samples_us: Sequence[float], elapsed_us: float) -> dict:
    """Requests per second, median, p95 and p99 in milliseconds, from per-request
    microseconds."""
    return {
        "requests": len(samples_us),
        "rps": len(samples_us) / (elapsed_us / 1e6) if elapsed_us else 0.0,
        "median_ms": median(samples_us) / 1000,
        "p95_ms": percentile(samples_us, 95) / 1000,
        "p99_ms": percentile(samples_us, 99) / 1000,
    }


def spread(samples: Sequence[float]) -> dict:
    """Median, quartiles (the medians of the lower and upper halves) and extremes of a few
    rounds' figures: how much a ratio moved within one run."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples: the page was never measured")
    half = len(ordered) // 2
    lower, upper = ordered[: max(half, 1)], ordered[len(ordered) - max(half, 1) :]
    return {
        "median": median(ordered),
        "q1": median(lower),
        "q3": median(upper),
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
    }


def cold_summary(samples_ms: Sequence[float], target_ms: float) -> dict:
    """A page's write-then-read rounds: the median and the worst read, every round's, and
    whether the median is within the target (issue 16: at most `target_ms`; the worst is
    reported beside it, as one slow round on a shared machine says more about the machine)."""
    middle = median(samples_ms)
    return {
        "median_ms": round(middle, 1),
        "worst_ms": round(max(samples_ms), 1),
        "rounds_ms": [round(sample, 1) for sample in samples_ms],
        "target_ms": target_ms,
        "met": middle <= target_ms,
    }
