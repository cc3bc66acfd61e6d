"""Guided backpropagation: the input gradient with every ReLU passing back only positive
gradient where its input was positive.

We run the model's flat graph ourselves (nested models expanded), as the other probes do,
and replace the steps that apply a ReLU by the same step followed by
:func:`~interpret_widgets.model.backend.positive_gradient`, an identity whose gradient keeps
only its positive part. The ReLU's own gradient then masks the positions whose input was
not positive, so each ReLU passes max(g, 0)·[input > 0] (Springenberg et al.; Captum's
``GuidedBackprop``). Covered: ``ReLU`` layers without a negative slope or threshold
(clipped ones such as ReLU6 included: their own gradient also masks the saturated side),
``Activation("relu")``/``("relu6")``, every Keras layer with a fused ReLU
``activation=`` (Conv, Dense…), and ``keras.ops.relu``/``relu6`` or
``keras.activations.relu`` calls in a functional graph. The user's layers run unchanged;
only our execution differs. Other non-linearities keep their ordinary gradient.

References
----------
Springenberg, Dosovitskiy, Brox & Riedmiller (2015), "Striving for Simplicity: The All
Convolutional Net".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from ..model import FlatGraph, activation_name, backend, get_adapter, propagation_kind
from .gradients import Target

_RELU_ACTIVATIONS = frozenset({"relu", "relu6"})
_RELU_OPERATIONS = frozenset({"Relu", "Relu6", "ReLU"})


def guided_backprop(model: keras.Model, x: np.ndarray, target: Target = None) -> np.ndarray:
    """Guided-backpropagation gradient of the target's pre-softmax score, ``x``-shaped.

    Equal to the plain gradient (:func:`~interpret_widgets.methods.saliency`) on a model
    without ReLUs.

    Raises
    ------
    ValueError, TypeError
        On a badly shaped ``x`` or an invalid ``target``.

    References
    ----------
    Springenberg, Dosovitskiy, Brox & Riedmiller (2015), "Striving for Simplicity: The All
    Convolutional Net".
    """
    adapter = get_adapter(model)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    return adapter.input_gradients(
        batch, targets, replace=lambda: guided_steps(adapter.graph), probe="guided_backprop"
    )[1]


def guided_steps(graph: FlatGraph) -> dict[int, Callable[..., Any]]:
    """Step replacements (keyed like ``run_graph``'s ``replace``) that guide every ReLU."""
    replace = {}
    for step in graph.steps:
        if step.operation is not None and is_relu(step.operation):
            replace[step.outputs[0]] = _guided(step.operation)
    return replace


def is_relu(operation: Any) -> bool:
    """True for a layer or operation whose output is a ReLU (or clipped ReLU) of its input
    or of its own pre-activation."""
    if isinstance(operation, keras.Model):
        return False
    if not isinstance(operation, keras.layers.Layer):
        if type(operation).__name__ not in _RELU_OPERATIONS:
            return False
        if not type(operation).__module__.startswith("keras."):
            return False
        return not getattr(operation, "negative_slope", 0) and not getattr(
            operation, "threshold", 0
        )
    # Strict kinds: a user subclass with its own call may not apply what it declares.
    kind = propagation_kind(operation)
    if kind == "other":
        return False
    if isinstance(operation, keras.layers.ReLU):
        return not operation.negative_slope and not operation.threshold
    return activation_name(operation) in _RELU_ACTIVATIONS


def _guided(operation: Any) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return backend.positive_gradient(operation(*args, **kwargs))

    return call
