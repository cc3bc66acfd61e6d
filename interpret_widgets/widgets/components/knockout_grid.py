"""KnockoutGrid: a ChannelGrid in a given order whose clicks knock channels out and back in.

The ablation panel shows a layer's channels sorted by importance, and a click on a tile
toggles that channel in the :attr:`KnockoutGrid.knocked` list rather than only selecting
it. Knocked-out tiles are crossed by a mark of their own, so a toggle redraws a few lines
and never re-encodes the grid image.
"""

from __future__ import annotations

from typing import Any

import bqplot
import numpy as np
import traitlets

from .channel_grid import ChannelGrid

CROSS_COLOUR = "#ff3030"


class KnockoutGrid(ChannelGrid):
    """Channel tiles in :attr:`order`; a click toggles the channel in :attr:`knocked`.

    Traits
    ------
    knocked : list of int
        The channels knocked out, in the order they were clicked; crossed in the grid.

    :meth:`show` takes the activation and the order (most important first); the ``top``
    mode shows the first ``top_k`` of the order, ``all`` every channel in that order.
    """

    knocked = traitlets.List(traitlets.Int())

    def __init__(self, top_k: int = 16, tile_size: int = 48, **kwargs: Any) -> None:
        self._order: np.ndarray | None = None
        super().__init__(top_k=top_k, tile_size=tile_size, **kwargs)
        # Narrow controls: the grid sits beside the before/after columns.
        self.mode_buttons.description = ""
        self.page_slider.layout.width = "220px"
        scales = self.image_mark.scales
        self.crosses = bqplot.Lines(
            x=[], y=[], scales=scales, colors=[CROSS_COLOUR], stroke_width=2
        )
        self.figure.marks = [*self.figure.marks, self.crosses]

    def show(
        self, activation: np.ndarray, order: np.ndarray | None = None, first_page: bool = False
    ) -> None:
        """Show an ``(h, w, k)`` activation with its channels in ``order`` (default 0..k-1)."""
        count = activation.shape[-1]
        self._order = np.arange(count) if order is None else np.asarray(order, dtype=int)
        self._key = None  # the order is part of what the image shows
        super().show(activation, first_page)
        self._render_crosses()

    def select_channels(self) -> np.ndarray:
        """The channels shown, in tile order: the top of :attr:`order`, or its page."""
        if self._activation is None or self._order is None:
            return np.zeros(0, dtype=int)
        if self.mode == "top":
            return self._order[: self.top_k]
        start = self.page * self.page_size
        return self._order[start : start + self.page_size]

    def click(self, x: float, y: float) -> None:
        """Toggle the channel under the data point (``x``, ``y``) (y up), as a click does."""
        picked = self.tile_at(self.size[0] - float(y), float(x))
        if picked is None:
            return
        self.channel = picked
        self.toggle(picked)

    def toggle(self, channel: int) -> None:
        """Knock ``channel`` out, or back in when it is out."""
        knocked = list(self.knocked)
        if channel in knocked:
            knocked.remove(channel)
        else:
            knocked.append(int(channel))
        self.knocked = knocked

    def _render(self) -> None:
        super()._render()
        self._render_crosses()

    @traitlets.observe("knocked")
    def _on_knocked_change(self, _change: dict[str, Any]) -> None:
        self._render_crosses()

    def _render_crosses(self) -> None:
        """Both diagonals of every knocked-out tile that is shown."""
        xs, ys = [], []
        height = self.size[0]
        for channel in self.knocked:
            if channel not in self.channels:
                continue
            top, left, tile_h, tile_w = self.tile_box(self.channels.index(channel))
            upper, lower, right = height - top, height - top - tile_h, left + tile_w
            xs += [[left, right], [left, right]]
            ys += [[upper, lower], [lower, upper]]
        with self.crosses.hold_sync():
            if xs:
                self.crosses.x = np.asarray(xs, dtype=float)
                self.crosses.y = np.asarray(ys, dtype=float)
            else:
                self.crosses.x, self.crosses.y = [], []
