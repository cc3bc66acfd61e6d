"""ObjectiveChart: the objective of each optimized channel over the steps (bqplot lines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip


class ObjectiveChart(widgets.VBox):
    """One line per channel: its objective at every step so far.

    ``figure`` (CSS class ``iw-objective-chart``) and its ``lines`` mark are what a browser
    shows; :meth:`show` draws a history of objectives.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        x_scale, y_scale = bqplot.LinearScale(), bqplot.LinearScale()
        self.lines = bqplot.Lines(
            scales={"x": x_scale, "y": y_scale}, colors=COLOURS, display_legend=True,
            labels=["channel"],
        )  # fmt: skip
        self.figure = bqplot.Figure(
            marks=[self.lines],
            axes=[
                bqplot.Axis(scale=x_scale, label="step", num_ticks=5),
                bqplot.Axis(scale=y_scale, orientation="vertical", label="objective"),
            ],
            title="objective per channel",
            legend_location="top-left",
            fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 10},
            layout=widgets.Layout(width="420px", height="280px"),
        )
        self.figure.add_class("iw-objective-chart")
        self.children = [self.figure]

    def show(self, history: Sequence[np.ndarray], channels: Sequence[int]) -> None:
        """Draw ``history`` (one array of per-channel objectives per step)."""
        if len(history) < 2:
            return  # bqplot squeezes a single point to a scalar, which Lines rejects
        values = np.stack(history, axis=1).astype(np.float64)
        with self.lines.hold_sync():
            self.lines.x = np.arange(1, values.shape[1] + 1, dtype=np.float64)
            self.lines.y = values
            self.lines.labels = [f"ch {c}" for c in channels]
