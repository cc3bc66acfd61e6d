"""AblationPanel: knock channels out of a layer and watch the prediction and Grad-CAM change.

The panel shows the channels of the selected layer for the selected image, sorted by
:func:`~interpret_widgets.methods.channel_importance`; a click on a tile knocks the channel
out (or back in). The class probabilities and the Grad-CAM of the ablated model
(:func:`~interpret_widgets.methods.ablate`,
:func:`~interpret_widgets.methods.ablated_grad_cam`) are drawn beside the original ones
on every toggle; the model is never changed. A pruning section measures accuracy against
the pruned fraction (:func:`~interpret_widgets.methods.iter_pruning_curve`) in a worker
thread, the line growing point by point, one line per criterion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import traitlets

from .. import methods
from ..methods.ablation import IMPORTANCE_METHODS
from ..methods.pruning import CRITERIA
from ..methods.pruning_curve import DEFAULT_AMOUNTS
from ..render import overlay
from ..render.figures import attribution_figure
from .class_bars import ClassBars
from .common import hold_sync_all, image_widget, set_png
from .components import StepProgress
from .components.knockout_grid import KnockoutGrid
from .components.pruning_chart import PruningChart
from .components.worker import Worker
from .panel_view import bind
from .selection import Selection, SelectionTraits
from .view import View, captured

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CAM_SIZE = 192


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities (float64) of pre-softmax ``scores``, numerically stable."""
    z = np.asarray(scores, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class AblationPanel(SelectionTraits, View):
    """Channel knock-out of one layer for one image, and pruning curves on all images.

    Parameters
    ----------
    model : keras.Model, optional
        The classifier (never modified); may be omitted with ``selection``.
    images : array (N, H, W, C), optional
        Inputs as the model takes them.
    class_names : sequence of str, optional
        One name per class.
    selection : Selection, optional
        A selection shared with other views (the Dashboard's).
    labels : sequence of int, optional
        The true class of each image: the pruning curve's accuracy; without them, the
        agreement with the unpruned model.

    Traits
    ------
    image_index, target, layer, follow_prediction
        The shared selection (``layer`` is the layer whose channels are knocked out).
    knocked_out : list of int
        The channels knocked out (a tile click toggles one).
    method : str
        How channels are ranked: ``"ablation"``, ``"relevance"`` or ``"gradient"``.
    k : int
        How many channels the top-k buttons take.
    criterion : str
        The pruning criterion of the next run (``l1``, ``random``, ``relevance``,
        ``weights``).

    Invalid values raise ``TraitError``, shown in the status line.
    """

    layer = traitlets.Unicode("")
    knocked_out = traitlets.List(traitlets.Int())
    method = traitlets.Unicode("ablation")
    k = traitlets.Int(4)
    criterion = traitlets.Unicode("l1")

    def __init__(
        self,
        model: Any = None,
        images: object = None,
        class_names: Sequence[str] | None = None,
        *,
        selection: Selection | None = None,
        labels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.add_class("iw-ablation-panel")
        self.selection = None
        self.labels = None if labels is None else np.asarray(labels, dtype=int)
        self.importance = np.zeros(0, dtype=np.float32)
        self.order = np.zeros(0, dtype=int)
        self.result: dict[str, np.ndarray] = {}
        self._ranked: tuple | None = None
        self._pruning = Worker("pruning")
        with self.capture("Reading the model and images"):
            selection = selection or Selection(model, images, class_names, owner="AblationPanel")
        self._build(selection)
        if selection is not None:
            self.selection = selection
            self.model = selection.model
            selection.attach(self, react=self._on_selection_change)
            self.ready = selection.has_images

    # -- widgets ---------------------------------------------------------------------------
    def _build(self, selection: Selection | None) -> None:
        names = selection.class_names if selection else []
        self.layer_dropdown = widgets.Dropdown(
            options=selection.adapter.spatial_layer_names() if selection else [],
            description="layer",
        ).add_class("iw-ablation-layer")
        self.method_buttons = widgets.ToggleButtons(
            options=list(IMPORTANCE_METHODS), description="rank by",
            style={"button_width": "80px"},
        ).add_class("iw-ablation-method")  # fmt: skip
        self.k_input = widgets.BoundedIntText(
            4, min=1, max=4096, description="k", layout=widgets.Layout(width="130px")
        ).add_class("iw-ablation-k")
        self.knock_top_button = widgets.Button(description="knock out top-k").add_class(
            "iw-knock-top"
        )
        self.keep_top_button = widgets.Button(description="keep only top-k").add_class(
            "iw-keep-top"
        )
        self.reset_button = widgets.Button(description="reset").add_class("iw-ablation-reset")
        self.grid = KnockoutGrid(top_k=16)
        self.grid.add_class("iw-knockout-grid")
        self.bars_before = ClassBars(names, width=250, height=200)
        self.bars_after = ClassBars(names, width=250, height=200)
        self.bars_after.figure.add_class("iw-class-bars-after")
        self.cam_before = image_widget(CAM_SIZE).add_class("iw-ablation-cam-before")
        self.cam_after = image_widget(CAM_SIZE).add_class("iw-ablation-cam-after")
        self.caption_before = widgets.HTML().add_class("iw-ablation-caption-before")
        self.caption_after = widgets.HTML().add_class("iw-ablation-caption")
        for control, name in (
            (self.layer_dropdown, "layer"),
            (self.method_buttons, "method"),
            (self.k_input, "k"),
        ):
            bind(control, self, name)
        traitlets.link((self.grid, "knocked"), (self, "knocked_out"))
        for bars in (self.bars_before, self.bars_after):
            traitlets.link((bars, "target"), (self, "target"))
        self.knock_top_button.on_click(lambda _b: self.knock_out_top())
        self.keep_top_button.on_click(lambda _b: self.keep_only_top())
        self.reset_button.on_click(lambda _b: self.reset())
        self._build_pruning()
        knockout = widgets.HBox(
            [self.k_input, self.knock_top_button, self.keep_top_button, self.reset_button]
        )
        column = widgets.Layout(min_width="255px", flex="0 0 auto")
        compare = widgets.HBox([
            widgets.VBox([self.caption_before, self.cam_before, self.bars_before.figure],
                         layout=column),
            widgets.VBox([self.caption_after, self.cam_after, self.bars_after.figure],
                         layout=column),
        ])  # fmt: skip
        self.children = [
            widgets.HBox([self.layer_dropdown, self.method_buttons]),
            knockout,
            widgets.HBox([self.grid, compare], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HTML("<b>Pruning</b>: accuracy as filters are zeroed, per criterion"),
            self.pruning_controls,
            self.chart,
            self.status,
        ]

    def _build_pruning(self) -> None:
        self.criterion_dropdown = widgets.Dropdown(
            options=list(CRITERIA), description="criterion"
        ).add_class("iw-pruning-criterion")
        bind(self.criterion_dropdown, self, "criterion")
        self.run_button = widgets.Button(description="run", button_style="primary")
        self.run_button.add_class("iw-pruning-run")
        self.stop_button = widgets.Button(description="stop", disabled=True)
        self.stop_button.add_class("iw-pruning-stop")
        self.run_button.on_click(lambda _b: self.run_pruning())
        self.stop_button.on_click(lambda _b: self.stop())
        self.progress = StepProgress()
        self.pruning_controls = widgets.HBox(
            [self.criterion_dropdown, self.run_button, self.stop_button, self.progress]
        )
        accuracy = "accuracy" if self.labels is not None else "agreement"
        self.chart = PruningChart(accuracy_label=accuracy)

    # -- validation ------------------------------------------------------------------------
    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        if self.selection is not None:
            names = self.selection.adapter.spatial_layer_names()
            if value not in names:
                raise traitlets.TraitError(
                    f"layer {value!r} has no channel grid; the layers are {', '.join(names)}"
                )
        return value

    @traitlets.validate("knocked_out")
    def _valid_knocked_out(self, proposal: dict[str, Any]) -> list[int]:
        value = [int(c) for c in proposal["value"]]
        count = self.channel_count
        bad = [c for c in value if not 0 <= c < count]
        if count and bad:
            raise traitlets.TraitError(
                f"channel {bad[0]} is out of range: layer {self.layer!r} has {count} "
                f"channels (0..{count - 1})"
            )
        if len(set(value)) != len(value):
            raise traitlets.TraitError(f"knocked_out lists a channel twice: {value}")
        return value

    @traitlets.validate("method")
    def _valid_method(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in IMPORTANCE_METHODS:
            raise traitlets.TraitError(
                f"method must be one of {', '.join(IMPORTANCE_METHODS)}, got {proposal['value']!r}"
            )
        return proposal["value"]

    @traitlets.validate("k")
    def _valid_k(self, proposal: dict[str, Any]) -> int:
        count = self.channel_count or proposal["value"]
        if not 1 <= proposal["value"] <= count:
            raise traitlets.TraitError(f"k must be within 1..{count}, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("criterion")
    def _valid_criterion(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in CRITERIA:
            raise traitlets.TraitError(
                f"criterion must be one of {', '.join(CRITERIA)}, got {proposal['value']!r}"
            )
        return proposal["value"]

    @property
    def channel_count(self) -> int:
        """Channels of the selected layer (0 before there is a model)."""
        if self.selection is None or not self.layer:
            return 0
        entry = self.selection.adapter.resolve_layer(self.layer)
        return int(entry.output_shape[-1])

    # -- actions ---------------------------------------------------------------------------
    def toggle(self, channel: int) -> None:
        """Knock ``channel`` out, or back in (what a click on its tile does)."""
        self.grid.toggle(int(channel))

    def knock_out_top(self) -> None:
        """Knock out the ``k`` most important channels (only those)."""
        self.knocked_out = [int(c) for c in self.order[: self.k]]

    def keep_only_top(self) -> None:
        """Knock out every channel but the ``k`` most important."""
        self.knocked_out = [int(c) for c in self.order[self.k :]]

    def reset(self) -> None:
        """Knock every channel back in."""
        self.knocked_out = []

    # -- observers -------------------------------------------------------------------------
    def _on_selection_change(self, change: dict[str, Any]) -> None:
        if change["name"] == "layer":
            self.knocked_out = []
        self.request_update()

    @traitlets.observe("knocked_out", "method")
    def _on_input_change(self, _change: dict[str, Any]) -> None:
        self.request_update()

    # -- computation and rendering ---------------------------------------------------------
    def update(self) -> None:
        """Rank the channels (when image, class, layer or method changed), then ablate."""
        with self.capture("Ablation"):
            selection = self.selection
            x = selection.images[selection.image_index : selection.image_index + 1]
            key = (selection.image_index, self.target, self.layer, self.method)
            if key != self._ranked:
                self._rank(x)
                self._ranked = key
            self._ablate(x)

    def _rank(self, x: np.ndarray) -> None:
        """Channel importance, the grid in its order, and the original side."""
        selection, target = self.selection, self.target
        acts = methods.activations(self.model, x, [self.layer])[self.layer][0]
        importance = methods.channel_importance(self.model, x, self.layer, target, self.method)
        self.importance = importance[0]
        self.order = np.argsort(-self.importance, kind="stable")
        self.grid.show(acts, self.order)
        cam = methods.grad_cam(self.model, x, target)[0]
        self.result["cam_before"] = cam
        self.result["probabilities_before"] = selection.probabilities()
        set_png(self.cam_before, overlay(x[0], cam))
        self.bars_before.update(selection.probabilities(), target)

    def _ablate(self, x: np.ndarray) -> None:
        """Scores and Grad-CAM with :attr:`knocked_out` ablated, drawn beside the original."""
        knocked = list(self.knocked_out)
        scores = methods.ablate(self.model, x, self.layer, knocked)[0]
        cam = methods.ablated_grad_cam(self.model, x, self.layer, knocked, self.target)[0]
        probabilities = softmax(scores)
        self.result.update(scores=scores, probabilities=probabilities, cam=cam)
        before = self.result["probabilities_before"][self.target]
        self.caption_before.value = (
            f"<b>original</b><br>p({self.selection.class_name()}) {before:.2f}"
        )
        with hold_sync_all(self.cam_after, self.caption_after):
            set_png(self.cam_after, overlay(x[0], cam))
            self.caption_after.value = (
                f"<b>{len(knocked)} channel(s) knocked out</b><br>"
                f"p({self.selection.class_name()}) {before:.2f} → {probabilities[self.target]:.2f}"
            )
        self.bars_after.update(probabilities, self.target)
        self.status.show(
            f"layer {self.layer}: click a tile to knock its channel out; sorted by {self.method}"
        )

    # -- pruning ---------------------------------------------------------------------------
    @property
    def pruning(self) -> bool:
        """Whether a pruning curve is being measured."""
        return self._pruning.running

    @captured("Pruning")
    def run_pruning(self, amounts: Sequence[float] = DEFAULT_AMOUNTS) -> None:
        """Measure the pruning curve of :attr:`criterion` on every image, in a worker thread.

        The line of that criterion restarts and grows point by point; other criteria's
        lines stay. :meth:`stop` halts it after the current point; :meth:`wait` joins it.
        """
        criterion, total = self.criterion, len(amounts)
        self.chart.start(criterion)
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.progress.show(0, total)

        def job(run_id: int, stop: threading.Event) -> None:
            started = time.perf_counter()
            with self.capture(f"Pruning ({criterion})"):
                self.status.show(f"pruning by {criterion}: ranking the filters…")
                points = methods.iter_pruning_curve(
                    self.model, self.selection.images, self.labels, amounts, criterion
                )
                for done, point in enumerate(points, start=1):
                    if stop.is_set() or not self._pruning.is_current(run_id):
                        break
                    self.chart.add(criterion, point.amount, point.accuracy, point.mean_score)
                    self.progress.show(done, total, time.perf_counter() - started)
                    self.status.show(f"pruning by {criterion}: {done} / {total} amounts")
                stopped = " (stopped)" if stop.is_set() else ""
                self.status.show(f"pruning by {criterion}: done{stopped}")
            self.run_button.disabled, self.stop_button.disabled = False, True

        self._pruning.start(job)

    def stop(self) -> bool:
        """Stop a running pruning curve after its current point; True if one was asked."""
        return self._pruning.stop()

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until background work (and a pruning run) is done; False on timeout."""
        return super().wait(timeout) and self._pruning.wait(timeout)

    def close(self) -> None:
        """Stop a pruning run and close the widgets."""
        self._pruning.close()
        super().close()

    # -- figure ----------------------------------------------------------------------------
    def figure(self) -> Figure:
        """A matplotlib figure of what the panel shows: Grad-CAM before and after.

        The pruning curves measured so far: :meth:`pruning_figure`.

        Raises
        ------
        ValueError
            If nothing has been computed yet.
        """
        if "cam" not in self.result:
            raise ValueError("the panel has computed nothing yet: select an image first")
        image = self.selection.current_image()
        name, target = self.selection.class_name(), self.target
        before = self.result["probabilities_before"][target]
        after = self.result["probabilities"][target]
        rows = [
            (f"Grad-CAM, p({name}) = {before:.2f}", overlay(image, self.result["cam_before"]),
             _unit(self.result["cam_before"])),
            (f"{len(self.knocked_out)} channels of {self.layer} out, p = {after:.2f}",
             overlay(image, self.result["cam"]), _unit(self.result["cam"])),
        ]  # fmt: skip
        title = f"{self.selection.adapter.name}: knocked out {sorted(self.knocked_out)}"
        return attribution_figure(image, rows, "jet", f"image {self.image_index}", title)

    def pruning_figure(self) -> Figure:
        """The pruning curves measured so far (:func:`~.render.pruning_curves_figure`).

        Raises
        ------
        ValueError
            If no curve has been measured.
        """
        from ..render.curves import pruning_curves_figure

        label = "accuracy" if self.labels is not None else "agreement"
        return pruning_curves_figure(self.chart.arrays(), accuracy_label=label)


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` scaled to [0, 1] (an all-zero map stays zero)."""
    peak = float(np.max(values)) if values.size else 0.0
    return values / peak if peak > 0 else values

