"""SegmentView: the superpixels a map was computed on, and its top segments with their values.

KernelSHAP and LIME explain an image by segments (SLIC superpixels). Beside their map the
perturbation panel shows the segment boundaries over the image
(``render.segment_boundaries``) and a small table of the segments that count most
(``render.top_segments``): red for the class, blue against it. Pixel methods have no
segments: the view hides.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ...render import segment_boundaries, top_segments
from ..common import hold_sync_all, image_widget, set_png
from ..panel_view import caption

#: Display width of the boundaries image, pixels.
SEGMENTS_SIZE = 160


def top_segments_html(rows: list[tuple[int, float, int]]) -> str:
    """A small table of the top segments: label, signed value (red for, blue against)."""
    lines = [
        f"<tr><td>#{label}</td><td style='color:{'#c00' if value >= 0 else '#00c'}'>"
        f"{value:+.4g}</td><td>{count} px</td></tr>"
        for label, value, count in rows
    ]
    return (
        "<small><b>top segments</b> (red: for the class, blue: against)</small>"
        f"<table class='iw-top-table'>{''.join(lines)}</table>"
    )


class SegmentView(widgets.VBox):
    """A caption, the superpixel boundaries (``boundaries``) and the top list (``top_list``)."""

    def __init__(self) -> None:
        self.boundaries = image_widget(SEGMENTS_SIZE).add_class("iw-perturbation-segments")
        self.top_list = widgets.HTML().add_class("iw-perturbation-top")
        parts = [caption("superpixels"), self.boundaries, self.top_list]
        super().__init__(parts, layout=widgets.Layout(display="none"))

    def show(
        self, image: np.ndarray, values: np.ndarray, segments: np.ndarray | None, top_k: int
    ) -> None:
        """Draw the ``segments`` of ``image`` and the ``top_k`` of them by ``values``; hide
        when there are no segments."""
        self.layout.display = "none" if segments is None else None
        if segments is None:
            return
        with hold_sync_all(self.boundaries, self.top_list):
            set_png(self.boundaries, segment_boundaries(image, segments))
            self.top_list.value = top_segments_html(top_segments(values, segments, top_k))

    def clear(self) -> None:
        """Blank both (a run that failed or was stopped)."""
        with hold_sync_all(self.boundaries, self.top_list):
            self.boundaries.value = b""
            self.top_list.value = ""
