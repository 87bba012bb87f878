import datetime
from types import SimpleNamespace

from commitments import history
from commitments.statuses import Status


def row(commitment_id, day, status, progress=0):
    return SimpleNamespace(
        commitment_id=commitment_id, happened_on=day, status=status, progress=progress
    )


ROWS = [
    row(1, datetime.date(2021, 1, 10), Status.IN_PROGRESS, 40),
    row(2, datetime.date(2021, 2, 28), Status.ACHIEVED, 100),
    row(1, datetime.date(2021, 3, 1), Status.ACHIEVED, 100),
    row(2, datetime.date(2021, 3, 31), Status.STALLED, 60),
]


def test_states_as_of_take_the_latest_row_on_or_before_the_day():
    states = history.states_as_of(ROWS, as_of=datetime.date(2021, 2, 28))

    assert states == {
        1: history.State(Status.IN_PROGRESS, 40),
        2: history.State(Status.ACHIEVED, 100),
    }


def test_states_as_of_without_a_day_take_the_whole_history():
    assert history.states_as_of(ROWS)[2] == history.State(Status.STALLED, 60)


def test_month_ends_cross_the_year_end_and_stop_at_the_end_day():
    ends = history.month_ends(datetime.date(2020, 12, 12), datetime.date(2021, 2, 10))

    assert ends == [
        datetime.date(2020, 12, 31),
        datetime.date(2021, 1, 31),
        datetime.date(2021, 2, 10),
    ]


def test_count_by_month_counts_a_status_held_at_each_month_end():
    monthly = history.count_by_month(
        ROWS, start=datetime.date(2021, 1, 1), end=datetime.date(2021, 4, 15), status="achieved"
    )

    assert monthly == [
        (datetime.date(2021, 1, 31), 0),
        (datetime.date(2021, 2, 28), 1),
        (datetime.date(2021, 3, 31), 1),  # one achieved, the other stalled on the same day
        (datetime.date(2021, 4, 15), 1),
    ]
