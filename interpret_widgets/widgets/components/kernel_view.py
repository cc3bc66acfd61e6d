"""KernelView: the kernels of the convolution behind a layer, as a grid of small images.

The kernels come from the model adapter (:meth:`ModelAdapter.kernel_layer` and
:meth:`ModelAdapter.kernels`, a copy of the weights); the view never touches Keras. It sits
in a closed accordion and renders only while open.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ...render import colorize, normalize, tile, to_uint8_image, upscale, upscale_factor
from ..common import image_widget, set_png
from ..validators import check_one_of

KERNEL_SIZE = 27
"""Target size in pixels of one kernel tile."""
COLUMNS = 16
PADDING = 2
HIGHLIGHT = np.array([255, 48, 48], dtype=np.uint8)


def input_options(c_in: int) -> list[tuple[str, str]]:
    """How the kernels' input channels can be shown: RGB (three inputs), their mean, one."""
    options = ([("RGB", "rgb")] if c_in == 3 else []) + [("mean over inputs", "mean")]
    return options + [(f"input channel {i}", str(i)) for i in range(c_in)]


def render_kernels(kernel: np.ndarray, mode: str, selected: int | None = None) -> np.ndarray:
    """A ``(kh, kw, c_in, c_out)`` kernel as one RGB grid image, one tile per filter.

    ``mode`` ``"rgb"`` shows the three input channels as colours (min-max scaled per
    filter); ``"mean"`` or an input channel index (as text) shows one plane on a diverging
    colormap around zero. Filter ``selected`` gets a highlight frame.
    """
    kh, kw, _, c_out = kernel.shape
    factor = upscale_factor((kh, kw), KERNEL_SIZE)
    if mode == "rgb":
        tiles = [upscale(to_uint8_image(normalize(kernel[..., k])), factor) for k in range(c_out)]
    else:
        planes = kernel.mean(axis=2) if mode == "mean" else kernel[:, :, int(mode), :]
        scaled = normalize(planes, "symmetric")
        tiles = [upscale(colorize(scaled[..., k], "RdBu_r"), factor) for k in range(c_out)]
    if selected is not None and 0 <= selected < c_out:
        tiles[selected] = _framed(tiles[selected])
    return tile(tiles, columns=min(COLUMNS, c_out), padding=PADDING)


def _framed(image: np.ndarray, width: int = 2) -> np.ndarray:
    """A copy of an RGB tile with a highlight frame on its border."""
    framed = image.copy()
    framed[:width], framed[-width:] = HIGHLIGHT, HIGHLIGHT
    framed[:, :width], framed[:, -width:] = HIGHLIGHT, HIGHLIGHT
    return framed


class KernelView(widgets.Accordion):
    """The kernels behind ``layer`` of a model, with a choice of how inputs are shown.

    Parameters
    ----------
    adapter
        The model's :class:`~interpret_widgets.model.adapter.ModelAdapter`.

    Traits
    ------
    layer : str
        The layer whose convolution (itself, or the nearest one before it) is shown.
    channel : int
        The layer's selected channel: its filter is framed where the convolution produces
        the layer's channels.
    mode : str
        ``"rgb"``, ``"mean"`` or an input channel index as text (:func:`input_options`).
    expanded : bool
        Whether the accordion is open (it renders only then).
    """

    layer = traitlets.Unicode("")
    channel = traitlets.Int(0)
    mode = traitlets.Unicode("mean")
    expanded = traitlets.Bool(False)

    def __init__(self, adapter: Any, **kwargs: Any) -> None:
        self.info = widgets.HTML()
        self.input_select = widgets.Dropdown(description="show", options=[("mean", "mean")])
        self.image = image_widget(480)
        self.image.add_class("iw-weights-image")
        box = widgets.VBox([self.info, self.input_select, self.image])
        super().__init__(children=[box], titles=("Kernels of the convolution",), **kwargs)
        self.selected_index = None
        self.add_class("iw-weights")
        self.adapter = adapter
        self.kernel_name: str | None = None
        traitlets.link((self, "mode"), (self.input_select, "value"))
        traitlets.link(
            (self, "expanded"), (self, "selected_index"),
            transform=(lambda o: 0 if o else None, lambda i: i == 0),
        )  # fmt: skip

    @traitlets.validate("mode")
    def _valid_mode(self, proposal: dict[str, Any]) -> str:
        values = [value for _, value in self.input_select.options]
        return check_one_of("kernel input", proposal["value"], values)

    @traitlets.observe("layer", "channel", "mode", "expanded")
    def _on_view_change(self, _change: dict[str, Any]) -> None:
        if self.expanded and self.layer:
            with self.image.hold_sync(), self.info.hold_sync():
                self.render()

    def render(self) -> None:
        """Draw the kernels for the current layer, channel and mode."""
        self.kernel_name = self.adapter.kernel_layer(self.layer)
        if self.kernel_name is None:
            self.info.value = f"No convolution at or before layer {self.layer!r}."
            self.image.value = b""
            return
        kernel = self.adapter.kernels(self.kernel_name)
        kh, kw, c_in, c_out = kernel.shape
        self._offer(input_options(c_in))
        channels = self.adapter.resolve_layer(self.layer).channels
        selected = self.channel if c_out == channels else None
        grid = render_kernels(kernel, self.mode, selected)
        self.image.layout.width = f"{grid.shape[1]}px"
        set_png(self.image, grid)
        suffix = "" if self.kernel_name == self.layer else f" (the convolution before {self.layer})"
        self.info.value = f"<b>{self.kernel_name}</b>: {c_out} filters of {kh}×{kw}×{c_in}{suffix}"

    def _offer(self, options: list[tuple[str, str]]) -> None:
        """New input options for a kernel with other inputs; the dropdown (and through its
        link, ``mode``) selects the first one."""
        if list(self.input_select.options) != options:
            self.input_select.options = options
