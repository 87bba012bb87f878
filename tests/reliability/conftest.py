"""The outside world of the reliability tests, for real: a Redis of their own that they can stop
and hang without disturbing anyone else's, the broker switched over to it, and an SMTP sink."""

import signal
import socket
import subprocess
import time
from pathlib import Path

import kombu.pools
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.celery_app import app as celery_app
from tests.tracker.conftest import smtp_sink  # noqa: F401  (a fixture, shared)

PATIENCE_SECONDS = 30


def free_port() -> int:
    """A port nobody listens on now; redis-server cannot be given port 0 and report it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process on loopback, without persistence, that a test may stop, start
    again on the same port, or hang with CLIENT PAUSE."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )

    def start(self) -> None:
        command = [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
            "--appendonly", "no", "--dir", str(self.folder),
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()  # a frozen process would not act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=PATIENCE_SECONDS)

    def pause(self, seconds: int) -> None:
        """Hang every client for `seconds`: connections are accepted, commands get no answer.
        It cannot be lifted early: Redis 7.0 holds CLIENT UNPAUSE itself until the pause ends."""
        self.client().execute_command("CLIENT", "PAUSE", seconds * 1000, "ALL")

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections and data, the server answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def hung(self) -> bool:
        """True while the server accepts connections but does not answer."""
        probe = redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
        try:
            probe.ping()
        except redis.TimeoutError:
            return True
        finally:
            probe.close()
        return False

    def wait_answering(self) -> None:
        deadline = time.monotonic() + PATIENCE_SECONDS * 4
        while not self._answers():
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server on port {self.port} does not answer")
            time.sleep(0.2)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def forget_broker_connections() -> None:
    """Drop the app's pooled connections, so the next publish connects to the broker now
    configured (what Celery itself does after a fork). kombu keeps its pools in a registry by
    broker address: they are closed and forgotten there too, or a later test publishing to the
    same broker would be handed the closed pool ("Acquire on closed pool")."""
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(redis_server, settings):
    """This process's Celery app publishes to the test's own Redis for the test's duration."""
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    settings.CELERY_BROKER_URL = redis_server.url
    forget_broker_connections()
    celery_app.conf.broker_url = redis_server.url
    celery_app.conf.broker_transport_options = {"visibility_timeout": 300}
    yield redis_server
    forget_broker_connections()
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
