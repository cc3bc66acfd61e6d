"""The perturbation panel: KernelSHAP, LIME, occlusion and DeepSHAP of one image for a class.

An :class:`~.attribution.AttributionPanel` given a method table like the others, with what
sampling methods need besides: a live progress bar and a Stop button while the perturbed
copies are scored (always in a worker thread: a run on a big model takes seconds to
minutes), the superpixel boundaries over the image and the top segments with their values.
Maps are cached by (method, parameters, class): a class clicked again, or parameters set
back, show at once.
"""

from __future__ import annotations

import threading
import time
from typing import Any, ClassVar, NamedTuple

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods import Stopped, deep_shap, kernel_shap, lime, occlusion, superpixels
from ..render import BASELINES, perturbation_baseline, segment_boundaries, to_map, top_segments
from .attribution import AttributionPanel
from .common import STATUS_ERROR, hold_sync_all, image_widget, set_png
from .panel_maps import MapCache, MapKey, PanelMethod, RawMap, method_check
from .panel_view import caption

#: Perturbed copies per compiled call (each progress step is one batch).
BATCH_SIZE = 64


class SegmentMap(NamedTuple):
    """A raw map with the superpixels it was computed on (``None`` for pixel methods)."""

    values: np.ndarray
    note: str = ""
    segments: np.ndarray | None = None


def _segment_method(function: Any) -> Any:
    """KernelSHAP or LIME on SLIC superpixels of the image."""

    def compute(
        model: Any,
        x: np.ndarray,
        target: int,
        n_segments: int,
        compactness: float,
        samples: int,
        baseline: str,
        **run: Any,
    ) -> SegmentMap:
        segments = superpixels(x, n_segments, compactness)
        base = perturbation_baseline(x, baseline)
        values = function(
            model, x, target, segments=segments, samples=samples, baseline=base, **run
        )
        values = values[0]
        count = len(np.unique(segments[0]))
        return SegmentMap(values, f"{count} segments · {samples} samples", segments[0])

    return compute


def _occlusion(
    model: Any, x: np.ndarray, target: int, window: int, stride: int, baseline: str, **run: Any
) -> SegmentMap:
    base = perturbation_baseline(x, baseline)
    values = occlusion(model, x, target, window=window, stride=stride, baseline=base, **run)[0]
    return SegmentMap(values, f"window {window}, stride {stride}")


def _deep_shap(
    model: Any, x: np.ndarray, target: int, background: np.ndarray, **run: Any
) -> SegmentMap:
    values = deep_shap(model, x, background, target, **run)[0]
    return SegmentMap(to_map(values), f"{len(background)} background images")


#: The perturbation family: key -> (label, compute, parameters).
PERTURBATION_METHODS = {
    "kernel_shap": PanelMethod(
        "KernelSHAP",
        _segment_method(kernel_shap),
        ("n_segments", "compactness", "samples", "baseline"),
    ),
    "lime": PanelMethod(
        "LIME", _segment_method(lime), ("n_segments", "compactness", "samples", "baseline")
    ),
    "occlusion": PanelMethod("Occlusion", _occlusion, ("window", "stride", "baseline")),
    "deep_shap": PanelMethod("DeepSHAP", _deep_shap, ("background",)),
}


class ParameterCache(MapCache):
    """Raw maps by (method, parameters, class): parameters set back find their maps."""

    def __init__(self, parameters_of: Any) -> None:
        super().__init__()
        self.parameters_of = parameters_of

    def key(self, key: MapKey) -> tuple:
        method, target = key
        return (method, target, tuple(sorted(self.parameters_of(method).items())))

    def __contains__(self, key: MapKey) -> bool:
        return self.key(key) in self.maps

    def __getitem__(self, key: MapKey) -> RawMap:
        return self.maps[self.key(key)]

    def missing(self, keys: Any) -> list[MapKey]:
        return [key for key in keys if self.key(key) not in self.maps]

    def store(self, maps: dict, shown: list[MapKey]) -> None:
        super().store({self.key(k): v for k, v in maps.items()}, [self.key(k) for k in shown])


def _positive(name: str, minimum: float = 1) -> Any:
    def check(self: Any, proposal: dict[str, Any]) -> Any:
        if not proposal["value"] >= minimum:
            raise traitlets.TraitError(f"{name} must be >= {minimum}, got {proposal['value']}")
        return proposal["value"]

    return traitlets.validate(name)(check)


def _slider(kind: Any, value: float, low: float, high: float, name: str, **extra: Any) -> Any:
    return lambda: kind(
        value, min=low, max=high, description=name, continuous_update=False, **extra
    ).add_class(f"iw-perturbation-{name.replace(' ', '-')}")


class PerturbationPanel(AttributionPanel):
    """SHAP · LIME · Occlusion: what removing parts of the image does to the class score.

    Traits (besides the common ones): ``method`` (a key of :data:`PERTURBATION_METHODS`),
    ``n_segments`` and ``compactness`` (SLIC superpixels of KernelSHAP and LIME),
    ``samples`` (coalitions), ``window`` and ``stride`` (occlusion), ``baseline`` (what
    replaces a removed part: ``"zeros"``, ``"mean"`` colour or a ``"blur"``-red copy),
    ``background`` (DeepSHAP: how many of the loaded images, other than the explained one,
    are its references), ``batch_size`` and ``top_k_segments`` (segments listed). The signed map is
    drawn with a diverging colormap: red for the class, blue against it.

    Every computation runs in a worker thread with a progress bar; :meth:`stop` (the Stop
    button) halts it when the batch being scored ends.

    References
    ----------
    Lundberg & Lee (2017), "A Unified Approach to Interpreting Model Predictions"; Ribeiro
    et al. (2016), "Why Should I Trust You?"; Zeiler & Fergus (2014), "Visualizing and
    Understanding Convolutional Networks".
    """

    family = ""
    parameter_controls: ClassVar[dict[str, Any]] = {
        "n_segments": _slider(widgets.IntSlider, 32, 2, 200, "segments"),
        "compactness": _slider(widgets.FloatLogSlider, 10.0, -1, 2, "compactness", base=10),
        "samples": _slider(widgets.IntSlider, 256, 8, 4096, "samples"),
        "window": _slider(widgets.IntSlider, 8, 1, 64, "window"),
        "stride": _slider(widgets.IntSlider, 4, 1, 64, "stride"),
        "baseline": lambda: widgets.Dropdown(
            options=list(BASELINES), description="baseline", layout=widgets.Layout(width="200px")
        ).add_class("iw-perturbation-baseline"),
        "background": _slider(widgets.IntSlider, 8, 1, 64, "background"),
    }

    method = traitlets.Unicode("kernel_shap")
    n_segments = traitlets.Int(32)
    compactness = traitlets.Float(10.0)
    samples = traitlets.Int(256)
    window = traitlets.Int(8)
    stride = traitlets.Int(4)
    baseline = traitlets.Unicode("zeros")
    background = traitlets.Int(8)
    batch_size = traitlets.Int(BATCH_SIZE)
    top_k_segments = traitlets.Int(5)
    cmap = traitlets.Unicode("bwr")
    normalization = traitlets.Unicode("symmetric")
    opacity = traitlets.Float(0.6)

    _valid_method = method_check("method")
    _valid_segments = _positive("n_segments")
    _valid_samples = _positive("samples")
    _valid_window = _positive("window")
    _valid_stride = _positive("stride")
    _valid_background = _positive("background")
    _valid_batch_size = _positive("batch_size")
    _valid_top_k_segments = _positive("top_k_segments", 0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stop = threading.Event()
        self.evaluated = 0  # perturbed copies scored by the last run
        super().__init__(*args, **kwargs)

    def make_cache(self) -> MapCache:
        return ParameterCache(self.parameters)

    @traitlets.validate("compactness")
    def _valid_compactness(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError(f"compactness must be > 0, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("baseline")
    def _valid_baseline(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in BASELINES:
            raise traitlets.TraitError(
                f"baseline must be one of {BASELINES}, got {proposal['value']!r}"
            )
        return proposal["value"]

    def method_table(self) -> dict[str, PanelMethod]:
        return PERTURBATION_METHODS

    def method_controls(self) -> list[widgets.Widget]:
        self.method_dropdown = widgets.Dropdown(
            options=[(entry.label, key) for key, entry in PERTURBATION_METHODS.items()],
            description="method",
            layout=widgets.Layout(width="240px"),
        ).add_class("iw-perturbation-method")
        traitlets.link((self.method_dropdown, "value"), (self, "method"))
        self.progress_bar = widgets.IntProgress(
            0, min=0, max=1, description="samples", bar_style="info"
        ).add_class("iw-perturbation-progress")
        self.stop_button = widgets.Button(
            description="Stop",
            button_style="warning",
            icon="stop",
            layout=widgets.Layout(width="90px"),
        ).add_class("iw-perturbation-stop")
        self.stop_button.on_click(lambda _: self.stop())
        self.progress_box = widgets.HBox(
            [self.progress_bar, self.stop_button], layout=widgets.Layout(display="none")
        )
        self.boundaries = image_widget(160).add_class("iw-perturbation-segments")
        self.top_list = widgets.HTML().add_class("iw-perturbation-top")
        self.segments_box = widgets.VBox(
            [caption("superpixels"), self.boundaries, self.top_list],
            layout=widgets.Layout(display="none"),
        )
        return [
            self.method_dropdown,
            *self.parameter_widgets.values(),
            self.progress_box,
            self.segments_box,
        ]

    # -- running, progress and stopping --------------------------------------------------------
    def stop(self) -> None:
        """Stop the running computation when its current batch ends (the Stop button)."""
        self._stop.set()

    def progress(self, done: int, total: int) -> bool:
        """The methods' progress callback: moves the bar; ``False`` once Stop was pressed."""
        self.evaluated = int(done)
        with hold_sync_all(self.progress_bar):
            self.progress_bar.max = max(int(total), 1)
            self.progress_bar.value = min(int(done), self.progress_bar.max)
        return not self._stop.is_set()

    def inputs_changed(self) -> None:
        # A run for inputs that changed is of no use: stop it at its next batch.
        super().inputs_changed()
        if self.busy:
            self._stop.set()

    def _on_parameter_change(self, change: dict[str, Any]) -> None:
        # Maps stay cached under their parameters; only the shown ones are recomputed.
        if any(change["name"] in self.methods[m].parameters for m, _ in self.views()):
            self.inputs_changed()
            self.request_update()

    @traitlets.observe("busy")
    def _on_busy_change(self, change: dict[str, Any]) -> None:
        self.progress_box.layout.display = None if change["new"] else "none"

    @traitlets.observe("top_k_segments")
    def _on_top_k_segments_change(self, change: dict[str, Any]) -> None:
        self.request_update()

    def background_images(self) -> np.ndarray:
        """DeepSHAP's references: up to ``background`` loaded images other than the shown one.

        With a single image loaded, that image's blurred copy is the one reference.
        """
        images = self.images
        others = np.delete(images, self.image_index, axis=0)[: self.background]
        if len(others) == 0:
            shown = images[self.image_index : self.image_index + 1]
            return np.asarray(perturbation_baseline(shown, "blur"))
        return others

    def compute(self, target: int, method: str | None = None) -> RawMap:
        """The map of the selected image for class ``target``; reports to :meth:`progress`."""
        method = method or self.current_method
        values = self.parameters(method)
        if "background" in values:
            values["background"] = self.background_images()
        values.update(batch_size=self.batch_size, progress=self.progress)
        batch, model = self.selection.current_batch(), self.selection.model
        return self.methods.compute(method, model, batch, target, values)

    # -- the update cycle ----------------------------------------------------------------------
    def update(self) -> None:
        with self.capture(self.method_label):
            self.class_bars.update(self.selection.probabilities(), self.target)
            missing = self.cache.missing(self.views())
            if missing:
                self._run(missing)
                return
            self._render()
            name = self.selection.class_name(self.target)
            self.status.show(f"{self.describe()} of '{name}'{self._timing}")
            self._timing = ""
            return
        self._clear()

    def _run(self, missing: list[MapKey]) -> None:
        """Compute ``missing`` in a worker thread, the progress bar and Stop shown."""
        self._stop.clear()
        self.evaluated = 0
        self.progress_bar.value = 0
        self._timing = ""
        name = self.selection.class_name(missing[0][1])
        started = time.perf_counter()

        def work() -> dict | Stopped:
            try:
                return self._compute_maps(missing, quiet=True)
            except (Stopped, InterruptedError) as stopped:
                return stopped if isinstance(stopped, Stopped) else Stopped(self.evaluated, 0)

        def apply(result: dict | Stopped) -> None:
            if isinstance(result, Stopped):
                self._clear()
                self.status.show(
                    f"stopped after {self.evaluated} of {self.progress_bar.max} samples; "
                    "change a parameter or click a class to run again",
                    STATUS_ERROR,
                )
                return
            self._timing = f" in {time.perf_counter() - started:.1f} s"
            self._store_and_update(result)

        message = f"Computing {self.describe(missing[0][0])} for '{name}'…"
        self.run_in_background(message, work, apply, self._clear)

    _timing = ""

    def _clear(self) -> None:
        super()._clear()
        with hold_sync_all(self.boundaries, self.top_list):
            self.boundaries.value = b""
            self.top_list.value = ""

    def _render(self) -> None:
        super()._render()
        raw = self.cache[(self.current_method, self.target)]
        segments = getattr(raw, "segments", None)
        self.segments_box.layout.display = "none" if segments is None else None
        if segments is None:
            return
        image = self.selection.current_image()
        with hold_sync_all(self.boundaries, self.top_list):
            set_png(self.boundaries, segment_boundaries(image, segments))
            self.top_list.value = top_segments_html(
                top_segments(raw.values, segments, self.top_k_segments)
            )


    def figure_image(self) -> tuple[np.ndarray, str]:
        """The image with the superpixels of the panel's map, for :meth:`figure`."""
        image, title = super().figure_image()
        segments = getattr(self.cache[(self.current_method, self.target)], "segments", None)
        if segments is None:
            return image, title
        count = len(np.unique(segments))
        return segment_boundaries(image, segments), f"{title}, {count} superpixels"


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
