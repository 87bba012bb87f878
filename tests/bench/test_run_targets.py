"""bench.run's verdicts: which targets were missed, cold ones included; every page other
issues added has a target; a page's first round is preceded by a warm-up turn not counted."""

import argparse

import pytest

from bench import run
from bench.run import Page, targets
from bench.sizes import Sizes

DASHBOARD = Page("dashboard", "/", "secretariat", 0.5, cold_target_ms=150)
FEED = Page("feed", "/calendar.ics", "", cold_target_ms=150)


def cold(median, worst):
    return {"median_ms": median, "worst_ms": worst, "rounds_ms": [median], "target_ms": 150}


def test_a_page_within_its_targets_is_not_said():
    results = [{"page": "dashboard", "ratio": {"median": 0.5}, "cold_http": cold(150, 900)}]
    assert targets(results, [DASHBOARD]) == []


def test_a_slow_cold_median_is_missed_with_its_worst_round():
    results = [{"page": "feed", "cold_http": cold(151, 400)}]
    assert targets(results, [FEED]) == ["feed, cold: median 151 ms > 150 ms (worst 400 ms)"]


def test_throughput_and_cold_are_judged_apart():
    results = [{"page": "dashboard", "ratio": {"median": 0.49}, "cold_http": cold(20, 30)}]
    assert targets(results, [DASHBOARD]) == ["dashboard: 0.49 of the reference < 0.50"]


def test_a_page_with_a_target_that_could_not_be_measured_is_said():
    results = [
        {"page": "dashboard", "error": "HTTP 500", "cold_http": {"error": "no read succeeded"}}
    ]
    assert targets(results, [DASHBOARD]) == [
        "dashboard: not measured (HTTP 500)",
        "dashboard, cold: not measured (no read succeeded)",
    ]


def landmarks():
    return argparse.Namespace(
        long_path="/commitments/c-00000/",
        milestones_path="/commitments/c-00001/",
        document_path="/documents/d/",
        actor_path="/actors/a/",
        theme_pk=1,
    )


def test_the_pages_other_issues_added_each_have_a_target():
    pages = {page.name: page for page in run.pages(landmarks(), Sizes(), "token")}
    added = [name for name in pages if name.startswith(("public: ", "API: "))]
    assert len(added) == 9
    for name in [*added, "table, overdue", "table, by due date", "table, late"]:
        assert pages[name].target > 0, name
    assert all(pages[name].site == run.PUBLIC for name in added if name.startswith("public"))
    assert all(pages[name].api_token for name in added if name.startswith("API"))
    cold = [name for name, page in pages.items() if page.cold_target_ms]
    # dashboard, table (first page, by due date, late), commitment, actor page, both feeds
    assert len(cold) == 8
    assert pages["commitment, long history (secretariat)"].writes_to == "c-00000"


def warming(load) -> bool:
    return load.max_requests == run.WARM_UP.max_requests


def test_each_page_is_warmed_up_once_before_its_rounds_and_that_turn_is_not_counted(
    monkeypatch,
):
    calls = []

    def drive(url, *, cookie="", authorization="", accept_encoding="", load):
        calls.append((url, load))
        return {"rps": -1.0 if warming(load) else 100.0}

    monkeypatch.setattr(run, "drive", drive)
    monkeypatch.setattr(run, "cookie_for", lambda key: key)
    page = Page("page", "/p/", "secretariat")
    probes = {"page": ({"cold_ms": 2500.0}, run.Load(seconds=1))}
    urls = {"tracker": "http://t", "reference": "http://r"}
    sessions = {run.REFERENCE: "r", "secretariat": "s"}

    order, measured = run.rounds_drive([page], probes, urls, sessions, run.Load(), rounds=2)

    warm = [(url, load.seconds) for url, load in calls if warming(load)]
    assert warm == [("http://r/bench/bare/", 1), ("http://t/p/", 9)]  # 3 × 2.5 s, and 1
    assert warming(calls[0][1]) and warming(calls[2][1])  # before each one's first turn
    assert len(measured) == len(order) == 5
    assert all(step["rps"] == 100.0 for step in measured)


@pytest.mark.parametrize(
    "argv",
    [["--rounds", "0"], ["--cold-rounds", "-1"], ["--concurrent-connections", "0"]],
)
def test_numbers_that_cannot_be_run_are_refused_before_any_work(argv, capsys):
    with pytest.raises(SystemExit):
        run.arguments(argv)
    assert "must be" in capsys.readouterr().err


def test_the_feeds_are_read_compressed_as_calendar_apps_read_them_and_no_other_page(monkeypatch):
    sent = {}

    def drive(url, *, cookie="", authorization="", accept_encoding="", load):
        sent.setdefault(url, set()).add(accept_encoding)
        return {"rps": 100.0}

    monkeypatch.setattr(run, "drive", drive)
    monkeypatch.setattr(run, "cookie_for", lambda key: key)
    page_list = run.pages(landmarks(), Sizes(), "token")
    probes = {page.name: ({}, run.Load(seconds=1)) for page in page_list}
    urls = {"tracker": "http://t", "public": "http://p", "reference": "http://r"}
    sessions = {run.REFERENCE: "r", "secretariat": "s", "liaison": "l", "admin": "a"}
    sessions[run.TOKENS] = {"secretariat": "api"}

    run.rounds_drive(page_list, probes, urls, sessions, run.Load(), rounds=1)

    compressed = {url for url, encodings in sent.items() if encodings == {"gzip"}}
    assert compressed == {"http://t/calendar.ics", "http://t/calendar/token.ics"}
    assert all(encodings == {""} for url, encodings in sent.items() if url not in compressed)
    for page in page_list:  # the reads right after a write (bench.cold_http)
        headers = run.read_headers(page, sessions)
        assert headers.get("Accept-Encoding") == ("gzip" if page.path.endswith(".ics") else None)
