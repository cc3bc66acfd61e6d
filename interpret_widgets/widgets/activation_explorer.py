"""ActivationExplorer: what each channel of each convolutional layer responds to in an image.

One forward pass per image gives the activations of every layer with a 4-D output; they are
kept in a small LRU cache, so moving the layer or channel slider only re-renders. The view
shows the selected channel's map, its statistics and histogram, a clickable grid of the
layer's channels, an optional 3-D volume of the whole layer (ipyvolume, loaded on demand)
and the kernels of the convolution that produced the layer.
"""

from __future__ import annotations

import collections
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from .. import methods
from ..model import get_adapter
from ..render import colorize, normalize, tile, to_png, to_uint8_image, upscale
from .common import STATUS_ERROR, STATUS_OK, StatusLine, hold_sync_all, image_widget, set_png

MAP_SIZE = 256
"""Target display size in pixels of the selected channel's map (nearest upscaling)."""
TILE_SIZE = 64
"""Target size in pixels of one channel tile in the grid."""
THUMB_SIZE = 96
TOP_K = 16
GRID_PADDING = 2
HIST_BINS = 30
KERNEL_SIZE = 27
CMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray", "jet", "RdBu_r")
VOLUME_RAMP = 1e-4
HIGHLIGHT = np.array([255, 48, 48], dtype=np.uint8)


def upscale_factor(shape: tuple, target: int) -> int:
    """Integer nearest-neighbour factor that brings a map of ``shape`` close to ``target`` px."""
    return max(1, int(target) // max(int(shape[0]), int(shape[1])))


def render_channel_map(values: np.ndarray, cmap: str) -> np.ndarray:
    """The selected channel as shown: min-max normalized, colour-mapped, upscaled (nearest)."""
    coloured = colorize(normalize(values, "minmax"), cmap)
    return upscale(coloured, upscale_factor(values.shape, MAP_SIZE))


def channel_statistics(values: np.ndarray) -> dict[str, float]:
    """Mean, max, min, standard deviation and fraction of positive values of one channel."""
    v = np.asarray(values, dtype=np.float32)
    return {
        "mean": float(v.mean()),
        "max": float(v.max()),
        "min": float(v.min()),
        "std": float(v.std()),
        "active": float((v > 0).mean()),
    }


class ActivationExplorer(widgets.VBox):
    """Browse the activations of a Keras model's convolutional layers, channel by channel.

    Parameters
    ----------
    model
        A built Keras model; it is only read.
    images
        ``(N, H, W, C)`` float array matching the model's input.
    class_names
        Optional names of the model's classes, used for the prediction line.
    layer
        Initial layer name (default: the last layer with a 4-D output).
    cache_size
        How many images' activations are kept (least recently used are dropped).

    Bad input (images that do not fit the model, a model without 4-D layers) is reported in
    the status line; the widget stays usable and accepts new ``images``.
    """

    image_index = traitlets.Int(0)
    layer = traitlets.Unicode("")
    channel = traitlets.Int(0)
    cmap = traitlets.Unicode("viridis")
    grid_mode = traitlets.Unicode("top")
    grid_page = traitlets.Int(0)
    grid_page_size = traitlets.Int(32)

    def __init__(
        self,
        model: Any,
        images: Any,
        class_names: list[str] | None = None,
        *,
        layer: str | None = None,
        cache_size: int = 8,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._ready = False
        self._quiet = False
        self._notice = ""
        self.model = model
        self.class_names = list(class_names) if class_names is not None else None
        self.cache_size = max(1, int(cache_size))
        self._cache: collections.OrderedDict[int, dict[str, np.ndarray]] = collections.OrderedDict()
        self._images: np.ndarray | None = None
        self._entries: list[Any] = []
        self._adapter: Any = None
        self._output_name: str | None = None
        self._grid_shown: np.ndarray = np.zeros(0, dtype=int)
        self._grid_columns = 1
        self._tile_shape = (1, 1)
        self._grid_size = (1, 1)
        self._stats: dict[str, float] = {}
        self._volume_figure: Any = None
        self._volume: Any = None
        self._retired: list[widgets.Image] = []
        self._build()
        self.add_class("iw-activation-explorer")

        with self.status.capture("Reading the model"):
            self._adapter = get_adapter(model)
            self._entries = [
                e for e in self._adapter.spatial_layers() if e.kind not in ("model", "input")
            ]
            self._output_name = self._find_output_name()
            if not self._entries:
                raise ValueError(
                    f"model {self._adapter.name!r} has no layer with a 4-D (N, h, w, k) output; "
                    "the activation explorer needs a convolutional model"
                )
        failed = self.status.state == STATUS_ERROR
        names = [self._adapter.name_of(e) for e in self._entries] if self._entries else []
        self._layer_select.options = [
            (f"{name} · {tuple(e.output_shape[1:])}", name)
            for name, e in zip(names, self._entries, strict=True)
        ]
        if names:
            start = layer if layer in names else names[-1]
            if layer is not None and layer not in names:
                self._notice = (
                    f"layer {layer!r} has no 4-D output in this model; showing {start!r} "
                    f"(choices: {', '.join(names)})"
                )
            self._quiet = True
            self.layer = start
            self._quiet = False
        self._link_controls()
        self._ready = True
        if not failed:
            self.images = images
        self._set_enabled()

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.status = StatusLine()
        self._image_slider = widgets.IntSlider(
            min=0, max=0, description="image", continuous_update=False
        )
        self._image_slider.add_class("iw-image-slider")
        self._thumbnail = image_widget(THUMB_SIZE)
        self._thumbnail.add_class("iw-thumbnail")
        self._prediction = widgets.HTML()
        self._layer_select = widgets.Dropdown(description="layer", options=[])
        self._layer_select.add_class("iw-layer-select")
        self._channel_slider = widgets.IntSlider(min=0, max=0, description="channel")
        self._channel_slider.add_class("iw-channel-slider")
        self._cmap_select = widgets.Dropdown(description="colormap", options=list(CMAPS))
        self._cmap_select.add_class("iw-cmap-select")
        self._map = image_widget(MAP_SIZE)
        self._map.add_class("iw-activation-image")
        self._stats_html = widgets.HTML()
        self._stats_html.add_class("iw-stats")

        self._hist_bars = bqplot.Bars(
            x=np.zeros(1),
            y=np.zeros(1),
            scales={"x": bqplot.LinearScale(), "y": bqplot.LinearScale(min=0)},
            colors=["#4c78a8"],
            padding=0.05,
        )
        self._histogram = bqplot.Figure(
            marks=[self._hist_bars],
            axes=[
                bqplot.Axis(scale=self._hist_bars.scales["x"], label="activation", num_ticks=5),
                bqplot.Axis(scale=self._hist_bars.scales["y"], orientation="vertical", num_ticks=4),
            ],
            title="values of the channel",
            fig_margin={"top": 30, "bottom": 40, "left": 50, "right": 10},
            layout=widgets.Layout(width="320px", height="220px"),
        )
        self._histogram.add_class("iw-histogram")

        self._grid_mode_select = widgets.ToggleButtons(
            options=[(f"top {TOP_K}", "top"), ("all", "all")], description="grid"
        )
        self._grid_mode_select.style.button_width = "70px"
        self._grid_page_slider = widgets.IntSlider(min=0, max=0, description="page")
        self._grid_page_slider.layout.visibility = "hidden"
        self._grid_png = widgets.Image(format="png")
        x_scale = bqplot.LinearScale(min=0, max=1)
        y_scale = bqplot.LinearScale(min=0, max=1)
        self._grid_mark = bqplot.Image(
            image=self._grid_png, scales={"x": x_scale, "y": y_scale}, x=[0, 1], y=[0, 1]
        )
        self._grid_mark.on_element_click(self._on_grid_click)
        self._grid_labels = bqplot.Label(
            x=[],
            y=[],
            text=[],
            scales={"x": x_scale, "y": y_scale},
            colors=["white"],
            default_size=11,
            x_offset=3,
            y_offset=12,
        )
        # The selected tile's frame is a mark of its own: a channel move redraws a line,
        # not the grid image.
        self._grid_frame = bqplot.Lines(
            x=[], y=[], scales={"x": x_scale, "y": y_scale}, colors=["#ff3030"], stroke_width=3
        )
        self._grid_key: tuple | None = None
        self._grid = bqplot.Figure(
            marks=[self._grid_mark, self._grid_frame, self._grid_labels],
            fig_margin={"top": 0, "bottom": 0, "left": 0, "right": 0},
            padding_x=0,
            padding_y=0,
            min_aspect_ratio=0.01,
            max_aspect_ratio=100,
            display_toolbar=False,
            layout=widgets.Layout(width="270px", height="270px"),
        )
        self._grid.add_class("iw-activation-grid")

        self._volume_toggle = widgets.ToggleButton(value=False, description="3-D view")
        self._volume_toggle.add_class("iw-volume-toggle")
        self._volume_toggle.observe(self._on_volume_toggle_change, "value")
        self._volume_box = widgets.VBox()
        self._volume_box.add_class("iw-volume")

        self._weights_info = widgets.HTML()
        self._weights_input = widgets.Dropdown(description="show", options=[("mean", "mean")])
        self._weights_input.observe(self._on_weights_option_change, "value")
        self._weights_image = image_widget(480)
        self._weights_image.add_class("iw-weights-image")
        self._weights = widgets.Accordion(
            children=[widgets.VBox([self._weights_info, self._weights_input, self._weights_image])],
            titles=("Kernels of the convolution",),
            selected_index=None,
        )
        self._weights.add_class("iw-weights")
        self._weights.observe(self._on_weights_open_change, "selected_index")

        picker = widgets.VBox([self._image_slider, self._thumbnail, self._prediction])
        selection = widgets.VBox([self._layer_select, self._channel_slider, self._cmap_select])
        details = widgets.VBox([self._stats_html, self._histogram])
        grid_controls = widgets.HBox([self._grid_mode_select, self._grid_page_slider])
        self.children = [
            widgets.HBox([picker, selection], layout=widgets.Layout(align_items="flex-start")),
            widgets.HBox([self._map, details], layout=widgets.Layout(align_items="flex-start")),
            grid_controls,
            self._grid,
            self._volume_toggle,
            self._volume_box,
            self._weights,
            self.status,
        ]

    def _link_controls(self) -> None:
        traitlets.link((self, "image_index"), (self._image_slider, "value"))
        traitlets.link((self, "channel"), (self._channel_slider, "value"))
        traitlets.link((self, "cmap"), (self._cmap_select, "value"))
        traitlets.link((self, "grid_mode"), (self._grid_mode_select, "value"))
        traitlets.link((self, "grid_page"), (self._grid_page_slider, "value"))
        if self.layer:
            self._channel_slider.max = max(0, self._channels_of(self.layer) - 1)
            traitlets.link((self, "layer"), (self._layer_select, "value"))

    def _set_enabled(self) -> None:
        usable = bool(self._entries) and self._images is not None
        for control in (
            self._image_slider,
            self._layer_select,
            self._channel_slider,
            self._grid_mode_select,
            self._grid_page_slider,
            self._volume_toggle,
        ):
            control.disabled = not usable

    # -- images and the activation cache ---------------------------------------------------
    @property
    def images(self) -> np.ndarray | None:
        """The images being explored (``None`` after a rejected input)."""
        return self._images

    @images.setter
    def images(self, images: Any) -> None:
        self._cache.clear()
        self._grid_key = None
        self._images = None
        with self.status.capture("Reading the images"):
            if self._adapter is None:
                raise ValueError("no usable model")
            self._images = self._adapter.check_input(images)
        self._set_enabled()
        if self._images is None:
            return
        count = len(self._images)
        self._quiet = True
        try:
            self._image_slider.max = count - 1
            if self.image_index >= count:
                self.image_index = count - 1
        finally:
            self._quiet = False
        self._refresh(image=True)

    def _compute_activations(self, index: int) -> dict[str, np.ndarray]:
        """One forward pass for image ``index``: every 4-D layer (and the output) at once."""
        entries = list(self._entries)
        names = [self._adapter.name_of(e) for e in entries]
        if self._output_name is not None and self._output_name not in names:
            names.append(self._output_name)
        batch = self._images[index : index + 1]
        outputs = methods.activations(self.model, batch, layers=names)
        return {name: value[0] for name, value in outputs.items()}

    def activations_for(self, index: int) -> dict[str, np.ndarray]:
        """All cached layer activations of image ``index`` (computed on a cache miss)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        result = self._compute_activations(index)
        self._cache[index] = result
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    @property
    def cached_indices(self) -> list[int]:
        """Image indices whose activations are cached, least recently used first."""
        return list(self._cache)

    def layer_activation(self) -> np.ndarray:
        """``(h, w, k)`` activation of the selected layer for the selected image."""
        return self.activations_for(self.image_index)[self.layer]

    def channel_map(self) -> np.ndarray:
        """``(h, w)`` raw activation of the selected channel."""
        return self.layer_activation()[:, :, self.channel]

    @property
    def stats(self) -> dict[str, float]:
        """Statistics of the selected channel as last shown."""
        return dict(self._stats)

    # -- validation ------------------------------------------------------------------------
    def _channels_of(self, name: str) -> int:
        for entry in self._entries:
            if self._adapter.name_of(entry) == name:
                return int(entry.channels)
        return 0

    @traitlets.validate("image_index")
    def _validate_image_index(self, proposal: Any) -> int:
        value = int(proposal["value"])
        count = 0 if self._images is None else len(self._images)
        if count and not 0 <= value < count:
            clamped = min(max(value, 0), count - 1)
            self._warn(
                f"image_index {value} is out of range 0..{count - 1}; using {clamped}",
                clamped != self.image_index,
            )
            return clamped
        return value

    @traitlets.validate("channel")
    def _validate_channel(self, proposal: Any) -> int:
        value = int(proposal["value"])
        count = self._channels_of(self.layer) if self._entries else 0
        if count and not 0 <= value < count:
            clamped = min(max(value, 0), count - 1)
            self._warn(
                f"channel {value} is out of range 0..{count - 1} for layer {self.layer!r}; "
                f"using {clamped}",
                clamped != self.channel,
            )
            return clamped
        return value

    @traitlets.validate("layer")
    def _validate_layer(self, proposal: Any) -> str:
        value = str(proposal["value"])
        names = [self._adapter.name_of(e) for e in self._entries] if self._entries else []
        if value not in names:
            self._warn(
                f"layer {value!r} has no 4-D output in this model; keeping {self.layer!r} "
                f"(choices: {', '.join(names) or 'none'})"
            )
            return self.layer
        return value

    @traitlets.validate("cmap")
    def _validate_cmap(self, proposal: Any) -> str:
        value = str(proposal["value"])
        try:
            colorize(np.zeros((1, 1)), value)
        except ValueError:
            self._warn(f"unknown colormap {value!r}; keeping {self.cmap!r}")
            return self.cmap
        if value not in self._cmap_select.options:
            self._cmap_select.options = [*self._cmap_select.options, value]
        return value

    @traitlets.validate("grid_mode")
    def _validate_grid_mode(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in ("top", "all"):
            self._warn(f"grid_mode must be 'top' or 'all', got {value!r}")
            return self.grid_mode
        return value

    @traitlets.validate("grid_page_size")
    def _validate_grid_page_size(self, proposal: Any) -> int:
        return min(max(int(proposal["value"]), 16), 64)

    # -- observers -------------------------------------------------------------------------
    @traitlets.observe("image_index")
    def _on_image_index_change(self, _change: Any) -> None:
        self._refresh(image=True)

    @traitlets.observe("layer")
    def _on_layer_change(self, _change: Any) -> None:
        if not self._ready:
            return
        count = self._channels_of(self.layer)
        self._quiet = True
        try:
            if self.channel > count - 1:
                self.channel = count - 1
            self._channel_slider.max = max(0, count - 1)
            self.grid_page = 0
        finally:
            self._quiet = False
        self._refresh()

    @traitlets.observe("channel")
    def _on_channel_change(self, _change: Any) -> None:
        self._refresh(layer=False)

    @traitlets.observe("cmap")
    def _on_cmap_change(self, _change: Any) -> None:
        self._refresh(layer=False)

    @traitlets.observe("grid_mode", "grid_page", "grid_page_size")
    def _on_grid_change(self, _change: Any) -> None:
        self._refresh(layer=False, channel=False)

    def _refresh(self, image: bool = False, layer: bool = True, channel: bool = True) -> None:
        """Re-render what depends on the change: one held sync over the outputs."""
        if not self._ready or self._quiet or self._images is None or not self._entries:
            return
        outputs = (
            self._thumbnail,
            self._prediction,
            self._map,
            self._stats_html,
            self._hist_bars,
            self._histogram,
            self._grid_mark,
            self._grid_frame,
            self._grid_labels,
            self._grid,
            self._grid_page_slider,
        )
        with self.status.capture("Showing the activations"), hold_sync_all(*outputs):
            if image:
                self._render_image()
            if channel:
                self._render_channel()
            self._render_grid()
            if (image or layer) and self._volume_toggle.value:
                self._render_volume()
            if self._weights.selected_index == 0 and (layer or channel):
                self._render_weights()
            self._flush_notice()
        # Close replaced grid images only after the mark's switch to the new one went out.
        retired, self._retired = self._retired, []
        for old in retired:
            old.close()

    def _warn(self, message: str, changes: bool = False) -> None:
        """Show a rejected or clamped value at once.

        Where the value still changes (``changes``), the re-render that follows shows the
        message again instead of its summary line.
        """
        self._notice = message if changes else ""
        self.status.show(message, STATUS_ERROR)

    def _flush_notice(self) -> None:
        if self._notice:
            self.status.show(self._notice, STATUS_ERROR)
            self._notice = ""
        elif self._images is not None and self._entries and self.layer:
            shape = "×".join(str(d) for d in self._layer_shape())
            self.status.show(
                f"image {self.image_index} · layer {self.layer} ({shape}) · channel {self.channel}",
                STATUS_OK,
            )

    def _layer_shape(self) -> tuple:
        for entry in self._entries:
            if self._adapter.name_of(entry) == self.layer:
                return tuple(entry.output_shape[1:])
        return ()

    # -- rendering -------------------------------------------------------------------------
    def _render_image(self) -> None:
        image = self._images[self.image_index]
        factor = max(1, -(-THUMB_SIZE // max(image.shape[:2])))
        self._thumbnail.layout.width = f"{image.shape[1] * factor}px"
        set_png(self._thumbnail, upscale(to_uint8_image(image), factor))
        acts = self.activations_for(self.image_index)
        self._prediction.value = self._prediction_text(acts)

    def _prediction_text(self, acts: dict[str, np.ndarray]) -> str:
        output = acts.get(self._output_name) if self._output_name else None
        if output is None or output.ndim != 1:
            return ""
        top = int(np.argmax(output))
        name = (
            self.class_names[top]
            if self.class_names and top < len(self.class_names)
            else f"class {top}"
        )
        return f"prediction: <b>{name}</b> ({float(output[top]):.3g})"

    def _render_channel(self) -> None:
        values = self.channel_map()
        set_png(self._map, render_channel_map(values, self.cmap))
        self._stats = channel_statistics(values)
        s = self._stats
        rows = "".join(
            f"<tr><td>{label}</td><td style='text-align:right'>{text}</td></tr>"
            for label, text in (
                ("channel", f"{self.channel} of {self._channels_of(self.layer)}"),
                ("mean", f"{s['mean']:.4g}"),
                ("max", f"{s['max']:.4g}"),
                ("min", f"{s['min']:.4g}"),
                ("std", f"{s['std']:.4g}"),
                ("active (> 0)", f"{100 * s['active']:.1f}%"),
            )
        )
        self._stats_html.value = f"<table class='iw-stats-table'>{rows}</table>"
        counts, edges = np.histogram(values, bins=HIST_BINS)
        centres = (edges[:-1] + edges[1:]) / 2
        self._hist_bars.x = centres.astype(np.float64)
        self._hist_bars.y = counts.astype(np.float64)
        self._histogram.title = f"{self.layer} · channel {self.channel}"

    def grid_channels(self) -> np.ndarray:
        """Channel indices shown in the grid, in tile order."""
        acts = self.layer_activation()
        count = acts.shape[-1]
        if self.grid_mode == "top":
            means = acts.mean(axis=(0, 1))
            return np.argsort(-means, kind="stable")[:TOP_K]
        pages = max(1, -(-count // self.grid_page_size))
        page = min(max(self.grid_page, 0), pages - 1)
        start = page * self.grid_page_size
        return np.arange(start, min(count, start + self.grid_page_size))

    def _render_grid(self) -> None:
        """The grid image (rebuilt only when what it shows changed) and the selection frame."""
        key = (
            id(self.activations_for(self.image_index)),
            self.layer,
            self.cmap,
            self.grid_mode,
            self.grid_page,
            self.grid_page_size,
        )
        if key != self._grid_key:
            self._render_grid_image()
            self._grid_key = key
        self._render_grid_frame()

    def _render_grid_frame(self) -> None:
        """A rectangle around the selected channel's tile; none where it is not shown."""
        where = np.flatnonzero(self._grid_shown == self.channel)
        if not len(where):
            self._grid_frame.x, self._grid_frame.y = [], []
            return
        top, left = self._tile_origin(int(where[0]))
        tile_h, tile_w = self._tile_shape
        height = self._grid_size[0]
        upper, lower, right = height - top - 1.5, height - top - tile_h + 1.5, left + tile_w - 1.5
        left = left + 1.5
        self._grid_frame.x = np.array([left, right, right, left, left], dtype=float)
        self._grid_frame.y = np.array([upper, upper, lower, lower, upper], dtype=float)

    def _render_grid_image(self) -> None:
        acts = self.layer_activation()
        count = acts.shape[-1]
        pages = max(1, -(-count // self.grid_page_size))
        self._grid_page_slider.max = pages - 1
        self._grid_page_slider.layout.visibility = (
            "visible" if self.grid_mode == "all" and pages > 1 else "hidden"
        )
        shown = self.grid_channels()
        scaled = normalize(acts, "minmax")
        factor = upscale_factor(acts.shape, TILE_SIZE)
        tiles = [upscale(colorize(scaled[:, :, c], self.cmap), factor) for c in shown]
        columns = 4 if len(shown) <= TOP_K else 8
        columns = min(columns, len(shown))
        grid = tile(tiles, columns=columns, padding=GRID_PADDING)
        height, width = grid.shape[:2]
        self._grid_shown = np.asarray(shown, dtype=int)
        self._grid_columns = columns
        self._tile_shape = tiles[0].shape[:2]
        self._grid_size = (height, width)
        # bqplot's Image mark redraws when its ``image`` widget is replaced, not when that
        # widget's value changes: swap in a new one and close the old.
        old, self._grid_png = self._grid_png, widgets.Image(value=to_png(grid), format="png")
        self._grid_mark.image = self._grid_png
        self._retired.append(old)
        x_scale, y_scale = self._grid_mark.scales["x"], self._grid_mark.scales["y"]
        x_scale.max, y_scale.max = float(width), float(height)
        self._grid_mark.x, self._grid_mark.y = [0.0, float(width)], [0.0, float(height)]
        tops = [self._tile_origin(i) for i in range(len(shown))]
        self._grid_labels.x = np.array([left for _, left in tops], dtype=float)
        self._grid_labels.y = np.array([height - top for top, _ in tops], dtype=float)
        self._grid_labels.text = np.array([str(int(c)) for c in shown])
        self._grid.layout.width, self._grid.layout.height = f"{width}px", f"{height}px"

    def _tile_origin(self, index: int) -> tuple[int, int]:
        row, col = divmod(index, self._grid_columns)
        step_y = self._tile_shape[0] + GRID_PADDING
        step_x = self._tile_shape[1] + GRID_PADDING
        return row * step_y, col * step_x

    def tile_at(self, top: float, left: float) -> int | None:
        """Channel shown at pixel (``top``, ``left``) of the grid image, or ``None``."""
        if top < 0 or left < 0:
            return None
        row = int(top // (self._tile_shape[0] + GRID_PADDING))
        col = int(left // (self._tile_shape[1] + GRID_PADDING))
        if col >= self._grid_columns:
            return None
        index = row * self._grid_columns + col
        if index >= len(self._grid_shown):
            return None
        return int(self._grid_shown[index])

    def _on_grid_click(self, _mark: Any, event: dict) -> None:
        data = event.get("data") or {}
        with self.status.capture("Selecting a channel"):
            x, y = data.get("click_x"), data.get("click_y")
            if x is None or y is None:
                return
            picked = self.tile_at(self._grid_size[0] - float(y), float(x))
            if picked is not None:
                self.channel = picked

    # -- 3-D volume ------------------------------------------------------------------------
    def _on_volume_toggle_change(self, change: Any) -> None:
        with self.status.capture("3-D view"):
            if change["new"]:
                self._render_volume()
                self._volume_box.children = (self._volume_figure,)
            else:
                self._volume_box.children = ()

    def volume_data(self) -> np.ndarray:
        """The selected layer as a ``(channels, h, w)`` float32 volume in [0, 1].

        Rows are flipped so that the image stands upright in ipyvolume's y-up frame. A ramp
        of at most 1e-4 is blended in so that flat regions (ReLU zeros, a constant layer)
        keep a finite gradient in ipyvolume's shading estimate instead of 0/0.
        """
        acts = self.layer_activation()
        volume = normalize(np.transpose(acts[::-1, :, :], (2, 0, 1)), "minmax")
        ramp = np.add.outer(
            np.add.outer(np.arange(volume.shape[0]), np.arange(volume.shape[1])),
            np.arange(volume.shape[2]),
        )
        ramp = ramp / max(1, int(ramp.max()))
        volume = volume * (1.0 - VOLUME_RAMP) + VOLUME_RAMP * ramp
        return np.ascontiguousarray(volume, dtype=np.float32)

    def _render_volume(self) -> None:
        import ipyvolume as ipv

        volume = self.volume_data()
        if self._volume_figure is None:
            figure = ipv.figure(width=420, height=420)
            self._volume = ipv.volshow(
                volume,
                data_min=0.0,
                data_max=1.0,
                extent=[[0, 1], [0, 1], [0, 1]],
                controls=False,
            )
            figure.xlabel, figure.ylabel, figure.zlabel = "x", "y", "channel"
            self._volume_figure = figure
        else:
            self._volume.data_original = volume
            self._volume._update_data()

    @property
    def volume_figure(self) -> Any:
        """The ipyvolume Figure of the 3-D view (``None`` until first shown)."""
        return self._volume_figure

    # -- kernels ---------------------------------------------------------------------------
    def _on_weights_open_change(self, change: Any) -> None:
        if change["new"] == 0 and self._ready and self._entries:
            with self.status.capture("Showing the kernels"), self._weights_image.hold_sync():
                self._render_weights()

    def _on_weights_option_change(self, _change: Any) -> None:
        if self._weights.selected_index == 0 and self._ready and self._entries:
            with self.status.capture("Showing the kernels"), self._weights_image.hold_sync():
                self._render_weights()

    def kernel_layer(self) -> Any:
        """The convolution producing the selected layer, or the nearest one before it."""
        position = next(
            i for i, e in enumerate(self._adapter.layers) if self._adapter.name_of(e) == self.layer
        )
        for entry in reversed(self._adapter.layers[: position + 1]):
            if entry.kind == "conv" and len(entry.output_shape) == 4:
                return entry
        return None

    def _render_weights(self) -> None:
        entry = self.kernel_layer()
        if entry is None:
            self._weights_info.value = f"No convolution at or before layer {self.layer!r}."
            self._weights_image.value = b""
            return
        kernel = np.asarray(entry.layer.get_weights()[0], dtype=np.float32)
        kh, kw, c_in, c_out = kernel.shape
        options = ([("RGB", "rgb")] if c_in == 3 else []) + [("mean over inputs", "mean")]
        options += [(f"input channel {i}", str(i)) for i in range(c_in)]
        if list(self._weights_input.options) != options:
            self._weights_input.unobserve(self._on_weights_option_change, "value")
            self._weights_input.options = options
            self._weights_input.value = options[0][1]
            self._weights_input.observe(self._on_weights_option_change, "value")
        mode = self._weights_input.value
        factor = upscale_factor((kh, kw), KERNEL_SIZE)
        if mode == "rgb":
            tiles = [
                upscale(to_uint8_image(normalize(kernel[..., k])), factor) for k in range(c_out)
            ]
        else:
            planes = kernel.mean(axis=2) if mode == "mean" else kernel[:, :, int(mode), :]
            scaled = normalize(planes, "symmetric")
            tiles = [upscale(colorize(scaled[..., k], "RdBu_r"), factor) for k in range(c_out)]
        if c_out == self._channels_of(self.layer) and 0 <= self.channel < c_out:
            tiles[self.channel] = _framed(tiles[self.channel])
        grid = tile(tiles, columns=min(16, c_out), padding=GRID_PADDING)
        self._weights_image.layout.width = f"{grid.shape[1]}px"
        set_png(self._weights_image, grid)
        name = self._adapter.name_of(entry)
        self._weights_info.value = f"<b>{name}</b>: {c_out} filters of {kh}×{kw}×{c_in}" + (
            "" if name == self.layer else f" (the convolution before {self.layer})"
        )

    # -- helpers ---------------------------------------------------------------------------
    def _find_output_name(self) -> str | None:
        try:
            graph = self._adapter.graph
            key = graph.resolve_alias(graph.output_keys[0])
        except Exception:  # noqa: BLE001 - the prediction line is optional
            return None
        for entry in self._adapter.layers:
            if entry.output_key == key and len(entry.output_shape) == 2:
                return self._adapter.name_of(entry)
        return None


def _framed(image: np.ndarray, width: int = 2) -> np.ndarray:
    """A copy of an RGB tile with a highlight frame on its border."""
    framed = image.copy()
    framed[:width], framed[-width:] = HIGHLIGHT, HIGHLIGHT
    framed[:, :width], framed[:, -width:] = HIGHLIGHT, HIGHLIGHT
    return framed
