"""The in-process job runner for the embedded deployment: a daemon thread that runs
due jobs every second. `loom worker` runs the same loop in its own process for
deployments with many API processes."""

from __future__ import annotations

import logging
import os
import threading

from runtime.context import Context
from runtime.jobs.service import run_due

log = logging.getLogger("loom.jobs")


class InProcessRunner:
    def __init__(self, ctx: Context, interval: float = 1.0) -> None:
        self.ctx = ctx
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.worker = f"inproc-{os.getpid()}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="loom-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_due(self.ctx, now=self.ctx.clock.now(), worker=self.worker)
            except Exception:  # keep the loop alive; the error is logged
                log.exception("job runner pass failed")
            self._wake.wait(self.interval)
            self._wake.clear()
