"""Layer-wise relevance propagation: rules as small values, composites by name, one engine.

``lrp(model, x, target, rule)`` returns the relevance of every input value for the
target's pre-softmax score; ``lrp_report`` adds the scores and relevance sums per layer.

References
----------
Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
Layer-Wise Relevance Propagation"; Montavon et al. (2019), "Layer-Wise Relevance
Propagation: An Overview".
"""

from .composites import COMPOSITES, Composite, composite_parameters, register_composite, valid_names
from .engine import LRPReport, lrp, lrp_report
from .layer import layer_relevance
from .rules import RULES, AlphaBeta, Epsilon, Flat, Gamma, Rule, ZBox, ZPlus

__all__ = [
    "COMPOSITES",
    "RULES",
    "AlphaBeta",
    "Composite",
    "Epsilon",
    "Flat",
    "Gamma",
    "LRPReport",
    "Rule",
    "ZBox",
    "ZPlus",
    "composite_parameters",
    "layer_relevance",
    "lrp",
    "lrp_report",
    "register_composite",
    "valid_names",
]
