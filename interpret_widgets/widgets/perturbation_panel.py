"""The perturbation panel: KernelSHAP, LIME, occlusion and DeepSHAP of one image for a class.

An :class:`~.attribution.AttributionPanel` given a method table like the others
(:data:`~.perturbation_methods.PERTURBATION_METHODS`), with what sampling methods need
besides: a live progress bar and a Stop button while the perturbed copies are scored (the
shared :class:`~.components.run_controls.RunControls`; always in a worker thread: a run on
a big model takes seconds to minutes), and the superpixels over the image with the top
segments (:class:`~.components.segment_view.SegmentView`). Maps are cached by (method,
parameters, class): a class clicked again, or parameters set back, show at once.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods import Stopped
from ..render import BASELINES, perturbation_baseline, segment_boundaries
from .attribution import AttributionPanel
from .common import STATUS_ERROR
from .components.run_controls import RunControls
from .components.segment_view import SegmentView, top_segments_html
from .components.step_progress import StepProgress
from .panel_maps import MapCache, MapKey, PanelMethod, RawMap, method_check
from .panel_view import slider_control
from .perturbation_methods import PERTURBATION_METHODS, ParameterCache
from .validators import at_least, one_of

__all__ = ["PERTURBATION_METHODS", "PerturbationPanel", "top_segments_html"]

#: Perturbed copies per compiled call (each progress step is one batch).
BATCH_SIZE = 64


def _slider(kind: Any, value: float, low: float, high: float, name: str, **extra: Any) -> Any:
    css = f"iw-perturbation-{name.replace(' ', '-')}"
    return slider_control(kind, value, low, high, name, css, **extra)


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
    _valid_segments = at_least("n_segments")
    _valid_samples = at_least("samples")
    _valid_window = at_least("window")
    _valid_stride = at_least("stride")
    _valid_background = at_least("background")
    _valid_batch_size = at_least("batch_size")
    _valid_top_k_segments = at_least("top_k_segments", 0)
    _valid_baseline = one_of("baseline", BASELINES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.evaluated = 0  # perturbed copies scored by the last run
        super().__init__(*args, **kwargs)

    def make_cache(self) -> MapCache:
        return ParameterCache(self.parameters)

    @traitlets.validate("compactness")
    def _valid_compactness(self, proposal: dict[str, Any]) -> float:
        if not proposal["value"] > 0:
            raise traitlets.TraitError(f"compactness must be > 0, got {proposal['value']}")
        return proposal["value"]

    def method_table(self) -> dict[str, PanelMethod]:
        return PERTURBATION_METHODS

    def method_controls(self) -> list[widgets.Widget]:
        self.method_dropdown = self.method_selector("iw-perturbation-method", "240px")
        bar = StepProgress(
            css="iw-perturbation-progress", labelled=False, description="samples",
            bar_style="info",
        )  # fmt: skip
        self.progress_box = RunControls(
            ("Stop", "iw-perturbation-stop"), progress=bar, hide_idle=True,
            stop_style="warning", stop_icon="stop", stop_layout={"width": "90px"},
        )  # fmt: skip
        self.progress_box.on_stop(self.stop)
        self.progress_bar, self.stop_button = bar.bar, self.progress_box.stop_button
        self.segments_box = SegmentView()
        self.boundaries, self.top_list = self.segments_box.boundaries, self.segments_box.top_list
        return [
            self.method_dropdown,
            *self.parameter_widgets.values(),
            self.progress_box,
            self.segments_box,
        ]

    # -- running, progress and stopping --------------------------------------------------------
    def stop(self) -> None:
        """Stop the running computation when its current batch ends (the Stop button)."""
        self.progress_box.request_stop()

    def progress(self, done: int, total: int) -> bool:
        """The methods' progress callback: moves the bar; ``False`` once Stop was pressed."""
        self.evaluated = int(done)
        self.progress_box.show(done, total)
        return not self.progress_box.stop_requested

    def inputs_changed(self) -> None:
        # A run for inputs that changed is of no use: stop it at its next batch.
        super().inputs_changed()
        if self.busy:
            self.stop()

    def _on_parameter_change(self, change: dict[str, Any]) -> None:
        # Maps stay cached under their parameters; only the shown ones are recomputed.
        if any(change["name"] in self.methods[m].parameters for m, _ in self.views()):
            self.inputs_changed()
            self.request_update()

    @traitlets.observe("busy")
    def _on_busy_change(self, change: dict[str, Any]) -> None:
        self.progress_box.running(change["new"])

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
        self.progress_box.arm()
        self.evaluated = 0
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
        self.segments_box.clear()

    def _render(self) -> None:
        super()._render()
        raw = self.cache[(self.current_method, self.target)]
        segments = getattr(raw, "segments", None)
        image = self.selection.current_image()
        self.segments_box.show(image, raw.values, segments, self.top_k_segments)

    def figure_image(self) -> tuple[np.ndarray, str]:
        """The image with the superpixels of the panel's map, for :meth:`figure`."""
        image, title = super().figure_image()
        segments = getattr(self.cache[(self.current_method, self.target)], "segments", None)
        if segments is None:
            return image, title
        count = len(np.unique(segments))
        return segment_boundaries(image, segments), f"{title}, {count} superpixels"
