"""Progress and stopping for long computations: one callback convention.

A method that takes more than about a second accepts ``progress=callable(done, total)``. It
is called with ``done = 0`` before the first piece of work and after every piece with the
amount done so far (ending at ``total``). Returning ``False`` (exactly ``False``; ``None``
continues) stops the computation before the next piece: the method raises :class:`Stopped`,
or, where partial results make sense (a curve measured point by point), returns them and
says so in its docstring. An exception raised by the callback passes through unchanged. A
widget's Stop button is ``progress=lambda done, total: not stop_event.is_set()``.
"""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(done, total)``; returning ``False`` stops the computation.
Progress = Callable[[int, int], object]


class Stopped(RuntimeError):  # noqa: N818 - a stop asked for, not an error
    """The ``progress`` callback returned ``False`` after ``done`` of ``total`` pieces."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"stopped by the progress callback after {done} of {total}")
        self.done = done
        self.total = total


def check_progress(progress: object) -> Progress | None:
    """``progress`` itself when it is ``None`` or callable.

    Raises
    ------
    TypeError
        If it is neither.
    """
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be None or a callable(done, total), got {type(progress).__name__}"
        )
    return progress


def keep_going(progress: Progress | None, done: int, total: int) -> bool:
    """Report ``done`` of ``total``; False when the callback asks to stop."""
    return progress is None or progress(done, total) is not False


def report(progress: Progress | None, done: int, total: int) -> None:
    """Report ``done`` of ``total``.

    Raises
    ------
    Stopped
        When the callback returns ``False``.
    """
    if not keep_going(progress, done, total):
        raise Stopped(done, total)
