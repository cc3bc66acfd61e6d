"""VolumeView: a whole layer as a 3-D volume (ipyvolume), shown on demand.

ipyvolume is imported the first time the volume is shown: a view that never opens the 3-D
view never pays for it. The volume's data come from
:func:`~interpret_widgets.render.activation_volume`; a new layer or image replaces the
``data`` trait of the one ``ipyvolume.Volume`` (its public, synced trait), so the camera
stays where the user turned it.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import traitlets

from ...render import activation_volume

SIZE = 420
"""Width and height in pixels of the 3-D canvas."""
AXIS_LABELS = ("x", "y", "ch")
"""Axis labels: image columns, image rows, channels (ch). ipyvolume draws a label as a text
sprite in a 100 px font whose width grows with the text (about half the box for "channel",
which then runs off the canvas); one or two letters stay inside."""
TRANSFER = {"level1": 0.1, "level2": 0.5, "level3": 0.9, "opacity1": 0.01, "opacity2": 0.05,
            "opacity3": 0.1, "width1": 0.1, "width2": 0.1, "width3": 0.1}  # fmt: skip
"""ipyvolume's default three-peak transfer function (as ``volshow`` makes it)."""


class VolumeView(widgets.VBox):
    """A toggle button and, while it is on, the layer as a ``(k, h, w)`` volume.

    Traits
    ------
    shown : bool
        Whether the 3-D view is open (linked to the toggle button).

    :meth:`show` hands over an ``(h, w, k)`` activation; :attr:`data` is the volume the
    browser gets and :attr:`figure` the ipyvolume Figure (``None`` until first shown).
    """

    shown = traitlets.Bool(False)

    def __init__(self, size: int = SIZE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = int(size)
        self.toggle = widgets.ToggleButton(value=False, description="3-D view")
        self.toggle.add_class("iw-volume-toggle")
        self.box = widgets.VBox()
        self.box.add_class("iw-volume")
        traitlets.link((self, "shown"), (self.toggle, "value"))
        self.figure: Any = None
        self._activation: np.ndarray | None = None
        self._drawn: np.ndarray | None = None
        self.children = [self.toggle, self.box]

    @property
    def data(self) -> np.ndarray | None:
        """The volume as sent to the browser (``None`` before the view was first shown)."""
        return None if self.figure is None else self.figure.volumes[0].data

    def show(self, activation: np.ndarray) -> None:
        """Use this ``(h, w, k)`` activation; drawn now if the view is open, else when opened."""
        self._activation = activation
        if self.shown:
            self._draw()

    @traitlets.observe("shown")
    def _on_shown_change(self, change: dict[str, Any]) -> None:
        if change["new"] and self._activation is not None:
            self._draw()
            self.box.children = (self.figure,)
        else:
            self.box.children = ()

    def _draw(self) -> None:
        if self._drawn is self._activation:
            return
        volume = activation_volume(self._activation)
        if self.figure is None:
            self.figure = _make_figure(volume, self.size)
        else:
            self.figure.volumes[0].data = volume
        self._drawn = self._activation


def _make_figure(volume: np.ndarray, size: int) -> Any:
    """An ipyvolume Figure with one Volume of ``volume`` in the unit cube."""
    import ipyvolume as ipv

    unit = [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    item = ipv.Volume(
        data=volume,
        data_min=0.0,
        data_max=1.0,
        show_min=0.0,
        show_max=1.0,
        extent=unit,
        tf=ipv.TransferFunctionWidgetJs3(**TRANSFER),
    )
    xlabel, ylabel, zlabel = AXIS_LABELS
    return ipv.Figure(
        volumes=[item],
        width=size,
        height=size,
        xlabel=xlabel,
        ylabel=ylabel,
        zlabel=zlabel,
    )
