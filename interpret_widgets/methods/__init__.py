"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus
from .featviz import FilterOptimizer, FilterVisualization, visualize_filters
from .gradients import (
    IGReport,
    integrated_gradients,
    integrated_gradients_report,
    saliency,
    smoothgrad,
)
from .lrp import LRPReport, lrp, lrp_report

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "IGReport",
    "LRPReport",
    "activations",
    "grad_cam",
    "grad_cam_plus_plus",
    "integrated_gradients",
    "integrated_gradients_report",
    "lrp",
    "lrp_report",
    "saliency",
    "smoothgrad",
    "visualize_filters",
]
