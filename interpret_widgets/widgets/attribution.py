"""The machinery every attribution panel shares: state, caching, rendering, error capture.

A panel explains one image of a batch for one class. Its traits are the state: the inputs
(``image_index``, ``target`` and each panel's own method parameters) trigger a recompute of
the raw map through the panel's :meth:`AttributionPanel.compute`; the presentation
(``cmap``, ``opacity``, ``normalization``) re-renders from the cached raw map without
recomputing. Every failure ends up in the status line, and the panel stays usable.

A second map can be shown beside the first: of another class, or of another of the panel's
methods (Grad-CAM++ beside Grad-CAM, say) for the same class. Raw maps are cached by
(method, class), so both come from the same :meth:`AttributionPanel.compute` and both
re-render from the cache when only the presentation changes.

The widgets and their layout come from :class:`~.panel_view.PanelView`. The concrete panels
(:mod:`interpret_widgets.widgets.panels`) add their method, its controls and a one-line
description; everything else lives here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, NamedTuple

import keras
import numpy as np
import traitlets
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..model import get_adapter
from ..render import NORMALIZATIONS, normalize, to_uint8_image
from .class_bars import ClassBars, generic_class_names, softmax
from .common import STATUS_BUSY, STATUS_OK, StatusLine, hold_sync_all, set_png
from .panel_view import PanelView

_CACHE_SIZE = 8

#: What the second map compares with: another class, or another method for the same class.
COMPARE_MODES = ("class", "method")


class RawMap(NamedTuple):
    """A panel's raw result for one class: the 2-D map and a short note shown under it."""

    values: np.ndarray
    note: str = ""


def prepare_images(adapter: Any, images: object, owner: str) -> np.ndarray:
    """``images`` as a validated float32 ``(N, H, W, C)`` batch for the adapter's model.

    A single image of the model's input shape gets its batch axis added (a widget is for
    people, not a contract test).

    Raises
    ------
    ValueError
        If the model is not an image model or the images do not fit it.
    """
    shape = adapter.input_shape
    if len(shape) != 4:
        raise ValueError(
            f"{owner} explains image models with (N, H, W, C) inputs; model {adapter.name!r} "
            f"has input shape {shape}"
        )
    try:
        array = np.asarray(images, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"images must be a numeric array, got {type(images).__name__}") from error
    single = array.ndim == 3 and all(
        e is None or e == s for e, s in zip(shape[1:], array.shape, strict=True)
    )
    if single:
        array = array[None]
    try:
        return adapter.check_input(array)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the images do not fit model {adapter.name!r}: {error}") from None


def resolve_class_names(class_names: Sequence[str] | None, count: int) -> list[str]:
    """The given class names checked against the model, or generic ones.

    Raises
    ------
    ValueError
        If the number of names differs from the model's number of classes.
    """
    if class_names is None:
        return generic_class_names(count)
    names = [str(n) for n in class_names]
    if len(names) != count:
        raise ValueError(f"class_names has {len(names)} names but the model has {count} classes")
    return names


class AttributionPanel(PanelView):
    """Base of the panels that explain one image for one class.

    Parameters
    ----------
    model : keras.Model
        The classifier to explain (never modified).
    images : array (N, H, W, C)
        Inputs as the model takes them; a single image is accepted too.
    class_names : sequence of str, optional
        One name per class; ``"class k"`` when omitted.
    image_index, target : int, optional
        Initial image and class; the class defaults to the image's predicted class.
    top_k : int
        Bars shown in the class chart.
    size : int
        Display width of each map in pixels.
    image_selector : bool
        Show an image slider (the Dashboard hides it and shares its own).
    active : bool
        A panel that is not active (a hidden tab) only remembers what changed and catches
        up when it becomes active.

    Notes
    -----
    ``compare`` shows a second map beside the first: of the class ``compare_target``
    (``compare_mode = "class"``) or, for the same class, of the method ``compare_method``,
    another key of :attr:`method_choices` (``compare_mode = "method"``).
    """

    method_label: ClassVar[str] = "Attribution"
    #: The panel's methods, key -> label, that ``compare_method`` can name (empty: none).
    method_choices: ClassVar[dict[str, str]] = {}
    #: The name of the trait that holds the panel's own method key ("" if it has none).
    _method_trait: ClassVar[str] = ""

    image_index = traitlets.Int(0)
    target = traitlets.Int(-1)
    cmap = traitlets.Unicode("jet")
    opacity = traitlets.Float(0.5)
    normalization = traitlets.Unicode("minmax")
    compare = traitlets.Bool(False)
    compare_mode = traitlets.Unicode("class")
    compare_target = traitlets.Int(-1)
    compare_method = traitlets.Unicode()
    follow_prediction = traitlets.Bool(True)
    active = traitlets.Bool(True)

    def __init__(
        self,
        model: keras.Model,
        images: np.ndarray,
        class_names: Sequence[str] | None = None,
        *,
        image_index: int = 0,
        target: int | None = None,
        top_k: int = 5,
        size: int = 224,
        image_selector: bool = True,
        active: bool = True,
        **traits: Any,
    ) -> None:
        super().__init__()
        self._ready = False
        self._hold = 0
        self._dirty = True
        self._cache: dict[tuple[str, int], RawMap] = {}
        self._probs: dict[int, np.ndarray] = {}
        self._size = int(size)
        self.model = model
        self.images = np.zeros((0, 1, 1, 3), dtype=np.float32)
        self.class_names: list[str] = []
        self.add_class("iw-panel")
        self.status = StatusLine()
        self._build_common_view(top_k)
        with self.status.capture(f"Setting up {type(self).__name__}"):
            self._setup_model(model, images, class_names, top_k)
            self._setup()
            self.class_bars.update(self._probabilities(0))
            self.image_slider.max = len(self.images) - 1
            self.image_slider.layout.display = (
                None if image_selector and len(self.images) > 1 else "none"
            )
            self._ready = True
        # The traits are set only once everything they refer to exists.
        with self.hold_updates():
            self.active = active
            for name, value in traits.items():
                setattr(self, name, value)
            if self._ready:
                self.image_index = int(image_index)
                self.target = self._predicted() if target is None else int(target)
                self._pick_compare_target()
                self._dirty = True
        self.children = self._layout()

    # -- set-up ---------------------------------------------------------------------------
    def _setup_model(
        self, model: keras.Model, images: object, class_names: Sequence[str] | None, top_k: int
    ) -> None:
        self.adapter = get_adapter(model)
        self.images = prepare_images(self.adapter, images, type(self).__name__)
        self.class_names = resolve_class_names(class_names, self.adapter.num_classes)
        self.class_bars = ClassBars(self.class_names, top_k=top_k)
        traitlets.link((self.class_bars, "target"), (self, "target"))
        self.compare_dropdown.options = [(n, i) for i, n in enumerate(self.class_names)]
        self._bind(self.compare_dropdown, "compare_target")

    def _setup(self) -> None:
        """Subclass hook: check the model for the method and fill the method's controls."""

    # -- validation -------------------------------------------------------------------
    def _check_index(self, value: int, what: str, count: int, allow_unset: bool) -> int:
        if allow_unset and value == -1:
            return value
        if self._ready and not 0 <= value < count:
            raise traitlets.TraitError(
                f"{what} {value} is out of range: there are {count} (0..{count - 1})"
            )
        return value

    @traitlets.validate("image_index")
    def _valid_image_index(self, proposal: dict[str, Any]) -> int:
        return self._check_index(proposal["value"], "image_index", len(self.images), False)

    @traitlets.validate("target")
    def _valid_target(self, proposal: dict[str, Any]) -> int:
        return self._check_index(proposal["value"], "target class", len(self.class_names), True)

    @traitlets.validate("compare_target")
    def _valid_compare_target(self, proposal: dict[str, Any]) -> int:
        return self._check_index(proposal["value"], "compare class", len(self.class_names), True)

    @traitlets.validate("compare_mode")
    def _valid_compare_mode(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in COMPARE_MODES:
            raise traitlets.TraitError(
                f"compare_mode must be one of {COMPARE_MODES}, got {proposal['value']!r}"
            )
        if proposal["value"] == "method" and not self.method_choices:
            raise traitlets.TraitError(f"{type(self).__name__} has no other method to compare")
        return proposal["value"]

    @traitlets.validate("compare_method")
    def _valid_compare_method(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in self.method_choices:
            raise traitlets.TraitError(
                f"compare_method must be one of {tuple(self.method_choices)}, "
                f"got {proposal['value']!r}"
            )
        return proposal["value"]

    @traitlets.default("compare_method")
    def _default_compare_method(self) -> str:
        others = [key for key in self.method_choices if key != self._current_method()]
        return others[0] if others else ""

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in colormaps:
            raise traitlets.TraitError(f"unknown matplotlib colormap {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("opacity")
    def _valid_opacity(self, proposal: dict[str, Any]) -> float:
        if not 0.0 <= proposal["value"] <= 1.0:
            raise traitlets.TraitError(f"opacity must be within [0, 1], got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("normalization")
    def _valid_normalization(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in NORMALIZATIONS:
            raise traitlets.TraitError(
                f"normalization must be one of {NORMALIZATIONS}, got {proposal['value']!r}"
            )
        return proposal["value"]

    # -- observers: inputs recompute, presentation re-renders --------------------------
    @traitlets.observe("image_index")
    def _on_image_index_change(self, change: dict[str, Any]) -> None:
        if not self._ready:
            return
        with self.hold_updates():
            self._cache.clear()
            self._dirty = True
            if self.follow_prediction:
                self.target = self._predicted()
            if self.compare:
                self.compare_target = self._runner_up()

    @traitlets.observe("target", "cmap", "opacity", "normalization", "compare_target")
    def _on_view_change(self, change: dict[str, Any]) -> None:
        self._request()

    @traitlets.observe("compare", "compare_mode")
    def _on_compare_change(self, change: dict[str, Any]) -> None:
        self._show_compare_controls()
        self._show_parameters()
        if not self.compare and change["name"] == "compare_mode":
            return  # nothing shown changes
        with self.hold_updates():
            self._pick_compare_target()
            self._dirty = True

    def _pick_compare_target(self) -> None:
        # The runner-up once the target is known (compare=True given to the constructor
        # arrives before the target does).
        if self.compare and self._ready and self.target >= 0 and self.compare_target < 0:
            self.compare_target = self._runner_up()

    @traitlets.observe("compare_method")
    def _on_compare_method_change(self, change: dict[str, Any]) -> None:
        self._show_parameters()
        if self._comparing_methods():
            self._request()

    @traitlets.observe("active")
    def _on_active_change(self, change: dict[str, Any]) -> None:
        self._flush()

    def invalidate(self) -> None:
        """Forget the cached raw maps (an input of the method changed) and recompute."""
        self._cache.clear()
        self._request()

    def _switch_method(self, change: dict[str, Any]) -> None:
        """The panel's own method changed: keep the compared one another one, redraw.

        Maps are cached per method, so nothing is forgotten; a comparison with the method
        just chosen swaps to the one it replaced. (Not named ``_method_changed``: traitlets
        would call that for GradientPanel's ``method`` trait.)
        """
        with self.hold_updates():
            wanted = self.compare_method
            if wanted == change["new"] and change["old"] in self.method_choices:
                wanted = change["old"]
            self._fill_compare_methods(wanted)
            self._show_parameters()
            self._request()

    def _update_parameter(self, name: str) -> None:
        """A method parameter changed: forget the maps that used it, recompute if shown."""
        for key in [k for k in self._cache if name in self._method_parameters(k[0])]:
            del self._cache[key]
        if any(name in self._method_parameters(method) for method, _ in self._views()):
            self._request()

    # -- update cycle ------------------------------------------------------------------
    @contextlib.contextmanager
    def hold_updates(self) -> Iterator[None]:
        """Defer recomputing and rendering until the block ends, then do it once.

        The Dashboard wraps a change of several shared traits (a new image and its
        predicted class) in this so that each panel computes once.
        """
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if self._hold == 0:
                self._flush()

    def _request(self) -> None:
        self._dirty = True
        self._flush()

    def _flush(self) -> None:
        if self._hold or not self.active or not self._dirty or not self._ready:
            return
        self._dirty = False
        self._update()

    def _current_method(self) -> str:
        return getattr(self, self._method_trait) if self._method_trait else ""

    def _comparing_methods(self) -> bool:
        return self.compare and self.compare_mode == "method"

    def _views(self) -> list[tuple[str, int]]:
        """The (method, class) of each map shown: the panel's own, then the comparison."""
        views = [(self._current_method(), self.target)]
        if self._comparing_methods():
            views.append((self.compare_method, self.target))
        elif self.compare and self.compare_target >= 0:
            views.append((self._current_method(), self.compare_target))
        return views

    def _method_parameters(self, method: str) -> tuple[str, ...]:
        """Subclass hook: the names of the parameter traits that ``method`` uses."""
        return ()

    def _compute(self, method: str, target: int) -> RawMap:
        # The panel's own method through compute(target): a subclass may define only that.
        if method == self._current_method():
            return self.compute(target)
        return self.compute(target, method)

    def _describe(self, method: str) -> str:
        return self.describe() if method == self._current_method() else self.describe(method)

    def _ensure_maps(self) -> float:
        """Compute the raw maps the view needs and has not cached; seconds spent."""
        started = time.perf_counter()
        views = self._views()
        for key in views:
            if key in self._cache:
                continue
            method, target = key
            self.status.show(
                f"Computing {self._describe(method)} for '{self.class_names[target]}'…",
                STATUS_BUSY,
            )
            unused = [k for k in self._cache if k not in views]
            if len(self._cache) >= _CACHE_SIZE and unused:
                del self._cache[unused[0]]
            self._cache[key] = self._compute(method, target)
        return time.perf_counter() - started

    def _update(self) -> None:
        with self.status.capture(self.method_label):
            probabilities = self._probabilities()
            with self.class_bars.bars.hold_sync():
                self.class_bars.update(probabilities, self.target)
            computed = any(key not in self._cache for key in self._views())
            seconds = self._ensure_maps()
            self._render()
            if computed:
                self.status.show(
                    f"{self.describe()} of '{self.class_names[self.target]}' in "
                    f"{seconds * 1000:.0f} ms",
                    STATUS_OK,
                )
            elif self.status.state != STATUS_OK:
                self.status.show(f"{self.describe()} of '{self.class_names[self.target]}'")
            return
        # The capture swallowed an error: blank the maps rather than show stale ones.
        for image in (self.heatmap, self.rawmap, self.compare_heatmap, self.compare_rawmap):
            image.value = b""

    def _render(self) -> None:
        """Draw the cached maps with the current presentation: one synced update per widget."""
        image = self.images[self.image_index]
        outputs = [
            (self.heatmap, self.rawmap, self.map_note, self.class_label),
            (self.compare_heatmap, self.compare_rawmap, self.compare_note, self.compare_label),
        ]
        rows = list(zip(self._views(), outputs, strict=False))
        with hold_sync_all(*(w for _, row in rows for w in row)):
            for (method, target), (heatmap, rawmap, note, label) in rows:
                raw = self._cache[(method, target)]
                set_png(heatmap, self.heatmap_image(image, raw.values))
                set_png(rawmap, self.raw_image(raw.values))
                note.value = f"<small>{raw.note}</small>" if raw.note else ""
                label.value = self._class_html(target, method)

    def _class_html(self, target: int, method: str) -> str:
        probability = self._probabilities()[target]
        predicted = self._predicted()
        tag = "predicted" if target == predicted else f"predicted: {self.class_names[predicted]}"
        # Side by side, two methods are told apart by their full description.
        heading = self._describe(method) if self._comparing_methods() else self.method_label
        return (
            f"{heading} for class <b>{self.class_names[target]}</b> (p = {probability:.3f}; {tag})"
        )

    # -- model queries -----------------------------------------------------------------
    def current_batch(self) -> np.ndarray:
        """The current image as a batch of one, ``(1, H, W, C)``."""
        return self.images[self.image_index : self.image_index + 1]

    def _probabilities(self, index: int | None = None) -> np.ndarray:
        index = self.image_index if index is None else index
        if index not in self._probs:
            logits = self.adapter.logits(self.images[index : index + 1])[0]
            self._probs[index] = softmax(logits)
        return self._probs[index]

    def _predicted(self) -> int:
        return int(np.argmax(self._probabilities()))

    def _runner_up(self) -> int:
        order = np.argsort(-self._probabilities(), kind="stable")
        return int(order[1] if order[0] == self.target and len(order) > 1 else order[0])

    def class_name(self, target: int | None = None) -> str:
        """The name of ``target`` (default: the panel's target class)."""
        return self.class_names[self.target if target is None else target]

    # -- the method ----------------------------------------------------------------------
    def compute(self, target: int, method: str | None = None) -> RawMap:
        """The raw map of the current image for class ``target``; each panel defines it.

        ``method``, a key of :attr:`method_choices`, computes with that method instead of
        the panel's own (the method comparison); a panel without choices takes ``target``
        alone.
        """
        raise NotImplementedError

    def describe(self, method: str | None = None) -> str:
        """The method (default: the panel's own) and its parameters in a few words."""
        return self.method_label

    # -- static output -----------------------------------------------------------------
    def figure(self) -> Figure:
        """A matplotlib Figure of what the panel shows: image, overlay, raw map, per map.

        One row for the panel's map and, when ``compare`` is on, one for the compared class
        or method.

        Raises
        ------
        RuntimeError
            If the panel could not compute its maps (the status line says why).
        """
        if not self._ready:
            raise RuntimeError(f"{type(self).__name__} is not usable: {self.status.message}")
        try:
            self._ensure_maps()
        except Exception as error:
            raise RuntimeError(f"{self.describe()} failed: {error}") from error
        views = self._views()
        image = self.images[self.image_index]
        fig = Figure(figsize=(10, 3.3 * len(views)), layout="constrained")
        axes = fig.subplots(len(views), 3, squeeze=False)
        for row, (method, target) in enumerate(views):
            raw = self._cache[(method, target)].values
            title = f"{self.class_names[target]} (p = {self._probabilities()[target]:.2f})"
            if self._comparing_methods():
                title = f"{self._describe(method)}\n{title}"
            axes[row, 0].imshow(to_uint8_image(image))
            axes[row, 0].set_title(f"image {self.image_index}")
            axes[row, 1].imshow(self.heatmap_image(image, raw))
            axes[row, 1].set_title(title)
            shown = axes[row, 2].imshow(normalize(raw, self.normalization), cmap=self.cmap)
            axes[row, 2].set_title(f"raw map {raw.shape[0]}×{raw.shape[1]}")
            fig.colorbar(shown, ax=axes[row, 2], shrink=0.8)
            for ax in axes[row]:
                ax.set_axis_off()
        heading = self.describe()
        if self._comparing_methods():
            heading += f" vs {self._describe(self.compare_method)}"
        fig.suptitle(f"{heading} — class '{self.class_names[self.target]}'")
        return fig
