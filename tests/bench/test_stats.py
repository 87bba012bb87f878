import pytest

from bench.stats import cold_summary, latency_summary, median, percentile, spread


def test_median_of_an_odd_count_is_the_middle_sample():
    assert median([9, 1, 5]) == 5


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert median([4, 1, 3, 2]) == 2.5


def test_p95_of_one_to_a_hundred_is_95():
    assert percentile(list(range(100, 0, -1)), 95) == 95


def test_p95_is_a_measured_sample_by_nearest_rank():
    # 20 samples: rank ceil(0.95 * 20) = 19, so the 19th smallest, not an interpolation.
    samples = [10] * 18 + [500, 900]
    assert percentile(samples, 95) == 500


def test_p95_of_a_single_sample_is_that_sample():
    assert percentile([7], 95) == 7


def test_no_samples_is_an_error_not_a_zero():
    with pytest.raises(ValueError):
        median([])
    with pytest.raises(ValueError):
        percentile([], 95)


def test_summary_converts_microseconds_and_counts_requests_per_second():
    summary = latency_summary([1000, 3000, 2000, 4000], elapsed_us=2_000_000)
    assert summary == {"requests": 4, "rps": 2.0, "median_ms": 2.5, "p95_ms": 4.0, "p99_ms": 4.0}


def test_spread_of_an_odd_count_gives_quartiles_of_the_outer_halves():
    assert spread([5, 1, 3, 9, 7]) == {"median": 5, "q1": 2.0, "q3": 8.0, "min": 1, "max": 9}


def test_spread_of_one_round_is_that_round_everywhere():
    assert spread([0.8]) == {"median": 0.8, "q1": 0.8, "q3": 0.8, "min": 0.8, "max": 0.8}


def test_spread_of_no_rounds_is_an_error():
    with pytest.raises(ValueError):
        spread([])


def test_p99_is_in_the_summary_by_nearest_rank():
    # 200 samples: rank ceil(0.99 * 200) = 198, the 198th smallest.
    samples = [1000] * 197 + [50_000, 90_000, 100_000]
    summary = latency_summary(samples, elapsed_us=1_000_000)
    assert summary["p99_ms"] == 50.0
    assert summary["p95_ms"] == 1.0


def test_a_cold_page_is_judged_by_its_median_with_the_worst_beside_it():
    within = cold_summary([120.0, 90.0, 400.0], target_ms=150)
    assert (within["median_ms"], within["worst_ms"], within["met"]) == (120.0, 400.0, True)
    assert within["rounds_ms"] == [120.0, 90.0, 400.0]
    assert cold_summary([151.0, 160.0, 90.0], target_ms=150)["met"] is False
    assert cold_summary([150.0], target_ms=150)["met"] is True
