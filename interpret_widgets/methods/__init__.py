"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus
from .faithfulness import curve_auc, deletion_curve, insertion_curve
from .featviz import FilterOptimizer, FilterVisualization, visualize_filters
from .gradients import integrated_gradients, saliency, smoothgrad
from .localization import pointing_game, relevance_mass
from .lrp import LRPReport, lrp, lrp_report
from .progress import Stopped
from .randomization import RandomizationResult, randomization_test

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "LRPReport",
    "RandomizationResult",
    "Stopped",
    "activations",
    "curve_auc",
    "deletion_curve",
    "grad_cam",
    "grad_cam_plus_plus",
    "insertion_curve",
    "integrated_gradients",
    "lrp",
    "lrp_report",
    "pointing_game",
    "randomization_test",
    "relevance_mass",
    "saliency",
    "smoothgrad",
    "visualize_filters",
]
