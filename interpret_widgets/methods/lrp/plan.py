"""The propagation plan: what LRP does at every step of a model's flat graph.

Built once per model from its :class:`~interpret_widgets.model.FlatGraph`, before anything
is traced. The plan lists *actions* in execution order; the backward pass walks them in
reverse, each taking the relevance at its outputs and adding relevance to its inputs:

- ``alias``: a nested model's boundary, relevance copied;
- ``pass``: element-wise layers (activations, dropout, rescaling, augmentation layers that
  are the identity at inference, layer scale, arithmetic with a constant such as ``x + 3``)
  and the signal input of a gating product (:mod:`.blocks`), relevance unchanged;
- ``route``: layers that move values without mixing them (reshape, padding, cropping,
  concatenation) and max pooling (winner takes all): the layer's own vector-Jacobian
  product applied to the relevance;
- ``norm``: layers without weights that mix inputs (average pooling, global average
  pooling, ``Add``…): relevance shared in proportion to each input's contribution
  (zennit's ``Norm``): R_in = x ⊙ Jᵀ(R / (z + 1e-6·sign z));
- ``gate``: a gating product whose gate broadcasts over the signal: relevance to the signal
  through the product with the gate held constant (signal-take-all, :mod:`.blocks`);
- ``layernorm``: layer normalization, σ held constant, then the ε-rule (:mod:`.blocks`);
- ``product``: only in the plans of DeepLIFT (``products=True``): every product of tensors,
  gating or not, with all its factors as inputs (:mod:`.deeplift_blocks`);
- ``unit``: a layer with weights (batch normalization folded in): the rule's business.

A layer the plan cannot place raises a ``ValueError`` naming it: never a silent wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from keras.layers import Layer

from ...model import (
    FlatGraph,
    ModelAdapter,
    Step,
    activation_name,
    layer_kind,
    propagation_kind,
)
from .blocks import CONSTANT_OP_KINDS, constant_operand, gate_split
from .canonize import find_folds
from .linear import LinearMap, forward_with_record

Key = Any  # an int from the flat graph, or ("z", key, stage) for a recorded tensor

PASS_KINDS = frozenset(
    {"activation", "identity", "rescaling", "normalization", "input", "scale"}
)
ROUTE_KINDS = frozenset({"reshape", "padding", "cropping", "concat", "max_pool", "global_max_pool"})
NORM_KINDS = frozenset({"avg_pool", "global_avg_pool", "add", "average", "subtract", "upsampling"})
LINEAR_STAGES = {"conv": "conv", "dense": "dense", "depthwise_conv": "depthwise"}
#: Activations whose output is never negative (lets rules skip their x⁻ terms).
NONNEGATIVE_ACTIVATIONS = frozenset(
    {"relu", "relu6", "sigmoid", "hard_sigmoid", "softplus", "exponential", "softmax"}
)
#: Keras activations that are not element-wise (each output reads several inputs, or, for
#: GLU, half as many outputs as inputs): relevance cannot pass through them unchanged.
MIXING_ACTIVATIONS = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})
SUPPORTED = sorted(
    PASS_KINDS
    | ROUTE_KINDS
    | NORM_KINDS
    | set(LINEAR_STAGES)
    | {"separable_conv", "batchnorm", "layernorm", "multiply", "divide"}
)


@dataclass(eq=False)
class Unit:
    """A layer with weights (or one stage of it) as the rules see it."""

    linear: LinearMap
    name: str
    kind: str
    z_key: Key
    first: bool = False
    #: True where the unit's output (after its own activation) is never negative.
    nonnegative_output: bool = False
    #: Explicit zero-padding steps that directly feed the unit (innermost first), and the
    #: key of the tensor before them: rules that read no x (flat, the z-box bounds) must
    #: give the padded positions no share.
    padding: tuple[Step, ...] = ()
    unpadded_key: Key | None = None


@dataclass(eq=False)
class Action:
    """One backward step: relevance at ``outputs`` → relevance at ``inputs``."""

    op: str
    outputs: tuple[Key, ...]
    inputs: tuple[Key, ...]
    step: Step | None = None
    unit: Unit | None = None


@dataclass(eq=False)
class Plan:
    """Everything LRP needs to know about one model, computed once."""

    graph: FlatGraph
    score_key: int
    actions: list[Action]
    units: list[Unit]
    recorders: dict[int, tuple[tuple[LinearMap, ...], Any]]
    score_replace: dict[int, Callable[..., Any]]
    relevance_keys: set[Key]
    layer_keys: list[tuple[str, Key]] = field(default_factory=list)
    _nonnegative: dict[bool, dict[int, bool]] = field(default_factory=dict)

    @property
    def input_key(self) -> int:
        return self.graph.input_keys[0]

    @property
    def sum_keys(self) -> list[Key]:
        """The key whose relevance each entry of ``layer_keys`` reports."""
        return [key for _, key in self.layer_keys]

    def nonnegative_inputs(self, input_nonnegative: bool) -> dict[int, bool]:
        """id(unit) → whether the unit's input is never negative.

        Known from the activations on the way (ReLU, max pooling of ReLU…), and, where
        ``input_nonnegative``, from the model input itself (images in [0, 1], [0, 255]).
        """
        cached = self._nonnegative.get(input_nonnegative)
        if cached is None:
            cached = _nonnegative_inputs(self, input_nonnegative)
            self._nonnegative[input_nonnegative] = cached
        return cached

    def replacements(self, recorded: dict[Key, Any]) -> dict[int, Callable[..., Any]]:
        """Step replacements for the forward pass, writing pre-activations into ``recorded``."""
        replace = dict(self.score_replace)
        for key, (maps, activation) in self.recorders.items():

            def record(stage: int, z: Any, key: int = key) -> None:
                recorded[("z", key, stage)] = z

            replace[key] = forward_with_record(maps, activation, record)
        return replace


def unsupported(step: Step, why: str = "") -> ValueError:
    layer = step.operation
    name = getattr(layer, "name", type(layer).__name__)
    kind = propagation_kind(layer)
    loose = layer_kind(layer)
    if why:
        reason = why
    elif loose != kind and loose not in ("other", "op", "model"):
        reason = (
            f"it is not a Keras {loose!r} layer as it stands: its class overrides the forward "
            "computation (call) of the Keras layer it derives from, so no rule can know what "
            "it computes"
        )
    elif kind == "op":
        reason = f"the Keras operation {type(layer).__name__} has no LRP rule"
    else:
        reason = f"layers of kind {kind!r} have no LRP rule"
    what = "layer" if isinstance(layer, Layer) else "Keras operation"
    return ValueError(
        f"LRP cannot propagate relevance through {what} {name!r} ({type(layer).__name__}): "
        f"{reason}. Supported layer kinds: {', '.join(SUPPORTED)}. Explain a model made of "
        "these (e.g. apply the layer to the images before the model), or use a gradient "
        "method (saliency, integrated_gradients), which runs through any layer"
    )


def build_plan(adapter: ModelAdapter, products: bool = False) -> Plan:
    """The plan of ``adapter``'s model.

    ``products=True`` (DeepLIFT's plan) makes every product of tensors a ``product`` action
    reading all its factors, instead of LRP's signal-take-all gate (or refusal).

    Raises
    ------
    ValueError
        If a layer on the way from the input to the score cannot be propagated through.
    """
    graph = adapter.graph
    score_key, score_replace = adapter.score_head()
    needed = _needed_steps(graph.steps, score_key)
    protected = {score_key, *graph.output_keys}
    folds = find_folds(graph, needed, protected)
    folded = {j: i for i, chain in folds.items() for j in chain}
    actions: list[Action] = []
    recorders: dict[int, tuple[tuple[LinearMap, ...], Any]] = {}
    weighted: dict[Key, bool] = {}
    unit_of_key: dict[Key, Key] = {}

    for i, step in enumerate(graph.steps):
        if i not in needed or i in folded:
            continue
        ins = step.input_keys
        if step.operation is None:
            actions.append(Action("alias", step.outputs, ins, step))
            for k_in, k_out in zip(ins, step.outputs, strict=True):
                weighted[k_out] = weighted.get(k_in, False)
            continue
        layer = step.operation
        kind = propagation_kind(layer)
        out = step.outputs[0]
        if kind in LINEAR_STAGES or kind == "separable_conv":
            bns = tuple(graph.steps[j].operation for j in folds.get(i, ()))
            unit_out = graph.steps[folds[i][-1]].outputs[0] if i in folds else out
            for j in folds.get(i, ()):
                unit_of_key[graph.steps[j].outputs[0]] = unit_out
            unit_of_key[out] = unit_out
            act = None if out in score_replace else activation_name(layer)
            if act in MIXING_ACTIVATIONS:
                raise unsupported(step, f"its {act} activation mixes outputs and is not last")
            if act == "linear":
                act = None
            if kind == "separable_conv":
                maps = (
                    LinearMap(layer, "separable_depthwise"),
                    LinearMap(layer, "separable_pointwise", bns),
                )
            else:
                maps = (LinearMap(layer, LINEAR_STAGES[kind], bns),)
            if act is not None or len(maps) == 2:
                # The forward replacement computes the layer itself: the batch
                # normalizations folded into the rule's maps still run as their own steps.
                own = tuple(LinearMap(m.layer, m.stage) for m in maps)
                recorders[out] = (own, layer.activation if act is not None else None)
            source = ins[0]
            rule_kind = _rule_kind(graph, kind, source)
            for stage, linear in enumerate(maps):
                last = stage == len(maps) - 1
                target = unit_out if last else ("z", out, stage)
                z_key = ("z", out, stage) if (act is not None or not last) else unit_out
                unit = Unit(linear, layer.name, rule_kind, z_key)
                unit.first = not weighted.get(source, False)
                if stage == 0:
                    unit.padding, unit.unpadded_key = _padding_chain(graph, source)
                unit.nonnegative_output = last and act in NONNEGATIVE_ACTIVATIONS
                actions.append(Action("unit", (target,), (source,), step, unit))
                weighted[target] = True
                source = target
            continue
        if kind == "batchnorm":
            unit = Unit(LinearMap(layer, "affine"), layer.name, "batchnorm", out)
            actions.append(Action("unit", (out,), ins, step, unit))
            weighted[out] = weighted.get(ins[0], False)
            continue
        if len(step.outputs) != 1:
            raise unsupported(step, "layers with several outputs are not supported")
        special = _modern_action(graph, step, kind, products)
        if special is not None:
            actions.append(special)
            weighted[out] = any(weighted.get(k, False) for k in special.inputs)
            continue
        if kind in PASS_KINDS:
            if kind == "activation" and activation_name(layer) in MIXING_ACTIVATIONS:
                raise unsupported(step, f"{activation_name(layer)} mixes its inputs")
            op = "pass"
        elif kind in ROUTE_KINDS:
            op = "route"
        elif kind in NORM_KINDS:
            op = "norm"
        else:
            raise unsupported(step)
        actions.append(Action(op, step.outputs, ins, step))
        weighted[out] = any(weighted.get(k, False) for k in ins)

    units = [a.unit for a in actions if a.unit is not None]
    plan = Plan(graph, score_key, actions, units, recorders, score_replace, set())
    plan.relevance_keys = _relevance_keys(plan)
    plan.layer_keys = [
        (adapter.name_of(e), unit_of_key.get(e.output_key, e.output_key))
        for e in adapter.layers
        if unit_of_key.get(e.output_key, e.output_key) in plan.relevance_keys
    ]
    return plan


def _modern_action(
    graph: FlatGraph, step: Step, kind: str, products: bool = False
) -> Action | None:
    """The action of a modern block (:mod:`.blocks`), None for other kinds.

    Arithmetic with a constant passes; a product of two tensors is a gating product
    (signal-take-all) or refused, or with ``products`` a ``product`` of all its factors;
    a layer normalization gets its own action.

    Raises
    ------
    ValueError
        For a product that is not a gating product, a division by a tensor, and
        arithmetic whose tensor is the second operand of ``−`` or ``/``.
    """
    ins = step.input_keys
    if kind == "layernorm":
        return Action("layernorm", step.outputs, ins, step)
    if kind in CONSTANT_OP_KINDS:
        why = constant_operand(step)
        if why is None:
            return Action("pass", step.outputs, ins, step)
        if kind == "multiply" and products:
            return Action("product", step.outputs, tuple(dict.fromkeys(ins)), step)
        if kind == "multiply":
            split = gate_split(graph, step)
            if isinstance(split, str):
                raise unsupported(step, split)
            signal, _ = split
            out_shape = _shape_of(graph, step.outputs[0])
            same = _shape_of(graph, signal) == out_shape and out_shape != ()
            return Action("pass" if same else "gate", step.outputs, (signal,), step)
        if kind in ("add", "subtract"):
            return None  # two tensors: shared in proportion (norm)
        raise unsupported(step, why)
    return None


def _rule_kind(graph: FlatGraph, kind: str, source: Key) -> str:
    """The kind composites see: a ``Dense`` on a 4-D (or any > 2-D) tensor is a 1×1
    convolution (ConvNeXt's pointwise MLP), so it gets the rule of convolutions."""
    if kind == "dense" and len(_shape_of(graph, source)) > 2:
        return "conv"
    return kind


def _shape_of(graph: FlatGraph, key: Key) -> tuple:
    """The symbolic shape of the tensor ``key`` (from the graph's layer entries), () if unknown."""
    key = graph.resolve_alias(key)
    for entry in graph.entries:
        if entry.output_key == key:
            return tuple(entry.output_shape)
    return ()


def _padding_chain(graph: FlatGraph, key: Key) -> tuple[tuple[Step, ...], Key | None]:
    """The ZeroPadding steps that directly produce ``key`` (innermost first), and their input.

    ``((), None)`` where ``key`` does not come from an explicit zero padding.
    """
    steps: list[Step] = []
    while True:
        key = graph.resolve_alias(key)
        step = graph.producer(key)
        if (
            step is None
            or step.operation is None
            or propagation_kind(step.operation) != "padding"
            or len(step.input_keys) != 1
            or len(step.outputs) != 1
        ):
            break
        steps.append(step)
        key = step.input_keys[0]
    if not steps:
        return (), None
    return tuple(reversed(steps)), key


def _needed_steps(steps: list[Step], score_key: int) -> set[int]:
    """Indices of the steps whose outputs the score depends on."""
    keys = {score_key}
    needed = set()
    for i in range(len(steps) - 1, -1, -1):
        if keys.intersection(steps[i].outputs):
            needed.add(i)
            keys.update(steps[i].input_keys)
    return needed


def _nonnegative_output(layer: Any, kind: str, inputs: list[bool]) -> bool:
    if kind == "activation":
        if type(layer).__name__ == "ReLU":
            return not layer.negative_slope and layer.threshold >= 0
        return activation_name(layer) in NONNEGATIVE_ACTIVATIONS
    if kind in ("identity", "reshape", "padding", "cropping", "max_pool", "global_max_pool"):
        return inputs[0]
    if kind in ("concat", "avg_pool", "global_avg_pool", "add", "average", "upsampling"):
        return all(inputs)
    if kind == "rescaling":
        scale, offset = np.asarray(layer.scale), np.asarray(layer.offset)
        return inputs[0] and bool(np.all(scale >= 0) and np.all(offset >= 0))
    return False


def _nonnegative_inputs(plan: Plan, input_nonnegative: bool) -> dict[int, bool]:
    nonneg: dict[Key, bool] = {plan.input_key: input_nonnegative}
    result = {}
    for action in plan.actions:
        known = [nonneg.get(k, False) for k in action.inputs]
        if action.op == "alias":
            nonneg.update(zip(action.outputs, known, strict=True))
        elif action.op == "unit":
            result[id(action.unit)] = known[0]
            nonneg[action.outputs[0]] = action.unit.nonnegative_output
        else:
            layer = action.step.operation
            nonneg[action.outputs[0]] = _nonnegative_output(layer, propagation_kind(layer), known)
    return result


def _relevance_keys(plan: Plan) -> set[Key]:
    """Keys that receive relevance in the backward walk (fixed by the plan)."""
    keys: set[Key] = {plan.score_key}
    for action in reversed(plan.actions):
        if keys.intersection(action.outputs):
            keys.update(action.inputs)
    return keys
