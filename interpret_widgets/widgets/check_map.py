""""Check this map": faithfulness and sanity checks of the map a panel shows, beside it.

Every attribution panel carries a :class:`CheckMap` as a collapsed section. Nothing is
computed until its buttons are pressed. "deletion" and "insertion" draw the curve of the
shown map for the shown class live while it is computed (a worker thread, a progress bar, a
Stop button), then the same curve for a seeded random map of the same shape; the AUCs
stand beside each other. "randomize the model" runs the cascading randomization test of
the panel's method (with its current parameters) on a copy of the model and shows the map
after each step as a strip of thumbnails over the similarity curve. With ground-truth
masks (``Dashboard(..., masks=...)``) "localization" gives the pointing game and the
relevance mass of the shown map.

The section reads the panel only through its public accessors :meth:`~.attribution.
AttributionPanel.shown_map` and :meth:`~.attribution.AttributionPanel.map_function`.

References
----------
Petsiuk, Das & Saenko (2018), "RISE" (deletion and insertion); Adebayo et al. (2018),
"Sanity Checks for Saliency Maps"; Zhang et al. (2018) (pointing game); Arras et al.
(2022), "CLEVR-XAI" (relevance mass).
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import ipywidgets as widgets
import numpy as np
import traitlets

from ..methods import curve_auc, pointing_game, relevance_mass
from ..methods.faithfulness import curve_progress
from ..methods.randomization import randomization_progress
from .common import STATUS_ERROR, STATUS_OK
from .components.check_charts import CurveChart, RandomizationStrip, SimilarityChart
from .components.run_controls import RunControls
from .components.step_progress import StepProgress
from .view import View

#: Points of a curve after the unchanged image (the methods' default).
CURVE_STEPS = 32


class ShownMap(NamedTuple):
    """What a panel shows: method key and description, class, raw map, the image batch."""

    method: str
    description: str
    target: int
    values: np.ndarray
    batch: np.ndarray


def random_map(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A uniform random map of ``shape`` from ``seed``: the floor every map should beat."""
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _button(description: str, css: str, tooltip: str = "") -> widgets.Button:
    return widgets.Button(
        description=description, tooltip=tooltip, layout=widgets.Layout(width="auto")
    ).add_class(css)


class CheckMap(View):
    """The "Check this map" section of an attribution panel.

    Parameters
    ----------
    panel : AttributionPanel
        The panel whose shown map is checked (read through ``shown_map()`` and
        ``map_function()``).

    Traits
    ------
    seed : int
        Seed of the random map and of the randomization test.

    Attributes
    ----------
    section : ipywidgets.Accordion
        What the panel shows: this view in a section titled "Check this map", closed.
    curves, aucs : dict
        By kind (``"deletion"``, ``"insertion"``, ``"random deletion"``…): the ``(steps+1,)``
        curve and its AUC, for the map last checked.
    randomization : RandomizationResult or None
        The last randomization test; ``thumbnails`` the strip's images.
    """

    seed = traitlets.Int(0)

    def __init__(self, panel: Any) -> None:
        super().__init__()
        self.add_class("iw-check")
        self.panel = panel
        self.curves: dict[str, np.ndarray] = {}
        self.aucs: dict[str, float] = {}
        self.randomization = None
        self.localization: dict[str, float] = {}
        self.chart, self.similarity = CurveChart(), SimilarityChart()
        self.curve_figure, self.lines = self.chart.figure, self.chart.lines
        self.similarity_figure, self.similarity_line = self.similarity.figure, self.similarity.line
        self.strip = RandomizationStrip()
        self.auc_label = widgets.HTML().add_class("iw-check-auc")
        self.localization_label = widgets.HTML().add_class("iw-check-localization")
        # bqplot figures are placed only once they can be seen: drawn inside a closed
        # section they get a negative size (errors in the browser's console).
        self.randomization_box = widgets.VBox()
        self.curve_box = widgets.HBox()
        legend = widgets.HTML(
            "<small><span style='color:#d62728'>deletion</span> · "
            "<span style='color:#1f77b4'>insertion</span>; solid: this map, dashed: a random "
            "map</small>"
        )
        self.labels_box = widgets.VBox([legend, self.auc_label, self.localization_label])
        self.children = [self._buttons(), self.curve_box, self.randomization_box, self.status]
        self.section = widgets.Accordion(children=[self], titles=("Check this map",))
        self.section.selected_index = None
        self.section.add_class("iw-check-section")
        self.section.observe(self._on_open, "selected_index")
        self.observe(self._on_busy_change, "busy")
        names = ["image_index", "target", panel.method_trait, "layer",
                 *panel.parameter_widgets]
        panel.observe(self._on_panel_change, [n for n in names if panel.has_trait(n)])

    def _buttons(self) -> RunControls:
        """The check buttons, Stop and the progress bar, in one row."""
        for name, description, tooltip, action in (
            ("deletion", "deletion", "deletion curve", lambda: self.run_curve("deletion")),
            ("insertion", "insertion", "insertion curve", lambda: self.run_curve("insertion")),
            ("randomize", "randomize the model",
             "cascading randomization of a copy of the model (Adebayo et al. 2018)",
             self.randomize),
            ("localize", "localization", "pointing game and relevance mass on the image's mask",
             self.localize),
        ):  # fmt: skip
            button = widgets.Button(
                description=description, tooltip=tooltip, layout=widgets.Layout(width="auto")
            ).add_class(f"iw-check-{name}")
            button.on_click(lambda _b, act=action: act())
            setattr(self, f"{name}_button", button)
        self.localize_button.layout.display = "none"  # until masks are known
        self.run = RunControls(
            ("Stop", "iw-check-stop"), stop_layout={"width": "auto"},
            progress=StepProgress(css="iw-check-progress", labelled=False, width="160px"),
            leading=self.check_buttons, layout=widgets.Layout(flex_flow="row wrap"),
        )  # fmt: skip
        self.run.on_stop(self.stop)
        self.stop_button, self.progress = self.run.stop_button, self.run.progress.bar
        return self.run

    @property
    def check_buttons(self) -> list[widgets.Button]:
        """The buttons that start a check (disabled while one runs)."""
        return [self.deletion_button, self.insertion_button, self.randomize_button,
                self.localize_button]  # fmt: skip

    @property
    def thumbnails(self) -> list[widgets.Image]:
        """The randomization strip's images, trained model first."""
        return self.strip.thumbnails

    def update(self) -> None:
        """Nothing to redraw on its own: every check runs from a button."""

    # -- the panel's map changed: results are for another map ------------------------------
    def _on_panel_change(self, change: dict[str, Any]) -> None:
        self.reset()

    def reset(self) -> None:
        """Stop what runs and forget the results (the panel shows another map now)."""
        self.run.request_stop()
        self.inputs_changed()
        self.curves, self.aucs, self.localization = {}, {}, {}
        self.randomization = None
        self.chart.clear()
        self.similarity.clear()
        self.strip.clear()
        self._show_localization_button()
        self.auc_label.value = self.localization_label.value = ""
        self.run.progress.reset()

    def _on_open(self, change: dict[str, Any]) -> None:
        if change["new"] == 0:
            self._place_curves()
        self._show_localization_button()

    def _place_curves(self) -> None:
        if not self.curve_box.children:
            self.curve_box.children = [self.curve_figure, self.labels_box]

    def _on_busy_change(self, change: dict[str, Any]) -> None:
        for button in self.check_buttons:
            button.disabled = change["new"]
        self.run.running(change["new"])
        self._show_localization_button()

    def _show_localization_button(self) -> None:
        selection = self.panel.selection
        has_masks = selection is not None and selection.masks is not None
        self.localize_button.layout.display = None if has_masks else "none"

    # -- deletion / insertion ----------------------------------------------------------------
    def stop(self) -> None:
        """Stop the running check after its current batch (what is drawn stays)."""
        self.run.request_stop()

    def run_curve(self, kind: str) -> None:
        """Compute the ``kind`` curve ("deletion" or "insertion") of the shown map, then of a
        random map, drawing both live, in the background."""
        if self.busy:
            return
        shown = None
        with self.capture(f"Reading the {kind} map"):
            shown = self.panel.shown_map()
        if shown is None:
            return
        self._place_curves()
        stop = self.run.arm()
        self.run.show(0, 2 * (CURVE_STEPS + 1))
        self.chart.clear(kind, f"random {kind}")
        message = f"{kind} curve of {shown.description}…"
        self.run_in_background(message, lambda: self._curves(shown, kind, stop), self._done)

    def _curves(self, shown: ShownMap, kind: str, stop: threading.Event) -> str:
        model = self.panel.selection.model
        maps = {kind: shown.values, f"random {kind}": random_map(shown.values.shape, self.seed)}
        fractions, total = np.arange(CURVE_STEPS + 1) / CURVE_STEPS, 2 * (CURVE_STEPS + 1)
        for offset, (name, values) in enumerate(maps.items()):
            steps = curve_progress(
                model, shown.batch, values[None], kind, shown.target, CURVE_STEPS
            )
            for update in steps:
                done = update.done
                self.chart.draw(name, fractions[:done], update.curve[0, :done].copy())
                self.run.show(offset * (CURVE_STEPS + 1) + done, total)
                if stop.is_set():
                    return f"{kind} stopped after {update.done} of {update.total} points"
            self.curves[name] = update.curve[0].copy()
            self.aucs[name] = float(curve_auc(update.curve)[0])
            self._show_aucs()
        return f"{kind} curve of {shown.description} for '{self._class(shown)}'"

    def _show_aucs(self) -> None:
        rows = []
        for kind, better in (("deletion", "lower"), ("insertion", "higher")):
            if kind in self.aucs:
                random = self.aucs.get(f"random {kind}")
                beside = f" · random map {random:.3f}" if random is not None else ""
                rows.append(f"{kind} AUC <b>{self.aucs[kind]:.3f}</b>{beside} "
                            f"<small>({better} is better)</small>")
        self.auc_label.value = "<br>".join(rows)

    def _done(self, message: str) -> None:
        self.status.show(message, STATUS_OK)

    def _class(self, shown: ShownMap) -> str:
        return self.panel.selection.class_name(shown.target)

    # -- the randomization test ---------------------------------------------------------------
    def randomize(self) -> None:
        """Run the cascading randomization test of the panel's method in the background."""
        if self.busy:
            return
        shown = None
        with self.capture("Reading the map"):
            shown = self.panel.shown_map()
            function = self.panel.map_function()
        if shown is None:
            return
        stop = self.run.arm()
        self.strip.clear()
        self.similarity.clear()
        self.randomization_box.children = [self.strip, self.similarity_figure]
        message = f"randomizing a copy of the model for {shown.description}…"
        work = lambda: self._randomize(shown, function, stop)  # noqa: E731
        self.run_in_background(message, work, self._done)

    def _randomize(self, shown: ShownMap, function: Any, stop: threading.Event) -> str:
        model = self.panel.selection.model
        steps = randomization_progress(model, shown.batch, function, [shown.target], self.seed)
        for update in steps:
            self.run.show(update.done, update.total)
            if update.map is None:  # the update before the first map
                continue
            self.strip.add(update.map[0], update.layer, self.panel)
            similarity = update.result.similarity[0, : update.done]
            self.similarity.show(similarity)
            self.randomization = update.result
            if stop.is_set():
                return f"randomization stopped after {update.done} of {update.total} maps"
        return (f"randomization of {shown.description}: {update.total - 1} layers, "
                f"last similarity {similarity[-1]:.2f}")

    # -- localization -------------------------------------------------------------------------
    def localize(self) -> None:
        """Pointing game and relevance mass of the shown map on the image's mask."""
        with self.capture("Localization"):
            mask = self.panel.selection.current_mask()
            if mask is None:
                self.status.show("no masks: pass masks=... to the Dashboard", STATUS_ERROR)
                return
            shown = self.panel.shown_map()
            values, masks = shown.values[None], mask[None]
            self.localization = {
                "pointing_game": float(pointing_game(values, masks)[0]),
                "relevance_mass": float(relevance_mass(values, masks)[0]),
            }
            hit = "hit" if self.localization["pointing_game"] else "miss"
            self.localization_label.value = (
                f"pointing game: <b>{hit}</b> · relevance mass "
                f"<b>{self.localization['relevance_mass']:.3f}</b>"
            )
            self.status.show(f"localization of {shown.description} on the image's mask")
