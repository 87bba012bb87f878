"""gunicorn serving the tracker on a free loopback port, and the memory of its workers."""

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
WORKERS = 2


def free_port() -> int:
    """A port the kernel says is free now (gunicorn binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its output above")
        try:
            urllib.request.urlopen(f"{base_url}/login/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered, whatever the status
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {base_url} within {timeout} s")


@contextmanager
def gunicorn(env: dict, app: str = "config.wsgi:application"):
    """Serve the tracker (or the reference, bench.reference.wsgi) with the bench's gunicorn
    settings; yield (base URL, master process)."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        f"--workers={WORKERS}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=120",
        "--log-level=warning",
    ]
    base_url = f"http://127.0.0.1:{port}"
    # The site's own address, as a deployment sets it: a calendar feed is kept in the cache only
    # when asked for at that address (tracker.event_views), so without it every feed was rebuilt.
    site = {"TRACKER_SITE_URL": base_url}
    process = subprocess.Popen(command, cwd=BASE_DIR, env={**os.environ, **site, **env})
    try:
        wait_until_up(base_url, process)
        yield base_url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def worker_pids(master: subprocess.Popen) -> list[int]:
    return [child.pid for child in psutil.Process(master.pid).children()]


def peak_rss_reset(pids: list[int]) -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so the next peak is this request's."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far, user and system."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def rss_kib(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss // 1024


class RssSampler:
    """Samples the workers' RSS every few milliseconds, as a check on VmHWM."""

    def __init__(self, pids: list[int], interval: float = 0.01):
        self.pids, self.interval, self.peak = pids, interval, dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
