"""The widgets: thin views over :mod:`interpret_widgets.methods` and :mod:`~.render`.

``ActivationExplorer`` and ``FilterVisualizer`` explore what a model computes; the
attribution panels (``GradCAMPanel``, ``LRPPanel``, ``GradientPanel``) explain one image for
a clicked class; the ``Dashboard`` puts them all around one shared selection. Every view is
a :class:`View` (status line, error capture, validation, one update cycle, background work);
the views of one model share a :class:`Selection` (images, classes, image, class, layer).
"""

from .activation_explorer import ActivationExplorer
from .attribution import AttributionPanel
from .check_map import CheckMap
from .class_bars import ClassBars
from .dashboard import Dashboard
from .filter_visualizer import FilterVisualizer
from .leaderboard import Leaderboard
from .panels import GradCAMPanel, GradientPanel, LRPPanel
from .selection import Selection
from .view import View

__all__ = [
    "ActivationExplorer",
    "AttributionPanel",
    "CheckMap",
    "ClassBars",
    "Dashboard",
    "FilterVisualizer",
    "GradCAMPanel",
    "GradientPanel",
    "LRPPanel",
    "Leaderboard",
    "Selection",
    "View",
]
