"""The method leaderboard: deletion and insertion AUCs of every method on the current image.

One button computes, in the background, the map of every attribution method we have for
the selected image and class, then its deletion and insertion curves, and shows the AUCs
as a table sorted by deletion AUC (lower: the pixels the map ranks first carry the
prediction) and as a bar chart. A seeded random map is the floor. Methods that fail on the
model (e.g. a CAM method on a model without a spatial layer) get a row saying why.

References
----------
Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation of
Black-box Models" (deletion and insertion).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Sequence
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from .. import methods
from ..methods.lrp import valid_names
from ..methods.lrp.rules import RULES
from .check_map import random_map
from .common import STATUS_OK
from .selection import Selection
from .view import View

#: Methods of :mod:`interpret_widgets.methods` taken when the package has them.
OPTIONAL_METHODS = (
    "score_cam", "layer_cam", "guided_backprop", "deep_lift", "occlusion", "kernel_shap", "lime"
)
#: Always there.
CORE_METHODS = (
    "saliency", "smoothgrad", "integrated_gradients", "grad_cam", "grad_cam_plus_plus"
)

MapFunction = Callable[[Any, np.ndarray, int], np.ndarray]


def _lrp(name: str) -> MapFunction:
    return lambda model, x, target: methods.lrp(model, x, target, rule=name)


def leaderboard_methods(seed: int = 0) -> dict[str, MapFunction]:
    """Every method the leaderboard ranks: ``{name: (model, x, target) -> maps}``.

    The core gradient and CAM methods, each registered LRP composite (``"lrp <name>"``),
    the optional methods present in :mod:`interpret_widgets.methods`, and ``"random"``: a
    uniform random map of the image's size from ``seed``.
    """
    table: dict[str, MapFunction] = {name: getattr(methods, name) for name in CORE_METHODS}
    for name in valid_names():
        if name not in RULES:
            table[f"lrp {name}"] = _lrp(name)
    for name in OPTIONAL_METHODS:
        function = getattr(methods, name, None)
        if callable(function):
            table[name] = function
    table["random"] = lambda model, x, target: random_map(x.shape[:3], seed)
    return table


class Leaderboard(View):
    """Deletion/insertion AUCs of every method for the selected image and class.

    Parameters
    ----------
    selection : Selection
        The shared selection (model, images, image, class).
    names : sequence of str, optional
        Names of :func:`leaderboard_methods` to rank (default: all).
    seed : int
        Seed of the random map.
    steps : int
        Points of each curve after the unchanged image.

    Raises
    ------
    ValueError
        If ``names`` holds a method the leaderboard does not know.

    Attributes
    ----------
    rows : list of dict
        After a run: ``name``, ``deletion``, ``insertion`` AUCs (or ``error``), sorted by
        deletion AUC, then the failed methods.
    maps : dict
        The map each method gave, by name.
    """

    def __init__(
        self,
        selection: Selection,
        names: Sequence[str] | None = None,
        seed: int = 0,
        steps: int = 32,
    ) -> None:
        super().__init__()
        self.add_class("iw-leaderboard")
        self.selection = selection
        every = leaderboard_methods(seed)
        unknown = [name for name in names or () if name not in every]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; the leaderboard has {list(every)}")
        self.functions = {name: every[name] for name in (names or every)}
        self.steps = int(steps)
        self.rows: list[dict[str, Any]] = []
        self.maps: dict[str, np.ndarray] = {}
        self._stop = threading.Event()
        self.compute_button = widgets.Button(description="compute the leaderboard")
        self.compute_button.add_class("iw-leaderboard-compute")
        self.stop_button = widgets.Button(description="Stop", disabled=True)
        self.stop_button.add_class("iw-leaderboard-stop")
        self.progress = widgets.IntProgress(0, min=0, max=len(self.functions))
        self.progress.add_class("iw-leaderboard-progress")
        self.table = widgets.HTML().add_class("iw-leaderboard-table")
        self.bars, self.chart = _chart()
        self.compute_button.on_click(lambda _: self.compute())
        self.stop_button.on_click(lambda _: self._stop.set())
        self.observe(self._on_busy_change, "busy")
        selection.observe(self._on_selection_change, ["image_index", "target"])
        self.children = [
            widgets.HTML(
                f"<small>Deletion and insertion AUCs ({self.steps} steps, black baseline) of "
                f"{len(self.functions)} methods for the selected image and class.</small>"
            ),
            widgets.HBox([self.compute_button, self.stop_button, self.progress]),
            widgets.HBox([self.table, self.chart]),
            self.status,
        ]

    def update(self) -> None:
        """Nothing computes before the button is pressed."""

    def _on_selection_change(self, change: dict[str, Any]) -> None:
        self._stop.set()
        self.inputs_changed()
        self.rows, self.maps = [], {}
        self.table.value = ""
        self.bars.x, self.bars.y = [], []

    def _on_busy_change(self, change: dict[str, Any]) -> None:
        self.compute_button.disabled = change["new"]
        self.stop_button.disabled = not change["new"]

    def stop(self) -> None:
        """Stop after the current method (the table shows those done)."""
        self._stop.set()

    def compute(self) -> None:
        """Rank every method on the selected image and class, in the background."""
        if self.busy:
            return
        self._stop = stop = threading.Event()
        batch, target = self.selection.current_batch(), self.selection.target
        self.progress.value = 0
        message = f"ranking {len(self.functions)} methods…"
        self.run_in_background(message, lambda: self._rank(batch, target, stop), self._done)

    def _rank(self, batch: np.ndarray, target: int, stop: threading.Event) -> str:
        model, rows, maps = self.selection.model, [], {}
        for done, (name, function) in enumerate(self.functions.items(), start=1):
            if stop.is_set():
                break
            self.status.show(f"ranking: {name}…", self.status.state)
            try:
                values = np.asarray(function(model, batch, target), dtype=np.float32)
                deletion = methods.deletion_curve(model, batch, values, target, self.steps)
                insertion = methods.insertion_curve(model, batch, values, target, self.steps)
            except Exception as error:  # a method that does not fit the model: a row says so
                rows.append({"name": name, "error": f"{type(error).__name__}: {error}"})
            else:
                maps[name] = values
                rows.append({
                    "name": name,
                    "deletion": float(methods.curve_auc(deletion)[0]),
                    "insertion": float(methods.curve_auc(insertion)[0]),
                })
            self.rows, self.maps = sort_rows(rows), maps
            self._draw()
            self.progress.value = done
        left = len(self.functions) - len(rows)
        return f"{len(rows)} methods ranked" + (f", stopped ({left} left)" if left else "")

    def _done(self, message: str) -> None:
        self.status.show(message, STATUS_OK)

    def _draw(self) -> None:
        self.table.value = table_html(self.rows)
        ranked = [row for row in self.rows if "error" not in row]
        with self.bars.hold_sync():
            self.bars.x = [row["name"] for row in ranked]
            self.bars.y = [[row["deletion"] for row in ranked],
                           [row["insertion"] for row in ranked]]


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by deletion AUC (ascending; ties by insertion, descending), failures last."""
    ranked = sorted((r for r in rows if "error" not in r),
                    key=lambda r: (r["deletion"], -r["insertion"]))
    return ranked + [r for r in rows if "error" in r]


def table_html(rows: list[dict[str, Any]]) -> str:
    """The leaderboard as an HTML table."""
    cells = []
    for rank, row in enumerate(rows, start=1):
        name = html.escape(row["name"])
        if "error" in row:
            cells.append(f"<tr><td></td><td>{name}</td><td colspan=2>"
                         f"<small>{html.escape(row['error'][:120])}</small></td></tr>")
        else:
            cells.append(f"<tr><td>{rank}</td><td>{name}</td><td>{row['deletion']:.3f}</td>"
                         f"<td>{row['insertion']:.3f}</td></tr>")
    head = ("<tr><th>#</th><th>method</th><th>deletion AUC ↓</th>"
            "<th>insertion AUC ↑</th></tr>")
    return f"<table class='iw-leaderboard-rows'>{head}{''.join(cells)}</table>"


def _chart() -> tuple[bqplot.Bars, bqplot.Figure]:
    x, y = bqplot.OrdinalScale(), bqplot.LinearScale(min=0.0, max=1.0)
    bars = bqplot.Bars(
        x=[], y=[], scales={"x": x, "y": y}, type="grouped", colors=["#d62728", "#1f77b4"],
        labels=["deletion AUC", "insertion AUC"], display_legend=True,
    )
    axes = [bqplot.Axis(scale=x, tick_rotate=-45, tick_style={"font-size": "9px"}),
            bqplot.Axis(scale=y, orientation="vertical", label="AUC", tick_format=".1f")]
    figure = bqplot.Figure(
        marks=[bars], axes=axes, legend_location="top-right",
        fig_margin={"top": 10, "bottom": 90, "left": 50, "right": 10},
        layout=widgets.Layout(width="520px", height="320px"),
    ).add_class("iw-leaderboard-chart")
    return bars, figure
