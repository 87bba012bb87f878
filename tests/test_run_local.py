"""`make run` (bin/run-local): the address and the demo accounts are the last thing on screen
once the server answers, Ctrl-C stops the web app, the worker (with its pool) and beat
within seconds (a warm shutdown alone kept the worker for over a minute), and a worker that
dies is started again, with a line on screen (one died silently of kombu issue #1551)."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import CommitmentFactory, SecretariatFactory
from tests.reliability.conftest import free_port
from tests.reliability.helpers import reminder_due_now
from tests.reminder_helpers import BASE_DIR, worker_environment
from tests.tracker.conftest import smtp_sink  # noqa: F401  (a fixture, shared)
from tracker.tasks import dispatch_reminders

# The bug took over 60 s; the script gives a warm shutdown 5 s, a cold one 2 s, then kills.
STOP_BOUND_SECONDS = 12
PATIENCE_SECONDS = 120
ACCOUNTS = "Accounts (password: demo-password):\n  secretariat  secretariat\n"


def session_processes(session: int) -> dict[int, str]:
    """What still runs in the session the script leads (its children lead groups of their own,
    in the same session), zombies aside: {pid: command}."""
    listing = subprocess.run(
        ["ps", "-e", "-o", "sid=,pid=,stat=,args="], capture_output=True, text=True
    )
    found = {}
    for line in listing.stdout.splitlines():
        sid, pid, stat, args = line.split(None, 3)
        if sid == str(session) and not stat.startswith("Z"):
            found[int(pid)] = args
    return found


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, what: str, output: Path) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{output.read_text()}"
        time.sleep(0.2)


@pytest.fixture
def run_local(request, tmp_path, transactional_db, smtp_sink):  # noqa: F811
    """bin/run-local on a free port on the test database, its mail to the SMTP sink, leading a
    session of its own as a terminal's shell would start it; what it writes is in tmp_path.
    A test may give more environment as the fixture's parameter (indirect)."""
    port = free_port()
    (tmp_path / "accounts.txt").write_text(ACCOUNTS)
    environment = {
        **worker_environment(smtp_port=smtp_sink.port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "EMAIL_TIMEOUT": "120",  # the slow SMTP server below is waited for
        "RUN_LOCAL_LOG_DIR": str(tmp_path / "log"),
        "RUN_LOCAL_CACHE_DIR": str(tmp_path / "cache"),
        "DEMO_ACCOUNTS_FILE": str(tmp_path / "accounts.txt"),
        "TRACKER_SITE_URL": f"http://127.0.0.1:{port}",
        "RUN_LOCAL_RESTART_SECONDS": "2",
        **getattr(request, "param", {}),
    }
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "kept-by-an-earlier-run.djcache").write_text("")
    output = tmp_path / "screen.txt"
    with output.open("w") as screen:
        process = subprocess.Popen(
            [BASE_DIR / "bin" / "run-local", f"127.0.0.1:{port}"], cwd=BASE_DIR,
            env=environment, stdout=screen, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    process.port, process.screen, process.logs = port, output, tmp_path / "log"
    yield process
    for pid in session_processes(process.pid):  # whatever a failed test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_ctrl_c_stops_web_worker_and_beat_within_seconds(run_local, smtp_sink):  # noqa: F811
    # The worker is busy sending a reminder to a slow SMTP server: a warm shutdown alone would
    # wait for it.
    smtp_sink.delay = 90
    reminder_due_now(commitment=CommitmentFactory(owner=SecretariatFactory()))
    dispatch_reminders.delay()
    worker_log = run_local.logs / "worker.log"
    wait_for(lambda: smtp_sink.total() == 1, "the SMTP call", worker_log)
    wait_for(lambda: answers(run_local.port), "the server", run_local.screen)
    assert len(session_processes(run_local.pid)) >= 4  # script, web, worker and its pool, beat

    started = time.monotonic()
    os.killpg(run_local.pid, signal.SIGINT)  # what Ctrl-C does: the terminal's foreground group
    while session_processes(run_local.pid) and time.monotonic() - started < PATIENCE_SECONDS:
        time.sleep(0.2)

    stopped_after = time.monotonic() - started
    assert not session_processes(run_local.pid)
    assert stopped_after < STOP_BOUND_SECONDS, f"stopped after {stopped_after:.0f} s"
    assert run_local.wait(timeout=5) == 130


def test_the_address_and_accounts_are_the_last_lines_once_the_server_answers(run_local):
    wait_for(lambda: "Open http" in run_local.screen.read_text(), "the server", run_local.screen)
    time.sleep(1)  # anything the server would still print comes now
    lines = run_local.screen.read_text().rstrip("\n").splitlines()
    assert lines[-3:] == [
        *ACCOUNTS.splitlines(),
        f"Open http://127.0.0.1:{run_local.port}/ (Ctrl-C stops the web app, worker and beat)",
    ]
    # The server answers by then; its own startup lines went to its log.
    assert "Starting development server" in (run_local.logs / "web.log").read_text()
    # The cache the three share started empty (config/settings/local.py).
    assert not (run_local.logs.parent / "cache" / "kept-by-an-earlier-run.djcache").exists()
    os.killpg(run_local.pid, signal.SIGINT)
    run_local.wait(timeout=30)


def the_worker(session: int) -> int:
    """The worker's main process: it leads a process group of its own (its pool is in it)."""
    found = []
    for pid in session_processes(session):
        with contextlib.suppress(OSError):  # gone meanwhile (the script's `sleep`, say)
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            if os.getpgid(pid) == pid and b"\0worker\0" in command:
                found.append(pid)
    [pid] = found
    return pid


def test_a_worker_that_dies_is_restarted_with_a_line_on_screen(run_local):
    worker_log = run_local.logs / "worker.log"
    wait_for(lambda: "Open http" in run_local.screen.read_text(), "the server", run_local.screen)
    wait_for(lambda: " ready." in worker_log.read_text(), "the worker", worker_log)
    first = the_worker(run_local.pid)

    os.killpg(first, signal.SIGKILL)  # the worker and its pool, gone at once
    wait_for(lambda: "Restarted the worker" in run_local.screen.read_text(), "a restart",
             run_local.screen)  # fmt: skip
    wait_for(lambda: worker_log.read_text().count(" ready.") == 2, "the new worker", worker_log)

    assert the_worker(run_local.pid) != first
    screen = run_local.screen.read_text()
    assert "The worker stopped (exit status 137)" in screen
    assert f"Why it stopped: {worker_log}" in screen
    # Ctrl-C still stops everything, the new worker too.
    os.killpg(run_local.pid, signal.SIGINT)
    assert run_local.wait(timeout=30) == 130
    wait_for(lambda: not session_processes(run_local.pid), "everything to stop", run_local.screen)


@pytest.mark.parametrize(
    "run_local", [{"CELERY_LOG_LEVEL": "NO-SUCH-LEVEL", "RUN_LOCAL_RESTART_SECONDS": "5"}],
    indirect=True,
)  # fmt: skip
def test_a_worker_that_cannot_start_is_retried_every_few_seconds_not_in_a_loop(run_local):
    # Worker and beat both refuse the log level and stop within a second or two, every time.
    wait_for(lambda: "Open http" in run_local.screen.read_text(), "the server", run_local.screen)
    time.sleep(8)
    screen = run_local.screen.read_text()
    assert re.search(r"The worker stopped \(exit status 2\) after \d s; restarting it in 5 s\.",
                     screen)  # fmt: skip
    assert "The beat stopped (exit status 2)" in screen
    assert f"Why it stopped: {run_local.logs / 'worker.log'}" in screen
    assert 1 <= screen.count("Restarted the worker") <= 3  # once every 5 s, not in a loop
    assert "NO-SUCH-LEVEL" in (run_local.logs / "worker.log").read_text()
    os.killpg(run_local.pid, signal.SIGINT)
    assert run_local.wait(timeout=30) == 130
