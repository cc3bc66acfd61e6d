"""What an attribution panel gives besides its widgets: the shown map, its function, a figure.

:class:`PanelOutputs` is mixed into :class:`~.attribution.AttributionPanel`. The "Check
this map" section reads the shown map and the method as a function of any model
(:meth:`~PanelOutputs.shown_map`, :meth:`~PanelOutputs.map_function`); scripts and papers
take :meth:`~PanelOutputs.figure`, a matplotlib figure built by ``render.figures``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..model import get_adapter
from ..render import normalize
from ..render.figures import attribution_figure
from .check_map import ShownMap
from .panel_view import heatmap_image


class PanelOutputs:
    """The panel's map for checks and scripts (uses the panel's cache, table and traits)."""

    def shown_map(self) -> ShownMap:
        """The panel's own map as shown: method, class, raw 2-D map and the image batch.

        Read by the "Check this map" section; the map comes from the cache (computed now
        if it is not there).
        """
        self.wait()
        method, target = self.current_method, self.target
        key = (method, target)
        raw = self.cache[key] if key in self.cache else self.compute(target, method)
        return ShownMap(
            method, self.describe(method), target, np.asarray(raw.values, np.float32),
            self.selection.current_batch(),
        )

    def map_function(self, method: str | None = None) -> Callable[..., np.ndarray]:
        """The panel's method (default: its own) with its current parameters, as a function
        ``(model, x, target) -> (N, h, w)`` maps of any model of the same layers.

        ``target`` is an int or one class per image. For the randomization test, which
        runs it on re-initialized copies of the model.
        """
        entry = self.methods[method or self.current_method]
        values = self.parameters(method)

        def function(model: Any, x: np.ndarray, target: Any = None) -> np.ndarray:
            if target is None:
                target = np.argmax(get_adapter(model).probabilities(x), axis=1)
            targets = np.broadcast_to(np.asarray(target, dtype=np.int64), (len(x),))
            maps = [
                entry.compute(model, x[i : i + 1], int(t), **values).values
                for i, t in enumerate(targets)
            ]
            return np.stack(maps).astype(np.float32)

        return function

    def figure(self) -> Figure:
        """A matplotlib Figure of what the panel shows: image, overlay, raw map, per map.

        Raises
        ------
        RuntimeError
            If the panel could not compute its maps (the status line says why).
        """
        if not self.ready:
            raise RuntimeError(f"{type(self).__name__} is not usable: {self.status.message}")
        self.wait()
        missing = self.cache.missing(self.views())
        try:
            self.cache.store(self._compute_maps(missing, quiet=True), self.views())
        except Exception as error:
            raise RuntimeError(f"{self.describe()} failed: {error}") from error
        comparing = self.compare and self.compare_mode == "method"
        image, rows = self.selection.current_image(), []
        probabilities = self.selection.probabilities()
        for method, target in self.views():
            raw = self.cache[(method, target)].values
            title = f"{self.class_names[target]} (p = {probabilities[target]:.2f})"
            title = f"{self.describe(method)}\n{title}" if comparing else title
            normalized = normalize(raw, self.normalization)
            rows.append((title, heatmap_image(image, raw, self), normalized))
        heading = self.describe()
        if comparing:
            heading += f" vs {self.describe(self.compare_method)}"
        heading = f"{heading} — class '{self.class_names[self.target]}'"
        shown, image_title = self.figure_image()
        return attribution_figure(shown, rows, self.cmap, image_title, heading)

    def figure_image(self) -> tuple[np.ndarray, str]:
        """The first picture of each row of :meth:`figure` and its title: the image."""
        return self.selection.current_image(), f"image {self.image_index}"
