"""The class-score bar chart that every attribution panel shares.

The chart shows the top-k class probabilities of one image (the softmax of the model's
pre-softmax scores) as horizontal bqplot bars labelled with class names. Clicking a bar
selects its class: the chart's ``target`` trait moves, and the selected bar is drawn in the
highlight colour. The chart never computes anything; its owner hands it the probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

SELECTED_COLOUR = "#f58518"
UNSELECTED_COLOUR = "#9ecae1"
_MAX_LABEL = 22


def _axis_labels(names: Sequence[str], probabilities: Sequence[float]) -> list[str]:
    """Short, unique tick labels with the probability, e.g. ``"star 0.93"``.

    The probability sits in the label rather than on the bar, where a short bar would
    push it onto the axis. Labels are made unique (an ordinal scale merges equal ones).
    """
    labels: list[str] = []
    for name, probability in zip(names, probabilities, strict=True):
        text = str(name)
        if len(text) > _MAX_LABEL:
            text = text[: _MAX_LABEL - 1] + "…"
        labels.append(f"{text} {probability:.2f}")
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [f"{label} #{i}" if seen[label] > 1 else label for i, label in enumerate(labels)]


class ClassBars(traitlets.HasTraits):
    """Top-k class probabilities as clickable horizontal bars.

    ``figure`` is the bqplot ``Figure`` to place in a layout (CSS class ``iw-class-bars``),
    ``bars`` its ``Bars`` mark. ``target`` is the selected class index: clicking a bar sets
    it, and setting it highlights the bar. A target outside the top k gets a bar of its own
    below them, so the selection is always visible.

    Parameters
    ----------
    class_names : sequence of str
        One name per class of the model.
    top_k : int
        How many of the most probable classes to show.
    width, height : int
        Size of the chart in pixels.
    """

    target = traitlets.Int(-1)

    def __init__(
        self,
        class_names: Sequence[str],
        top_k: int = 5,
        width: int = 300,
        height: int = 230,
    ) -> None:
        super().__init__()
        self.class_names = [str(n) for n in class_names]
        self.top_k = max(1, int(top_k))
        self.probabilities = np.zeros(len(self.class_names))
        self.classes: list[int] = []
        x_scale = bq.OrdinalScale(reverse=True)
        y_scale = bq.LinearScale(min=0.0, max=1.0)
        self.bars = bq.Bars(
            x=[],
            y=[],
            scales={"x": x_scale, "y": y_scale},
            orientation="horizontal",
            padding=0.25,
            colors=[UNSELECTED_COLOUR],
            interactions={"click": "select"},
            selected_style={"fill": SELECTED_COLOUR},
            unselected_style={"fill": UNSELECTED_COLOUR},
            tooltip=bq.Tooltip(fields=["x", "y"], formats=["", ".3f"], labels=["class", "p"]),
        )
        axes = [
            bq.Axis(scale=x_scale, orientation="vertical", tick_style={"font-size": "11px"}),
            bq.Axis(
                scale=y_scale,
                orientation="horizontal",
                num_ticks=3,
                tick_format=".1f",
                label="probability",
            ),
        ]
        self.figure = bq.Figure(
            marks=[self.bars],
            axes=axes,
            fig_margin={"top": 8, "bottom": 38, "left": 140, "right": 22},
            min_aspect_ratio=0.01,
            max_aspect_ratio=100,
            layout=widgets.Layout(width=f"{width}px", height=f"{height}px"),
        )
        self.figure.add_class("iw-class-bars")
        self.bars.observe(self._on_selected_change, "selected")
        self.bars.on_element_click(self._on_element_click)

    # -- data ----------------------------------------------------------------------------
    def update(self, probabilities: np.ndarray, target: int | None = None) -> None:
        """Show ``probabilities`` (one per class) and select ``target`` (default: kept)."""
        probs = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if len(probs) != len(self.class_names):
            raise ValueError(f"{len(probs)} probabilities for {len(self.class_names)} class names")
        self.probabilities = probs
        if target is not None:
            with self.hold_trait_notifications():
                self.target = int(target)
        self._redraw()

    def _shown_classes(self) -> list[int]:
        order = [int(i) for i in np.argsort(-self.probabilities, kind="stable")[: self.top_k]]
        if 0 <= self.target < len(self.class_names) and self.target not in order:
            order.append(self.target)
        return order

    def _redraw(self) -> None:
        classes = self._shown_classes()
        labels = _axis_labels(
            [self.class_names[i] for i in classes], self.probabilities[classes]
        )
        with self.bars.hold_sync():
            self.classes = classes
            self.bars.x = np.array(labels)
            self.bars.y = self.probabilities[classes].astype(np.float64)
            self._select_target()

    def _select_target(self) -> None:
        position = self.classes.index(self.target) if self.target in self.classes else None
        wanted = None if position is None else [position]
        current = self.bars.selected
        current = None if current is None else [int(i) for i in current]
        if current != wanted:
            self.bars.selected = wanted

    # -- interaction ---------------------------------------------------------------------
    @traitlets.observe("target")
    def _on_target_change(self, change: dict[str, Any]) -> None:
        if change["new"] in self.classes:
            with self.bars.hold_sync():
                self._select_target()
        elif len(self.classes):
            self._redraw()

    def _on_selected_change(self, change: dict[str, Any]) -> None:
        selected = change["new"]
        if selected is None or len(selected) == 0:
            # A click on the background clears bqplot's selection: keep the target shown.
            self._select_target()
            return
        position = int(selected[-1])
        if 0 <= position < len(self.classes):
            self.target = self.classes[position]
        if len(selected) > 1:
            self._select_target()

    def _on_element_click(self, _mark: object, content: dict[str, Any]) -> None:
        index = (content.get("data") or {}).get("index")
        if index is not None:
            self.bars.selected = [int(index)]

    def label_of(self, index: int) -> str:
        """The class name of ``index``."""
        return self.class_names[index]
