"""Two runs compared page by page: cached and cold times as ratios, more than twice flagged."""

import json

import pytest

from bench.compare import compare, results_read


def run(*pages):
    return {"pages": list(pages)}


def test_each_page_in_both_runs_gets_its_cached_and_cold_ratios():
    this = run(
        {"page": "dashboard", "median_ms": 30.0, "cold_http": {"median_ms": 300.0}},
        {"page": "only here", "median_ms": 1.0},
    )
    other = run({"page": "dashboard", "median_ms": 20.0, "cold_http": {"median_ms": 100.0}})
    assert compare(this, other) == [
        {"page": "dashboard", "cached": 1.5, "cold": 3.0, "grown": True}
    ]


def test_growing_twice_exactly_is_within_the_limit():
    this = run({"page": "table", "median_ms": 40.0, "cold_ms": 200.0})
    other = run({"page": "table", "median_ms": 20.0, "cold_ms": 100.0})
    assert compare(this, other)[0]["grown"] is False


def test_the_in_process_cold_time_stands_in_when_a_run_has_none_over_http():
    this = run({"page": "feed", "median_ms": 10.0, "cold_ms": 50.0})
    other = run({"page": "feed", "median_ms": 10.0, "cold_http": {"median_ms": 10.0}})
    assert compare(this, other)[0]["cold"] == 5.0


def test_a_page_not_measured_in_one_run_has_no_ratio_and_is_not_flagged():
    this = run({"page": "broken", "error": "HTTP 500", "cold_ms": 5.0})
    other = run({"page": "broken", "median_ms": 10.0, "cold_ms": 5.0})
    assert compare(this, other) == [{"page": "broken", "cached": None, "cold": 1.0, "grown": False}]


def test_a_file_that_is_not_a_results_file_is_refused_with_its_name(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(SystemExit, match="missing.json"):
        results_read(str(missing))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"bulk_import": {}}))
    with pytest.raises(SystemExit, match="not a bench.run results file"):
        results_read(str(other))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(SystemExit, match="broken.json"):
        results_read(str(broken))
