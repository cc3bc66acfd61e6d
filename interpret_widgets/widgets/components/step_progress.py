"""StepProgress: a progress bar with a "step i / n · r steps/s" label."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..common import hold_sync_all


class StepProgress(widgets.HBox):
    """How far an iterative computation got, and how fast.

    ``bar`` (CSS class ``iw-progress``) and ``label`` (``iw-progress-label``) are what a
    browser shows; :attr:`step` and :attr:`total` read them back.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bar = widgets.IntProgress(min=0, max=1, value=0)
        self.bar.add_class("iw-progress")
        self.label = widgets.Label("")
        self.label.add_class("iw-progress-label")
        self.children = [self.bar, self.label]

    @property
    def step(self) -> int:
        """The step last shown."""
        return int(self.bar.value)

    @property
    def total(self) -> int:
        """The number of steps of the run."""
        return int(self.bar.max)

    def show(self, step: int, total: int, seconds: float | None = None) -> None:
        """Step ``step`` of ``total``, with the rate when ``seconds`` have passed."""
        rate = f" · {step / seconds:.1f} steps/s" if seconds else ""
        with hold_sync_all(self.bar, self.label):
            self.bar.max, self.bar.value = total, step
            self.label.value = f"step {step} / {total}{rate}"
