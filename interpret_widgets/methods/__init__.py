"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

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
from .lrp import LRPReport, lrp, lrp_report
from .lrp.deeplift import deep_lift, deep_shap
from .perturbation import kernel_shap, lime, occlusion, superpixels
from .progress import Stopped
from .score_cam import score_cam

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "IGReport",
    "LRPReport",
    "Stopped",
    "activations",
    "deep_lift",
    "deep_shap",
    "grad_cam",
    "grad_cam_plus_plus",
    "guided_backprop",
    "integrated_gradients",
    "integrated_gradients_report",
    "kernel_shap",
    "layer_cam",
    "lime",
    "lrp",
    "lrp_report",
    "occlusion",
    "saliency",
    "score_cam",
    "smoothgrad",
    "superpixels",
    "visualize_filters",
]
