"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .ablation import ablate, channel_importance
from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus
from .featviz import FilterOptimizer, FilterVisualization, visualize_filters
from .gradients import integrated_gradients, saliency, smoothgrad
from .lrp import LRPReport, layer_relevance, lrp, lrp_report
from .progress import Stopped
from .pruning import prune
from .pruning_curve import iter_pruning_curve, pruning_curve

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "LRPReport",
    "Stopped",
    "ablate",
    "activations",
    "channel_importance",
    "grad_cam",
    "grad_cam_plus_plus",
    "integrated_gradients",
    "iter_pruning_curve",
    "layer_relevance",
    "lrp",
    "lrp_report",
    "prune",
    "pruning_curve",
    "saliency",
    "smoothgrad",
    "visualize_filters",
]
