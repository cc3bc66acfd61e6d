"""ImagePicker: an image slider, the chosen image's thumbnail and a line about it."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ...render import to_uint8_image, upscale
from ..common import image_widget, set_png

THUMB_SIZE = 96
"""Smallest display size in pixels of the thumbnail (upscaled by whole pixels)."""


class ImagePicker(widgets.VBox):
    """Choose one of ``count`` images; :meth:`show` puts it and a caption on display.

    Traits
    ------
    index : int
        The chosen image (linked to ``slider``, CSS class ``iw-image-slider``).

    ``thumbnail`` (``iw-thumbnail``) and ``caption`` (HTML) are what a browser shows.
    """

    index = traitlets.Int(0)

    def __init__(self, thumb_size: int = THUMB_SIZE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thumb_size = int(thumb_size)
        self.slider = widgets.IntSlider(min=0, max=0, description="image", continuous_update=False)
        self.slider.add_class("iw-image-slider")
        self.thumbnail = image_widget(self.thumb_size)
        self.thumbnail.add_class("iw-thumbnail")
        self.caption = widgets.HTML()
        traitlets.link((self, "index"), (self.slider, "value"))
        self.children = [self.slider, self.thumbnail, self.caption]

    def set_count(self, count: int) -> None:
        """Offer images ``0 .. count - 1``."""
        self.slider.max = max(0, int(count) - 1)

    def show(self, image: np.ndarray, caption: str) -> None:
        """Display ``image`` (any range, see ``to_uint8_image``) and an HTML ``caption``."""
        factor = max(1, -(-self.thumb_size // max(image.shape[:2])))
        self.thumbnail.layout.width = f"{image.shape[1] * factor}px"
        set_png(self.thumbnail, upscale(to_uint8_image(image), factor))
        self.caption.value = caption
