"""The adapter over a user's Keras model: the one place that knows Keras internals."""

from .ablation import GraphSplit
from .adapter import ModelAdapter, clear_adapters, get_adapter
from .graph import FlatGraph, LayerEntry, Ref, Step, flatten_model, run_graph
from .kinds import (
    ELEMENTWISE_KINDS,
    LINEAR_KINDS,
    activation_name,
    applies_softmax,
    layer_kind,
    operation_kind,
    propagation_kind,
)
from .scores import softmax

__all__ = [
    "ELEMENTWISE_KINDS",
    "LINEAR_KINDS",
    "FlatGraph",
    "GraphSplit",
    "LayerEntry",
    "ModelAdapter",
    "Ref",
    "Step",
    "activation_name",
    "applies_softmax",
    "clear_adapters",
    "flatten_model",
    "get_adapter",
    "layer_kind",
    "operation_kind",
    "propagation_kind",
    "run_graph",
    "softmax",
]
