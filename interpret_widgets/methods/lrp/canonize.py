"""Canonization: batch normalization folded into the linear layer before it.

LRP rules see a layer with weights as one linear map z = W x + b. A convolution or dense
layer followed by inference-mode batch normalization is such a map, with W' = W·a and
b' = (b − μ)·a + β per output channel, a = γ / √(σ² + ε). We find these pairs in the flat
graph once and compute W', b' as *new* tensors from the layers' variables inside the
compiled function, so the model itself is never changed and later weight updates are seen.
A batch normalization with no foldable layer before it is an element-wise affine map
x ↦ a x + c, and is treated as a layer with (diagonal) weights of its own.

References
----------
Guillemot et al. (2020), "Breaking Batch Normalization for better explainability of Deep
Neural Networks through Layer-wise Relevance Propagation"; zennit's ``SequentialMergeBatchNorm``
canonizer.
"""

from __future__ import annotations

from typing import Any

from keras import ops

from ...model import FlatGraph, Step, activation_name, propagation_kind

#: Kinds of layers a following batch normalization can be folded into.
FOLDABLE_KINDS = frozenset({"conv", "dense", "depthwise_conv", "separable_conv"})


def batchnorm_affine(bn: Any) -> tuple[Any, Any]:
    """Scale a and shift c of an inference-mode batch normalization: y = a·x + c."""
    variance = ops.convert_to_tensor(bn.moving_variance, dtype="float32")
    mean = ops.convert_to_tensor(bn.moving_mean, dtype="float32")
    scale = ops.rsqrt(variance + bn.epsilon)
    if bn.scale:
        scale = scale * ops.convert_to_tensor(bn.gamma, dtype="float32")
    shift = -mean * scale
    if bn.center:
        shift = shift + ops.convert_to_tensor(bn.beta, dtype="float32")
    return scale, shift


def fold(kernel: Any, bias: Any | None, bn: Any, depthwise: bool = False) -> tuple[Any, Any]:
    """Kernel and bias of "linear layer, then ``bn``" as new tensors.

    The kernel's last axis holds the output channels, except for a depthwise kernel
    ``(..., in, multiplier)`` whose output channel ``i·multiplier + m`` is ``[..., i, m]``.
    """
    scale, shift = batchnorm_affine(bn)
    per_channel = ops.reshape(scale, tuple(kernel.shape[-2:])) if depthwise else scale
    kernel = kernel * per_channel
    new_bias = shift if bias is None else bias * scale + shift
    return kernel, new_bias


def _channel_axis(layer: Any, rank: int) -> int:
    if propagation_kind(layer) == "dense":
        return rank - 1
    return 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else rank - 1


def _bn_axis(bn: Any, rank: int) -> int | None:
    axis = bn.axis
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            return None
        axis = axis[0]
    return int(axis) % rank


def _folds_into(graph: FlatGraph, step: Step, protected: set[int]) -> Step | None:
    """The step whose linear layer ``step`` (a batch normalization) folds into, if any."""
    if step.kwargs.get("mask") is not None or len(step.input_keys) != 1:
        return None
    key = step.input_keys[0]
    producer = graph.producer(key)
    if producer is None or producer.operation is None or key in protected:
        return None
    layer = producer.operation
    kind = propagation_kind(layer)
    if kind == "batchnorm":
        rank = len(getattr(getattr(layer, "output", None), "shape", ()))
        same_axis = rank > 0 and _bn_axis(layer, rank) == _bn_axis(step.operation, rank)
        return producer if same_axis else None
    if kind not in FOLDABLE_KINDS or activation_name(layer) not in (None, "linear"):
        return None
    if len(graph.consumers(key)) != 1:
        return None
    shape = getattr(getattr(layer, "output", None), "shape", None)
    if shape is None or _bn_axis(step.operation, len(shape)) != _channel_axis(layer, len(shape)):
        return None
    return producer


def find_folds(graph: FlatGraph, needed: set[int], protected: set[int]) -> dict[int, list[int]]:
    """Batch normalizations to fold: linear step index → indices of the BN steps after it.

    ``needed`` holds the indices of the steps on the way to the score; ``protected`` the
    keys that must stay visible (the score, the model outputs). A chain linear → BN → BN
    folds both; the linear layer's output must feed nothing but the chain, and the layer
    must apply no activation of its own.
    """
    index = {id(step): i for i, step in enumerate(graph.steps)}
    folds: dict[int, list[int]] = {}
    owner: dict[int, int] = {}
    for i, step in enumerate(graph.steps):
        if i not in needed or step.operation is None:
            continue
        if propagation_kind(step.operation) != "batchnorm":
            continue
        producer = _folds_into(graph, step, protected)
        if producer is None:
            continue
        j = index[id(producer)]
        if propagation_kind(producer.operation) == "batchnorm":
            if j not in owner or len(graph.consumers(producer.outputs[0])) != 1:
                continue
            j = owner[j]
        folds.setdefault(j, []).append(i)
        owner[i] = j
    return folds
