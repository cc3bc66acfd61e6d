"""FilterVisualizer: feature visualization of several channels, live, in a worker thread.

The optimizer runs in a :class:`~.components.worker.Worker` thread so that the kernel stays
free while it works. The thread pushes its progress to the components (a
:class:`~.components.StepProgress`, the :class:`~.components.ObjectiveChart`, the current
images in a :class:`~.components.PictureGrid` every few steps) and checks a stop event after
every step, so Stop halts within one step and keeps what was reached. Only one optimizer
runs at a time: Start, or a parameter changed during a run, stops the running one and the
new run begins once it has let go.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterable
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods.featviz import FilterOptimizer
from ..model import get_adapter
from .common import STATUS_BUSY, STATUS_ERROR, STATUS_OK
from .components import ObjectiveChart, PictureGrid, StepProgress
from .components.channels_text import format_channels, parse_channels
from .components.run_controls import RunControls
from .components.worker import Worker
from .layer_choice import LayerChoice
from .selection import Selection
from .validators import one_of, within
from .view import View, captured

DEFAULT_CHANNELS = 8
PARAMETERS = ("layer", "channels", "steps", "learning_rate", "size", "parametrization", "seed")
BOUNDS = {"steps": (1, 100_000), "learning_rate": (1e-5, 10.0), "size": (8, 1024),
          "seed": (0, 2**31 - 1), "image_every": (1, 100_000)}  # fmt: skip
"""Inclusive bounds of the numeric parameters (the controls use the same)."""
PARAMETRIZATIONS = ("fourier", "pixel")

__all__ = ["FilterVisualizer", "format_channels", "parse_channels"]


class FilterVisualizer(View):
    """Optimize one input image per channel of a layer and watch it happen.

    Parameters
    ----------
    model
        A built Keras model with an image input; it is only read. May be omitted with
        ``selection``.
    layer
        Layer name (default: the last layer with a 4-D output).
    channels
        Channel indices (default: the first eight of the layer).
    image_every
        Show the current images every this many steps.
    selection
        A shared :class:`~.selection.Selection` (the Dashboard's) whose layer this view
        follows, linked with ``traitlets.link``; by default the visualizer keeps its own
        layer.

    ``start()``/``stop()`` (or the buttons) run and halt the optimizer; ``wait(timeout)``
    joins the worker, ``running`` says whether one works, ``result`` holds the last
    :class:`~interpret_widgets.methods.featviz.FilterVisualization` (``None`` before).
    Invalid trait values raise ``TraitError`` and show in the status line; channels beyond
    the layer's are reported by the optimizer when it starts.
    """

    layer = traitlets.Unicode("")
    channels = traitlets.List(traitlets.Int(), default_value=[0])
    steps = traitlets.Int(256)
    learning_rate = traitlets.Float(0.05)
    size = traitlets.Int(64)
    parametrization = traitlets.Unicode("fourier")
    seed = traitlets.Int(0)
    image_every = traitlets.Int(10)

    def __init__(
        self,
        model: Any = None,
        layer: str | None = None,
        channels: Iterable[int] | None = None,
        *,
        image_every: int = 10,
        selection: Selection | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = selection.model if selection is not None else model
        self.selection = selection
        self.worker = Worker("iw-filter-visualizer")
        self._result: Any = None
        self.last_traceback = ""
        self.layers = LayerChoice()
        self._build()
        self.add_class("iw-filter-visualizer")
        with self.capture("Reading the model"):
            self._read_model(selection)
        self.image_every = image_every
        if self.layers:
            self._choose(layer, channels)
            if selection is not None:
                selection.attach(self, ("layer",))
        self._link_controls()
        self.start_button.disabled = not self.layers
        self.ready = True

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.layer_select = widgets.Dropdown(description="layer", options=[])
        self.layer_select.add_class("iw-filter-layer")
        self.channels_text = widgets.Text(
            description="channels", placeholder="0-7, 12", continuous_update=False
        )
        self.channels_text.add_class("iw-filter-channels")
        self.steps_input = widgets.BoundedIntText(description="steps")
        self.lr_input = widgets.BoundedFloatText(step=0.01, description="learning rate")
        self.size_input = widgets.BoundedIntText(description="image size")
        self.seed_input = widgets.BoundedIntText(description="seed")
        for control, name in ((self.steps_input, "steps"), (self.lr_input, "learning_rate"),
                              (self.size_input, "size"), (self.seed_input, "seed")):  # fmt: skip
            control.min, control.max = BOUNDS[name]
        self.param_select = widgets.ToggleButtons(
            options=[("Fourier", "fourier"), ("pixel", "pixel")], description="parametrize"
        )
        self.param_select.style.button_width = "80px"
        self.buttons = RunControls(
            ("Stop", "iw-stop"), ("Start", "iw-start"), stop_style="warning", restartable=True
        )
        self.buttons.on_start(self.start)
        self.buttons.on_stop(self.stop)
        self.start_button, self.stop_button = self.buttons.start_button, self.buttons.stop_button
        self.progress = StepProgress()
        self.pictures = PictureGrid()
        self.chart = ObjectiveChart()
        settings = [self.layer_select, self.channels_text, self.steps_input, self.lr_input,
                    self.size_input, self.param_select, self.seed_input]  # fmt: skip
        for control in settings:
            control.style.description_width = "100px"
        results = widgets.HBox(
            [self.pictures, self.chart], layout=widgets.Layout(align_items="flex-start")
        )
        settings_box = widgets.VBox([*settings, self.buttons])
        self.children = [settings_box, self.progress, results, self.status]

    def _read_model(self, selection: Selection | None) -> None:
        adapter = selection.adapter if selection is not None else get_adapter(self.model)
        self.layers = LayerChoice(adapter)
        self.layer_select.options = self.layers.options
        self.layers.require("there is nothing to visualize")
        height = adapter.input_shape[1]
        self.size = int(height) if height else 64

    def _choose(self, layer: str | None, channels: Iterable[int] | None) -> None:
        """The initial layer (a bad name falls back to the default, said in the status)."""
        self.layer, notice = self.layers.pick(layer)
        if notice:
            self.status.show(notice, STATUS_ERROR)
        count = self.layers.channel_count(self.layer)
        default = range(min(DEFAULT_CHANNELS, count))
        self.channels = list(channels) if channels is not None else list(default)

    def _link_controls(self) -> None:
        if self.layers:
            traitlets.link((self, "layer"), (self.layer_select, "value"))
        for name, control in (("steps", self.steps_input), ("learning_rate", self.lr_input),
                              ("size", self.size_input), ("parametrization", self.param_select),
                              ("seed", self.seed_input)):  # fmt: skip
            traitlets.link((self, name), (control, "value"))
        self.channels_text.value = format_channels(self.channels)
        self.channels_text.observe(self._on_channels_text_change, "value")
        self.observe(self._on_parameter_change, list(PARAMETERS))

    # -- validation ------------------------------------------------------------------------
    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> str:
        return self.layers.check(proposal["value"])

    @traitlets.validate("channels")
    def _valid_channels(self, proposal: dict[str, Any]) -> list[int]:
        value = list(proposal["value"])
        if not value or min(value) < 0:
            raise traitlets.TraitError(f"channels must be non-negative indices, got {value}")
        return value

    _valid_parametrization = one_of("parametrization", PARAMETRIZATIONS)
    _valid_number = within(BOUNDS)

    # -- parameters ------------------------------------------------------------------------
    @captured("Reading the channels")
    def _on_channels_text_change(self, change: dict[str, Any]) -> None:
        try:
            channels = parse_channels(change["new"])
        except ValueError:
            self.channels_text.value = format_channels(self.channels)
            raise
        if channels != self.channels:
            self.channels = channels
            if not self.running:
                self.status.show(f"channels {format_channels(channels)}; press Start", STATUS_OK)

    @traitlets.observe("channels")
    def _on_channels_change(self, change: dict[str, Any]) -> None:
        self.channels_text.value = format_channels(change["new"])

    @traitlets.observe("layer")
    def _on_layer_change(self, change: dict[str, Any]) -> None:
        """Keep the channels that the new layer has; where none is left, its first ones."""
        count = self.layers.channel_count(change["new"])
        if all(c < count for c in self.channels):
            return
        kept = [c for c in self.channels if c < count]
        self.channels = kept or list(range(min(DEFAULT_CHANNELS, count)))
        self.status.show(
            f"layer {change['new']!r} has {count} channels: showing "
            f"{format_channels(self.channels)}",
            STATUS_OK,
        )

    def _on_parameter_change(self, _change: dict[str, Any]) -> None:
        if self.running:
            self.start()

    def parameters(self) -> dict[str, Any]:
        """The optimizer's arguments as the controls set them."""
        return {
            "layer": self.layer,
            "channels": list(self.channels),
            "steps": int(self.steps),
            "learning_rate": float(self.learning_rate),
            "size": int(self.size),
            "parametrization": self.parametrization,
            "seed": int(self.seed),
        }

    def update(self) -> None:
        """Nothing to recompute on a trait change: the optimizer runs on Start."""

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether an optimization is running (or about to start)."""
        return self.worker.running

    @property
    def result(self) -> Any:
        """The last FilterVisualization (``None`` before the first run ends)."""
        return self._result

    def start(self) -> None:
        """Start an optimization with the current parameters, stopping any running one."""
        params = self.parameters()
        self.worker.start(lambda run_id, stop: self._work(run_id, stop, params))
        self.status.show("starting the optimizer…", STATUS_BUSY)
        self.buttons.running(True)

    def stop(self) -> None:
        """Ask the running optimization to halt after its current step."""
        if self.worker.stop():
            self.status.show("stopping…", STATUS_BUSY)

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker; ``True`` when no optimization is running any more."""
        return self.worker.wait(timeout)

    def close(self) -> None:
        """Stop the worker, then close the widget."""
        self.worker.close()
        super().close()

    def _work(self, run_id: int, stop: threading.Event, params: dict[str, Any]) -> None:
        """Worker thread: the run; its errors go to the status line."""
        try:
            self._run(run_id, stop, params)
        except Exception as error:  # noqa: BLE001 - shown in the view, never lost
            if self.worker.is_current(run_id):
                self.last_traceback = traceback.format_exc()
                self.status.show(f"Feature visualization failed: {error}", STATUS_ERROR)
        finally:
            if self.worker.is_current(run_id):
                self.buttons.running(False)

    def _make_optimizer(self, params: dict[str, Any]) -> FilterOptimizer:
        return FilterOptimizer(
            self.model, params["layer"], params["channels"], size=params["size"],
            parametrization=params["parametrization"], steps=params["steps"],
            learning_rate=params["learning_rate"], seed=params["seed"],
        )  # fmt: skip

    def _run(self, run_id: int, stop: threading.Event, params: dict[str, Any]) -> None:
        optimizer = self._make_optimizer(params)
        total, channels = optimizer.total_steps, list(optimizer.channels)
        history: list[np.ndarray] = []
        self.progress.show(0, total)
        self.status.show(f"optimizing {len(channels)} channels of {optimizer.layer}…", STATUS_BUSY)
        chart_every, last = max(1, total // 50), None
        for last in optimizer.steps(every=self.image_every, images=True):
            history.append(np.asarray(last.objectives, dtype=np.float32))
            if not self.worker.is_current(run_id):
                break
            self.progress.show(last.step, last.total, last.elapsed)
            if last.images is not None:
                self.pictures.show(last.images, "channels " + ", ".join(map(str, channels)))
            if last.step % chart_every == 0:
                self.chart.show(history, channels)
            if stop.is_set():
                break
        if self.worker.is_current(run_id):
            self._finish(optimizer, history, last)

    def _finish(self, optimizer: FilterOptimizer, history: list, last: Any) -> None:
        """Show the result of a run that ended or was stopped."""
        result = self._result = optimizer.result()
        channels, total = list(optimizer.channels), optimizer.total_steps
        caption = "mean activation: " + ", ".join(
            f"ch {c}: {float(a):.3g}" for c, a in zip(channels, result.activations, strict=True)
        )
        self.pictures.show(result.unit_images, caption)
        self.chart.show(history, channels)
        step = last.step if last is not None else 0
        if step == total:
            elapsed = last.elapsed
            message = f"done: {total} steps on {len(channels)} channels in {elapsed:.1f} s"
        else:
            message = f"stopped at step {step} / {total}; images kept"
        self.status.show(message, STATUS_OK)
