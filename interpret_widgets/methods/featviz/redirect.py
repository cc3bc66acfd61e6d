"""Redirected ReLU gradients for the optimizer's own forward pass.

A unit that is inactive (ReLU output 0) for the starting grey image passes no gradient, so
plain gradient ascent cannot move what lies behind it. Lucid's remedy is to redirect the
ReLU's gradient for a batch item whose ordinary gradient vanishes (see
:func:`interpret_widgets.model.backend.redirected_relu`). We apply it through the adapter's
step replacements, which substitute a callable for a layer's call in our execution only:
the model keeps its layers, activations and weights.

Two scopes (:func:`redirected_relu_steps`): ``"objective"``, the ReLUs whose outputs the
objective reads (through pooling and reshapes), and ``"path"``, every ReLU the objective's
tensors depend on. The optimizer uses the path scope for its first steps, as Lucid does
(its override covers every ReLU for at most 16 steps): on a grey image an early ReLU can
be 0 over a neuron's whole receptive field (the demo model's ``relu1`` is 0 away from the
border), and only redirecting it lets that neuron start. Covered: ``ReLU`` layers without
a negative slope or threshold, ``Activation("relu")`` and ``Activation("relu6")``, and
``Conv``/``Dense`` layers with a fused ReLU activation (recomputed from their own kernel
and bias). Other layers run unchanged, and forward values are the ordinary ones.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill; Lucid's
``redirected_relu_grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import keras

from ...model import FlatGraph, activation_name, backend, layer_kind, propagation_kind

_CLIPS = {"relu": None, "relu6": 6.0}


def _activation_step(layer: Any) -> Callable[..., Any] | None:
    # Strict kinds: a user subclass with its own call is never replaced by our computation.
    kind = propagation_kind(layer)
    if kind == "other":
        return None
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
    kind = propagation_kind(layer)
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


def _substitute(step: Any) -> Callable[..., Any] | None:
    if step.operation is None:
        return None
    return _activation_step(step.operation) or _fused_step(step.operation)


def redirected_relu_steps(
    graph: FlatGraph, keys: Iterable[int], scope: str = "objective"
) -> dict[int, Any]:
    """Step replacements (keyed like ``run_graph``'s ``replace``) that redirect ReLUs.

    ``scope="objective"``: for each tensor key the objective reads, the ReLU that produces
    it, also when max pooling, dropout or a reshape lies between (``pool2`` redirects
    ``relu2``). ``scope="path"``: every covered ReLU that those tensors depend on, the
    objective's own included (a superset of the first).
    """
    if scope == "path":
        return _path_steps(graph, keys)
    if scope != "objective":
        raise ValueError(f"scope must be 'objective' or 'path', got {scope!r}")
    replace: dict[int, Any] = {}
    for key in keys:
        step = graph.producer(key)
        while step is not None:
            substitute = _substitute(step)
            if substitute is not None:
                replace[step.outputs[0]] = substitute
                break
            if step.operation is not None and layer_kind(step.operation) not in _PASS_THROUGH:
                break
            inputs = step.input_keys
            if len(inputs) != 1:
                break
            step = graph.producer(inputs[0])
    return replace


def _path_steps(graph: FlatGraph, keys: Iterable[int]) -> dict[int, Any]:
    replace: dict[int, Any] = {}
    pending, seen = list(keys), set()
    while pending:
        key = pending.pop()
        step = graph.producer(key)
        if key in seen or step is None:
            continue
        seen.update(step.outputs)
        substitute = _substitute(step)
        if substitute is not None:
            replace[step.outputs[0]] = substitute
        pending.extend(step.input_keys)
    return replace
