"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .ablation import ablate, ablated_grad_cam, channel_importance
from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus, layer_cam
from .featviz import FilterOptimizer, FilterVisualization, visualize_filters
from .gradients import (
    IGReport,
    integrated_gradients,
    integrated_gradients_report,
    saliency,
    smoothgrad,
)
from .guided_backprop import guided_backprop
from .lrp import LRPReport, layer_relevance, lrp, lrp_report
from .lrp.deeplift import deep_lift, deep_shap
from .progress import Stopped
from .pruning import prune
from .pruning_curve import iter_pruning_curve, pruning_curve

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "IGReport",
    "LRPReport",
    "Stopped",
    "ablate",
    "ablated_grad_cam",
    "activations",
    "channel_importance",
    "deep_lift",
    "deep_shap",
    "grad_cam",
    "grad_cam_plus_plus",
    "guided_backprop",
    "integrated_gradients",
    "integrated_gradients_report",
    "iter_pruning_curve",
    "layer_cam",
    "layer_relevance",
    "lrp",
    "lrp_report",
    "prune",
    "pruning_curve",
    "saliency",
    "smoothgrad",
    "visualize_filters",
]
