"""The Dashboard: every view of one model around one shared selection.

The selection is three traits of the Dashboard, ``image_index``, ``target`` and ``layer``,
joined to the same traits of each panel with ``traitlets.link``: pick an image once, click a
class in any panel's bar chart, and every panel follows. Panels are built when their tab is
first shown, and a panel whose tab is hidden only notes what changed and catches up when
it is shown again, so the Dashboard opens fast and a slider move costs one panel's work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ipywidgets as widgets
import keras
import numpy as np
import traitlets

from ..model import get_adapter
from .attribution import prepare_images, resolve_class_names
from .class_bars import softmax
from .common import STATUS_ERROR, STATUS_OK, StatusLine, hold_sync_all, image_widget, set_png
from .panel_view import PIXELATED_CSS

TABS = ("Activations", "Grad-CAM", "LRP", "Gradients", "Filters")
_SHARED = ("image_index", "target", "layer")


class Dashboard(widgets.VBox):
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

    Traits ``image_index``, ``target`` (class index) and ``layer`` (a layer with a 4-D
    output) are the shared selection. With ``follow_prediction`` (the default) a new image
    selects its predicted class.
    """

    image_index = traitlets.Int(0)
    target = traitlets.Int(-1)
    layer = traitlets.Unicode("")
    follow_prediction = traitlets.Bool(True)

    def __init__(
        self,
        model: keras.Model,
        images: np.ndarray,
        class_names: Sequence[str] | None = None,
        *,
        image_index: int = 0,
        tab: str = TABS[0],
        labels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.add_class("iw-dashboard")
        self.model = model
        self.adapter: Any = None
        self.images: np.ndarray | None = None
        self.class_names: list[str] = []
        self.panels: dict[str, widgets.Widget] = {}
        self.links: list[traitlets.link] = []
        self._probs: dict[int, np.ndarray] = {}
        self._labels = None if labels is None else [int(v) for v in labels]
        self._ready = False
        self.status = StatusLine()
        self.title = widgets.HTML().add_class("iw-dashboard-title")
        self.image_slider = widgets.IntSlider(
            0, min=0, max=0, description="image", continuous_update=False
        ).add_class("iw-image-slider")
        self.thumbnail = image_widget(96).add_class("iw-thumbnail")
        self.selection = widgets.HTML().add_class("iw-selection")
        self._pages = [widgets.VBox([_placeholder(name)]) for name in TABS]
        self.tabs = widgets.Tab(children=self._pages, titles=TABS).add_class("iw-tabs")
        with self.status.capture("Reading the model and images"):
            adapter = get_adapter(model)
            self.class_names = resolve_class_names(class_names, adapter.num_classes)
            spatial = [e for e in adapter.spatial_layers() if e.kind != "model"]
            self.layer = adapter.name_of(spatial[-1]) if spatial else ""
            self.adapter = adapter
            self.images = prepare_images(adapter, images, "Dashboard")
            self.image_slider.max = len(self.images) - 1
            self._ready = True
            self.image_index = int(image_index)
            self.target = self._predicted(self.image_index)
        traitlets.link((self.image_slider, "value"), (self, "image_index"))
        header = widgets.HBox(
            [
                self.thumbnail,
                widgets.VBox([self.title, self.image_slider, self.selection]),
            ],
            layout=widgets.Layout(align_items="center"),
        )
        self.children = [widgets.HTML(PIXELATED_CSS), header, self.tabs, self.status]
        self._render_header()
        self.tabs.observe(self._on_tab_change, "selected_index")
        if tab not in TABS:
            self.status.show(f"unknown tab {tab!r}; the tabs are {', '.join(TABS)}", "error")
            tab = TABS[0]
        if self.tabs.selected_index == TABS.index(tab):
            self._show(TABS.index(tab))
        else:
            self.tabs.selected_index = TABS.index(tab)

    def set_images(self, images: np.ndarray, labels: Sequence[int] | None = None) -> None:
        """Explore ``images`` from now on, checked as the constructor checks them.

        The panels built so far are closed and are built again, for the new images, when
        their tab is shown; the first image and its predicted class are selected. Rejected
        images leave the Dashboard as it was, with the reason in the status line; a
        Dashboard whose first images were rejected becomes usable this way.
        """
        if self.adapter is None:
            self.status.show("the model is not usable here: build a new Dashboard", STATUS_ERROR)
            return
        with self.status.capture("Reading the images"):
            checked = prepare_images(self.adapter, images, "Dashboard")
            self._close_panels()
            self._ready = False
            self.images, self._probs = checked, {}
            self._labels = None if labels is None else [int(v) for v in labels]
            self.image_slider.max = len(checked) - 1
            self.image_index = 0
            self._ready = True
            self.target = self._predicted(0)
            self.status.show("")
            self._render_header()
            self._show(self.tabs.selected_index)

    def _close_panels(self) -> None:
        """Unlink and close every panel built so far; their tabs show the placeholder."""
        for link in self.links:
            link.unlink()
        self.links = []
        for name, panel in self.panels.items():
            stop = getattr(panel, "stop", None)  # a running feature visualization
            if callable(stop):
                stop()
            panel.close()
            self._pages[TABS.index(name)].children = [_placeholder(name)]
        self.panels = {}

    # -- panels ------------------------------------------------------------------------
    def _factories(self) -> dict[str, Callable[[], widgets.Widget]]:
        from .activation_explorer import ActivationExplorer
        from .panels import GradCAMPanel, GradientPanel, LRPPanel

        common = {
            "image_index": self.image_index,
            "target": self.target if self.target >= 0 else None,
            "image_selector": False,
        }

        def filters() -> widgets.Widget:
            from .filter_visualizer import FilterVisualizer

            return FilterVisualizer(self.model, layer=self.layer or None)

        return {
            "Activations": lambda: ActivationExplorer(
                self.model, self.images, self.class_names, layer=self.layer or None
            ),
            "Grad-CAM": lambda: GradCAMPanel(
                self.model, self.images, self.class_names, layer=self.layer, **common
            ),
            "LRP": lambda: LRPPanel(self.model, self.images, self.class_names, **common),
            "Gradients": lambda: GradientPanel(self.model, self.images, self.class_names, **common),
            "Filters": filters,
        }

    def _build(self, name: str) -> None:
        """Create the panel of tab ``name`` and join it to the shared selection."""
        with self.status.capture(f"Opening {name}"):
            panel = self._factories()[name]()
            for trait in _SHARED:
                if panel.has_trait(trait) and (trait != "layer" or self.layer):
                    self.links.append(traitlets.link((self, trait), (panel, trait)))
            self.panels[name] = panel
            self._pages[TABS.index(name)].children = [panel]

    def _show(self, index: int | None) -> None:
        if index is None or not self._ready:
            return
        name = TABS[index]
        if name not in self.panels:
            self._build(name)
        for other, panel in self.panels.items():
            if panel.has_trait("active"):
                panel.active = other == name

    def show(self, name: str) -> widgets.Widget:
        """Select tab ``name`` (building its panel on first use) and return the panel.

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

    def _on_tab_change(self, change: dict[str, Any]) -> None:
        self._show(change["new"])

    @contextlib.contextmanager
    def _holding_panels(self) -> Iterator[None]:
        """Let every panel that can defer its work do it once, after the block."""
        with contextlib.ExitStack() as stack:
            for panel in self.panels.values():
                hold = getattr(panel, "hold_updates", None)
                if hold is not None:
                    stack.enter_context(hold())
            yield

    # -- the shared selection ---------------------------------------------------------
    @traitlets.validate("image_index")
    def _valid_image_index(self, proposal: dict[str, Any]) -> int:
        count = 0 if self.images is None else len(self.images)
        if self._ready and not 0 <= proposal["value"] < count:
            raise traitlets.TraitError(
                f"image_index {proposal['value']} is out of range: {count} images (0..{count - 1})"
            )
        return proposal["value"]

    @traitlets.validate("target")
    def _valid_target(self, proposal: dict[str, Any]) -> int:
        count = len(self.class_names)
        if self._ready and not 0 <= proposal["value"] < count:
            raise traitlets.TraitError(
                f"target class {proposal['value']} is out of range: the model has {count} "
                f"classes (0..{count - 1})"
            )
        return proposal["value"]

    @traitlets.observe("image_index")
    def _on_image_index_change(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        # A new image and its predicted class reach each panel together: one computation.
        with self._holding_panels():
            for panel in self.panels.values():
                if panel.has_trait("image_index"):
                    panel.image_index = change["new"]
            if self.follow_prediction:
                self.target = self._predicted(change["new"])
        self._render_header()

    @traitlets.observe("target")
    def _on_target_change(self, change: dict[str, Any]) -> None:
        if self._ready:
            self._render_header()

    def _probabilities(self, index: int) -> np.ndarray:
        if index not in self._probs:
            self._probs[index] = softmax(self.adapter.logits(self.images[index : index + 1])[0])
        return self._probs[index]

    def _predicted(self, index: int) -> int:
        return int(np.argmax(self._probabilities(index)))

    def _render_header(self) -> None:
        if not self._ready:
            return
        index = self.image_index
        probs = self._probabilities(index)
        predicted = self._predicted(index)
        with hold_sync_all(self.thumbnail, self.selection, self.title):
            self.title.value = (
                f"<b>{self.model.name}</b> · {len(self.images)} images · "
                f"{len(self.class_names)} classes"
            )
            set_png(self.thumbnail, self.images[index])
            truth = ""
            if self._labels is not None and index < len(self._labels):
                truth = f"label <b>{self.class_names[self._labels[index]]}</b> · "
            self.selection.value = truth + (
                f"predicted <b>{self.class_names[predicted]}</b> (p = {probs[predicted]:.2f})"
                f" · explaining <b>{self.class_names[self.target]}</b>"
                f" (p = {probs[self.target]:.2f})"
            )
        if self.status.state == STATUS_OK:
            self.status.show(
                f"image {index}: click a class in any bar chart; every tab follows the selection"
            )


def _placeholder(name: str) -> widgets.HTML:
    return widgets.HTML(f"<i>{name} opens when its tab is shown.</i>")
