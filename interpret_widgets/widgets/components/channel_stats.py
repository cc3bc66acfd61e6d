"""ChannelStatistics: a table of one channel's statistics and its histogram (bqplot)."""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

HIST_BINS = 30
"""Bins of the histogram."""


def channel_statistics(values: np.ndarray) -> dict[str, float]:
    """Mean, max, min, standard deviation and fraction of positive values of one channel."""
    v = np.asarray(values, dtype=np.float32)
    return {
        "mean": float(v.mean()),
        "max": float(v.max()),
        "min": float(v.min()),
        "std": float(v.std()),
        "active": float((v > 0).mean()),
    }


class ChannelStatistics(widgets.VBox):
    """What the values of one channel are: a statistics table over a histogram.

    ``table`` (HTML, CSS class ``iw-stats``), ``histogram`` (a bqplot Figure, class
    ``iw-histogram``) and its ``bars`` are what a browser shows; :attr:`stats` is the last
    shown statistics as numbers.
    """

    def __init__(self, bins: int = HIST_BINS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bins = int(bins)
        self.stats: dict[str, float] = {}
        self.table = widgets.HTML()
        self.table.add_class("iw-stats")
        x_scale, y_scale = bqplot.LinearScale(), bqplot.LinearScale(min=0)
        self.bars = bqplot.Bars(
            x=np.zeros(1), y=np.zeros(1), scales={"x": x_scale, "y": y_scale},
            colors=["#4c78a8"], padding=0.05,
        )  # fmt: skip
        self.histogram = bqplot.Figure(
            marks=[self.bars],
            axes=[
                bqplot.Axis(scale=x_scale, label="activation", num_ticks=5),
                bqplot.Axis(scale=y_scale, orientation="vertical", num_ticks=4),
            ],
            title="values of the channel",
            fig_margin={"top": 30, "bottom": 40, "left": 50, "right": 10},
            layout=widgets.Layout(width="320px", height="220px"),
        )
        self.histogram.add_class("iw-histogram")
        self.children = [self.table, self.histogram]

    def show(self, values: np.ndarray, title: str, first_row: tuple[str, str]) -> None:
        """Statistics and histogram of ``values``; ``first_row`` (label, text) heads the table."""
        s = self.stats = channel_statistics(values)
        rows = (
            first_row,
            ("mean", f"{s['mean']:.4g}"),
            ("max", f"{s['max']:.4g}"),
            ("min", f"{s['min']:.4g}"),
            ("std", f"{s['std']:.4g}"),
            ("active (> 0)", f"{100 * s['active']:.1f}%"),
        )
        cells = "".join(
            f"<tr><td>{label}</td><td style='text-align:right'>{text}</td></tr>"
            for label, text in rows
        )
        self.table.value = f"<table class='iw-stats-table'>{cells}</table>"
        counts, edges = np.histogram(values, bins=self.bins)
        with self.bars.hold_sync(), self.histogram.hold_sync():
            self.bars.x = ((edges[:-1] + edges[1:]) / 2).astype(np.float64)
            self.bars.y = counts.astype(np.float64)
            self.histogram.title = title
