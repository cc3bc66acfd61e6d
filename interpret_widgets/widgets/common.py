"""Small parts every view shares: the status line, image outputs, and error capture.

Views show failures in their status line instead of losing a traceback in a log, and
display PNGs through ``ipywidgets.Image`` with an explicit width (it would otherwise
stretch to the container).
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator

import ipywidgets as widgets
import numpy as np

from ..render import to_png

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_BUSY = "busy"


#: A small rotating ring shown before a busy message (pure CSS: no JavaScript of our own).
SPINNER_HTML = (
    "<style>@keyframes iw-spin {to {transform: rotate(360deg);}}</style>"
    '<span class="iw-spinner" style="display:inline-block;width:0.8em;height:0.8em;'
    "margin-right:0.4em;vertical-align:-0.1em;border:2px solid #bbb;border-top-color:#555;"
    'border-radius:50%;animation:iw-spin 0.8s linear infinite"></span>'
)


class StatusLine(widgets.HTML):
    """One line that says what a view is doing, or why it failed.

    ``state`` is ``"ok"``, ``"busy"`` or ``"error"`` and also becomes a CSS class
    (``iw-status-ok`` …) so that browser tests and users can see it at a glance.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.state = STATUS_OK
        self.message = ""
        self.add_class("iw-status")
        self.show("", STATUS_OK)

    def show(self, message: str, state: str = STATUS_OK) -> None:
        """Display ``message`` with the look of ``state``."""
        for old in (STATUS_OK, STATUS_ERROR, STATUS_BUSY):
            self.remove_class(f"iw-status-{old}")
        self.add_class(f"iw-status-{state}")
        self.state, self.message = state, message
        colour = {"ok": "#333", "busy": "#555", "error": "#b00020"}[state]
        escaped = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        spinner = SPINNER_HTML if state == STATUS_BUSY else ""
        self.value = f'{spinner}<span style="color:{colour}">{escaped}</span>'

    @contextlib.contextmanager
    def capture(self, action: str) -> Iterator[None]:
        """Run a block; on an exception show ``"<action> failed: <message>"`` and swallow it.

        The full traceback is kept in ``self.last_traceback`` for debugging.
        """
        self.last_traceback = ""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - a view must survive any failure
            self.last_traceback = traceback.format_exc()
            self.show(f"{action} failed: {error}", STATUS_ERROR)


def layer_label(name: str, shape: tuple) -> str:
    """How a map of a layer is labelled everywhere: ``"layer conv_b, 16×16"``."""
    return f"layer {name}, {shape[0]}×{shape[1]}"


def image_widget(width: int, height: int | None = None) -> widgets.Image:
    """An empty PNG ``Image`` widget of a fixed display width in pixels."""
    layout = widgets.Layout(width=f"{width}px")
    if height is not None:
        layout.height = f"{height}px"
    return widgets.Image(format="png", layout=layout)


def set_png(target: widgets.Image, image: np.ndarray) -> bytes:
    """Encode ``image`` as PNG into ``target`` and return the bytes."""
    data = to_png(image)
    target.value = data
    return data


@contextlib.contextmanager
def hold_sync_all(*targets: widgets.Widget) -> Iterator[None]:
    """Hold the sync of several widgets at once: one update message each on exit.

    A re-render usually touches a handful of output widgets (an image, a label, a chart's
    marks); holding them together sends each one's changed traits in a single message.
    """
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(target.hold_sync())
        yield
