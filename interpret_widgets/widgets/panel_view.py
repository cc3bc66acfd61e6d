"""The widgets every attribution panel shows, their layout, and how they draw a map.

:class:`PanelView` builds the shared controls (colormap, opacity, normalization, what the
second map compares with: another class or another of the panel's methods), the image
outputs and the class label, binds the controls to the panel's traits and lays everything
out; :class:`~.attribution.AttributionPanel` adds the state and the update cycle on top of it.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np

from ..render import NORMALIZATIONS, colorize, normalize, overlay, upscale
from .class_bars import ClassBars
from .common import image_widget

#: Colormaps offered in the dropdown (any matplotlib name is accepted through the trait).
CMAPS = ("jet", "turbo", "viridis", "inferno", "magma", "hot", "bwr", "seismic", "RdBu_r", "gray")

#: Small maps are shown with crisp pixels instead of the browser's blur.
PIXELATED_CSS = (
    "<style>.iw-heatmap, .iw-rawmap, .iw-thumbnail, .iw-heatmap-compare, .iw-rawmap-compare "
    "{image-rendering: pixelated;}</style>"
)


def _caption(text: str) -> widgets.HTML:
    return widgets.HTML(f"<small>{text}</small>")


class PanelView(widgets.VBox):
    """The view half of a panel: shared widgets, their bindings, layout and drawing.

    Expects of its subclass: traits named like the bound controls (``image_index``,
    ``cmap``, ``opacity``, ``normalization``, ``compare``, ``compare_mode``,
    ``compare_method``), ``method_choices``, ``_current_method()``, ``_views()`` and
    ``_method_parameters()``, ``self._size`` (display width) and ``self.status`` before
    :meth:`_build_common_view` runs.
    """

    def _build_common_view(self, top_k: int) -> None:
        self.class_bars = ClassBars([], top_k=top_k)
        self.class_label = widgets.HTML().add_class("iw-class-label")
        self.heatmap = image_widget(self._size).add_class("iw-heatmap")
        self.rawmap = image_widget(self._size).add_class("iw-rawmap")
        self.map_note = widgets.HTML().add_class("iw-map-note")
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
        self.compare_label = widgets.HTML().add_class("iw-compare-label")
        self.compare_heatmap = image_widget(self._size).add_class("iw-heatmap-compare")
        self.compare_rawmap = image_widget(self._size).add_class("iw-rawmap-compare")
        self.compare_note = widgets.HTML()
        self.compare_row = widgets.VBox(
            [
                self.compare_label,
                widgets.HBox([self.compare_heatmap, self.compare_rawmap, self.compare_note]),
            ],
            layout=widgets.Layout(display="none"),
        )
        self._bind(self.image_slider, "image_index")
        self._bind(self.cmap_dropdown, "cmap")
        self._bind(self.opacity_slider, "opacity")
        self._bind(self.normalization_dropdown, "normalization")
        self._bind(self.compare_toggle, "compare")
        self._bind(self.compare_mode_buttons, "compare_mode")
        if self.method_choices:
            self._fill_compare_methods(self.compare_method)
            self._bind(self.compare_method_dropdown, "compare_method")
        self._show_compare_controls()

    def _bind(self, control: widgets.ValueWidget, name: str) -> None:
        """Two-way binding of a control's value and a trait of the panel.

        Unlike ``link``, a value that the control cannot show (a colormap outside the
        dropdown's list, say) is added to a dropdown instead of raising.
        """

        def to_panel(change: dict[str, Any]) -> None:
            if change["new"] is not None:
                setattr(self, name, change["new"])

        def to_control(change: dict[str, Any]) -> None:
            value = change["new"]
            if isinstance(control, widgets.Dropdown):
                values = [o[1] if isinstance(o, tuple) else o for o in control.options]
                if value not in values:
                    if isinstance(value, int):
                        return
                    control.options = [*control.options, value]
            control.value = value

        control.observe(to_panel, "value")
        self.observe(to_control, name)
        to_control({"new": getattr(self, name)})

    def _method_controls(self) -> list[widgets.Widget]:
        """Subclass hook: the widgets that set the method's parameters."""
        return []

    def _parameter_controls(self) -> dict[str, widgets.Widget]:
        """Subclass hook: the control of each parameter trait, shown while a map uses it."""
        return {}

    def _show_parameters(self) -> None:
        """Show the controls of the parameters that the shown methods use, hide the rest."""
        used = {name for method, _ in self._views() for name in self._method_parameters(method)}
        for name, control in self._parameter_controls().items():
            control.layout.display = None if name in used else "none"

    def _show_compare_controls(self) -> None:
        by_class = self.compare_mode == "class"
        self.compare_row.layout.display = None if self.compare else "none"
        self.compare_mode_buttons.layout.display = None if self.method_choices else "none"
        self.compare_dropdown.layout.display = None if by_class else "none"
        self.compare_method_dropdown.layout.display = "none" if by_class else None
        self.compare_dropdown.disabled = self.compare_method_dropdown.disabled = not self.compare

    def _fill_compare_methods(self, wanted: str) -> None:
        """Offer the methods other than the panel's own to compare with; select ``wanted``."""
        current = self._current_method()
        self.compare_method_dropdown.options = [
            (label, key) for key, label in self.method_choices.items() if key != current
        ]
        if wanted != current:  # new options move the dropdown's value: put it back
            self.compare_method = wanted
            self.compare_method_dropdown.value = wanted

    def _layout(self) -> list[widgets.Widget]:
        maps = widgets.HBox(
            [
                self.class_bars.figure,
                widgets.VBox([_caption("heatmap over the image"), self.heatmap]),
                widgets.VBox([_caption("raw map"), self.rawmap, self.map_note]),
            ],
            layout=widgets.Layout(align_items="flex-start"),
        )
        presentation = widgets.HBox(
            [
                self.cmap_dropdown,
                self.opacity_slider,
                self.normalization_dropdown,
            ],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        method = widgets.HBox(self._method_controls(), layout=widgets.Layout(flex_flow="row wrap"))
        return [
            widgets.HTML(PIXELATED_CSS),
            self.image_slider,
            self.class_label,
            maps,
            method,
            presentation,
            widgets.HBox(
                [
                    self.compare_toggle,
                    self.compare_mode_buttons,
                    self.compare_dropdown,
                    self.compare_method_dropdown,
                ]
            ),
            self.compare_row,
            self.status,
        ]

    def heatmap_image(self, image: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """The map over the image with the current presentation (uint8 RGB, image size)."""
        return overlay(image, raw, self.cmap, self.opacity, self.normalization)

    def raw_image(self, raw: np.ndarray) -> np.ndarray:
        """The raw map alone, coloured, upscaled with crisp pixels to about the display size."""
        coloured = colorize(normalize(raw, self.normalization), self.cmap)
        factor = max(1, self._size // max(raw.shape))
        return upscale(coloured, factor)
