"""The charts of "Check this map": deletion/insertion curves, similarity, randomization strip.

Three displays of :class:`~..check_map.CheckMap`, each with a small surface: the curves of
the shown map and of a random map (:class:`CurveChart`), the similarity of the randomized
maps to the trained one (:class:`SimilarityChart`), and the strip of those maps as
thumbnails (:class:`RandomizationStrip`).
"""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np

from ...render import colorize, normalize, upscale, upscale_factor
from ..common import image_widget, set_png

#: Display width of a thumbnail of the randomization strip, pixels.
THUMBNAIL_SIZE = 72
_MARGIN = {"top": 10, "bottom": 40, "left": 50, "right": 10}


class CurveChart:
    """The deletion and insertion curves of a map (solid) and of a random map (dashed).

    ``figure`` (CSS class ``iw-check-curves``) and ``lines`` by kind: ``"deletion"``,
    ``"insertion"``, ``"random deletion"``, ``"random insertion"``.
    """

    def __init__(self) -> None:
        x, y = bqplot.LinearScale(min=0.0, max=1.0), bqplot.LinearScale(min=0.0, max=1.0)
        scales = {"x": x, "y": y}
        self.lines: dict[str, bqplot.Lines] = {}
        for kind, colour in (("deletion", "#d62728"), ("insertion", "#1f77b4")):
            self.lines[kind] = bqplot.Lines(
                x=[], y=[], scales=scales, colors=[colour], labels=[kind]
            )
            self.lines[f"random {kind}"] = bqplot.Lines(
                x=[], y=[], scales=scales, colors=[colour], line_style="dashed", opacities=[0.5],
                labels=[f"random map, {kind}"],
            )  # fmt: skip
        axes = [
            bqplot.Axis(scale=x, label="fraction of pixels removed / inserted"),
            bqplot.Axis(scale=y, orientation="vertical", label="p(class)", tick_format=".1f"),
        ]
        self.figure = bqplot.Figure(
            marks=list(self.lines.values()), axes=axes, fig_margin=_MARGIN,
            layout=widgets.Layout(width="420px", height="260px"),
        ).add_class("iw-check-curves")  # fmt: skip

    def draw(self, name: str, x: np.ndarray, y: np.ndarray) -> None:
        """Set the line ``name`` in one message."""
        line = self.lines[name]
        with line.hold_sync():
            line.x, line.y = x, y

    def clear(self, *names: str) -> None:
        """Empty the lines ``names`` (all without names)."""
        for name in names or tuple(self.lines):
            self.lines[name].x, self.lines[name].y = [], []


class SimilarityChart:
    """Spearman ρ of each randomized map to the trained one, by layers re-initialized.

    ``figure`` (CSS class ``iw-check-similarity``) and its one ``line``.
    """

    def __init__(self) -> None:
        x, y = bqplot.LinearScale(), bqplot.LinearScale(min=-1.0, max=1.0)
        self.line = bqplot.Lines(
            x=[], y=[], scales={"x": x, "y": y}, marker="circle", colors=["#444"]
        )
        axes = [
            bqplot.Axis(
                scale=x, label="layers re-initialized (output side first)", tick_format="d"
            ),
            bqplot.Axis(scale=y, orientation="vertical", label="Spearman ρ", tick_format=".1f"),
        ]
        self.figure = bqplot.Figure(
            marks=[self.line], axes=axes, fig_margin=_MARGIN,
            layout=widgets.Layout(width="560px", height="200px"),
        ).add_class("iw-check-similarity")  # fmt: skip

    def show(self, similarity: np.ndarray) -> None:
        """Draw ``similarity`` against 0, 1, 2… layers re-initialized."""
        with self.line.hold_sync():
            self.line.x = np.arange(len(similarity))
            self.line.y = similarity

    def clear(self) -> None:
        """An empty chart."""
        self.line.x, self.line.y = [], []


class RandomizationStrip(widgets.HBox):
    """The maps of the randomization test as thumbnails captioned by the layer randomized."""

    def __init__(self) -> None:
        super().__init__(layout=widgets.Layout(flex_flow="row wrap"))
        self.add_class("iw-check-strip")
        self.thumbnails: list[widgets.Image] = []

    def add(self, values: np.ndarray, layer: str | None, look: Any) -> None:
        """One more map, drawn with ``look``'s ``cmap`` and ``normalization``."""
        coloured = colorize(normalize(values, look.normalization), look.cmap)
        image = image_widget(THUMBNAIL_SIZE).add_class("iw-check-thumbnail")
        set_png(image, upscale(coloured, upscale_factor(values.shape, THUMBNAIL_SIZE)))
        caption = widgets.HTML(f"<small>{layer or 'trained'}</small>")
        self.thumbnails.append(image)
        self.children = (*self.children, widgets.VBox([image, caption]))

    def clear(self) -> None:
        """No thumbnails."""
        self.children, self.thumbnails = (), []
