"""FilterVisualizer: feature visualization of several channels, live, in a worker thread.

The optimizer runs in a ``threading.Thread`` so that the kernel stays free while it works.
The thread pushes its progress to the widgets (a progress bar, the objective curves, the
current images every few steps) and checks a stop event after every step, so Stop halts
within one step and keeps what was reached. A lock lets only one optimizer run at a time:
Start, or a parameter changed during a run, stops the running one and the new run begins
once it has let go.
"""

from __future__ import annotations

import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

import bqplot
import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods.featviz import FilterOptimizer
from ..model import get_adapter
from ..render import tile, to_uint8_image, upscale
from .common import STATUS_BUSY, STATUS_ERROR, STATUS_OK, StatusLine, hold_sync_all, set_png

TILE_SIZE = 128
"""Target display size in pixels of one optimized image."""
DEFAULT_CHANNELS = 8
PARAMETERS = ("layer", "channels", "steps", "learning_rate", "size", "parametrization", "seed")
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip


def parse_channels(text: str) -> list[int]:
    """Channel indices from text such as ``"0-7, 12"`` (ranges inclusive, order kept).

    Raises
    ------
    ValueError
        If a part is neither a non-negative integer nor a range ``a-b`` with ``a <= b``,
        or if no channel is given.
    """
    channels: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"cannot read channels {part!r}; write e.g. '0-7, 12'")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise ValueError(f"channel range {part!r} runs backwards; write e.g. '{high}-{low}'")
        channels.extend(range(low, high + 1))
    if not channels:
        raise ValueError("no channels given; write e.g. '0-7, 12'")
    return channels


def format_channels(channels: Iterable[int]) -> str:
    """The shortest ``"0-7, 12"`` text for a list of channels (runs of consecutive ones)."""
    parts: list[str] = []
    values = list(channels)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[i - 1] + 1:
            low, high = values[start], values[i - 1]
            parts.append(str(low) if low == high else f"{low}-{high}")
            start = i
    return ", ".join(parts)


class FilterVisualizer(widgets.VBox):
    """Optimize one input image per channel of a layer and watch it happen.

    Parameters
    ----------
    model
        A built Keras model with an image input; it is only read.
    layer
        Layer name (default: the last layer with a 4-D output).
    channels
        Channel indices (default: the first eight of the layer).
    image_every
        Show the current images every this many steps.

    ``start()``/``stop()`` (or the buttons) run and halt the optimizer; ``wait(timeout)``
    joins the worker, ``running`` says whether one works, ``result`` holds the last
    :class:`~interpret_widgets.methods.featviz.FilterVisualization` (``None`` before).
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
        model: Any,
        layer: str | None = None,
        channels: Iterable[int] | None = None,
        *,
        image_every: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self._lock = threading.Lock()
        self._compute_lock = threading.Lock()
        self._run_id = 0
        self._stop_event: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._result: Any = None
        self._optimizing = False
        self._syncing_text = False
        self.last_traceback = ""
        self._counts: dict[str, int] = {}
        self._build()
        self.add_class("iw-filter-visualizer")

        names: list[str] = []
        with self.status.capture("Reading the model"):
            adapter = get_adapter(model)
            entries = [e for e in adapter.spatial_layers() if e.kind not in ("model", "input")]
            names = [adapter.name_of(e) for e in entries]
            self._layer_select.options = [
                (f"{n} · {tuple(e.output_shape[1:])}", n)
                for n, e in zip(names, entries, strict=True)
            ]
            self._counts = {n: int(e.channels) for n, e in zip(names, entries, strict=True)}
            height = adapter.input_shape[1]
            self.size = int(height) if height else 64
            if not names:
                raise ValueError(
                    f"model {adapter.name!r} has no layer with a 4-D (N, h, w, k) output to "
                    "visualize"
                )
        self.image_every = image_every
        if names:
            self.layer = layer if layer is not None else names[-1]
            count = self._counts.get(self.layer, DEFAULT_CHANNELS)
            self.channels = (
                list(channels)
                if channels is not None
                else list(range(min(DEFAULT_CHANNELS, count)))
            )
        self._link_controls()
        self._start_button.disabled = not names

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.status = StatusLine()
        self._layer_select = widgets.Dropdown(description="layer", options=[])
        self._layer_select.add_class("iw-filter-layer")
        self._channels_text = widgets.Text(
            description="channels", placeholder="0-7, 12", continuous_update=False
        )
        self._channels_text.add_class("iw-filter-channels")
        self._channels_text.observe(self._on_channels_text_change, "value")
        self._steps_input = widgets.BoundedIntText(min=1, max=100_000, description="steps")
        self._lr_input = widgets.BoundedFloatText(
            min=1e-5, max=10.0, step=0.01, description="learning rate"
        )
        self._size_input = widgets.BoundedIntText(min=8, max=1024, description="image size")
        self._param_select = widgets.ToggleButtons(
            options=[("Fourier", "fourier"), ("pixel", "pixel")], description="parametrize"
        )
        self._param_select.style.button_width = "80px"
        self._seed_input = widgets.BoundedIntText(min=0, max=2**31 - 1, description="seed")
        self._start_button = widgets.Button(description="Start", button_style="primary")
        self._start_button.add_class("iw-start")
        self._start_button.on_click(lambda _button: self.start())
        self._stop_button = widgets.Button(description="Stop", button_style="warning")
        self._stop_button.add_class("iw-stop")
        self._stop_button.on_click(lambda _button: self.stop())
        self._stop_button.disabled = True
        self._progress = widgets.IntProgress(min=0, max=1, value=0)
        self._progress.add_class("iw-progress")
        self._progress_label = widgets.Label("")
        self._progress_label.add_class("iw-progress-label")
        self._grid = widgets.Image(format="png", layout=widgets.Layout(width="256px"))
        self._grid.add_class("iw-filter-grid")
        self._caption = widgets.HTML()
        self._caption.add_class("iw-filter-caption")

        x_scale, y_scale = bqplot.LinearScale(), bqplot.LinearScale()
        self._lines = bqplot.Lines(
            scales={"x": x_scale, "y": y_scale},
            colors=COLOURS,
            display_legend=True,
            labels=["channel"],
        )
        self._chart = bqplot.Figure(
            marks=[self._lines],
            axes=[
                bqplot.Axis(scale=x_scale, label="step", num_ticks=5),
                bqplot.Axis(scale=y_scale, orientation="vertical", label="objective"),
            ],
            title="objective per channel",
            legend_location="top-left",
            fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 10},
            layout=widgets.Layout(width="420px", height="280px"),
        )
        self._chart.add_class("iw-objective-chart")

        for control in (
            self._layer_select,
            self._channels_text,
            self._steps_input,
            self._lr_input,
            self._size_input,
            self._param_select,
            self._seed_input,
        ):
            control.style.description_width = "100px"
        settings = widgets.VBox(
            [
                self._layer_select,
                self._channels_text,
                self._steps_input,
                self._lr_input,
                self._size_input,
                self._param_select,
                self._seed_input,
                widgets.HBox([self._start_button, self._stop_button]),
            ]
        )
        progress = widgets.HBox([self._progress, self._progress_label])
        results = widgets.HBox(
            [widgets.VBox([self._grid, self._caption]), self._chart],
            layout=widgets.Layout(align_items="flex-start"),
        )
        self.children = [settings, progress, results, self.status]

    def _link_controls(self) -> None:
        if self.layer:
            traitlets.link((self, "layer"), (self._layer_select, "value"))
        traitlets.link((self, "steps"), (self._steps_input, "value"))
        traitlets.link((self, "learning_rate"), (self._lr_input, "value"))
        traitlets.link((self, "size"), (self._size_input, "value"))
        traitlets.link((self, "parametrization"), (self._param_select, "value"))
        traitlets.link((self, "seed"), (self._seed_input, "value"))
        self._show_channels_text()
        self.observe(self._on_parameter_change, list(PARAMETERS))
        self.observe(lambda _change: self._show_channels_text(), "channels")

    # -- parameters ------------------------------------------------------------------------
    def _show_channels_text(self) -> None:
        self._syncing_text = True
        try:
            self._channels_text.value = format_channels(self.channels)
        finally:
            self._syncing_text = False

    def _on_channels_text_change(self, change: Any) -> None:
        if self._syncing_text:
            return
        with self.status.capture("Reading the channels"):
            try:
                channels = parse_channels(change["new"])
            except ValueError:
                self._show_channels_text()
                raise
            self.channels = channels
            if not self.running:
                self.status.show(f"channels {format_channels(channels)}; press Start", STATUS_OK)

    @traitlets.validate("layer")
    def _validate_layer(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value in self._counts or not self._counts:
            return value
        fallback = self.layer or list(self._counts)[-1]
        self.status.show(
            f"layer {value!r} has no 4-D output in this model; keeping {fallback!r} "
            f"(choices: {', '.join(self._counts)})",
            STATUS_ERROR,
        )
        return fallback

    @traitlets.observe("layer")
    def _on_layer_change(self, change: Any) -> None:
        """Keep the channels that the new layer has; where none is left, its first ones."""
        count = self._counts.get(change["new"])
        if count is None or all(0 <= c < count for c in self.channels):
            return
        kept = [c for c in self.channels if 0 <= c < count]
        self.channels = kept or list(range(min(DEFAULT_CHANNELS, count)))
        self.status.show(
            f"layer {change['new']!r} has {count} channels: showing "
            f"{format_channels(self.channels)}",
            STATUS_OK,
        )

    @traitlets.validate("parametrization")
    def _validate_parametrization(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in ("fourier", "pixel"):
            raise traitlets.TraitError(
                f"parametrization must be 'fourier' or 'pixel', got {value!r}"
            )
        return value

    @traitlets.validate("image_every")
    def _validate_image_every(self, proposal: Any) -> int:
        return max(1, int(proposal["value"]))

    def _on_parameter_change(self, _change: Any) -> None:
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

    # -- running ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether an optimization is running (or about to start)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def result(self) -> Any:
        """The last FilterVisualization (``None`` before the first run ends)."""
        return self._result

    def start(self) -> None:
        """Start an optimization with the current parameters, stopping any running one."""
        with self._lock:
            self._run_id += 1
            run_id = self._run_id
            if self._stop_event is not None:
                self._stop_event.set()
            stop = threading.Event()
            thread = threading.Thread(
                target=self._work,
                args=(run_id, stop, self.parameters()),
                name=f"iw-filter-visualizer-{run_id}",
                daemon=True,
            )
            self._stop_event, self._thread = stop, thread
        self.status.show("starting the optimizer…", STATUS_BUSY)
        self._stop_button.disabled = False
        thread.start()

    def stop(self) -> None:
        """Ask the running optimization to halt after its current step."""
        event = self._stop_event
        if event is not None and not event.is_set() and self.running:
            event.set()
            self.status.show("stopping…", STATUS_BUSY)

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker; ``True`` when no optimization is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def close(self) -> None:
        """Stop the worker, then close the widget."""
        if self._stop_event is not None:
            self._stop_event.set()
        super().close()

    def _current(self, run_id: int) -> bool:
        return run_id == self._run_id

    def _work(self, run_id: int, stop: threading.Event, params: dict[str, Any]) -> None:
        """Worker thread: one optimizer at a time; errors go to the status line."""
        with self._compute_lock:
            if stop.is_set():
                return
            try:
                self._run(run_id, stop, params)
            except Exception as error:  # noqa: BLE001 - shown in the view, never lost
                if self._current(run_id):
                    self.last_traceback = traceback.format_exc()
                    self.status.show(f"Feature visualization failed: {error}", STATUS_ERROR)
            finally:
                if self._current(run_id):
                    self._stop_button.disabled = True

    def _make_optimizer(self, params: dict[str, Any]) -> FilterOptimizer:
        return FilterOptimizer(
            self.model,
            params["layer"],
            params["channels"],
            size=params["size"],
            parametrization=params["parametrization"],
            steps=params["steps"],
            learning_rate=params["learning_rate"],
            seed=params["seed"],
        )

    def _run(self, run_id: int, stop: threading.Event, params: dict[str, Any]) -> None:
        optimizer = self._make_optimizer(params)
        total = optimizer.total_steps
        channels = list(optimizer.channels)
        history: list[np.ndarray] = []
        with hold_sync_all(self._progress, self._progress_label):
            self._progress.max, self._progress.value = total, 0
            self._progress_label.value = f"step 0 / {total}"
        self.status.show(f"optimizing {len(channels)} channels of {optimizer.layer}…", STATUS_BUSY)
        chart_every = max(1, total // 50)
        last = None
        for progress in optimizer.steps(every=self.image_every, images=True):
            last = progress
            history.append(np.asarray(progress.objectives, dtype=np.float32))
            if not self._current(run_id):
                break
            rate = progress.step / progress.elapsed if progress.elapsed > 0 else 0.0
            with hold_sync_all(self._progress, self._progress_label):
                self._progress.value = progress.step
                self._progress_label.value = (
                    f"step {progress.step} / {progress.total} · {rate:.1f} steps/s"
                )
            if progress.images is not None:
                self._show_images(progress.images, channels)
            if progress.step % chart_every == 0:
                self._show_chart(history, channels)
            if stop.is_set():
                break
        if not self._current(run_id):
            return
        result = optimizer.result()
        self._result = result
        self._show_images(result.unit_images, channels, result.activations)
        self._show_chart(history, channels)
        done = last is not None and last.step == total
        elapsed = last.elapsed if last is not None else 0.0
        step = last.step if last is not None else 0
        if done:
            self.status.show(
                f"done: {total} steps on {len(channels)} channels in {elapsed:.1f} s", STATUS_OK
            )
        else:
            self.status.show(f"stopped at step {step} / {total}; images kept", STATUS_OK)

    # -- rendering -------------------------------------------------------------------------
    def _show_images(
        self, images: np.ndarray, channels: list[int], activations: np.ndarray | None = None
    ) -> None:
        pictures = [to_uint8_image(np.clip(image, 0.0, 1.0)) for image in images]
        factor = max(1, TILE_SIZE // max(pictures[0].shape[:2]))
        pictures = [upscale(p, factor) for p in pictures]
        columns = min(len(pictures), 4 if len(pictures) <= 8 else 8)
        grid = tile(pictures, columns=columns, padding=4)
        if activations is None:
            caption = "channels " + ", ".join(str(c) for c in channels)
        else:
            caption = "mean activation: " + ", ".join(
                f"ch {c}: {float(a):.3g}" for c, a in zip(channels, activations, strict=True)
            )
        with hold_sync_all(self._grid, self._caption):
            self._grid.layout.width = f"{grid.shape[1]}px"
            set_png(self._grid, grid)
            self._caption.value = f"<small>{caption}</small>"

    def _show_chart(self, history: list[np.ndarray], channels: list[int]) -> None:
        if len(history) < 2:
            return  # bqplot squeezes a single point to a scalar, which Lines rejects
        values = np.stack(history, axis=1).astype(np.float64)
        steps = np.arange(1, values.shape[1] + 1, dtype=np.float64)
        with self._lines.hold_sync():
            self._lines.x = steps
            self._lines.y = values
            self._lines.labels = [f"ch {c}" for c in channels]
