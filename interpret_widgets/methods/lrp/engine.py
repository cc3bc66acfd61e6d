"""The LRP engine: one recorded forward pass, one backward walk, compiled together.

The forward pass runs the model's flat graph (nested models expanded) and keeps every
tensor, plus the pre-activation outputs of layers that apply an activation inside
themselves. The backward walk starts from the target's pre-softmax score (one-hot × score)
and visits the plan's actions in reverse, adding up relevance per tensor over fan-out.
Layers with weights use the "gradient trick": each term of the rule evaluates the layer's
linear map with modified parameters on a modified input, the upper relevance is divided by
the stabilized denominators, and one vector-Jacobian product per term brings it back to
the inputs, R_in = Σ_t x_t ⊙ W_tᵀ s_t. The whole walk is compiled once per model and
assignment of rules, with the image and the targets as tensors, so a new image or target
does not retrace.

References
----------
Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
Layer-Wise Relevance Propagation"; Montavon et al. (2019), "Layer-Wise Relevance
Propagation: An Overview".
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops, tree

from ...model import ModelAdapter, Ref, Step, backend, get_adapter, run_graph
from .blocks import layernorm_relevance
from .composites import WEIGHT_KINDS, resolve
from .plan import Action, Key, Plan, Unit, build_plan
from .rules import (
    KEEP,
    POSITIVE,
    STABILIZER,
    Params,
    Rule,
    Term,
    ZBox,
    bound_array,
    check_params,
)

Target = int | Sequence[int] | np.ndarray | None

_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class LRPReport:
    """The result of one LRP call, with the sums a view needs to show conservation.

    Attributes
    ----------
    relevance : ndarray, (N, H, W, C)
        Relevance of every input value.
    scores : ndarray, (N,)
        The target's pre-softmax score: the relevance put in at the top.
    targets : ndarray, (N,)
        The explained class of each sample (the top class resolved).
    input_sum : ndarray, (N,)
        Σ relevance at the input; equal to ``scores`` where the rules conserve.
    layer_sums : dict of str to ndarray (N,)
        Σ relevance entering each layer from above (the relevance at its output), for every
        layer that the relevance passes. A layer folded with the batch normalization after
        it reports the relevance of the folded pair.
    rule : str
        The rule or composite used.
    """

    relevance: np.ndarray
    scores: np.ndarray
    targets: np.ndarray
    input_sum: np.ndarray
    layer_sums: dict[str, np.ndarray]
    rule: str


def lrp_report(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    rule: str | Rule | Mapping[str, Any] | Any = "epsilon",
    **params: Any,
) -> LRPReport:
    """Layer-wise relevance propagation of the target's pre-softmax score, with its sums.

    ``rule`` is a rule name (``"epsilon"``, ``"zplus"``, ``"alpha_beta"``, ``"flat"``,
    ``"gamma"``, ``"zbox"``: that rule on every layer with weights), a composite name
    (``"epsilon_plus"``, ``"epsilon_plus_flat"``, ``"epsilon_gamma_box"``…, see
    :data:`COMPOSITES`), a :class:`~.rules.Rule`, a :class:`~.composites.Composite`, or a
    mapping from layer kinds or layer names to rules (names win; layers with weights it
    does not cover get ε). ``params``: ``epsilon`` (1e-6), ``alpha`` and ``beta`` (1, 0;
    α − β = 1), ``gamma`` (0.25), ``low`` and ``high`` (z-box bounds of the values entering
    the first layer; by default each image's own minimum and maximum there).

    Layers without weights follow :mod:`.plan`; the blocks of modern networks (arithmetic
    with a constant, gating products such as squeeze-and-excitation, layer normalization,
    layer scale, augmentation layers) follow the rules of :mod:`.blocks`.

    Raises
    ------
    ValueError
        On an unknown rule name (listing the valid ones), invalid parameters (e.g.
        α − β ≠ 1), a layer the engine cannot propagate through (naming it and its class),
        and on bad ``x`` or ``target``.
    TypeError
        On an unknown parameter name or a ``rule`` of unsupported type.

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation".
    """
    return _explain(model, x, target, rule, params, with_sums=True)


def _explain(
    model: keras.Model, x: np.ndarray, target: Target, rule: Any, params: dict, with_sums: bool
) -> LRPReport:
    """:func:`lrp_report`; without ``with_sums`` the compiled walk skips the per-layer sums
    (a reduction per layer: ~10 % of the time of a 300-layer model) and ``layer_sums`` is
    empty."""
    adapter = get_adapter(model)
    params = check_params(params)
    assign, description = resolve(rule, params)
    plan = plan_of(adapter)
    if isinstance(rule, Mapping):
        _check_mapping_keys(rule, plan)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    rules = tuple(assign(unit.kind, unit.name, unit.first) for unit in plan.units)
    nonnegative = bool(batch.min() >= 0)
    probe = adapter._probe(
        ("lrp", rules, nonnegative, with_sums),
        lambda: _make_function(plan, rules, nonnegative, with_sums),
    )
    relevance, scores, classes, sums = probe(
        backend.to_tensor(batch, adapter.input_dtype), backend.to_tensor(targets, "int32")
    )
    relevance = backend.to_numpy(relevance)
    axes = tuple(range(1, relevance.ndim))
    return LRPReport(
        relevance=relevance,
        scores=backend.to_numpy(scores),
        targets=backend.to_numpy(classes, "int32"),
        input_sum=relevance.sum(axis=axes, dtype=np.float64).astype(np.float32),
        layer_sums={
            name: backend.to_numpy(s)
            for (name, _), s in zip(plan.layer_keys if with_sums else (), sums, strict=True)
        },
        rule=description,
    )


def lrp(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    rule: str | Rule | Mapping[str, Any] | Any = "epsilon",
    **params: Any,
) -> np.ndarray:
    """Relevance of each input value for the target's pre-softmax score, ``(N, H, W, C)``.

    The relevance put in at the top is the target's score and nothing else; see
    :func:`lrp_report` for the rules, parameters and errors.

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation".
    """
    return _explain(model, x, target, rule, params, with_sums=False).relevance


def plan_of(adapter: ModelAdapter, products: bool = False) -> Plan:
    """The cached propagation plan of the adapter's model (see :func:`build_plan`); LRP's,
    or with ``products=True`` DeepLIFT's (every product of tensors a step of its own)."""
    plans = _PLANS.setdefault(adapter, {})
    if products not in plans:
        plans[products] = build_plan(adapter, products=products)
    return plans[products]


def _check_mapping_keys(mapping: Mapping[str, Any], plan: Plan) -> None:
    names = {unit.name for unit in plan.units}
    unknown = sorted(k for k in mapping if k not in names and k not in WEIGHT_KINDS)
    if unknown:
        raise ValueError(
            f"rule mapping keys {', '.join(map(repr, unknown))} are neither layers with "
            f"weights of the model ({', '.join(sorted(names))}) nor layer kinds "
            f"({', '.join(sorted(WEIGHT_KINDS))})"
        )


def _make_function(
    plan: Plan, rules: tuple[Rule, ...], input_nonnegative: bool, with_sums: bool = True
) -> Callable[..., Any]:
    rule_of = {id(unit): rule for unit, rule in zip(plan.units, rules, strict=True)}
    nonnegative = plan.nonnegative_inputs(input_nonnegative)

    def propagate(x: Any, classes: Any) -> tuple[Any, Any, Any, list[Any]]:
        values = _forward(plan, x)
        logits = values[plan.score_key]
        classes = backend.select_targets(logits, classes)
        scores = backend.gather_rows(logits, classes)
        onehot = ops.one_hot(classes, logits.shape[-1], dtype=logits.dtype)
        relevance: dict[Key, Any] = {plan.score_key: onehot * logits}
        for action in reversed(plan.actions):
            if not any(k in relevance for k in action.outputs):
                continue
            upper = [
                relevance[k] if k in relevance else ops.zeros_like(values[k])
                for k in action.outputs
            ]
            rule = rule_of.get(id(action.unit))
            known = nonnegative.get(id(action.unit), False)
            for key, lower in _backward(action, values, upper, rule, known):
                relevance[key] = relevance[key] + lower if key in relevance else lower
        result = relevance.get(plan.input_key)
        if result is None:
            result = ops.zeros_like(x)
        sums = []
        if with_sums:
            totals = {key: _sample_sum(relevance[key]) for key in dict.fromkeys(plan.sum_keys)}
            sums = [totals[key] for key in plan.sum_keys]
        return result, scores, classes, sums

    return backend.without_autograph(propagate)


def _forward(plan: Plan, x: Any) -> dict[Key, Any]:
    """Every tensor of the forward pass, with the recorded pre-activations merged in."""
    recorded: dict[Key, Any] = {}
    values: dict[Key, Any] = dict(run_graph(plan.graph, [x], replace=plan.replacements(recorded)))
    values.update(recorded)
    return values


def _sample_sum(tensor: Any) -> Any:
    return ops.sum(tensor, axis=tuple(range(1, len(tensor.shape))))


def _backward(
    action: Action,
    values: dict[Key, Any],
    upper: list[Any],
    rule: Rule | None,
    nonnegative: bool = False,
) -> list[tuple[Key, Any]]:
    """(input key, relevance) pairs for one action."""
    if action.op == "alias":
        return list(zip(action.inputs, upper, strict=True))
    if action.op == "pass":
        return [(action.inputs[0], upper[0])]
    if action.op == "layernorm":
        x, z = values[action.inputs[0]], values[action.outputs[0]]
        lower = layernorm_relevance(action.step.operation, x, z, upper[0], STABILIZER)
        return [(action.inputs[0], lower)]
    if action.op == "gate":
        return [(action.inputs[0], _gate_relevance(action, values, upper[0]))]
    if action.op == "unit":
        x = values[action.inputs[0]]
        z = values[action.unit.z_key]
        padding = None
        if action.unit.padding:
            padding = (action.unit.padding, values[action.unit.unpadded_key])
        lower = unit_relevance(action.unit, rule, x, z, upper[0], nonnegative, padding)
        return [(action.inputs[0], lower)]
    keys = tuple(dict.fromkeys(action.inputs))
    primals = [values[k] for k in keys]
    out, pullback = backend.vjp(_step_function(action.step, keys), primals)
    if action.op == "route":
        return list(zip(keys, pullback(upper[0]), strict=True))
    scaled = _divide(upper[0], values[action.outputs[0]], STABILIZER)
    grads = pullback(scaled)
    return [(k, p * g) for k, p, g in zip(keys, primals, grads, strict=True)]


def _gate_relevance(action: Action, values: dict[Key, Any], upper: Any) -> Any:
    """Signal-take-all through a product whose gate broadcasts: the gate held constant."""
    keys = tuple(dict.fromkeys(action.step.input_keys))
    signal = action.inputs[0]
    _, pullback = backend.vjp(_step_function(action.step, keys), [values[k] for k in keys])
    grads = pullback(_divide(upper, values[action.outputs[0]], STABILIZER))
    return values[signal] * grads[keys.index(signal)]


def _step_function(step: Step, keys: tuple[Key, ...]) -> Callable[..., Any]:
    """The step's operation as a function of its distinct input tensors."""

    def call(*tensors: Any) -> Any:
        def fill(value: Any) -> Any:
            return tensors[keys.index(value.key)] if isinstance(value, Ref) else value

        args = tree.map_structure(fill, step.args)
        kwargs = tree.map_structure(fill, step.kwargs)
        return step.operation(*args, **kwargs)

    return call


def _divide(relevance: Any, z: Any, stabilizer: float, sign: str | None = None) -> Any:
    """R / (z + s·sign(z)), sign(0) = +1; with s = 0, zero where z = 0.

    ``sign`` is the sign z is known to have (``"positive"``: z ≥ 0, ``"negative"``: z ≤ 0,
    where a z = 0 has only zero numerators, so either stabilizer gives the same result).
    """
    if stabilizer == 0:
        return ops.divide_no_nan(relevance, z)
    if sign == "positive":
        return relevance / (z + stabilizer)
    if sign == "negative":
        return relevance / (z - stabilizer)
    return relevance / ops.where(z >= 0, z + stabilizer, z - stabilizer)


def unit_relevance(
    unit: Unit,
    rule: Rule,
    x: Any,
    z: Any,
    upper: Any,
    nonnegative: bool = False,
    padding: tuple[tuple[Step, ...], Any] | None = None,
) -> Any:
    """Relevance at the input of one layer with weights under ``rule``.

    ``x`` is the layer's input, ``z`` its unmodified output (pre-activation, batch
    normalization folded in), ``upper`` the relevance at that output; ``nonnegative`` says
    that x ≥ 0 (then x⁺ = x and the x⁻ terms vanish exactly). Terms that read x itself
    reuse z (W x = z − b) and share at most two vector-Jacobian products, through W and W⁺.
    ``padding`` is (the ZeroPadding steps that produced ``x``, their input): the sources
    that do not read x itself (ones, the z-box distances) are then zero at padded positions,
    so that zero padding gets no share, as with a convolution's own ``"same"`` padding, and
    the default z-box bounds are taken over the real values only.
    """
    linear = unit.linear
    kernel, bias = linear.parameters()
    source_of = _Sources(x, rule, padding)
    terms = rule.terms()
    if nonnegative:
        terms = tuple(t for t in terms if t.source != "x-")
    sources = ["x" if nonnegative and t.source == "x+" else t.source for t in terms]
    parts = _partial_outputs(linear, kernel, bias, terms, sources, x, z, source_of)
    scales = []
    for index, group in enumerate(rule.groups()):
        members = [i for i, t in enumerate(terms) if t.group == index]
        if not members:
            scales.append(None)
            continue
        denominator = None
        for i in members:
            part = parts[i] if terms[i].sign == 1 else terms[i].sign * parts[i]
            denominator = part if denominator is None else denominator + part
        scale = _divide(upper, denominator, rule.stabilizer, group.sign)
        if group.share != 1:
            scale = group.share * scale
        if group.where is not None:
            keep = z > 0 if group.where == "positive" else z < 0
            scale = ops.where(keep, scale, 0.0)
        scales.append(scale)
    # Cotangent of every (input, weights) map; terms that read x go through W and W⁺.
    maps: dict[tuple[str, Params], Any] = {}
    for term, source in zip(terms, sources, strict=True):
        cotangent = scales[term.group] * term.sign if term.sign != 1 else scales[term.group]
        if source == "x" and not term.weights.ones:
            pieces = ((KEEP, term.weights.a), (POSITIVE, term.weights.c))
        else:
            pieces = ((term.weights, 1.0),)
        for weights, coefficient in pieces:
            if coefficient:
                piece = cotangent if coefficient == 1 else coefficient * cotangent
                key = (source, weights)
                maps[key] = maps[key] + piece if key in maps else piece
    names = list(dict.fromkeys(source for source, _ in maps))
    primals = [source_of(name) for name in names]
    modified = {weights: weights(kernel) for _, weights in maps}

    def forward(*inputs: Any) -> list[Any]:
        return [
            linear.apply(inputs[names.index(source)], modified[weights], None)
            for source, weights in maps
        ]

    _, pullback = backend.vjp(forward, primals)
    grads = pullback(list(maps.values()))
    lower = None
    for primal, grad in zip(primals, grads, strict=True):
        part = primal * grad
        lower = part if lower is None else lower + part
    return lower


def _partial_outputs(
    linear: Any,
    kernel: Any,
    bias: Any,
    terms: tuple[Term, ...],
    sources: list[str],
    x: Any,
    z: Any,
    source_of: _Sources,
) -> list[Any]:
    """z_t of every term; those reading x are a·(z − b) + c·W⁺x (+ their bias)."""
    cache: dict[str, Any] = {}

    def linear_part() -> Any:
        if "Wx" not in cache:
            cache["Wx"] = z if bias is None else linear.add_bias(z, -bias)
        return cache["Wx"]

    def positive_part() -> Any:
        if "W+x" not in cache:
            cache["W+x"] = linear.apply(x, POSITIVE(kernel), None)
        return cache["W+x"]

    parts = []
    for term, source in zip(terms, sources, strict=True):
        term_bias = None if term.bias is None or bias is None else term.bias(bias)
        if term.plain:
            parts.append(z)
            continue
        if source == "x" and not term.weights.ones:
            a, c = term.weights.a, term.weights.c
            part = None
            if a:
                part = linear_part() if a == 1 else a * linear_part()
            if c:
                extra = positive_part() if c == 1 else c * positive_part()
                part = extra if part is None else part + extra
            part = ops.zeros_like(z) if part is None else part
            parts.append(part if term_bias is None else linear.add_bias(part, term_bias))
            continue
        # Inputs that are the same for every sample are evaluated on one sample.
        value = source_of.ones_sample() if source == "ones" else source_of(source)
        parts.append(linear.apply(value, term.weights(kernel), term_bias))
    return parts


class _Sources:
    """The modified inputs the terms of one layer read, zero where explicit padding put x."""

    def __init__(self, x: Any, rule: Rule, padding: tuple[tuple[Step, ...], Any] | None) -> None:
        self.x = x
        self.rule = rule
        self.padding = padding
        self._mask: Any = None

    def mask(self) -> Any:
        """1 at real positions, 0 at padded ones, for one sample (None without padding)."""
        if self.padding is None:
            return None
        if self._mask is None:
            steps, unpadded = self.padding
            mask = ops.ones_like(unpadded[:1])
            for step in steps:
                mask = step.operation(mask)
            self._mask = ops.cast(mask, self.x.dtype)
        return self._mask

    def ones_sample(self) -> Any:
        """The "ones" source of one sample (it is the same for every sample)."""
        mask = self.mask()
        return ops.ones_like(self.x[:1]) if mask is None else mask

    def __call__(self, name: str) -> Any:
        value = _source(name, self.x, self.rule, None if self.padding is None else self.padding[1])
        if self.padding is None or name in ("x", "x+", "x-"):
            return value  # x is zero where it was padded: nothing to mask
        return value * self.mask()


def _source(name: str, x: Any, rule: Rule, bounds_of: Any = None) -> Any:
    """The modified input a term reads.

    ``bounds_of`` is the tensor whose per-sample minimum and maximum are the default z-box
    bounds (``x`` itself where None).
    """
    if name == "x":
        return x
    if name == "x+":
        return ops.maximum(x, 0.0)
    if name == "x-":
        return ops.minimum(x, 0.0)
    if name == "ones":
        return ops.ones_like(x)
    if name in ("x-low", "x-high"):
        if not isinstance(rule, ZBox):
            raise ValueError(f"only the zbox rule reads the {name!r} bound")
        low = name == "x-low"
        bound = bound_array(rule.low if low else rule.high)
        if bound is None:
            inner = x if bounds_of is None else bounds_of
            axes = tuple(range(1, len(inner.shape)))
            bound = (ops.min if low else ops.max)(inner, axis=axes, keepdims=True)
        return x - ops.cast(bound, x.dtype)
    raise ValueError(f"unknown term source {name!r}")
