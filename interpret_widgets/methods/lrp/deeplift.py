"""DeepLIFT (rescale rule) and DeepSHAP on the LRP engine's graph walk.

DeepLIFT explains the difference of the target score between an input x and a reference b
by *multipliers* m = ∂(contribution)/∂Δ, propagated backwards like gradients: linear parts
(weights and bias, batch normalization, average pooling, ``Add``, reshapes) pass them by the
chain rule, element-wise non-linearities f scale them by the secant slope
Δy/Δx = (f(x) − f(b)) / (x − b) (their gradient where |Δx| < 1e-7), and max pooling gives
each window's whole output difference to the winner of whichever of x and b has the larger
window maximum (Captum's rule). Products of two tensors (squeeze-and-excitation gates,
``x · hard_sigmoid(x)``) and layer normalization take their Jacobian averaged along the
segment from b to x (:mod:`.deeplift_blocks`); layer scale and arithmetic with a constant
are linear. Every layer then keeps Σ m_in·Δin = Σ m_out·Δout, so the
attributions m_x·(x − b) sum to score(x) − score(b) ("summation to delta").

It is a per-layer rule on a pair of passes, so it reuses what LRP already has: the
propagation plan (the flat graph with nested models expanded, batch normalization folded,
the pre-softmax score head, pre-activations recorded) and its forward pass, run once on x
and once on b. It follows the same layers and refuses the same ones, by name, except that
every product of tensors is a ``product`` step of its own plan (``products=True``). The walk
is compiled once per model, with x, b and the targets as tensors.

References
----------
Shrikumar, Greenside & Kundaje (2017), "Learning Important Features Through Propagating
Activation Differences"; Ancona et al. (2018), "Towards better understanding of
gradient-based attribution methods for Deep Neural Networks"; Lundberg & Lee (2017), "A
Unified Approach to Interpreting Model Predictions" (DeepSHAP).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from ...model import ModelAdapter, backend, get_adapter, propagation_kind
from ...model.inputs import as_baseline
from ..progress import report
from . import deeplift_blocks
from .engine import _forward, _step_function, plan_of
from .plan import Action, Key, Plan

Target = int | Sequence[int] | np.ndarray | None

#: Below this |Δx| an element-wise rule uses the gradient instead of Δy/Δx.
THRESHOLD = 1e-7
#: Layer kinds that are linear (or affine) maps: multipliers pass by the chain rule.
LINEAR_KINDS = frozenset(
    {
        "identity", "rescaling", "normalization", "input", "reshape", "padding", "cropping",
        "concat", "avg_pool", "global_avg_pool", "add", "average", "subtract", "upsampling",
    }
)  # fmt: skip
MAX_KINDS = frozenset({"max_pool", "global_max_pool"})
#: Kinds of ``pass`` steps that are linear in their one tensor: layer scale, and arithmetic
#: with a constant (the plan passes ``x · c`` and ``x / c`` only with the tensor first).
LINEAR_PASS_KINDS = frozenset({"scale", "multiply", "divide"})
#: Plan steps with a rule of :mod:`.deeplift_blocks`.
BLOCK_OPS = frozenset({"product", "layernorm"})
#: Kinds of the plan's units (layers with weights, BN folded) whose map is linear.
UNIT_KINDS = frozenset({"conv", "dense", "depthwise_conv", "separable_conv", "batchnorm"})
#: Reference pairs per compiled call in :func:`deep_shap`.
DEFAULT_BATCH_SIZE = 64

def deep_lift(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    baseline: np.ndarray | float | None = None,
) -> np.ndarray:
    """DeepLIFT attributions (rescale rule) of the target's pre-softmax score, ``x``-shaped.

    ``baseline`` is the reference: ``None`` (zeros), a float, or an array that broadcasts
    to ``x``. The attributions of an image sum to score(x) − score(baseline).

    Raises
    ------
    ValueError
        On a layer that DeepLIFT (like LRP) cannot propagate through, naming it; on a
        baseline that does not broadcast to ``x``; on bad ``x`` or ``target``.

    References
    ----------
    Shrikumar, Greenside & Kundaje (2017), "Learning Important Features Through
    Propagating Activation Differences".
    """
    adapter = get_adapter(model)
    probe = _probe(adapter)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    base = as_baseline(baseline, batch)
    return _run(adapter, probe, batch, base, targets)


def deep_shap(
    model: keras.Model,
    x: np.ndarray,
    background: np.ndarray,
    target: Target = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], Any] | None = None,
) -> np.ndarray:
    """DeepSHAP: the mean of :func:`deep_lift` over the references in ``background``.

    Every (image, reference) pair is one DeepLIFT explanation; the pairs go through the
    compiled walk ``batch_size`` at a time. An image's attributions sum to
    score(x) − mean_b score(b). ``progress(done, total)`` is called after each batch with
    the pairs done so far; it stops the computation by raising, or by returning ``False``
    (then :class:`~interpret_widgets.methods.Stopped` is raised). ``target=None`` explains
    each image's own top class against every reference.

    Raises
    ------
    ValueError
        On a ``background`` that is not a batch of inputs of the model's shape,
        ``batch_size < 1``, a layer DeepLIFT cannot propagate through, or bad input.
    TypeError
        On a ``progress`` that is not callable.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Lundberg & Lee (2017), "A Unified Approach to Interpreting Model Predictions";
    Captum's ``DeepLiftShap``.
    """
    adapter = get_adapter(model)
    probe = _probe(adapter)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    try:
        references = adapter.check_input(background)
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"background must be a batch of references (B, ...) like x; as a batch: {error}"
        ) from error
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be None or a callable(done, total), got {type(progress).__name__}"
        )
    count = len(references)
    total = len(batch) * count
    sums = np.zeros(batch.shape, dtype=np.float64)
    for start in range(0, total, int(batch_size)):
        # Pair p is image p // B against reference p % B; only one chunk is materialized.
        pairs = np.arange(start, min(start + int(batch_size), total))
        images = pairs // count
        attribution = _run(
            adapter, probe, batch[images], references[pairs % count], targets[images]
        )
        for i in np.unique(images):
            sums[i] += attribution[images == i].sum(axis=0, dtype=np.float64)
        report(progress, int(pairs[-1]) + 1, total)
    return (sums / count).astype(np.float32)


def _run(
    adapter: ModelAdapter, probe: Any, x: np.ndarray, base: np.ndarray, targets: np.ndarray
) -> np.ndarray:
    attribution = probe(
        backend.to_tensor(x, adapter.input_dtype),
        backend.to_tensor(base, adapter.input_dtype),
        backend.to_tensor(targets, "int32"),
    )
    return backend.to_numpy(attribution)


def _probe(adapter: ModelAdapter) -> Callable[..., Any]:
    """The compiled DeepLIFT walk of the adapter's model (its plan checked first)."""
    try:
        plan = plan_of(adapter, products=True)
    except ValueError as error:
        raise ValueError(f"DeepLIFT follows LRP's layers: {error}") from error

    def make() -> Callable[..., Any]:
        _check_plan(plan)  # once, before the first trace; a refusal caches nothing
        return _make_function(plan)

    return adapter._probe(("deep_lift",), make)


def _check_plan(plan: Plan) -> None:
    """Refuse, by name, the plan's steps that no DeepLIFT rule below covers."""
    for action in plan.actions:
        if action.op == "alias":
            continue
        if action.op == "unit":
            if action.unit.kind not in UNIT_KINDS:
                raise _unsupported(action, f"layers of kind {action.unit.kind!r}")
            continue
        kind = propagation_kind(action.step.operation)
        if action.op == "product" and len(action.step.input_keys) != 2:
            raise _unsupported(
                action,
                f"a product of {len(action.step.input_keys)} tensors (the product rule is "
                "for two factors; multiply them in pairs)",
            )
        known = (
            action.op in BLOCK_OPS
            or action.op == "pass"
            or kind in LINEAR_KINDS
            or kind in MAX_KINDS
        )
        if not known or len(action.outputs) != 1:
            raise _unsupported(action, f"layers of kind {kind!r} (plan step {action.op!r})")
        if action.op == "pass" and set(action.step.input_keys) != set(action.inputs):
            # LRP may pass relevance to one factor of a product (a gate's signal); the
            # rescale rule is for functions of one tensor.
            raise _unsupported(action, "a step that reads more than the tensor it passes")


def _unsupported(action: Action, what: str) -> ValueError:
    layer = action.step.operation
    name = getattr(layer, "name", type(layer).__name__)
    return ValueError(
        f"DeepLIFT cannot propagate multipliers through layer {name!r} "
        f"({type(layer).__name__}): it has no rule for {what}. It handles layers with "
        f"weights ({', '.join(sorted(UNIT_KINDS))}), element-wise activations, max pooling, "
        "products of two tensors, layer normalization, layer scale, arithmetic with a "
        f"constant and the linear kinds {', '.join(sorted(LINEAR_KINDS))}. Explain a model "
        "without this layer, or use integrated_gradients, which runs through any layer"
    )


def _make_function(plan: Plan) -> Callable[..., Any]:
    def attribute(x: Any, base: Any, classes: Any) -> Any:
        at_x, at_b = _forward(plan, x), _forward(plan, base)
        logits = at_x[plan.score_key]
        classes = backend.select_targets(logits, classes)
        multipliers: dict[Key, Any] = {
            plan.score_key: ops.one_hot(classes, logits.shape[-1], dtype=logits.dtype)
        }
        for action in reversed(plan.actions):
            if not any(k in multipliers for k in action.outputs):
                continue
            upper = [
                multipliers[k] if k in multipliers else ops.zeros_like(at_x[k])
                for k in action.outputs
            ]
            for key, lower in _backward(action, at_x, at_b, upper):
                multipliers[key] = multipliers[key] + lower if key in multipliers else lower
        result = multipliers.get(plan.input_key)
        if result is None:
            return ops.zeros_like(x)
        return result * (x - base)

    return attribute


def _backward(
    action: Action, at_x: dict[Key, Any], at_b: dict[Key, Any], upper: list[Any]
) -> list[tuple[Key, Any]]:
    """(input key, multiplier) pairs for one action of the plan."""
    if action.op == "alias":
        return list(zip(action.inputs, upper, strict=True))
    if action.op == "unit":
        return [(action.inputs[0], _unit(action, at_x, at_b, upper[0]))]
    step, inp, out = action.step, action.inputs[0], action.outputs[0]
    if action.op == "product":
        keys = action.inputs
        function = _step_function(step, keys)
        lower = deeplift_blocks.product(
            function, [at_x[k] for k in keys], [at_b[k] for k in keys], upper[0]
        )
        return list(zip(keys, lower, strict=True))
    if action.op == "layernorm":
        layer = step.operation
        return [(inp, deeplift_blocks.layernorm(layer, at_x[inp], at_b[inp], upper[0]))]
    kind = propagation_kind(step.operation)
    linear = kind in LINEAR_KINDS or kind in LINEAR_PASS_KINDS
    if action.op == "pass" and not linear:
        function = _step_function(step, (inp,))
        return [(inp, rescale(function, at_x[inp], at_b[inp], at_x[out], at_b[out], upper[0]))]
    if kind in MAX_KINDS:
        function = _step_function(step, (inp,))
        return [(inp, max_pool(function, at_x[inp], at_b[inp], at_x[out], at_b[out], upper[0]))]
    keys = tuple(dict.fromkeys(action.inputs))
    _, pullback = backend.vjp(_step_function(step, keys), [at_x[k] for k in keys])
    return list(zip(keys, pullback(upper[0]), strict=True))


def _unit(action: Action, at_x: dict[Key, Any], at_b: dict[Key, Any], upper: Any) -> Any:
    """A layer with weights: its activation by the rescale rule, its linear map by the chain
    rule (the bias cancels in Δz; batch normalization is folded in)."""
    unit, out = action.unit, action.outputs[0]
    if unit.z_key != out:  # an activation inside the layer, applied to the recorded z
        activation = action.step.operation.activation
        z_x, z_b = at_x[unit.z_key], at_b[unit.z_key]
        upper = rescale(activation, z_x, z_b, at_x[out], at_b[out], upper)
    _, pullback = backend.vjp(unit.linear.output, [at_x[action.inputs[0]]])
    return pullback(upper)[0]


def rescale(
    function: Callable[[Any], Any], x: Any, b: Any, y: Any, y_b: Any, upper: Any
) -> Any:
    """Multiplier at the input of an element-wise ``function``: upper·Δy/Δx.

    Where |Δx| < 1e-7 the secant is replaced by the gradient at x (the limit of Δy/Δx).
    """
    delta_x = x - b
    small = ops.abs(delta_x) < THRESHOLD
    _, pullback = backend.vjp(function, [x])
    gradient = pullback(upper)[0]
    secant = upper * (y - y_b) / ops.where(small, ops.ones_like(delta_x), delta_x)
    return ops.where(small, gradient, secant)


def max_pool(function: Callable[[Any], Any], x: Any, b: Any, y: Any, y_b: Any, upper: Any) -> Any:
    """Multiplier at the input of a max pooling (Captum's DeepLIFT rule).

    Each window's contribution upper·(max x_w − max b_w) goes to the winning position in x
    where x's maximum is the larger, else to the winning position in b; the multiplier is
    the contribution divided by Δx there (the gradient at x where |Δx| < 1e-7). Both
    routings are the pooling's own vector-Jacobian products at x and at b.
    """
    delta_y = y - y_b
    _, at_x = backend.vjp(function, [x])
    _, at_b = backend.vjp(function, [b])
    contribution = (
        at_x(upper * ops.maximum(delta_y, 0.0))[0] + at_b(upper * ops.minimum(delta_y, 0.0))[0]
    )
    _, gradient_at_x = backend.vjp(function, [x])
    delta_x = x - b
    small = ops.abs(delta_x) < THRESHOLD
    secant = contribution / ops.where(small, ops.ones_like(delta_x), delta_x)
    return ops.where(small, gradient_at_x(upper)[0], secant)
