"""ActivationExplorer: what each channel of each convolutional layer responds to in an image.

One forward pass per image gives the activations of every layer with a 4-D output; they are
kept in an :class:`~.cache.LRUCache`, so moving the layer or channel only re-renders. The
view is composed of small components linked to its traits: the channel's
:class:`~.components.ActivationMap`, its :class:`~.components.ChannelStatistics`, a
clickable :class:`~.components.ChannelGrid`, a :class:`~.components.VolumeView` of the whole
layer (ipyvolume, loaded on demand) and a :class:`~.components.KernelView` of the
convolution behind the layer.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from .. import methods
from ..render import activation_volume
from .cache import LRUCache
from .common import STATUS_OK, hold_sync_all
from .components import (
    ActivationMap,
    ChannelGrid,
    ChannelStatistics,
    ImagePicker,
    KernelView,
    VolumeView,
)
from .components.activation_map import MAP_SIZE, check_cmap
from .components.channel_stats import HIST_BINS
from .layer_choice import LayerChoice
from .selection import Selection, check_index
from .view import View

TOP_K = 16
CMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray", "jet", "RdBu_r")


class ActivationExplorer(View):
    """Browse the activations of a Keras model's convolutional layers, channel by channel.

    Parameters
    ----------
    model
        A built Keras model; it is only read. May be omitted with ``selection``.
    images
        ``(N, H, W, C)`` float array matching the model's input (with ``selection``, the
        selection's images are explored instead).
    class_names
        Optional names of the model's classes, used for the prediction line.
    layer
        Initial layer name (default: the last layer with a 4-D output).
    cache_size
        How many images' activations are kept (least recently used are dropped).
    selection
        A shared :class:`~.selection.Selection` (the Dashboard's); by default the explorer
        makes its own from ``model``, ``images`` and ``class_names``.

    Raises
    ------
    ValueError
        If ``cache_size`` is below 1.

    Invalid trait values raise ``TraitError`` and show in the status line. Bad input (images
    that do not fit the model, a model without 4-D layers) is reported in the status line;
    the widget stays usable and accepts new ``images``.
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
        model: Any = None,
        images: Any = None,
        class_names: list[str] | None = None,
        *,
        layer: str | None = None,
        cache_size: int = 8,
        selection: Selection | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = selection.model if selection is not None else model
        self.selection: Selection | None = selection
        self._own_selection = selection is None
        self._cache: LRUCache[dict[str, np.ndarray]] = LRUCache(cache_size)
        self.layers = LayerChoice()
        self._grid_layer = ""
        self._thumbnail_key: tuple | None = None
        self._notice = ""
        self._build()
        self.add_class("iw-activation-explorer")
        with self.capture("Reading the model"):
            self._read_model(class_names)
        if self.layers:
            self._start(layer)
            if selection is None:
                self.images = images
            else:
                self._on_images_change()

    @property
    def cache_size(self) -> int:
        """How many images' activations are kept."""
        return self._cache.size

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.picker = ImagePicker()
        self.layer_select = widgets.Dropdown(description="layer", options=[])
        self.layer_select.add_class("iw-layer-select")
        self.channel_slider = widgets.IntSlider(min=0, max=0, description="channel")
        self.channel_slider.add_class("iw-channel-slider")
        self.cmap_select = widgets.Dropdown(description="colormap", options=list(CMAPS))
        self.cmap_select.add_class("iw-cmap-select")
        self.activation_map = ActivationMap(MAP_SIZE)
        self.statistics = ChannelStatistics(HIST_BINS)
        self.grid = ChannelGrid(top_k=TOP_K)
        self.volume = VolumeView()
        self.kernels = KernelView(None)
        controls = widgets.VBox([self.layer_select, self.channel_slider, self.cmap_select])
        top = widgets.Layout(align_items="flex-start")
        self.children = [
            widgets.HBox([self.picker, controls], layout=top),
            widgets.HBox([self.activation_map, self.statistics], layout=top),
            self.grid,
            self.volume,
            self.kernels,
            self.status,
        ]
        self._set_enabled(False)

    def _read_model(self, class_names: list[str] | None) -> None:
        if self.selection is None:
            self.selection = Selection(self.model, None, class_names, owner="ActivationExplorer")
        self.layers = LayerChoice(self.selection.adapter)
        self.layers.require("the activation explorer needs a convolutional model")
        self.layer_select.options = self.layers.options
        self.kernels.adapter = self.selection.adapter

    def _start(self, layer: str | None) -> None:
        """Initial layer, links to the controls, components and the shared selection."""
        self.layer, notice = self.layers.pick(layer, self.selection.layer)
        self.channel_slider.max = self.layers.channel_count(self.layer) - 1
        for mine, part, theirs in (
            ("image_index", self.picker, "index"), ("layer", self.layer_select, "value"),
            ("channel", self.channel_slider, "value"), ("cmap", self.cmap_select, "value"),
            ("cmap", self.activation_map, "cmap"), ("cmap", self.grid, "cmap"),
            ("channel", self.grid, "channel"), ("grid_mode", self.grid, "mode"),
            ("grid_page", self.grid, "page"), ("grid_page_size", self.grid, "page_size"),
            ("layer", self.kernels, "layer"), ("channel", self.kernels, "channel"),
        ):  # fmt: skip
            traitlets.link((self, mine), (part, theirs))
        if self._own_selection:  # a shared selection's layer wins when attached
            self.selection.layer = self.layer
        self.selection.attach(self, ("image_index", "layer"))
        if notice:
            self.status.show(notice, "error")
            self._notice = notice

    # -- images and the activation cache ---------------------------------------------------
    @property
    def images(self) -> np.ndarray | None:
        """The images being explored (``None`` while there are no usable ones)."""
        return self.selection.images if self.ready else None

    @images.setter
    def images(self, images: Any) -> None:
        self.ready = False
        self._set_enabled(False)
        with self.capture("Reading the images"):
            if not self.layers:
                raise ValueError("no usable model")
            self.selection.set_images(images)
            self._on_images_change()

    def _on_images_change(self) -> None:
        self._cache.clear()
        self._thumbnail_key = None
        if not self.selection.has_images:
            return
        with self.hold_updates():
            self.picker.set_count(len(self.selection.images))
            self._set_enabled(True)
            self.ready = True
            self.request_update()

    def activations_for(self, index: int) -> dict[str, np.ndarray]:
        """All 4-D layer activations of image ``index`` (one forward pass on a cache miss)."""
        images = self.selection.images
        check_index(index, "image index", len(images))

        def forward() -> dict[str, np.ndarray]:
            batch = images[index : index + 1]
            outputs = methods.activations(self.model, batch, layers=self.layers.names)
            return {name: value[0] for name, value in outputs.items()}

        return self._cache.get(index, forward)

    @property
    def cached_indices(self) -> list[int]:
        """Image indices whose activations are cached, least recently used first."""
        return self._cache.keys()

    def layer_activation(self) -> np.ndarray:
        """``(h, w, k)`` activation of the selected layer for the selected image."""
        return self.activations_for(self.image_index)[self.layer]

    def channel_map(self) -> np.ndarray:
        """``(h, w)`` raw activation of the selected channel."""
        return self.layer_activation()[:, :, self.channel]

    @property
    def stats(self) -> dict[str, float]:
        """Statistics of the selected channel as last shown."""
        return dict(self.statistics.stats)

    def grid_channels(self) -> np.ndarray:
        """Channel indices shown in the grid, in tile order."""
        return np.asarray(self.grid.channels, dtype=int)

    def tile_at(self, top: float, left: float) -> int | None:
        """Channel shown at pixel (``top``, ``left``) of the grid image, or ``None``."""
        return self.grid.tile_at(top, left)

    def volume_data(self) -> np.ndarray:
        """The selected layer as the ``(channels, h, w)`` volume of the 3-D view."""
        return activation_volume(self.layer_activation())

    @property
    def volume_figure(self) -> Any:
        """The ipyvolume Figure of the 3-D view (``None`` until first shown)."""
        return self.volume.figure

    def kernel_layer(self) -> str | None:
        """The convolution producing the selected layer, or the nearest one before it."""
        return self.selection.adapter.kernel_layer(self.layer)

    # -- validation ------------------------------------------------------------------------
    @traitlets.validate("image_index")
    def _valid_image_index(self, proposal: dict[str, Any]) -> int:
        if self.selection is None or not self.selection.has_images:
            return proposal["value"]
        return self.selection.check_image_index(proposal["value"])

    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> str:
        return self.layers.check(proposal["value"])

    @traitlets.validate("channel")
    def _valid_channel(self, proposal: dict[str, Any]) -> int:
        return self.layers.check_channel(self.layer, proposal["value"])

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        return check_cmap(proposal["value"])

    @traitlets.validate("grid_mode", "grid_page", "grid_page_size")
    def _valid_grid(self, proposal: dict[str, Any]) -> Any:
        name = {"grid_mode": "mode", "grid_page": "page", "grid_page_size": "page_size"}
        return self.grid.check(name[proposal["trait"].name], proposal["value"])

    # -- observers -------------------------------------------------------------------------
    @traitlets.observe("image_index", "channel")
    def _on_selection_change(self, _change: dict[str, Any]) -> None:
        self.request_update()

    @traitlets.observe("layer")
    def _on_layer_change(self, change: dict[str, Any]) -> None:
        """A layer with fewer channels selects its last one; the grid starts on page 0."""
        count = self.layers.channel_count(change["new"])
        with self.hold_updates():
            if self.channel >= count:
                self.channel = count - 1
            self.channel_slider.max = count - 1
            self.request_update()

    @traitlets.observe("cmap")
    def _on_cmap_change(self, change: dict[str, Any]) -> None:
        """A valid colormap that the dropdown does not list is added to it."""
        if change["new"] not in self.cmap_select.options:
            self.cmap_select.options = [*self.cmap_select.options, change["new"]]

    # -- rendering -------------------------------------------------------------------------
    def update(self) -> None:
        """Render the image, the channel's map and statistics, the grid and the volume."""
        picker = self.picker
        outputs = (picker.thumbnail, picker.caption, self.activation_map.image, self.status)
        with self.capture("Showing the activations"), hold_sync_all(*outputs):
            acts = self.layer_activation()
            self._render_image()
            values = acts[:, :, self.channel]
            self.activation_map.show(values)
            label = f"{self.channel} of {acts.shape[-1]}"
            title = f"{self.layer} · channel {self.channel}"
            self.statistics.show(values, title, ("channel", label))
            self.grid.show(acts, first_page=self._grid_layer != self.layer)
            self._grid_layer = self.layer
            self.volume.show(acts)
            self._show_summary(acts.shape)

    def _render_image(self) -> None:
        """The thumbnail and the prediction line (only when the image changed)."""
        key = (id(self.selection.images), self.image_index)
        if key != self._thumbnail_key:
            probabilities = self.selection.probabilities(self.image_index)
            top = int(np.argmax(probabilities))
            name = self.selection.class_name(top)
            caption = f"prediction: <b>{name}</b> ({float(probabilities[top]):.3g})"
            self.picker.show(self.selection.images[self.image_index], caption)
            self._thumbnail_key = key

    def _show_summary(self, shape: tuple) -> None:
        notice, self._notice = self._notice, ""
        if notice:
            self.status.show(notice, "error")
            return
        size = "×".join(str(d) for d in shape)
        self.status.show(
            f"image {self.image_index} · layer {self.layer} ({size}) · channel {self.channel}",
            STATUS_OK,
        )

    def _set_enabled(self, usable: bool) -> None:
        for control in (
            self.picker.slider, self.layer_select, self.channel_slider,
            self.grid.mode_buttons, self.grid.page_slider, self.volume.toggle,
        ):  # fmt: skip
            control.disabled = not usable
