"""A local SMTP server that only counts what it receives, run in a process of its own so that
its work never shares a Python interpreter (and its GIL) with the sender being measured."""

import multiprocessing
import time

from aiosmtpd.controller import Controller


class CountingHandler:
    def __init__(self, counter):
        self.counter = counter

    async def handle_DATA(self, server, session, envelope):
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 OK"


def _serve(port: int, counter, ready) -> None:
    # server_hostname set: without it aiosmtpd looks up its own FQDN on every connection.
    controller = Controller(
        CountingHandler(counter), hostname="127.0.0.1", port=port, server_hostname="bench-sink"
    )
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


class SmtpSink:
    """with SmtpSink(port) as sink: ... sink.received ... sink.reset()"""

    def __init__(self, port: int):
        context = multiprocessing.get_context("spawn")
        self.port = port
        self._counter = context.Value("q", 0)
        self._ready = context.Event()
        self._process = context.Process(
            target=_serve, args=(port, self._counter, self._ready), daemon=True
        )

    @property
    def received(self) -> int:
        return self._counter.value

    def reset(self) -> None:
        with self._counter.get_lock():
            self._counter.value = 0

    def wait_for(self, count: int, *, stall_seconds: float = 60) -> bool:
        """Wait until `count` messages arrived; False if nothing arrived for stall_seconds."""
        last, last_change = self.received, time.monotonic()
        while self.received < count:
            time.sleep(0.05)
            if self.received != last:
                last, last_change = self.received, time.monotonic()
            elif time.monotonic() - last_change > stall_seconds:
                return False
        return True

    def __enter__(self):
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc):
        self._process.terminate()
        self._process.join(10)
