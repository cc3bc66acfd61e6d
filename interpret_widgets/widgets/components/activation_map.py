"""ActivationMap: one channel's activation as a colour-mapped, upscaled PNG."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ...render import colorize, normalize, upscale, upscale_factor
from ..common import image_widget, set_png

MAP_SIZE = 256
"""Target display size in pixels of the map (nearest upscaling by whole pixels)."""


def render_channel_map(values: np.ndarray, cmap: str, size: int = MAP_SIZE) -> np.ndarray:
    """A channel as shown: min-max normalized, colour-mapped, upscaled (nearest)."""
    coloured = colorize(normalize(values, "minmax"), cmap)
    return upscale(coloured, upscale_factor(values.shape, size))


def check_cmap(name: str) -> str:
    """``name`` if matplotlib knows the colormap.

    Raises
    ------
    traitlets.TraitError
        If it does not.
    """
    try:
        colorize(np.zeros((1, 1)), name)
    except ValueError as error:
        raise traitlets.TraitError(str(error)) from None
    return name


class ActivationMap(widgets.VBox):
    """The map of one channel; a new colormap re-renders from the kept values.

    Traits
    ------
    cmap : str
        A matplotlib colormap name; an unknown one raises ``TraitError``.

    ``image`` is the ``ipywidgets.Image`` a browser shows (CSS class
    ``iw-activation-image``); :meth:`show` puts a channel's raw values in it.
    """

    cmap = traitlets.Unicode("viridis")

    def __init__(self, size: int = MAP_SIZE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = int(size)
        self.image = image_widget(self.size)
        self.image.add_class("iw-activation-image")
        self.values: np.ndarray | None = None
        self.children = [self.image]

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        return check_cmap(proposal["value"])

    def show(self, values: np.ndarray) -> None:
        """Display the ``(h, w)`` raw values of a channel."""
        self.values = np.asarray(values)
        set_png(self.image, render_channel_map(self.values, self.cmap, self.size))

    @traitlets.observe("cmap")
    def _on_cmap_change(self, _change: dict[str, Any]) -> None:
        if self.values is not None:
            self.show(self.values)
