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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import numpy as np
import traitlets

from .. import methods
from ..methods.ablation import IMPORTANCE_METHODS
from ..model import softmax
from ..render import overlay
from ..render.figures import attribution_figure
from .ablation_pruning import PruningSection
from .components.knockout_comparison import KnockoutComparison
from .components.knockout_grid import KnockoutGrid
from .layer_choice import LayerChoice
from .panel_view import bind
from .selection import Selection, SelectionTraits
from .validators import check_within, one_of
from .view import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class AblationPanel(PruningSection, SelectionTraits, View):
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
        with self.capture("Reading the model and images"):
            selection = selection or Selection(model, images, class_names, owner="AblationPanel")
        self.layers = LayerChoice(selection.adapter if selection is not None else None)
        self._build(selection)
        if selection is not None:
            self.selection = selection
            self.model = selection.model
            selection.attach(self, react=self._on_selection_change)
            self.ready = selection.has_images

    # -- widgets ---------------------------------------------------------------------------
    def _build(self, selection: Selection | None) -> None:
        self.layer_dropdown = widgets.Dropdown(
            options=self.layers.names, description="layer"
        ).add_class("iw-ablation-layer")
        self.method_buttons = widgets.ToggleButtons(
            options=list(IMPORTANCE_METHODS), description="rank by",
            style={"button_width": "80px"},
        ).add_class("iw-ablation-method")  # fmt: skip
        self.grid = KnockoutGrid(top_k=16)
        self.grid.add_class("iw-knockout-grid")
        self.comparison = KnockoutComparison(selection.class_names if selection else [])
        self.bars_before, self.bars_after = self.comparison.bars
        self.cam_before, self.cam_after = self.comparison.cam_before, self.comparison.cam_after
        for control, name in ((self.layer_dropdown, "layer"), (self.method_buttons, "method")):
            bind(control, self, name)
        traitlets.link((self.grid, "knocked"), (self, "knocked_out"))
        for bars in self.comparison.bars:
            traitlets.link((bars, "target"), (self, "target"))
        self._build_pruning()
        self.children = [
            widgets.HBox([self.layer_dropdown, self.method_buttons]),
            self._knockout_buttons(),
            widgets.HBox(
                [self.grid, self.comparison], layout=widgets.Layout(flex_flow="row wrap")
            ),
            widgets.HTML("<b>Pruning</b>: accuracy as filters are zeroed, per criterion"),
            self.pruning_controls,
            self.chart,
            self.status,
        ]

    def _knockout_buttons(self) -> widgets.HBox:
        """k, "knock out top-k", "keep only top-k" and "reset"."""
        self.k_input = widgets.BoundedIntText(
            4, min=1, max=4096, description="k", layout=widgets.Layout(width="130px")
        ).add_class("iw-ablation-k")
        bind(self.k_input, self, "k")
        buttons = [self.k_input]
        for name, description, css, action in (
            ("knock_top_button", "knock out top-k", "iw-knock-top", self.knock_out_top),
            ("keep_top_button", "keep only top-k", "iw-keep-top", self.keep_only_top),
            ("reset_button", "reset", "iw-ablation-reset", self.reset),
        ):
            button = widgets.Button(description=description).add_class(css)
            button.on_click(lambda _b, act=action: act())
            setattr(self, name, button)
            buttons.append(button)
        return widgets.HBox(buttons)

    # -- validation ------------------------------------------------------------------------
    @traitlets.validate("layer")
    def _valid_layer(self, proposal: dict[str, Any]) -> str:
        if self.selection is None:
            return proposal["value"]
        return self.layers.check(proposal["value"])

    @traitlets.validate("knocked_out")
    def _valid_knocked_out(self, proposal: dict[str, Any]) -> list[int]:
        value = [int(c) for c in proposal["value"]]
        for channel in value:
            self.layers.check_channel(self.layer, channel)
        if len(set(value)) != len(value):
            raise traitlets.TraitError(f"knocked_out lists a channel twice: {value}")
        return value

    @traitlets.validate("k")
    def _valid_k(self, proposal: dict[str, Any]) -> int:
        return check_within("k", proposal["value"], 1, self.channel_count or proposal["value"])

    _valid_method = one_of("method", IMPORTANCE_METHODS)

    @property
    def channel_count(self) -> int:
        """Channels of the selected layer (0 before there is a model)."""
        return self.layers.channel_count(self.layer)

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
        self.comparison.show_before(x[0], cam, selection.probabilities(), target)

    def _ablate(self, x: np.ndarray) -> None:
        """Scores and Grad-CAM with :attr:`knocked_out` ablated, drawn beside the original."""
        knocked = list(self.knocked_out)
        scores = methods.ablate(self.model, x, self.layer, knocked)[0]
        cam = methods.ablated_grad_cam(self.model, x, self.layer, knocked, self.target)[0]
        probabilities = softmax(scores)
        self.result.update(scores=scores, probabilities=probabilities, cam=cam)
        before, name = self.result["probabilities_before"][self.target], self.selection.class_name()
        caption = (
            f"<b>original</b><br>p({name}) {before:.2f}",
            f"<b>{len(knocked)} channel(s) knocked out</b><br>"
            f"p({name}) {before:.2f} → {probabilities[self.target]:.2f}",
        )
        self.comparison.show_after(x[0], cam, probabilities, self.target, caption)
        self.status.show(
            f"layer {self.layer}: click a tile to knock its channel out; sorted by {self.method}"
        )

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


def _unit(values: np.ndarray) -> np.ndarray:
    """``values`` scaled to [0, 1] (an all-zero map stays zero)."""
    peak = float(np.max(values)) if values.size else 0.0
    return values / peak if peak > 0 else values

