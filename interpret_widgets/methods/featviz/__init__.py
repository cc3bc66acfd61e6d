"""Feature visualization: optimized inputs that maximize what a channel (or class) detects.

``visualize_filters(model, layer, channels)`` runs the whole optimization; a
:class:`FilterOptimizer` gives the same as a generator of :class:`Progress` so that a view
can show the images as they form and stop early. Parametrizations, transforms, objectives
and regularizers are separate parts that meet in the optimizer.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
"""

from .arguments import MAX_CHANNELS
from .objectives import (
    IMAGE,
    LOGITS,
    Channel,
    ClassLogit,
    Diversity,
    LayerObjective,
    Neuron,
    Objective,
    Sum,
    channel,
    class_logit,
    deepdream,
    diversity,
    layer_objective,
    neuron,
)
from .optimizer import (
    FilterOptimizer,
    FilterVisualization,
    Progress,
    visualize_filters,
)
from .param import FourierImage, Parametrization, PixelImage
from .regularizers import L1, L2, Regularizer, TotalVariation, l1, l2, total_variation
from .transforms import (
    Compose,
    Jitter,
    Pad,
    RandomRotate,
    RandomScale,
    Transform,
    standard_transforms,
)

__all__ = [
    "IMAGE",
    "L1",
    "L2",
    "LOGITS",
    "MAX_CHANNELS",
    "Channel",
    "ClassLogit",
    "Compose",
    "Diversity",
    "FilterOptimizer",
    "FilterVisualization",
    "FourierImage",
    "Jitter",
    "LayerObjective",
    "Neuron",
    "Objective",
    "Pad",
    "Parametrization",
    "PixelImage",
    "Progress",
    "RandomRotate",
    "RandomScale",
    "Regularizer",
    "Sum",
    "TotalVariation",
    "Transform",
    "channel",
    "class_logit",
    "deepdream",
    "diversity",
    "l1",
    "l2",
    "layer_objective",
    "neuron",
    "standard_transforms",
    "total_variation",
    "visualize_filters",
]
