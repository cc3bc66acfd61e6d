"""RunControls: the Start/Stop buttons and progress bar of every view with long work.

The feature visualizer, the pruning curve, the perturbation methods and the "Check this
map" curves all run work that takes seconds to minutes and can be stopped. They share one
way to show it: a Start button (where the work does not start by itself), a Stop button
enabled only while the work runs, a :class:`~.step_progress.StepProgress`, and a stop
event that the work checks between its steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from .step_progress import StepProgress

#: A button as ``(description, CSS class)``.
ButtonSpec = tuple[str, str]


def _button(spec: ButtonSpec, style: str = "", **extra: Any) -> widgets.Button:
    description, css = spec
    return widgets.Button(description=description, button_style=style, **extra).add_class(css)


class RunControls(widgets.HBox):
    """Start (optional) and Stop buttons, a progress bar (optional) and a stop event.

    Parameters
    ----------
    stop : (description, css)
        The Stop button.
    start : (description, css), optional
        The Start button; views whose work starts on an input change have none.
    progress : StepProgress, optional
        The progress shown after the buttons (a view may place its own elsewhere).
    leading : sequence of widgets
        Controls placed before the buttons, in the same row.
    hide_idle : bool
        Show the whole row only while the work runs.
    restartable : bool
        Start stays enabled while the work runs (Start then restarts it).
    stop_style, stop_layout
        The Stop button's ``button_style`` and layout keywords.
    """

    def __init__(
        self,
        stop: ButtonSpec,
        start: ButtonSpec | None = None,
        *,
        progress: StepProgress | None = None,
        leading: Sequence[widgets.Widget] = (),
        hide_idle: bool = False,
        restartable: bool = False,
        stop_style: str = "",
        stop_icon: str = "",
        stop_layout: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start_button = None if start is None else _button(start, "primary")
        layout = widgets.Layout(**(stop_layout or {}))
        self.stop_button = _button(stop, stop_style, icon=stop_icon, layout=layout)
        self.progress = progress
        self.hide_idle = hide_idle
        self.restartable = restartable
        self.stop_event = threading.Event()
        buttons = [b for b in (self.start_button, self.stop_button) if b is not None]
        self.children = [*leading, *buttons, *([progress] if progress is not None else [])]
        self.running(False)

    def on_start(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when Start is clicked."""
        if self.start_button is not None:
            self.start_button.on_click(lambda _button: callback())

    def on_stop(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` when Stop is clicked."""
        self.stop_button.on_click(lambda _button: callback())

    def running(self, flag: bool) -> None:
        """Show whether the work runs: Stop enabled (and Start disabled unless the work is
        :attr:`restartable`) while it does."""
        if self.start_button is not None and not self.restartable:
            self.start_button.disabled = flag
        self.stop_button.disabled = not flag
        if self.hide_idle:
            self.layout.display = None if flag else "none"

    def arm(self) -> threading.Event:
        """A fresh stop event for a new run (the previous run keeps its own)."""
        self.stop_event = threading.Event()
        if self.progress is not None:
            self.progress.reset()
        return self.stop_event

    def request_stop(self) -> None:
        """Set the current run's stop event (the Stop button, or an input changed)."""
        self.stop_event.set()

    @property
    def stop_requested(self) -> bool:
        """Whether the current run was asked to stop."""
        return self.stop_event.is_set()

    def show(self, step: int, total: int, seconds: float | None = None) -> None:
        """Move the progress bar (see :meth:`StepProgress.show`)."""
        if self.progress is not None:
            self.progress.show(step, total, seconds)
