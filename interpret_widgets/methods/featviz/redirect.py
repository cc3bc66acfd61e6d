"""Redirected ReLU gradients for the optimizer's own forward pass.

A channel that is inactive (ReLU output 0 everywhere) for the starting grey image has a zero
gradient, so plain gradient ascent never moves it. Lucid's remedy is to redirect the ReLU's
gradient for a batch item whose ordinary gradient vanishes (see
:func:`interpret_widgets.model.backend.redirected_relu`). We apply it through the adapter's
step replacements, which substitute a callable for a layer's call in our execution only:
the model keeps its layers, activations and weights.

Only the ReLUs whose outputs the objective reads are redirected (through pooling and
reshapes). Covered: ``ReLU`` layers without a negative slope or threshold,
``Activation("relu")`` and ``Activation("relu6")``, and ``Conv``/``Dense`` layers with a
fused ReLU activation (recomputed from their own kernel and bias). Other layers run
unchanged.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill; Lucid's
``redirected_relu_grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import keras

from ...model import FlatGraph, activation_name, backend, layer_kind

_CLIPS = {"relu": None, "relu6": 6.0}


def _activation_step(layer: Any) -> Callable[..., Any] | None:
    kind = layer_kind(layer)
    if isinstance(layer, keras.layers.ReLU):
        if layer.negative_slope or layer.threshold:
            return None
        max_value = None if layer.max_value is None else float(layer.max_value)
        return lambda inputs, **_: backend.redirected_relu(inputs, max_value)
    name = activation_name(layer)
    if kind == "activation" and name in _CLIPS:
        return lambda inputs, **_: backend.redirected_relu(inputs, _CLIPS[name])
    return None


def _fused_step(layer: Any) -> Callable[..., Any] | None:
    name = activation_name(layer)
    if name not in _CLIPS or getattr(layer, "quantization_mode", None) is not None:
        return None
    clip = _CLIPS[name]
    kind = layer_kind(layer)
    if kind == "dense":

        def dense(inputs: Any, **_: Any) -> Any:
            z = keras.ops.matmul(inputs, layer.kernel)
            if layer.bias is not None:
                z = keras.ops.add(z, layer.bias)
            return backend.redirected_relu(z, clip)

        return dense
    if (
        kind == "conv"
        and hasattr(layer, "convolution_op")
        and getattr(layer, "data_format", None) == "channels_last"
    ):

        def conv(inputs: Any, **_: Any) -> Any:
            z = layer.convolution_op(inputs, layer.kernel)
            if layer.use_bias:
                z = keras.ops.add(z, layer.bias)
            return backend.redirected_relu(z, clip)

        return conv
    return None


#: Layer kinds that pass a ReLU's output on without mixing channels or adding weights.
_PASS_THROUGH = frozenset({"max_pool", "identity", "reshape", "padding", "cropping"})


def redirected_relu_steps(graph: FlatGraph, keys: Iterable[int]) -> dict[int, Any]:
    """Step replacements (keyed like ``run_graph``'s ``replace``) for the objective's ReLUs.

    For each tensor key the objective reads, the ReLU that produces it is redirected, also
    when max pooling, dropout or a reshape lies between (``pool2`` redirects ``relu2``).
    Earlier ReLUs keep their ordinary gradient: a whole batch item's gradient vanishes
    there only in degenerate cases, and redirecting every ReLU would cost time.
    """
    replace: dict[int, Any] = {}
    for key in keys:
        step = graph.producer(key)
        while step is not None:
            if step.operation is not None:
                substitute = _activation_step(step.operation) or _fused_step(step.operation)
                if substitute is not None:
                    replace[step.outputs[0]] = substitute
                    break
                if layer_kind(step.operation) not in _PASS_THROUGH:
                    break
            inputs = step.input_keys
            if len(inputs) != 1:
                break
            step = graph.producer(inputs[0])
    return replace
