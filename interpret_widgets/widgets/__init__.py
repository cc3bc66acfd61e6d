"""The widgets: thin views over :mod:`interpret_widgets.methods` and :mod:`~.render`.

``ActivationExplorer`` and ``FilterVisualizer`` explore what a model computes; the
attribution panels (``GradCAMPanel``, ``LRPPanel``, ``GradientPanel``,
``PerturbationPanel``) explain one image for
a clicked class; the ``Dashboard`` puts them all around one shared selection. Every view is
a :class:`View` (status line, error capture, validation, one update cycle, background work);
the views of one model share a :class:`Selection` (images, classes, image, class, layer).
The ``DatasetExplorer`` (whole data sets) is imported on first use: it brings scikit-learn.
"""

from typing import Any

from .ablation_panel import AblationPanel
from .activation_explorer import ActivationExplorer
from .attribution import AttributionPanel
from .check_map import CheckMap
from .class_bars import ClassBars
from .dashboard import Dashboard
from .filter_visualizer import FilterVisualizer
from .leaderboard import Leaderboard
from .panels import GradCAMPanel, GradientPanel, LRPPanel
from .perturbation_panel import PerturbationPanel
from .selection import Selection
from .view import View

__all__ = [
    "AblationPanel",
    "ActivationExplorer",
    "AttributionPanel",
    "CheckMap",
    "ClassBars",
    "Dashboard",
    "DatasetExplorer",
    "FilterVisualizer",
    "GradCAMPanel",
    "GradientPanel",
    "LRPPanel",
    "PerturbationPanel",
    "Leaderboard",
    "Selection",
    "View",
]


def __getattr__(name: str) -> Any:
    if name == "DatasetExplorer":
        from .dataset_explorer import DatasetExplorer

        return DatasetExplorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
