"""The demo Dashboard: the bundled CNN on held-out synthetic images, nothing downloaded.

This is the one module of :mod:`interpret_widgets.demo` that imports the widgets, so that
training and loading the demo model stay free of any widget library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import load_demo_model
from .shapes import CLASS_NAMES, demo_images

if TYPE_CHECKING:
    from ..widgets import Dashboard


def build_demo_dashboard(n_images: int = 16, seed: int = 7, tab: str = "Activations") -> Dashboard:
    """A :class:`~interpret_widgets.widgets.Dashboard` on the demo model and images.

    Parameters
    ----------
    n_images : int
        How many synthetic images the image slider walks through.
    seed : int
        Dataset seed; the shipped model was trained on seeds >= 1000, so small seeds give
        images it has never seen.
    tab : str
        The tab shown first.

    Raises
    ------
    FileNotFoundError
        If the demo model's weights file is missing from the package.
    """
    from ..widgets import Dashboard

    model = load_demo_model()
    images, labels, _ = demo_images(n_images, seed)
    return Dashboard(model, images, CLASS_NAMES, labels=labels, tab=tab)
