"""ChannelGrid: a clickable grid of a layer's channels, the selected one framed.

The grid is one PNG (:func:`~interpret_widgets.render.tile`) drawn by a bqplot ``Image``
mark, whose clicks arrive with data coordinates; :func:`~interpret_widgets.render.grid_position`
turns them back into a tile. The selection frame is a mark of its own, so moving the
selected channel redraws a line and never re-encodes the grid.
"""

from __future__ import annotations

from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from ...render import colorize, grid_position, normalize, tile, to_png, upscale, upscale_factor
from ..validators import check_one_of, check_within

MODES = ("top", "all")
"""``top``: the ``top_k`` channels of highest mean activation; ``all``: every channel, paged."""
PAGE_SIZES = (16, 64)
"""Smallest and largest number of tiles on one page of the ``all`` mode."""
FRAME_COLOUR = "#ff3030"


class ChannelGrid(widgets.VBox):
    """Tiles of every (or the strongest) channel of an ``(h, w, k)`` activation.

    Parameters
    ----------
    top_k
        Tiles in the ``top`` mode.
    tile_size
        Target size in pixels of one tile (maps are upscaled by whole pixels).
    padding
        Pixels between tiles.

    Traits
    ------
    channel : int
        The selected channel (framed); a click on a tile sets it.
    cmap, mode, page, page_size
        Colormap, ``"top"``/``"all"``, the page and its size in the ``all`` mode.
    channels : tuple of int
        The channels shown, in tile order (read-only).

    Invalid values (an unknown mode, a page size outside 16..64) raise ``TraitError``.
    """

    channel = traitlets.Int(0)
    cmap = traitlets.Unicode("viridis")
    mode = traitlets.Unicode("top")
    page = traitlets.Int(0)
    page_size = traitlets.Int(32)
    channels = traitlets.Tuple(read_only=True)

    def __init__(
        self, top_k: int = 16, tile_size: int = 64, padding: int = 2, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.top_k, self.tile_size, self.padding = int(top_k), int(tile_size), int(padding)
        self._activation: np.ndarray | None = None
        self._key: tuple | None = None
        self.columns, self.tile_shape, self.size = 1, (1, 1), (1, 1)
        self._build()
        self.children = [widgets.HBox([self.mode_buttons, self.page_slider]), self.figure]

    def _build(self) -> None:
        self.mode_buttons = widgets.ToggleButtons(
            options=[(f"top {self.top_k}", "top"), ("all", "all")], description="grid"
        )
        self.mode_buttons.style.button_width = "70px"
        self.page_slider = widgets.IntSlider(min=0, max=0, description="page")
        self.page_slider.layout.visibility = "hidden"
        traitlets.link((self, "mode"), (self.mode_buttons, "value"))
        traitlets.link((self, "page"), (self.page_slider, "value"))
        scales = {"x": bqplot.LinearScale(min=0, max=1), "y": bqplot.LinearScale(min=0, max=1)}
        self.image_mark = bqplot.Image(
            image=widgets.Image(format="png"), scales=scales, x=[0, 1], y=[0, 1]
        )
        self.image_mark.on_element_click(self._on_image_click)
        self.labels = bqplot.Label(
            x=[], y=[], text=[], scales=scales, colors=["white"], default_size=11,
            x_offset=3, y_offset=12,
        )  # fmt: skip
        self.frame = bqplot.Lines(
            x=[], y=[], scales=scales, colors=[FRAME_COLOUR], stroke_width=3
        )
        self.figure = bqplot.Figure(
            marks=[self.image_mark, self.frame, self.labels],
            fig_margin={"top": 0, "bottom": 0, "left": 0, "right": 0},
            padding_x=0, padding_y=0, min_aspect_ratio=0.01, max_aspect_ratio=100,
            display_toolbar=False, layout=widgets.Layout(width="270px", height="270px"),
        )  # fmt: skip
        self.figure.add_class("iw-activation-grid")

    # -- validation ------------------------------------------------------------------------
    def check(self, name: str, value: Any) -> Any:
        """``value`` if it is valid for trait ``name`` (``mode``, ``page`` or ``page_size``).

        Views that mirror these traits validate with the same check.

        Raises
        ------
        traitlets.TraitError
            For an unknown mode, a page size outside 16..64, a page beyond the last.
        """
        low, high = PAGE_SIZES
        if name == "mode":
            check_one_of("grid mode", value, MODES)
        if name == "page_size":
            check_within("grid page size", value, low, high)
        if name == "page" and not 0 <= value < self.pages:
            raise traitlets.TraitError(f"grid page {value} is out of range 0..{self.pages - 1}")
        return value

    @traitlets.validate("mode", "page", "page_size")
    def _valid_view(self, proposal: dict[str, Any]) -> Any:
        return self.check(proposal["trait"].name, proposal["value"])

    # -- the public surface ----------------------------------------------------------------
    @property
    def pages(self) -> int:
        """Number of pages of the ``all`` mode for the current activation."""
        count = 0 if self._activation is None else self._activation.shape[-1]
        return max(1, -(-count // self.page_size))

    def show(self, activation: np.ndarray, first_page: bool = False) -> None:
        """Show the channels of an ``(h, w, k)`` activation (from the first page if asked).

        The grid image is re-encoded only when what it shows changed.
        """
        self._activation = activation
        if first_page or self.page >= self.pages:
            self.page = 0  # renders where the page changes; the render below is then cached
        self._render()

    def select_channels(self) -> np.ndarray:
        """The channels the current mode and page show, in tile order."""
        acts = self._activation
        if acts is None:
            return np.zeros(0, dtype=int)
        if self.mode == "top":
            return np.argsort(-acts.mean(axis=(0, 1)), kind="stable")[: self.top_k]
        start = self.page * self.page_size
        return np.arange(start, min(acts.shape[-1], start + self.page_size))

    def tile_box(self, index: int) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` in pixels of tile ``index`` in the grid image."""
        top, left = grid_position(index, self.columns, self.tile_shape, self.padding)
        return top, left, self.tile_shape[0], self.tile_shape[1]

    def tile_at(self, top: float, left: float) -> int | None:
        """The channel shown at pixel (``top``, ``left``) of the grid image, or ``None``."""
        for index, channel in enumerate(self.channels):
            y, x, height, width = self.tile_box(index)
            if y <= top < y + height + self.padding and x <= left < x + width + self.padding:
                return int(channel)
        return None

    def click(self, x: float, y: float) -> None:
        """Select the channel under the data point (``x``, ``y``) (y up), as a click does."""
        picked = self.tile_at(self.size[0] - float(y), float(x))
        if picked is not None:
            self.channel = picked

    # -- rendering -------------------------------------------------------------------------
    def _on_image_click(self, _mark: Any, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        if data.get("click_x") is not None and data.get("click_y") is not None:
            self.click(data["click_x"], data["click_y"])

    @traitlets.observe("cmap", "mode", "page", "page_size")
    def _on_view_change(self, _change: dict[str, Any]) -> None:
        if self._activation is None:
            return
        if self.page >= self.pages:  # a larger page size: fewer pages
            self.page = 0  # renders
            return
        self._render()

    @traitlets.observe("channel")
    def _on_channel_change(self, _change: dict[str, Any]) -> None:
        with self.frame.hold_sync():
            self._render_frame()

    def _render(self) -> None:
        key = (id(self._activation), self.cmap, self.mode, self.page, self.page_size)
        retired = None
        with self.image_mark.hold_sync(), self.labels.hold_sync(), self.frame.hold_sync():
            if key != self._key:
                retired = self._render_image()
                self._key = key
            self._render_frame()
        if retired is not None:  # closed only after the mark's switch to the new one went out
            retired.close()

    def _render_image(self) -> widgets.Image:
        acts = self._activation
        shown = self.select_channels()
        scaled = normalize(acts, "minmax")
        factor = upscale_factor(acts.shape, self.tile_size)
        tiles = [upscale(colorize(scaled[:, :, c], self.cmap), factor) for c in shown]
        self.columns = min(4 if len(shown) <= self.top_k else 8, len(shown))
        grid = tile(tiles, columns=self.columns, padding=self.padding)
        self.tile_shape, self.size = tiles[0].shape[:2], grid.shape[:2]
        self.set_trait("channels", tuple(int(c) for c in shown))
        self.page_slider.max = self.pages - 1
        paged = self.mode == "all" and self.pages > 1
        self.page_slider.layout.visibility = "visible" if paged else "hidden"
        # bqplot's Image mark redraws when its ``image`` widget is replaced, not when that
        # widget's value changes: swap in a new one and hand back the old to be closed.
        old = self.image_mark.image
        self.image_mark.image = widgets.Image(value=to_png(grid), format="png")
        self._place(*self.size)
        return old

    def _place(self, height: int, width: int) -> None:
        """Scales, mark extent, channel labels and figure size for a grid of this size."""
        self.image_mark.scales["x"].max, self.image_mark.scales["y"].max = width, height
        self.image_mark.x, self.image_mark.y = [0.0, float(width)], [0.0, float(height)]
        boxes = [self.tile_box(i) for i in range(len(self.channels))]
        self.labels.x = np.array([left for _, left, _, _ in boxes], dtype=float)
        self.labels.y = np.array([height - top for top, _, _, _ in boxes], dtype=float)
        self.labels.text = np.array([str(c) for c in self.channels])
        self.figure.layout.width, self.figure.layout.height = f"{width}px", f"{height}px"

    def _render_frame(self) -> None:
        """A rectangle 1.5 px inside the selected channel's tile; none where it is not shown."""
        if self.channel not in self.channels:
            self.frame.x, self.frame.y = [], []
            return
        top, left, tile_h, tile_w = self.tile_box(self.channels.index(self.channel))
        height = self.size[0]
        upper, lower = height - top - 1.5, height - top - tile_h + 1.5
        right, left = left + tile_w - 1.5, left + 1.5
        self.frame.x = np.array([left, right, right, left, left], dtype=float)
        self.frame.y = np.array([upper, upper, lower, lower, upper], dtype=float)
