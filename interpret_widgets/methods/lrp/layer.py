"""LRP relevance at a hidden layer's output: the engine's backward walk, ended at the layer.

Channel rankings ("Pruning by explaining") need the relevance of every unit of a hidden
layer, not only of the input. The engine walks the plan's actions backwards from the score
to the input; this module gives it a view of the same plan whose walk ends at the layer's
output tensor and returns the relevance there. The engine's code is reused unchanged, the
forward pass is the same, and the relevance at the layer is exactly the one that the full
walk passes through it (its sum is the ``layer_sums`` entry of :func:`lrp_report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from ...model import backend, get_adapter
from .composites import resolve
from .engine import Target, _make_function, plan_of
from .plan import Key, Plan
from .rules import Rule, check_params


@dataclass(eq=False)
class _PlanDownTo(Plan):
    """The whole model's plan, with the backward walk ending at ``stop_key``."""

    stop_key: Key = None
    whole: Plan | None = None

    @property
    def input_key(self) -> Key:
        return self.stop_key

    def nonnegative_inputs(self, input_nonnegative: bool) -> dict[int, bool]:
        return self.whole.nonnegative_inputs(input_nonnegative)


def _down_to(plan: Plan, key: Key) -> _PlanDownTo:
    last = max(i for i, action in enumerate(plan.actions) if key in action.outputs)
    return _PlanDownTo(
        graph=plan.graph,
        score_key=plan.score_key,
        actions=plan.actions[last + 1 :],
        units=plan.units,
        recorders=plan.recorders,
        score_replace=plan.score_replace,
        relevance_keys=plan.relevance_keys,
        layer_keys=[],
        stop_key=key,
        whole=plan,
    )


def layer_relevance(
    model: keras.Model,
    x: np.ndarray,
    layer: str | Any,
    target: Target = None,
    rule: str | Rule | Mapping[str, Any] | Any = "epsilon_plus",
    **params: Any,
) -> np.ndarray:
    """LRP relevance of every value of ``layer``'s output, shaped like that output, float32.

    The relevance entering the layer from above, under the rules of :func:`lrp_report`
    (same ``rule`` and ``params``; ε⁺ by default, the composite of "Pruning by explaining").
    Summed over positions it gives a relevance per channel. A layer folded with the batch
    normalization after it (as the engine does) reports the relevance of the folded pair's
    output.

    Raises
    ------
    ValueError
        If relevance does not reach the layer (it does not lead to the score), and on the
        errors of :func:`lrp_report`.

    References
    ----------
    Yeom et al. (2021), "Pruning by Explaining: A Novel Criterion for Deep Neural Network
    Pruning", Pattern Recognition 115.
    """
    adapter = get_adapter(model)
    entry = adapter.resolve_layer(layer)
    name = adapter.name_of(entry)
    params = check_params(params)
    assign, _ = resolve(rule, params)
    plan = plan_of(adapter)
    key = dict(plan.layer_keys).get(name)
    if key is None:
        raise ValueError(
            f"LRP relevance does not reach layer {name!r}: it does not lead to the score of "
            f"model {adapter.name!r}"
        )
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    rules = tuple(assign(unit.kind, unit.name, unit.first) for unit in plan.units)
    nonnegative = bool(batch.min() >= 0)
    probe = adapter._probe(
        ("lrp_layer", key, rules, nonnegative),
        lambda: _make_function(_down_to(plan, key), rules, nonnegative),
    )
    relevance, _, _, _ = probe(
        backend.to_tensor(batch, adapter.input_dtype), backend.to_tensor(targets, "int32")
    )
    return backend.to_numpy(relevance)
