"""The Dashboard: every view of one model around one shared selection.

The Dashboard owns one :class:`~.selection.Selection` (image, class, layer) and hands it to
every panel, which links its traits of the same names to it with ``traitlets.link``: pick
an image once, click a class in any panel's bar chart, and every panel follows. Panels are
built when their tab is first shown; a panel whose tab is hidden only notes what changed and
catches up when shown. A panel's first computation on a model (the tracing of its probes)
runs in a worker thread, so opening a tab on a big model leaves the notebook free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from .common import STATUS_ERROR, STATUS_OK, hold_sync_all, image_widget, set_png
from .panel_view import PIXELATED_CSS
from .selection import Selection, SelectionTraits, check_masks, prepare_images
from .view import View

TABS = (
    "Activations",
    "Grad-CAM",
    "LRP",
    "Gradients",
    "SHAP · LIME · Occlusion",
    "Filters",
    "Ablation",
    "Leaderboard",
)


class Dashboard(SelectionTraits, View):
    """All interpretability views of ``model`` on ``images`` in tabs, sharing one selection.

    Parameters
    ----------
    model : keras.Model
        The image classifier to explore (never modified).
    images : array (N, H, W, C)
        Inputs as the model takes them.
    class_names : sequence of str, optional
        One name per class (``"class k"`` when omitted).
    image_index : int
        The image selected at first.
    tab : str
        The tab shown at first (one of :data:`TABS`); only it is built at once.
    labels : sequence of int, optional
        The true class of each image, shown beside the prediction.
    masks : array (N, H, W) of bool, optional
        Ground-truth object masks of the images; the panels' "Check this map" section then
        scores a map's localization (pointing game, relevance mass).

    Traits ``image_index``, ``target`` (class index), ``layer`` and ``follow_prediction``
    are linked to :attr:`selection`, the selection every panel shares.
    """

    layer = traitlets.Unicode("")

    def __init__(
        self,
        model: Any,
        images: np.ndarray,
        class_names: Sequence[str] | None = None,
        *,
        image_index: int = 0,
        tab: str = TABS[0],
        labels: Sequence[int] | None = None,
        masks: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.add_class("iw-dashboard")
        self.model = model
        self.selection: Selection | None = None
        self.panels: dict[str, widgets.Widget] = {}
        self._labels = None if labels is None else [int(v) for v in labels]
        self.title = widgets.HTML().add_class("iw-dashboard-title")
        self.image_slider = widgets.IntSlider(
            0, min=0, max=0, description="image", continuous_update=False
        ).add_class("iw-image-slider")
        self.thumbnail = image_widget(96).add_class("iw-thumbnail")
        self.description = widgets.HTML().add_class("iw-selection")
        self._pages = [widgets.VBox([_placeholder(name)]) for name in TABS]
        self.tabs = widgets.Tab(children=self._pages, titles=TABS).add_class("iw-tabs")
        header = widgets.HBox(
            [self.thumbnail, widgets.VBox([self.title, self.image_slider, self.description])],
            layout=widgets.Layout(align_items="center"),
        )
        self.children = [widgets.HTML(PIXELATED_CSS), header, self.tabs, self.status]
        with self.capture("Reading the model and images"):
            self.selection = Selection(model, None, class_names, owner="Dashboard")
            self.selection.attach(self, react=self._on_selection_change)
            traitlets.link((self, "image_index"), (self.image_slider, "value"))
            self._use_images(images, masks)
            self.image_index = int(image_index)
        self.tabs.observe(self._on_tab_change, "selected_index")
        if tab not in TABS:
            self.status.show(f"unknown tab {tab!r}; the tabs are {', '.join(TABS)}", STATUS_ERROR)
            tab = TABS[0]
        if self.tabs.selected_index == TABS.index(tab):
            self._show(TABS.index(tab))
        else:
            self.tabs.selected_index = TABS.index(tab)

    def set_images(
        self,
        images: np.ndarray,
        labels: Sequence[int] | None = None,
        masks: np.ndarray | None = None,
    ) -> None:
        """Explore ``images`` (and their ``masks``) from now on, checked as the constructor
        checks them.

        The panels built so far are closed and are built again, for the new images, when
        their tab is shown; the first image and its predicted class are selected. Rejected
        images leave the Dashboard as it was, with the reason in the status line; a
        Dashboard whose first images were rejected becomes usable this way.
        """
        if self.selection is None:
            self.status.show("the model is not usable here: build a new Dashboard", STATUS_ERROR)
            return
        with self.capture("Reading the images"):
            self._use_images(images, masks)
            self._labels = None if labels is None else [int(v) for v in labels]
            self.status.show("")
            self.request_update()
            self._show(self.tabs.selected_index)

    def _use_images(self, images: np.ndarray, masks: np.ndarray | None = None) -> None:
        """Check ``images`` and ``masks`` (raises, leaving everything as it was), then select
        from them."""
        checked = prepare_images(self.selection.adapter, images, "Dashboard")
        check_masks(masks, checked, "Dashboard")
        self._close_panels()
        self.ready = False
        self.image_slider.max = len(checked) - 1
        self.selection.set_images(checked, masks)
        self.ready = True

    def _close_panels(self) -> None:
        """Detach and close every panel built so far; their tabs show the placeholder."""
        for name, panel in self.panels.items():
            stop = getattr(panel, "stop", None)  # a running feature visualization
            if callable(stop):
                stop()
            self.selection.detach(panel)
            panel.close()
            self._pages[TABS.index(name)].children = [_placeholder(name)]
        self.panels = {}

    # -- panels ------------------------------------------------------------------------------
    def _factories(self) -> dict[str, Callable[[], widgets.Widget]]:
        from .ablation_panel import AblationPanel
        from .activation_explorer import ActivationExplorer
        from .filter_visualizer import FilterVisualizer
        from .leaderboard import Leaderboard
        from .panels import GradCAMPanel, GradientPanel, LRPPanel
        from .perturbation_panel import PerturbationPanel

        selection = self.selection
        shared = {"selection": selection, "image_selector": False}
        return {
            "Activations": lambda: ActivationExplorer(selection=selection),
            "Grad-CAM": lambda: GradCAMPanel(**shared),
            "LRP": lambda: LRPPanel(**shared),
            "Gradients": lambda: GradientPanel(**shared),
            "SHAP · LIME · Occlusion": lambda: PerturbationPanel(**shared),
            "Filters": lambda: FilterVisualizer(selection=selection),
            "Ablation": lambda: AblationPanel(selection=selection, labels=self._labels),
            "Leaderboard": lambda: Leaderboard(selection),
        }

    def _build(self, name: str) -> None:
        """Create the panel of tab ``name`` on the Dashboard's one selection."""
        with self.capture(f"Opening {name}"):
            panel = self._factories()[name]()
            self.panels[name] = panel
            self._pages[TABS.index(name)].children = [panel]

    def _show(self, index: int | None) -> None:
        if index is None or not self.ready:
            return
        name = TABS[index]
        if name not in self.panels:
            self._build(name)
        for other, panel in self.panels.items():
            if panel.has_trait("active"):
                panel.active = other == name

    def show(self, name: str) -> widgets.Widget:
        """Select tab ``name`` (building its panel on first use) and return the panel.

        The panel's first computation may still run in the background: :meth:`wait`.

        Raises
        ------
        ValueError
            If ``name`` is not one of :data:`TABS`.
        KeyError
            If the panel could not be built (the status line says why).
        """
        if name not in TABS:
            raise ValueError(f"unknown tab {name!r}; the tabs are {', '.join(TABS)}")
        self.tabs.selected_index = TABS.index(name)
        return self.panels[name]

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until every panel's background work is done; False on timeout."""
        done = super().wait(timeout)
        for panel in list(self.panels.values()):
            wait = getattr(panel, "wait", None)
            done = (wait(timeout) if callable(wait) else True) and done
        return done

    def _on_tab_change(self, change: dict[str, Any]) -> None:
        self._show(change["new"])

    # -- the header --------------------------------------------------------------------------
    def _on_selection_change(self, change: dict[str, Any]) -> None:
        self.request_update()

    def update(self) -> None:
        """Draw the header: thumbnail, prediction, the class explained."""
        selection = self.selection
        index, names = selection.image_index, selection.class_names
        probs, predicted = selection.probabilities(), selection.predicted()
        with hold_sync_all(self.thumbnail, self.description, self.title):
            self.title.value = (
                f"<b>{selection.adapter.name}</b> · {len(selection.images)} images · "
                f"{len(names)} classes"
            )
            set_png(self.thumbnail, selection.current_image())
            truth = ""
            if self._labels is not None and index < len(self._labels):
                truth = f"label <b>{names[self._labels[index]]}</b> · "
            self.description.value = truth + (
                f"predicted <b>{names[predicted]}</b> (p = {probs[predicted]:.2f})"
                f" · explaining <b>{names[selection.target]}</b>"
                f" (p = {probs[selection.target]:.2f})"
            )
        if self.status.state == STATUS_OK:
            self.status.show(
                f"image {index}: click a class in any bar chart; every tab follows the selection"
            )


def _placeholder(name: str) -> widgets.HTML:
    return widgets.HTML(f"<i>{name} opens when its tab is shown.</i>")
