"""Alternating rounds: every page's turn sits between two of the reference's, and its ratio is
to their mean, so the machine's noise falls on both sides of it."""

import pytest

from bench.rounds import REFERENCE, page_summary, round_ratios, schedule


def test_the_reference_opens_closes_and_separates_every_round():
    assert schedule(["bare", "dashboard"], 2) == [
        REFERENCE, "bare", REFERENCE, "bare", REFERENCE,
        "dashboard", REFERENCE, "dashboard", REFERENCE,
    ]  # fmt: skip


def test_each_page_gets_its_rounds_and_the_reference_one_more_than_all_of_them():
    order = schedule(["a", "b", "c"], 3)
    assert [order.count(name) for name in ("a", "b", "c", REFERENCE)] == [3, 3, 3, 10]
    assert all(order[i] == REFERENCE for i in range(0, len(order), 2))


def test_no_rounds_is_refused():
    with pytest.raises(ValueError):
        schedule(["a"], 0)


def test_a_rounds_ratio_is_to_the_mean_of_the_reference_either_side():
    order = schedule(["page"], 2)  # ref, page, ref, page, ref
    ratios = round_ratios(order, [100, 50, 300, 100, 100])
    assert ratios == {"page": [50 / 200, 100 / 200]}


def test_a_failed_page_round_is_left_out_and_a_failed_reference_is_not_a_zero():
    order = schedule(["page"], 3)  # ref, page, ref, page, ref, page, ref
    ratios = round_ratios(order, [100, None, 100, 60, None, 80, 100])
    assert ratios == {"page": [60 / 100, 80 / 100]}


def test_figures_must_match_the_schedule():
    with pytest.raises(ValueError):
        round_ratios(schedule(["page"], 1), [100, 50])


def test_a_pages_summary_keeps_the_median_ratio_and_its_spread():
    summary = page_summary([0.5, 0.9, 0.6, 0.7], [50.0, 90.0, 60.0, 70.0])
    expected = {"median": 0.65, "q1": 0.55, "q3": 0.8, "min": 0.5, "max": 0.9}
    assert summary["ratio"] == pytest.approx(expected)
    assert summary["rps"]["median"] == 65.0
    assert summary["rounds"] == 4
