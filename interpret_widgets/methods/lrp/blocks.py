"""LRP rules for the blocks of modern networks: constant arithmetic, gates, layer normalization.

- **Element-wise arithmetic with a constant** (``x + 3.0``, ``x * (1/6)``, ``x / c``, ``x − c``
  as Keras operations or layers) acts on each value alone, like an activation, and passes
  relevance through unchanged (for a product with a constant this is also what the ε-rule
  gives, x·c / (x·c) = 1).
- **Gating products** ``Multiply([signal, gate])`` (squeeze-and-excitation, attention gates):
  the gate is treated as a constant weight and all relevance goes to the signal, the
  "signal-take-all" rule of Arras et al. (2017). The gate is the input whose branch,
  followed back from the product through layers with one input, reaches a global pooling
  or a sigmoid / hard sigmoid (as a layer, an ``Activation``, a layer's own ``activation``
  or a Keras operation) before it reaches a layer with several inputs or the model input;
  the other input is the signal. A product where neither or both inputs qualify is refused.
- **Layer normalization** y = (x − mean x)/σ·γ + β with σ = √(var x + ε_LN) treated as a
  constant (Ali et al. 2022) is a linear map of x, W = diag(γ/σ)(I − 11ᵀ/C) over the
  normalized axes; relevance goes through it with the ε-rule (bias β included in z):
  R_in = x ⊙ Wᵀ(R / (y + ε·sign y)) = x ⊙ (g − mean g), g = γ/σ ⊙ R / (y + ε·sign y). With
  β = 0 it conserves: Σ R_in = Σ R (up to ε). ``rms_scaling=True`` drops the centering.

References
----------
Arras et al. (2017), "Explaining Recurrent Neural Network Predictions in Sentiment
Analysis"; Ali et al. (2022), "XAI for Transformers: Better Explanations through
Conservative Propagation".
"""

from __future__ import annotations

from typing import Any

from keras import ops

from ...model import FlatGraph, Ref, Step, activation_name, propagation_kind

#: Arithmetic kinds that pass relevance unchanged where the other operand is a constant.
CONSTANT_OP_KINDS = frozenset({"add", "subtract", "multiply", "divide"})
#: Activations that mark a branch as a gate.
GATE_ACTIVATIONS = frozenset({"sigmoid", "hard_sigmoid"})
GATE_KINDS = frozenset({"global_avg_pool", "global_max_pool"})


def constant_operand(step: Step) -> str | None:
    """Why ``step`` (arithmetic) is not tensor ∘ constant, or None where it is.

    The tensor must be the only tensor argument and, for ``−`` and ``/``, come first.
    """
    keys = step.input_keys
    if len(keys) != 1:
        return "it combines several tensors"
    kind = propagation_kind(step.operation)
    first = step.args[0] if step.args else None
    if kind in ("subtract", "divide") and not isinstance(first, Ref):
        return f"its tensor is the second operand (a constant {kind}d by the tensor)"
    return None


def _marks_gate(step: Step) -> bool:
    layer = step.operation
    kind = propagation_kind(layer)
    if kind in GATE_KINDS:
        return True
    return activation_name(layer) in GATE_ACTIVATIONS


def is_gate_branch(graph: FlatGraph, key: Any) -> bool:
    """True where the branch ending at ``key`` comes from a pooled or sigmoid path.

    Followed back through aliases and steps with one tensor input; a global pooling or a
    sigmoid / hard sigmoid on the way makes it a gate, a step with several inputs (or the
    model input) ends the walk.
    """
    seen = set()
    while key not in seen:
        seen.add(key)
        key = graph.resolve_alias(key)
        step = graph.producer(key)
        if step is None or step.operation is None:
            return False
        if _marks_gate(step):
            return True
        inputs = tuple(dict.fromkeys(step.input_keys))
        if len(inputs) != 1:
            return False
        key = inputs[0]
    return False


def gate_split(graph: FlatGraph, step: Step) -> tuple[Any, Any] | str:
    """(signal key, gate key) of a gating product, or why it is not one."""
    keys = tuple(dict.fromkeys(step.input_keys))
    if len(keys) != 2:
        return (
            f"it multiplies {len(step.input_keys)} tensors ({len(keys)} distinct); only a "
            "product of a signal and a gate has a rule"
        )
    gates = [is_gate_branch(graph, k) for k in keys]
    if sum(gates) != 1:
        which = "both" if all(gates) else "neither"
        return (
            f"it is not a gating product: {which} of its inputs comes from a global pooling "
            "or a sigmoid / hard sigmoid (the gate is the one that does)"
        )
    gate = keys[gates.index(True)]
    signal = keys[gates.index(False)]
    return signal, gate


def layernorm_relevance(layer: Any, x: Any, z: Any, upper: Any, stabilizer: float) -> Any:
    """Relevance at the input of a LayerNormalization, σ constant, ε-rule (see module doc)."""
    rank = len(x.shape)
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    axes = sorted(int(a) % rank for a in axes)
    x = ops.cast(x, "float32")
    if layer.rms_scaling:
        variance = ops.var(x, axis=axes, keepdims=True)
    else:
        _, variance = ops.moments(x, axes=axes, keepdims=True)
    z = ops.cast(z, "float32")
    denominator = ops.where(z >= 0, z + stabilizer, z - stabilizer)
    g = upper / denominator * ops.rsqrt(variance + layer.epsilon)
    if layer.scale:
        shape = [1] * rank
        for axis in axes:
            shape[axis] = x.shape[axis]
        g = g * ops.reshape(ops.cast(layer.gamma, "float32"), shape)
    if not layer.rms_scaling:
        g = g - ops.mean(g, axis=axes, keepdims=True)
    return x * g
