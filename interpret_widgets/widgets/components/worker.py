"""Worker: one stoppable background job at a time, in a daemon thread.

Long work (a feature visualization) runs off the kernel's main thread so that the kernel
stays free. Starting a job asks the running one to stop; the new one begins once the old
has let go, so two never compute at once. A job gets its run id and a stop event, checks
the event between steps, and asks :meth:`Worker.is_current` before it shows anything.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Job = Callable[[int, threading.Event], None]


class Worker:
    """Runs ``job(run_id, stop)`` in a thread named ``f"{name}-{run_id}"``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._start_lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._run_id = 0
        self._stop_event: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether a job runs (or waits for the previous one to let go)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def is_current(self, run_id: int) -> bool:
        """Whether ``run_id`` is the latest job started."""
        return run_id == self._run_id

    def start(self, job: Job) -> None:
        """Stop the running job (if any) and start ``job``."""
        with self._start_lock:
            self._run_id += 1
            if self._stop_event is not None:
                self._stop_event.set()
            stop = threading.Event()
            thread = threading.Thread(
                target=self._body, args=(job, self._run_id, stop),
                name=f"{self.name}-{self._run_id}", daemon=True,
            )  # fmt: skip
            self._stop_event, self._thread = stop, thread
        thread.start()

    def stop(self) -> bool:
        """Ask the running job to halt after its current step; ``True`` if one was asked."""
        event = self._stop_event
        if event is None or event.is_set() or not self.running:
            return False
        event.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Join the latest job; ``True`` when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def close(self) -> None:
        """Ask any job to stop (without waiting)."""
        if self._stop_event is not None:
            self._stop_event.set()

    def _body(self, job: Job, run_id: int, stop: threading.Event) -> None:
        with self._compute_lock:
            if not stop.is_set():
                job(run_id, stop)
