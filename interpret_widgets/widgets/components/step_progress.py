"""StepProgress: a progress bar with a "step i / n · r steps/s" label."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from ..common import hold_sync_all


class StepProgress(widgets.HBox):
    """How far an iterative computation got, and how fast.

    ``bar`` (CSS class ``css``, ``iw-progress`` by default) and ``label``
    (``iw-progress-label``) are what a browser shows; :attr:`step` and :attr:`total` read
    them back. ``labelled=False`` shows the bar alone (with its ``description``): a count
    of samples needs no rate.
    """

    def __init__(
        self,
        *,
        css: str = "iw-progress",
        labelled: bool = True,
        description: str = "",
        bar_style: str = "",
        width: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bar = widgets.IntProgress(
            min=0, max=1, value=0, description=description, bar_style=bar_style
        )
        if width is not None:
            self.bar.layout.width = width
        self.bar.add_class(css)
        self.label = widgets.Label("")
        self.label.add_class("iw-progress-label")
        self.labelled = labelled
        self.children = [self.bar, self.label] if labelled else [self.bar]

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
        total = max(int(total), 1)
        with hold_sync_all(self.bar, self.label):
            self.bar.max, self.bar.value = total, min(int(step), total)
            if self.labelled:
                self.label.value = f"step {step} / {total}{rate}"

    def reset(self) -> None:
        """Back to step 0 (a new run)."""
        self.bar.value = 0
