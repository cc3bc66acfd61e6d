"""KnockoutComparison: the prediction and Grad-CAM before and after a knock-out, side by side.

The ablation panel shows the original model's class probabilities and Grad-CAM in one
column and those of the model with channels knocked out in the other. Both bar charts'
``target`` is the panel's class (linked by the panel), so a bar click on either side
selects a class.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np

from ...render import overlay
from ..class_bars import ClassBars
from ..common import hold_sync_all, image_widget, set_png

#: Display width of each Grad-CAM, pixels.
CAM_SIZE = 192


class KnockoutComparison(widgets.HBox):
    """Two columns, "original" and "knocked out": a caption, the Grad-CAM, the class bars.

    ``bars_before``/``bars_after`` are :class:`~..class_bars.ClassBars`;
    ``cam_before``/``cam_after`` PNG images; ``caption_before``/``caption_after`` HTML.
    """

    def __init__(self, class_names: Sequence[str]) -> None:
        self.bars_before = ClassBars(class_names, width=250, height=200)
        self.bars_after = ClassBars(class_names, width=250, height=200)
        self.bars_after.figure.add_class("iw-class-bars-after")
        self.cam_before = image_widget(CAM_SIZE).add_class("iw-ablation-cam-before")
        self.cam_after = image_widget(CAM_SIZE).add_class("iw-ablation-cam-after")
        self.caption_before = widgets.HTML().add_class("iw-ablation-caption-before")
        self.caption_after = widgets.HTML().add_class("iw-ablation-caption")
        column = widgets.Layout(min_width="255px", flex="0 0 auto")
        super().__init__([
            widgets.VBox([self.caption_before, self.cam_before, self.bars_before.figure],
                         layout=column),
            widgets.VBox([self.caption_after, self.cam_after, self.bars_after.figure],
                         layout=column),
        ])  # fmt: skip

    @property
    def bars(self) -> tuple[ClassBars, ClassBars]:
        """Both class charts (the panel links their ``target``)."""
        return self.bars_before, self.bars_after

    def show_before(
        self, image: np.ndarray, cam: np.ndarray, probabilities: np.ndarray, target: int
    ) -> None:
        """The original model: its Grad-CAM over ``image`` and its class probabilities."""
        set_png(self.cam_before, overlay(image, cam))
        self.bars_before.update(probabilities, target)

    def show_after(
        self,
        image: np.ndarray,
        cam: np.ndarray,
        probabilities: np.ndarray,
        target: int,
        caption: tuple[str, str],
    ) -> None:
        """The knocked-out model, and both captions (``(before, after)`` HTML)."""
        self.caption_before.value = caption[0]
        with hold_sync_all(self.cam_after, self.caption_after):
            set_png(self.cam_after, overlay(image, cam))
            self.caption_after.value = caption[1]
        self.bars_after.update(probabilities, target)
