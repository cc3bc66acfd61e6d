"""The widgets of an attribution panel, as parts: map rows, shared controls, bindings, layout.

Nothing here knows a method. :class:`MapRow` draws one raw map (over the image and alone)
with its label and note; :class:`PanelControls` holds the shared controls (image, colormap,
opacity, normalization, what the second map compares with); :func:`bind` joins a control
and a trait; :func:`panel_layout` places the parts. An
:class:`~.attribution.AttributionPanel` is composed of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets
from matplotlib import colormaps

from ..render import NORMALIZATIONS, colorize, normalize, overlay, upscale, upscale_factor
from .common import hold_sync_all, image_widget, set_png
from .validators import check_within, one_of

#: Colormaps offered in the dropdowns (any matplotlib name is accepted through the traits).
CMAPS = ("jet", "turbo", "viridis", "inferno", "magma", "hot", "bwr", "seismic", "RdBu_r", "gray")

#: Small maps are shown with crisp pixels instead of the browser's blur.
PIXELATED_CSS = (
    "<style>.iw-heatmap, .iw-rawmap, .iw-thumbnail, .iw-heatmap-compare, .iw-rawmap-compare "
    "{image-rendering: pixelated;}</style>"
)


class PresentationTraits(traitlets.HasTraits):
    """How a map is drawn: colormap, opacity over the image, normalization (validated)."""

    cmap = traitlets.Unicode("jet")
    opacity = traitlets.Float(0.5)
    normalization = traitlets.Unicode("minmax")

    @traitlets.validate("cmap")
    def _valid_cmap(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in colormaps:
            raise traitlets.TraitError(f"unknown matplotlib colormap {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("opacity")
    def _valid_opacity(self, proposal: dict[str, Any]) -> float:
        return check_within("opacity", proposal["value"], 0.0, 1.0)

    _valid_normalization = one_of("normalization", NORMALIZATIONS)


def slider_control(
    kind: type[widgets.ValueWidget],
    value: float,
    low: float,
    high: float,
    description: str,
    css: str,
    **extra: Any,
) -> Callable[[], widgets.ValueWidget]:
    """A factory of a slider (``kind``) for a panel's ``parameter_controls``.

    The slider sends its value on release (``continuous_update=False``): a parameter
    recomputes a map, which must not happen at every pixel of a drag.
    """
    return lambda: kind(
        value, min=low, max=high, description=description, continuous_update=False, **extra
    ).add_class(css)


def caption(text: str) -> widgets.HTML:
    """A small caption above an output."""
    return widgets.HTML(f"<small>{text}</small>")


def bind(control: widgets.ValueWidget, owner: traitlets.HasTraits, name: str) -> None:
    """Two-way binding of a control's value and the trait ``name`` of ``owner``.

    Unlike ``link``, a value that a dropdown does not list (a colormap outside the list)
    is added to its options instead of raising, and a slider's range grows to a value
    outside it instead of clamping it; a refused value raises the owner's ``TraitError``
    (shown in a view's status line).
    """

    def to_owner(change: dict[str, Any]) -> None:
        if change["new"] is not None:
            setattr(owner, name, change["new"])

    def to_control(change: dict[str, Any]) -> None:
        value = change["new"]
        if isinstance(control, widgets.Dropdown):
            values = [o[1] if isinstance(o, tuple) else o for o in control.options]
            if value not in values:
                if not isinstance(value, str):
                    return
                control.options = [*control.options, value]
        else:
            widen(control, value)
        control.value = value

    control.observe(to_owner, "value")
    owner.observe(to_control, name)
    to_control({"new": getattr(owner, name)})


def widen(control: widgets.ValueWidget, value: Any) -> None:
    """Extend a slider's range to hold ``value``: a slider never clamps a trait's value."""
    if not hasattr(control, "max") or not isinstance(value, (int, float)):
        return
    if isinstance(control, widgets.FloatLogSlider):
        if value <= 0:
            return
        exponent = float(np.log(value) / np.log(control.base))
        control.max = max(control.max, float(np.ceil(exponent)))
        control.min = min(control.min, float(np.floor(exponent)))
        return
    if value > control.max:
        control.max = value
    if value < control.min:
        control.min = value


class MapRow(traitlets.HasTraits):
    """One map as shown: label, map over the image, raw map alone, and a note under it.

    ``suffix`` ("" or "-compare") ends the CSS classes (``iw-heatmap-compare`` …);
    ``note_text`` is the note as plain text, for other widgets to link to.
    """

    note_text = traitlets.Unicode("")

    def __init__(self, size: int, suffix: str = "") -> None:
        super().__init__()
        self.size = int(size)
        label_class = "iw-compare-label" if suffix else "iw-class-label"
        self.label = widgets.HTML().add_class(label_class)
        self.heatmap = image_widget(self.size).add_class(f"iw-heatmap{suffix}")
        self.rawmap = image_widget(self.size).add_class(f"iw-rawmap{suffix}")
        self.note = widgets.HTML()
        if not suffix:
            self.note.add_class("iw-map-note")

    def widgets(self) -> list[widgets.Widget]:
        return [self.label, self.heatmap, self.rawmap, self.note]

    def show(self, image: np.ndarray, raw: np.ndarray, note: str, label: str, look: Any) -> None:
        """Draw ``raw`` with ``look`` (``cmap``, ``opacity``, ``normalization``)."""
        set_png(self.heatmap, heatmap_image(image, raw, look))
        set_png(self.rawmap, raw_image(raw, look, self.size))
        self.note.value = f"<small>{note}</small>" if note else ""
        self.label.value = label
        self.note_text = note

    def clear(self) -> None:
        """Blank the maps (a failed computation shows no stale map)."""
        with hold_sync_all(self.heatmap, self.rawmap, self.note):
            self.heatmap.value = self.rawmap.value = b""
            self.note.value = ""
        self.note_text = ""


def heatmap_image(image: np.ndarray, raw: np.ndarray, look: Any) -> np.ndarray:
    """The map over the image with the look's presentation (uint8 RGB, image size)."""
    return overlay(image, raw, look.cmap, look.opacity, look.normalization)


def raw_image(raw: np.ndarray, look: Any, size: int) -> np.ndarray:
    """The raw map alone, coloured, upscaled with crisp pixels to about ``size``."""
    coloured = colorize(normalize(raw, look.normalization), look.cmap)
    return upscale(coloured, upscale_factor(raw.shape, size))


class PanelControls:
    """The controls every attribution panel shares, bound to the panel's traits."""

    def __init__(self, panel: traitlets.HasTraits, method_choices: dict[str, str]) -> None:
        self.image_slider = widgets.IntSlider(
            0, min=0, max=0, description="image", continuous_update=False
        ).add_class("iw-panel-image-slider")
        self.cmap_dropdown = widgets.Dropdown(
            options=list(CMAPS), description="colormap", layout=widgets.Layout(width="200px")
        ).add_class("iw-cmap")
        self.opacity_slider = widgets.FloatSlider(
            0.5, min=0.0, max=1.0, step=0.05, description="opacity", readout_format=".2f"
        ).add_class("iw-opacity")
        self.normalization_dropdown = widgets.Dropdown(
            options=list(NORMALIZATIONS), description="scale", layout=widgets.Layout(width="190px")
        ).add_class("iw-normalization")
        self.compare_toggle = widgets.Checkbox(
            False, description="compare with", indent=False, layout=widgets.Layout(width="125px")
        ).add_class("iw-compare")
        self.compare_mode_buttons = widgets.ToggleButtons(
            options=[("class", "class"), ("method", "method")],
            tooltips=["another class", "another method, same class"],
            style={"button_width": "80px"},
        ).add_class("iw-compare-mode")
        self.compare_dropdown = widgets.Dropdown(
            options=[], disabled=True, layout=widgets.Layout(width="180px")
        ).add_class("iw-compare-class")
        self.compare_method_dropdown = widgets.Dropdown(
            options=[], disabled=True, layout=widgets.Layout(width="220px")
        ).add_class("iw-compare-method")
        self.method_choices = method_choices
        for control, name in (
            (self.cmap_dropdown, "cmap"),
            (self.opacity_slider, "opacity"),
            (self.normalization_dropdown, "normalization"),
            (self.compare_toggle, "compare"),
            (self.compare_mode_buttons, "compare_mode"),
        ):
            bind(control, panel, name)

    def offer_compare_methods(self, current: str) -> None:
        """Offer the methods other than ``current`` (the panel's own) to compare with."""
        self.compare_method_dropdown.options = [
            (label, key) for key, label in self.method_choices.items() if key != current
        ]

    def show_compare(self, compare: bool, by_class: bool) -> None:
        """Show the dropdown of the compare mode; enable both only while comparing."""
        self.compare_mode_buttons.layout.display = None if self.method_choices else "none"
        self.compare_dropdown.layout.display = None if by_class else "none"
        self.compare_method_dropdown.layout.display = "none" if by_class else None
        self.compare_dropdown.disabled = self.compare_method_dropdown.disabled = not compare

    def row(self) -> widgets.HBox:
        return widgets.HBox(
            [
                self.compare_toggle,
                self.compare_mode_buttons,
                self.compare_dropdown,
                self.compare_method_dropdown,
            ]
        )


def panel_layout(
    bars: widgets.Widget,
    controls: PanelControls,
    main: MapRow,
    second: MapRow,
    method_controls: list[widgets.Widget],
    status: widgets.Widget,
) -> tuple[list[widgets.Widget], widgets.VBox]:
    """The children of a panel, and the box of the second map (hidden unless comparing)."""
    maps = widgets.HBox(
        [
            bars,
            widgets.VBox([caption("heatmap over the image"), main.heatmap]),
            widgets.VBox([caption("raw map"), main.rawmap, main.note]),
        ],
        layout=widgets.Layout(align_items="flex-start"),
    )
    compare_row = widgets.VBox(
        [second.label, widgets.HBox([second.heatmap, second.rawmap, second.note])],
        layout=widgets.Layout(display="none"),
    )
    presentation = widgets.HBox(
        [controls.cmap_dropdown, controls.opacity_slider, controls.normalization_dropdown],
        layout=widgets.Layout(flex_flow="row wrap"),
    )
    method = widgets.HBox(method_controls, layout=widgets.Layout(flex_flow="row wrap"))
    children = [
        widgets.HTML(PIXELATED_CSS),
        controls.image_slider,
        main.label,
        maps,
        method,
        presentation,
        controls.row(),
        compare_row,
        status,
    ]
    return children, compare_row
