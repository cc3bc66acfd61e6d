"""The public computation API (see CONTRACT.md): Keras model and numpy in, float32 numpy out.

Importing this package loads no widget library.
"""

from .ablation import ablate, channel_importance
from .activations import activations
from .cam import grad_cam, grad_cam_plus_plus, layer_cam
from .faithfulness import curve_auc, deletion_curve, insertion_curve
from .featviz import FilterOptimizer, FilterVisualization, visualize_filters
from .gradients import (
    IGReport,
    integrated_gradients,
    integrated_gradients_report,
    saliency,
    smoothgrad,
)
from .guided_backprop import guided_backprop
from .localization import pointing_game, relevance_mass
from .lrp import LRPReport, layer_relevance, lrp, lrp_report
from .lrp.deeplift import deep_lift, deep_shap
from .progress import Stopped
from .pruning import prune
from .pruning_curve import iter_pruning_curve, pruning_curve
from .randomization import RandomizationResult, randomization_test

__all__ = [
    "FilterOptimizer",
    "FilterVisualization",
    "IGReport",
    "LRPReport",
    "RandomizationResult",
    "Stopped",
    "ablate",
    "activations",
    "channel_importance",
    "curve_auc",
    "deep_lift",
    "deep_shap",
    "deletion_curve",
    "grad_cam",
    "grad_cam_plus_plus",
    "guided_backprop",
    "insertion_curve",
    "integrated_gradients",
    "integrated_gradients_report",
    "iter_pruning_curve",
    "layer_cam",
    "layer_relevance",
    "lrp",
    "lrp_report",
    "pointing_game",
    "prune",
    "pruning_curve",
    "randomization_test",
    "relevance_mass",
    "saliency",
    "smoothgrad",
    "visualize_filters",
]
