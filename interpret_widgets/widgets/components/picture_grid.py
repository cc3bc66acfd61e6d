"""PictureGrid: images in [0, 1] tiled into one PNG, with a caption."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from ...render import tile, to_uint8_image, upscale, upscale_factor
from ..common import hold_sync_all, set_png

TILE_SIZE = 128
"""Target display size in pixels of one image."""


def render_pictures(images: np.ndarray, size: int = TILE_SIZE) -> np.ndarray:
    """``(K, H, W, 3)`` images in [0, 1] as one grid: 4 columns up to 8 images, else 8."""
    pictures = [to_uint8_image(np.clip(image, 0.0, 1.0)) for image in images]
    factor = upscale_factor(pictures[0].shape, size)
    pictures = [upscale(p, factor) for p in pictures]
    return tile(pictures, columns=min(len(pictures), 4 if len(pictures) <= 8 else 8), padding=4)


class PictureGrid(widgets.VBox):
    """One PNG of several images (``image``, CSS class ``iw-filter-grid``) and a caption."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="256px"))
        self.image.add_class("iw-filter-grid")
        self.caption = widgets.HTML()
        self.caption.add_class("iw-filter-caption")
        self.children = [self.image, self.caption]

    def show(self, images: np.ndarray, caption: str) -> None:
        """Display ``images`` (see :func:`render_pictures`) with a caption (plain text)."""
        grid = render_pictures(images)
        with hold_sync_all(self.image, self.caption):
            self.image.layout.width = f"{grid.shape[1]}px"
            set_png(self.image, grid)
            self.caption.value = f"<small>{caption}</small>"
