"""PruningChart: accuracy and mean score against the pruned fraction, one line per criterion.

Lines grow point by point while a pruning curve is measured; a criterion run again
replaces its own line, other criteria's lines stay (they are overlaid to compare).
"""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

COLOURS = {"l1": "#1f77b4", "random": "#7f7f7f", "relevance": "#d62728", "weights": "#2ca02c"}
FIELDS = ("amount", "accuracy", "mean_score")


class PruningChart(widgets.HBox):
    """Two bqplot charts (CSS classes ``iw-pruning-accuracy`` and ``iw-pruning-score``).

    :attr:`curves` maps a criterion to its points so far (``amount``, ``accuracy``,
    ``mean_score`` lists); :attr:`lines` to its two ``Lines`` marks (accuracy, score).
    """

    def __init__(self, accuracy_label: str = "accuracy", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curves: dict[str, dict[str, list[float]]] = {}
        self.lines: dict[str, tuple[bqplot.Lines, bqplot.Lines]] = {}
        self.scales = {
            "x": bqplot.LinearScale(min=0.0, max=1.0),
            "accuracy": bqplot.LinearScale(min=0.0, max=1.0),
            "score": bqplot.LinearScale(),
        }
        self.accuracy_figure = self._figure("accuracy", accuracy_label, "iw-pruning-accuracy")
        self.score_figure = self._figure("score", "mean score", "iw-pruning-score")
        self.children = [self.accuracy_figure, self.score_figure]

    def _figure(self, scale: str, label: str, css: str) -> bqplot.Figure:
        figure = bqplot.Figure(
            marks=[],
            axes=[
                bqplot.Axis(scale=self.scales["x"], label="pruned fraction", num_ticks=5),
                bqplot.Axis(scale=self.scales[scale], orientation="vertical", label=label),
            ],
            legend_location="bottom-left",
            fig_margin={"top": 10, "bottom": 40, "left": 55, "right": 10},
            layout=widgets.Layout(width="330px", height="240px"),
        )
        figure.add_class(css)
        return figure

    def start(self, criterion: str) -> None:
        """Begin (or restart) the line of ``criterion``, empty."""
        self.curves[criterion] = {name: [] for name in FIELDS}
        if criterion not in self.lines:
            colour = COLOURS.get(criterion, "#9467bd")
            made = []
            for figure, scale in ((self.accuracy_figure, "accuracy"), (self.score_figure, "score")):
                mark = bqplot.Lines(
                    x=[], y=[], scales={"x": self.scales["x"], "y": self.scales[scale]},
                    colors=[colour], labels=[criterion], display_legend=True, marker="circle",
                    marker_size=16,
                )  # fmt: skip
                figure.marks = [*figure.marks, mark]
                made.append(mark)
            self.lines[criterion] = (made[0], made[1])
        self._draw(criterion)

    def add(self, criterion: str, amount: float, accuracy: float, mean_score: float) -> None:
        """Append one point to the line of ``criterion`` and redraw it."""
        curve = self.curves[criterion]
        for name, value in zip(FIELDS, (amount, accuracy, mean_score), strict=True):
            curve[name].append(float(value))
        self._draw(criterion)

    def points(self, criterion: str) -> int:
        """How many points the line of ``criterion`` has."""
        return len(self.curves.get(criterion, {}).get("amount", []))

    def arrays(self) -> dict[str, dict[str, np.ndarray]]:
        """Every curve as float32 arrays (what :func:`pruning_curve` returns)."""
        return {
            criterion: {name: np.asarray(v, dtype=np.float32) for name, v in curve.items()}
            for criterion, curve in self.curves.items()
        }

    def _draw(self, criterion: str) -> None:
        curve = self.curves[criterion]
        x = np.asarray(curve["amount"], dtype=np.float64)
        for mark, name in zip(self.lines[criterion], ("accuracy", "mean_score"), strict=True):
            y = np.asarray(curve[name], dtype=np.float64)
            if len(x) == 1:  # bqplot squeezes one point to a scalar: draw it twice
                x_drawn, y_drawn = np.repeat(x, 2), np.repeat(y, 2)
            else:
                x_drawn, y_drawn = x, y
            with mark.hold_sync():
                mark.x, mark.y = x_drawn, y_drawn
