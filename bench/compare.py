"""Two runs side by side (issue 16, scale: "no page's cached or cold time grows more than
twice"): for each page in both, this run's cached and cold times over the other's.

    python -m bench.run ... --compare bench/results/OTHER.json
    python -m bench.compare THIS.json OTHER.json
"""

import json
import sys
from pathlib import Path

GROWTH_LIMIT = 2.0


def cached_ms(result: dict) -> float | None:
    """A page's cached time: the median latency of its median round under load."""
    return result.get("median_ms")


def cold_ms(result: dict) -> float | None:
    """A page's cold time: the median of its write-then-read rounds over HTTP, else the
    in-process first request after the caches were emptied."""
    over_http = result.get("cold_http") or {}
    return over_http.get("median_ms") or result.get("cold_ms")


def _ratio(this: float | None, other: float | None) -> float | None:
    return round(this / other, 2) if this and other else None


def compare(this: dict, other: dict, limit: float = GROWTH_LIMIT) -> list[dict]:
    """One row per page measured in both runs (by name): the ratios of cached and cold times,
    and whether either grew more than `limit` times."""
    before = {result["page"]: result for result in other.get("pages", [])}
    rows = []
    for result in this.get("pages", []):
        previous = before.get(result["page"])
        if previous is None:
            continue
        cached = _ratio(cached_ms(result), cached_ms(previous))
        cold = _ratio(cold_ms(result), cold_ms(previous))
        grown = [ratio for ratio in (cached, cold) if ratio is not None and ratio > limit]
        rows.append({"page": result["page"], "cached": cached, "cold": cold, "grown": bool(grown)})
    return rows


def compare_print(rows: list[dict], other_name: str, limit: float = GROWTH_LIMIT) -> None:
    print(f"\nAgainst {other_name} (this run's time over that run's; more than {limit:g} flagged)")
    print(f"{'page':44} {'cached':>8} {'cold':>8}")
    for row in rows:
        figures = [f"{ratio:8.2f}" if ratio is not None else f"{'-':>8}" for ratio in
                   (row["cached"], row["cold"])]  # fmt: skip
        print(f"{row['page']:44} {' '.join(figures)}" + ("  GREW" if row["grown"] else ""))
    grown = [row["page"] for row in rows if row["grown"]]
    print(f"{len(grown)} of {len(rows)} pages grew more than {limit:g} times" if grown else
          f"No page grew more than {limit:g} times ({len(rows)} compared).")  # fmt: skip


def results_read(name: str) -> dict:
    """A results file, or SystemExit saying why it cannot be compared with."""
    try:
        report = json.loads(Path(name).read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"Cannot compare with {name}: {error}") from None
    if not isinstance(report, dict) or not isinstance(report.get("pages"), list):
        raise SystemExit(f"Cannot compare with {name}: not a bench.run results file (no pages)")
    return report


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__)
        return 2
    this, other = (results_read(name) for name in args)
    compare_print(compare(this, other), args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
