"""What every attribution panel shares: state, the method table, caching, the update cycle.

A panel explains the selected image for the selected class with one of its methods. Its
traits are the state: the inputs (the shared selection, the method key, each method's
parameters) recompute the raw maps; the presentation (``cmap``, ``opacity``,
``normalization``) re-renders from the cached maps. A second map can show another class
or, for the same class, another of the panel's methods; maps are cached by (method, class).

A panel is configured by data, not by overriding hooks: :meth:`AttributionPanel.method_table`
gives ``{key: PanelMethod(label, compute, parameters)}`` and :attr:`parameter_controls`
the control of each parameter trait. The first call of a method on a model traces it
(seconds on a big model), so it runs in a worker thread while the status line says so;
later calls, and everything cached, run at once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import ipywidgets as widgets
import numpy as np
import traitlets

from .check_map import CheckMap
from .class_bars import ClassBars
from .common import STATUS_BUSY, STATUS_OK, hold_sync_all
from .panel_compare import PanelComparison
from .panel_maps import MapCache, MethodTable, PanelMethod, RawMap
from .panel_output import PanelOutputs
from .panel_view import MapRow, PanelControls, PresentationTraits, bind, panel_layout
from .selection import Selection, SelectionTraits
from .validators import check_one_of
from .view import View


class AttributionPanel(
    PanelOutputs, PanelComparison, SelectionTraits, PresentationTraits, View
):
    """Base of the panels that explain one image for one class.

    Parameters
    ----------
    model : keras.Model
        The classifier to explain (never modified); may be omitted with ``selection``.
    images : array (N, H, W, C)
        Inputs as the model takes them; a single image is accepted too.
    class_names : sequence of str, optional
        One name per class; ``"class k"`` when omitted.
    selection : Selection, optional
        A selection shared with other views (the Dashboard's); by default the panel makes
        its own from ``model``, ``images`` and ``class_names``.
    image_index, target : int, optional
        Initial image and class; the class defaults to the image's predicted class.
    top_k : int
        Bars shown in the class chart.
    size : int
        Display width of each map in pixels.
    image_selector : bool
        Show an image slider (the Dashboard hides it and shows its own).

    Notes
    -----
    ``compare`` shows a second map: of the class ``compare_target`` (``compare_mode =
    "class"``) or, for the same class, of the method ``compare_method``.
    """

    #: The family of the panel's methods, before a method's label in descriptions.
    family: ClassVar[str] = ""
    #: The trait that holds the panel's own method key.
    method_trait: ClassVar[str] = "method"
    #: Control factory of each parameter trait; a control shows while a shown map uses it.
    parameter_controls: ClassVar[dict[str, Callable[[], widgets.ValueWidget]]] = {}

    def __init__(
        self,
        model: Any = None,
        images: object = None,
        class_names: Sequence[str] | None = None,
        *,
        selection: Selection | None = None,
        image_index: int = 0,
        target: int | None = None,
        top_k: int = 5,
        size: int = 224,
        image_selector: bool = True,
        active: bool = True,
        **traits: Any,
    ) -> None:
        super().__init__(active=active)
        self.add_class("iw-panel")
        self.selection: Selection | None = None
        self.cache = self.make_cache()
        self.methods = MethodTable(self.method_table(), self.family)
        with self.capture(f"Setting up {type(self).__name__}"):
            selection = selection or Selection(model, images, class_names, owner=self.owner)
        self._build(selection.class_names if selection else [], top_k, size)
        if selection is not None:
            self._attach(selection, image_selector)
        with self.hold_updates():
            for name, value in traits.items():
                setattr(self, name, value)
            if self.selection is not None and self.selection.has_images:
                self.image_index = int(image_index)
                if target is not None:
                    self.target = int(target)
                self.ready = True
                self._pick_compare_target()
        self._show_compare_controls()

    def _build(self, class_names: list[str], top_k: int, size: int) -> None:
        """The controls, map rows, parameter controls, class chart and check section."""
        self.controls = PanelControls(self, self.methods.choices())
        self.controls.offer_compare_methods(self.current_method)
        bind(self.controls.compare_method_dropdown, self, "compare_method")
        self.main, self.second = MapRow(size), MapRow(size, "-compare")
        self.parameter_widgets = {n: make() for n, make in self.parameter_controls.items()}
        for name, control in self.parameter_widgets.items():
            bind(control, self, name)
        if self.parameter_widgets:  # (an empty list would observe every trait)
            self.observe(self._on_parameter_change, list(self.parameter_widgets))
        self.observe(self._on_method_change, self.method_trait)
        self.class_bars = ClassBars(class_names, top_k=top_k)
        children, self.compare_row = panel_layout(
            self.class_bars.figure,
            self.controls,
            self.main,
            self.second,
            self.method_controls(),
            self.status,
        )
        self.check = CheckMap(self)
        self.children = (*children[:-1], self.check.section, children[-1])

    @property
    def owner(self) -> str:
        """The panel's name in messages."""
        return type(self).__name__

    def _attach(self, selection: Selection, image_selector: bool) -> None:
        """Join the class chart, the controls and the panel's traits to ``selection``."""
        self.selection = selection
        traitlets.link((self.class_bars, "target"), (self, "target"))
        names = selection.class_names
        self.controls.compare_dropdown.options = [(n, i) for i, n in enumerate(names)]
        bind(self.controls.compare_dropdown, self, "compare_target")
        slider = self.controls.image_slider
        slider.max = max(0, len(selection.images) - 1)
        slider.layout.display = None if image_selector and len(selection.images) > 1 else "none"
        selection.attach(self, react=self._on_selection_change)
        traitlets.link((self, "image_index"), (slider, "value"))

    # -- configuration by data -------------------------------------------------------------
    def make_cache(self) -> MapCache:
        """The panel's map cache, by (method, class) (a panel may key it by more)."""
        return MapCache()

    def method_table(self) -> dict[str, PanelMethod]:
        """The panel's methods by key (each panel gives its table)."""
        raise NotImplementedError

    def method_controls(self) -> list[widgets.Widget]:
        """The method's controls in display order: the parameter controls by default."""
        return list(self.parameter_widgets.values())

    def method_selector(
        self, css: str, width: str, description: str = "method"
    ) -> widgets.Dropdown:
        """A dropdown of the method table's labels, linked to the panel's method trait."""
        dropdown = widgets.Dropdown(
            options=[(label, key) for key, label in self.methods.choices().items()],
            description=description,
            layout=widgets.Layout(width=width),
        ).add_class(css)
        traitlets.link((dropdown, "value"), (self, self.method_trait))
        return dropdown

    @property
    def images(self) -> np.ndarray:
        """The images of the selection."""
        return self.selection.images if self.selection else np.zeros((0, 1, 1, 3), np.float32)

    @property
    def class_names(self) -> list[str]:
        """The class names of the selection."""
        return self.selection.class_names if self.selection else []

    @property
    def current_method(self) -> str:
        """The key of the panel's own method."""
        return getattr(self, self.method_trait)

    @property
    def method_label(self) -> str:
        """The label of the panel's own method."""
        return self.methods[self.current_method].label

    # -- validation: one policy, TraitError (shown in the status line by View) ---------------
    def check_method(self, value: str, what: str) -> str:
        """``value`` if it is a key of the method table."""
        return check_one_of(what, value, tuple(self.methods))

    # -- observers: inputs recompute, presentation re-renders ------------------------------
    def _on_selection_change(self, change: dict[str, Any]) -> None:
        """A change of the shared selection (held: the panel updates once afterwards)."""
        if change["name"] == "image_index":
            self._forget(lambda method: True)
            if self.compare and self.compare_mode == "class":
                self.compare_target = self.selection.runner_up(self.target)
        elif change["name"] in self.parameter_widgets or change["name"] == "layer":
            self._on_parameter_change(change)
        self.request_update()

    @traitlets.observe("cmap", "opacity", "normalization", "compare_target")
    def _on_cmap_change(self, change: dict[str, Any]) -> None:
        self.request_update()

    def _on_parameter_change(self, change: dict[str, Any]) -> None:
        """A parameter changed: forget the maps that used it, recompute if one is shown."""
        name = change["name"]
        self._forget(lambda method: name in self.methods[method].parameters)
        if any(name in self.methods[method].parameters for method, _ in self.views()):
            self.request_update()

    def _forget(self, uses: Callable[[str], bool]) -> None:
        self.inputs_changed()
        self.cache.forget(uses)

    # -- what is shown ----------------------------------------------------------------------
    def parameters(self, method: str | None = None) -> dict[str, Any]:
        """The parameter values that ``method`` (default: the panel's) takes."""
        entry = self.methods[method or self.current_method]
        return {name: getattr(self, name) for name in entry.parameters}

    def describe(self, method: str | None = None) -> str:
        """The method (default: the panel's own) and its parameters in a few words."""
        method = method or self.current_method
        return self.methods.describe(method, self.parameters(method))

    def compute(self, target: int, method: str | None = None) -> RawMap:
        """The raw map of the selected image for class ``target`` with ``method``."""
        method = method or self.current_method
        batch, model = self.selection.current_batch(), self.selection.model
        return self.methods.compute(method, model, batch, target, self.parameters(method))

    # -- the update cycle --------------------------------------------------------------------
    def update(self) -> None:
        with self.capture(self.method_label):
            self.class_bars.update(self.selection.probabilities(), self.target)
            missing = self.cache.missing(self.views())
            model = self.selection.model
            if any(not self.methods.is_warm(m, model, self.parameters(m)) for m, _ in missing):
                message = (
                    f"preparing {self.describe(missing[0][0])} for {self.selection.adapter.name} "
                    "(first use traces the model)…"
                )
                work = functools.partial(self._compute_maps, missing, quiet=True)
                self.run_in_background(message, work, self._store_and_update, self._clear)
                return
            started = time.perf_counter()
            self.cache.store(self._compute_maps(missing), self.views())
            self._render()
            name = self.selection.class_name(self.target)
            if missing:
                seconds = time.perf_counter() - started
                self.status.show(f"{self.describe()} of '{name}' in {seconds * 1000:.0f} ms")
            elif self.status.state != STATUS_OK:
                self.status.show(f"{self.describe()} of '{name}'")
            return
        self._clear()  # the capture swallowed an error: no stale maps

    def _clear(self) -> None:
        self.main.clear()
        self.second.clear()

    def _compute_maps(self, keys: list[tuple[str, int]], quiet: bool = False) -> dict:
        maps = {}
        for method, target in keys:
            if not quiet:
                name = self.selection.class_name(target)
                self.status.show(f"Computing {self.describe(method)} for '{name}'…", STATUS_BUSY)
            maps[(method, target)] = self.compute(target, method)
        return maps

    def _store_and_update(self, maps: dict) -> None:
        self.cache.store(maps, self.views())
        self.request_update()

    def _render(self) -> None:
        """Draw the cached maps with the current presentation: one synced update per widget."""
        image = self.selection.current_image()
        rows = list(zip(self.views(), (self.main, self.second), strict=False))
        outputs = [w for _, row in rows for w in row.widgets()]
        with hold_sync_all(*outputs):
            for (method, target), row in rows:
                raw = self.cache[(method, target)]
                row.show(image, raw.values, raw.note, self._class_html(target, method), self)

    def _class_html(self, target: int, method: str) -> str:
        probability = self.selection.probabilities()[target]
        predicted = self.selection.predicted()
        names = self.class_names
        tag = "predicted" if target == predicted else f"predicted: {names[predicted]}"
        comparing = self.compare and self.compare_mode == "method"
        heading = self.describe(method) if comparing else self.family or self.method_label
        return f"{heading} for class <b>{names[target]}</b> (p = {probability:.3f}; {tag})"
