"""The base of every view: status line, error capture, validation, one update cycle, busy work.

A view's traits are its state. :class:`View` gives every view the same five habits, so
that no view invents its own:

- a **status line** (:attr:`View.status`) that says what the view does or why it failed;
- **error capture**: :meth:`View.capture` (a block) and :func:`captured` (an observer or a
  handler) turn an exception into a status message, the traceback kept in
  ``status.last_traceback``, never lost in a log;
- **one validation policy**: validators raise :class:`traitlets.TraitError`; the view shows
  the message in its status line and lets the error reach the caller. Nothing clamps;
- **one deferred-update cycle**: a change calls :meth:`View.request_update`; inside
  :meth:`View.hold_updates` the requests are only noted and :meth:`View.update` (the one
  recompute-and-render of a view) runs once when the outermost block ends. A view that is
  not :attr:`~View.active` (a hidden tab) or not yet :attr:`~View.ready` also defers;
- **busy work off the main thread**: :meth:`View.run_in_background` runs slow work (a first
  call that traces a big model) in a worker thread with a spinner in the status line, and
  applies the result back to the widgets unless an input changed meanwhile; :meth:`View.wait`
  joins it (tests and scripts wait deterministically).

Observers are named ``_on_<trait>_change``.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import ipywidgets as widgets
import traitlets

from .common import STATUS_BUSY, STATUS_ERROR, StatusLine

T = TypeVar("T")


def captured(action: str) -> Callable[[Callable[..., T]], Callable[..., T | None]]:
    """Decorate a view method so that an exception becomes ``"<action> failed: …"``.

    For observers and widget event handlers, whose exceptions would otherwise end in the
    kernel's log where nobody reads them.
    """

    def decorate(method: Callable[..., T]) -> Callable[..., T | None]:
        @functools.wraps(method)
        def wrapper(self: View, *args: Any, **kwargs: Any) -> T | None:
            with self.capture(action):
                return method(self, *args, **kwargs)
            return None

        return wrapper

    return decorate


class View(widgets.VBox):
    """A VBox with a status line, error capture, validation policy and one update cycle.

    A subclass builds its widgets, sets :attr:`ready` when everything its traits refer to
    exists, calls :meth:`request_update` from its observers of inputs and presentation, and
    defines :meth:`update`. Its ``children`` should include :attr:`status`.

    Traits
    ------
    ready : bool
        The view has what it needs (model, images, widgets); before that nothing updates.
    active : bool
        A view that is not active (a hidden tab) notes requests and updates when activated.
    busy : bool
        Work runs in the background (:meth:`run_in_background`); read-only for users.
    """

    ready = traitlets.Bool(False)
    active = traitlets.Bool(True)
    busy = traitlets.Bool(False)

    def __init__(self, **kwargs: Any) -> None:
        self.status = StatusLine()
        self._hold = 0
        self._dirty = True
        self._epoch = 0
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        super().__init__(**kwargs)

    # -- validation policy -----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        # A refused trait value is shown in the status line, then raised as usual.
        try:
            super().__setattr__(name, value)
        except traitlets.TraitError as error:
            status = self.__dict__.get("status")
            if status is not None:
                status.show(f"{name}: {error}", STATUS_ERROR)
            raise

    # -- error capture ---------------------------------------------------------------------
    def capture(self, action: str) -> contextlib.AbstractContextManager[None]:
        """A block whose exception becomes ``"<action> failed: <message>"`` in the status."""
        return self.status.capture(action)

    # -- the deferred-update cycle -----------------------------------------------------------
    @contextlib.contextmanager
    def hold_updates(self) -> Iterator[None]:
        """Defer :meth:`update` until the outermost block ends, then run it once if asked.

        Several trait changes that belong together (a new image and its predicted class)
        thus cost one recompute and one render.
        """
        with self._lock:
            self._hold += 1
        try:
            yield
        finally:
            with self._lock:
                self._hold -= 1
            self._flush()

    def request_update(self) -> None:
        """Note that the view must update, and update now unless held, hidden or busy."""
        self._dirty = True
        self._flush()

    def inputs_changed(self) -> None:
        """Note that an input of the computation changed: background results started
        before are dropped (they belong to the old inputs)."""
        self._epoch += 1

    def update(self) -> None:
        """The view's one recompute-and-render (each view defines it)."""
        raise NotImplementedError

    def _flush(self) -> None:
        with self._lock:
            if self._hold or self.busy or not self.active or not self.ready or not self._dirty:
                return
            self._dirty = False
            with self.hold_sync():
                self.update()

    @traitlets.observe("active", "ready")
    def _on_active_change(self, change: dict[str, Any]) -> None:
        self._flush()

    # -- work off the main thread ----------------------------------------------------------
    def run_in_background(
        self,
        message: str,
        work: Callable[[], T],
        apply: Callable[[T], None],
        failed: Callable[[], None] | None = None,
    ) -> None:
        """Run ``work()`` in a worker thread; then ``apply(result)`` unless inputs changed.

        The status line shows ``message`` with a spinner meanwhile and :attr:`busy` is
        true; updates requested in between run after ``apply``. An exception of ``work``
        or ``apply`` becomes the status message, and ``failed()`` (if given) runs, e.g. to
        blank outputs that would be stale. The kernel's main thread stays free.
        """
        with self._lock:
            self.busy = True
            self.status.show(message, STATUS_BUSY)
            job = (self._epoch, work, apply, failed)
            thread = threading.Thread(target=self._run_work, args=job, daemon=True)
            self._thread = thread
        thread.start()

    def _run_work(
        self,
        epoch: int,
        work: Callable[[], T],
        apply: Callable[[T], None],
        failed: Callable[[], None] | None,
    ) -> None:
        ok = False
        try:
            with self.capture(message_of(self.status.message)):
                result = work()
                with self._lock:
                    if epoch == self._epoch:
                        apply(result)
                    else:  # stale: computed for inputs that have changed since
                        self._dirty = True
                ok = True
            if not ok and failed is not None:
                with self.capture("Clearing"):
                    failed()
        finally:
            with self._lock:
                self.busy = False
            self._flush()

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until background work (and work it started) is done; False on timeout."""
        while True:
            thread = self._thread
            if thread is None or not thread.is_alive():
                if thread is self._thread:
                    return True
                continue
            thread.join(timeout)
            if thread.is_alive():
                return False


def message_of(status: str) -> str:
    """The action named by a busy message (``"preparing X…"`` -> ``"preparing X"``)."""
    return status.rstrip("…. ") or "background work"
