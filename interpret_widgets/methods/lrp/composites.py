"""Composites: which rule each layer with weights gets, as named first-match lists.

A :class:`Composite` maps layer kinds (from :mod:`interpret_widgets.model.kinds`) to rules,
first match wins, with an optional separate list for the first layers with weights (those
that no other layer with weights precedes on the way from the input). Rules may be given as
:class:`~.rules.Rule` values or by name; names are filled in with the parameters of the
call (``epsilon``, ``gamma``, ``low``…), so one registered composite serves every setting.

Users pass a composite name, a rule name (that rule on every layer with weights), a
:class:`~.rules.Rule`, a :class:`Composite`, or their own mapping from layer kinds or
layer names to rules (names win over kinds; layers with weights that the mapping does not
cover get the ε-rule).

References
----------
Kohlbrenner et al. (2020), "Towards Best Practice in Explaining Neural Network Decisions
with LRP"; Anders et al. (2021), "Software for Dataset-wide XAI" (zennit's composites).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .rules import RULES, AlphaBeta, Rule, make_rule

#: Kinds of layers with weights that the rules apply to; "batchnorm" is a batch
#: normalization that could not be folded into a preceding layer (an element-wise affine map).
CONV_KINDS = frozenset({"conv", "depthwise_conv", "separable_conv"})
DENSE_KINDS = frozenset({"dense"})
AFFINE_KINDS = frozenset({"batchnorm"})
WEIGHT_KINDS = CONV_KINDS | DENSE_KINDS | AFFINE_KINDS

RuleSpec = Rule | str
LayerMap = tuple[tuple[frozenset[str], RuleSpec], ...]


@dataclass(frozen=True)
class Composite:
    """A named first-match list of (layer kinds → rule), and one for the first layers.

    ``first_map`` applies to the layers with weights closest to the input (no layer with
    weights before them); where it has no match, ``layer_map`` decides.
    """

    name: str
    layer_map: LayerMap
    first_map: LayerMap = ()
    description: str = ""

    def rule_for(self, kind: str, first: bool, params: Mapping[str, Any]) -> Rule | None:
        """The rule for a layer of ``kind``; None where no entry matches."""
        maps = (self.first_map, self.layer_map) if first else (self.layer_map,)
        for layer_map in maps:
            for kinds, spec in layer_map:
                if kind in kinds:
                    return as_rule(spec, params)
        return None


def as_rule(spec: RuleSpec, params: Mapping[str, Any]) -> Rule:
    """A rule value from a rule or a rule name (filled with ``params``).

    Raises
    ------
    ValueError
        On an unknown rule name.
    TypeError
        If ``spec`` is neither a rule nor a string.
    """
    if isinstance(spec, Rule):
        return spec
    if isinstance(spec, str):
        return make_rule(spec, dict(params))
    raise TypeError(f"a rule must be a Rule or a rule name, got {type(spec).__name__}")


def _everywhere(rule_name: str) -> Composite:
    return Composite(
        rule_name,
        ((WEIGHT_KINDS, rule_name),),
        description=f"the {rule_name} rule on every layer with weights",
    )


_BASE: LayerMap = ((DENSE_KINDS, "epsilon"), (AFFINE_KINDS, "epsilon"))

#: Registered composites by name (the plain rule names are composites too).
COMPOSITES: dict[str, Composite] = {name: _everywhere(name) for name in RULES}


def register_composite(composite: Composite) -> Composite:
    """Add ``composite`` to :data:`COMPOSITES` under its name (replacing one of that name)."""
    if not isinstance(composite, Composite):
        raise TypeError(f"expected a Composite, got {type(composite).__name__}")
    COMPOSITES[composite.name] = composite
    return composite


register_composite(
    Composite(
        "epsilon_plus",
        ((CONV_KINDS, "zplus"), *_BASE),
        description="z+ on convolutions, epsilon on dense layers",
    )
)
register_composite(
    Composite(
        "epsilon_plus_flat",
        ((CONV_KINDS, "zplus"), *_BASE),
        first_map=((WEIGHT_KINDS - AFFINE_KINDS, "flat"),),
        description="as epsilon_plus, with the flat rule on the first layer with weights",
    )
)
register_composite(
    Composite(
        "epsilon_gamma_box",
        ((CONV_KINDS, "gamma"), *_BASE),
        first_map=((WEIGHT_KINDS - AFFINE_KINDS, "zbox"),),
        description="z-box on the first layer, gamma on convolutions, epsilon on dense layers",
    )
)
register_composite(
    Composite(
        "epsilon_alpha2_beta1",
        ((CONV_KINDS, AlphaBeta(2.0, 1.0)), *_BASE),
        description="alpha=2, beta=1 on convolutions, epsilon on dense layers",
    )
)
register_composite(
    Composite(
        "epsilon_alpha2_beta1_flat",
        ((CONV_KINDS, AlphaBeta(2.0, 1.0)), *_BASE),
        first_map=((WEIGHT_KINDS - AFFINE_KINDS, "flat"),),
        description="as epsilon_alpha2_beta1, with the flat rule on the first layer with weights",
    )
)


def valid_names() -> list[str]:
    """Every rule and composite name that ``lrp`` accepts."""
    return list(COMPOSITES)


Assign = Callable[[str, str, bool], Rule]


def resolve(spec: Any, params: Mapping[str, Any]) -> tuple[Assign, str]:
    """A function (kind, layer name, first) → rule, and a description of ``spec``.

    Raises
    ------
    ValueError
        On an unknown rule or composite name (the message lists the valid names), or on
        invalid rule parameters.
    TypeError
        If ``spec`` is of an unsupported type.
    """
    if isinstance(spec, str):
        composite = COMPOSITES.get(spec)
        if composite is None:
            raise ValueError(
                f"unknown LRP rule or composite {spec!r}; valid names are "
                f"{', '.join(map(repr, valid_names()))}"
            )
        return _composite_assign(composite, params), composite.name
    if isinstance(spec, Rule):
        return (lambda kind, name, first: spec), spec.describe()
    if isinstance(spec, Composite):
        return _composite_assign(spec, params), spec.name
    if isinstance(spec, Mapping):
        return _mapping_assign(spec, params), "custom mapping"
    raise TypeError(
        "rule must be a rule or composite name, a Rule, a Composite, or a mapping from layer "
        f"kinds or names to rules; got {type(spec).__name__}"
    )


def _composite_assign(composite: Composite, params: Mapping[str, Any]) -> Assign:
    # Build every named rule once, so that bad parameters fail before any layer is seen.
    for _, spec in composite.layer_map + composite.first_map:
        as_rule(spec, params)

    def assign(kind: str, name: str, first: bool) -> Rule:
        rule = composite.rule_for(kind, first, params)
        if rule is None:
            raise ValueError(
                f"composite {composite.name!r} has no rule for layer {name!r} of kind {kind!r}"
            )
        return rule

    return assign


def _mapping_assign(mapping: Mapping[Any, RuleSpec], params: Mapping[str, Any]) -> Assign:
    rules = {}
    for key, spec in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"mapping keys must be layer kinds or names, got {key!r}")
        rules[key] = as_rule(spec, params)
    default = make_rule("epsilon", dict(params))

    def assign(kind: str, name: str, first: bool) -> Rule:
        if name in rules:
            return rules[name]
        return rules.get(kind, default)

    return assign


class _Reading(dict):
    """A parameter mapping that notes which names a rule reads."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        self.read.add(name)
        return super().__getitem__(name)


def composite_parameters(name: str) -> tuple[str, ...]:
    """The parameters of ``lrp`` (names of :data:`~.rules.PARAMS`) that ``name`` reads.

    For a registered rule or composite name: the parameters of the rules it names (rules
    given as values carry their own). A view builds its parameter controls from this.

    Raises
    ------
    ValueError
        On an unknown name (the message lists the valid names).
    """
    from .rules import PARAMS

    composite = COMPOSITES.get(name)
    if composite is None:
        raise ValueError(
            f"unknown LRP rule or composite {name!r}; valid names are "
            f"{', '.join(map(repr, valid_names()))}"
        )
    reading = _Reading(PARAMS)
    for _, spec in composite.layer_map + composite.first_map:
        if isinstance(spec, str):
            make_rule(spec, reading)
    return tuple(p for p in PARAMS if p in reading.read)
