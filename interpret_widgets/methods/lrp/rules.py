"""LRP rules as small values: how to form the denominators z, how to redistribute relevance.

A rule applies to one layer with weights, a linear map z = W x + b. It is described by
*terms* and *groups*:

- a :class:`Term` forms a partial output z_t = W_t x_t (+ b_t) from a modified input
  (x, x⁺, x⁻, ones, the lower or upper bound of the input box) and modified parameters
  (W, W⁺, W⁻, ones, W + γW⁺…); ``bias=None`` leaves the bias out of the term;
- a :class:`Group` sums the signed partial outputs of its terms into a denominator
  z_g = Σ_t sign_t z_t and receives the share ``share × R_j / (z_g + s·sign(z_g))`` of the
  upper relevance, optionally only where the layer's unmodified output has a given sign.

The engine then gives every input R_i = Σ_t sign_t x_t,i (W_tᵀ s_g(t))_i (the "gradient
trick": one vector-Jacobian product of each modified linear map). With sign(0) = +1 in
every stabilizer, as zennit does. The definitions follow zennit so that results can be
compared with it, with one deliberate difference that the contract fixes: z⁺ and α-β leave
the bias out entirely (zennit keeps the positive bias in z⁺'s denominator).

References
----------
Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
Layer-Wise Relevance Propagation". Montavon et al. (2019), "Layer-Wise Relevance
Propagation: An Overview". Anders et al. (2021), "Software for Dataset-wide XAI: From Local
Explanations to Global Insights with Zennit, CoRelAy, and ViRelAy".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from keras import ops

#: The stabilizer of every rule but ε: z + 1e-6·sign(z).
STABILIZER = 1e-6


@dataclass(frozen=True)
class Params:
    """A modification of a layer's parameters p (kernel or bias): a·p + c·p⁺, or all ones.

    Written as a combination of p and its positive part so that the engine can reuse the
    layer's recorded output W x + b and merge vector-Jacobian products of terms that read
    the same input.
    """

    a: float = 1.0
    c: float = 0.0
    ones: bool = False

    def __call__(self, param: Any) -> Any:
        if self.ones:
            return ops.ones_like(param)
        out = None
        if self.a:
            out = param if self.a == 1 else self.a * param
        if self.c:
            part = ops.maximum(param, 0.0)
            part = part if self.c == 1 else self.c * part
            out = part if out is None else out + part
        return ops.zeros_like(param) if out is None else out


KEEP = Params(1.0, 0.0)
POSITIVE = Params(0.0, 1.0)
NEGATIVE = Params(1.0, -1.0)  # p⁻ = p − p⁺
ONES = Params(ones=True)


def plus_gamma(gamma: float, positive_part: bool) -> Params:
    """p + γ p⁺ (``positive_part``) or p + γ p⁻ = (1 + γ) p − γ p⁺: LRP-γ's parameters."""
    return Params(1.0, gamma) if positive_part else Params(1.0 + gamma, -gamma)


@dataclass(frozen=True)
class Term:
    """One partial output z_t = W_t x_t (+ b_t) of a rule.

    ``source`` names the input: ``"x"``, ``"x+"``, ``"x-"``, ``"ones"``, or the distance
    to the lower or upper bound of the input box, ``"x-low"`` (x − l) or ``"x-high"``
    (x − h). ``weights`` and ``bias`` modify the layer's parameters; ``bias=None`` leaves
    the bias out of this term.
    """

    source: str
    weights: Params
    bias: Params | None
    group: int = 0
    sign: float = 1.0

    @property
    def plain(self) -> bool:
        """True for the unmodified layer (input, weights and bias as they are)."""
        return self.source == "x" and self.weights == KEEP and self.bias == KEEP


@dataclass(frozen=True)
class Group:
    """A denominator and the share of relevance it redistributes.

    ``where`` restricts the group to outputs whose unmodified z is ``"positive"`` or
    ``"negative"`` (LRP-γ for signed outputs); ``None`` takes every output. ``sign`` states
    the sign the denominator always has where the group applies (z⁺ ≥ 0, z⁻ ≤ 0), which
    makes the stabilizer a single addition; ``None`` where it may take either sign.
    """

    share: float = 1.0
    where: str | None = None
    sign: str | None = None


@dataclass(frozen=True)
class Rule:
    """Base of the LRP rules: a small immutable, hashable value."""

    name: ClassVar[str] = "rule"

    @property
    def stabilizer(self) -> float:
        """s in z + s·sign(z)."""
        return STABILIZER

    def terms(self) -> tuple[Term, ...]:
        raise NotImplementedError

    def groups(self) -> tuple[Group, ...]:
        return (Group(),)

    def describe(self) -> str:
        """The rule's name and parameters, e.g. ``alpha_beta(alpha=2, beta=1)``."""
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{self.name}({fields})"


@dataclass(frozen=True)
class Epsilon(Rule):
    """LRP-ε: R_i = Σ_j x_i w_ij / (z_j + ε·sign(z_j)) R_j with z_j = Σ_i x_i w_ij + b_j.

    ``epsilon=0`` gives LRP-0 (outputs with z_j = 0 then pass no relevance).

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions".
    """

    name: ClassVar[str] = "epsilon"
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            raise ValueError(f"epsilon must be a finite number >= 0, got {self.epsilon!r}")

    @property
    def stabilizer(self) -> float:
        return float(self.epsilon)

    def terms(self) -> tuple[Term, ...]:
        return (Term("x", KEEP, KEEP),)


@dataclass(frozen=True)
class AlphaBeta(Rule):
    """LRP-αβ: positive and negative contributions apart, bias left out.

    R_i = Σ_j (α (x_i w_ij)⁺ / z⁺_j − β (x_i w_ij)⁻ / z⁻_j) R_j, with
    z^±_j = Σ_i (x_i w_ij)^± (each stabilized by 1e-6·sign) and α − β = 1.

    Raises
    ------
    ValueError
        If α or β is negative or α − β ≠ 1.

    References
    ----------
    Bach et al. (2015), "On Pixel-Wise Explanations for Non-Linear Classifier Decisions".
    """

    name: ClassVar[str] = "alpha_beta"
    alpha: float = 1.0
    beta: float = 0.0

    def __post_init__(self) -> None:
        if not (self.alpha >= 0 and self.beta >= 0):
            raise ValueError(
                f"alpha and beta must be >= 0, got alpha={self.alpha!r}, beta={self.beta!r}"
            )
        if not math.isclose(self.alpha - self.beta, 1.0, rel_tol=0.0, abs_tol=1e-9):
            raise ValueError(
                f"alpha - beta must equal 1, got alpha={self.alpha!r}, beta={self.beta!r} "
                f"(alpha - beta = {self.alpha - self.beta!r})"
            )

    def terms(self) -> tuple[Term, ...]:
        positive_terms = (Term("x+", POSITIVE, None, 0), Term("x-", NEGATIVE, None, 0))
        if self.beta == 0:
            return positive_terms
        return positive_terms + (Term("x+", NEGATIVE, None, 1), Term("x-", POSITIVE, None, 1))

    def groups(self) -> tuple[Group, ...]:
        positive_group = Group(float(self.alpha), sign="positive")
        if self.beta == 0:
            return (positive_group,)
        return (positive_group, Group(-float(self.beta), sign="negative"))


@dataclass(frozen=True)
class ZPlus(AlphaBeta):
    """LRP-z⁺: only the positive contributions (x_i w_ij)⁺ count, bias left out.

    It is α-β with α = 1, β = 0 and, for non-negative inputs, the "positive weights only"
    form R_i = Σ_j x_i w⁺_ij / Σ_i' x_i' w⁺_i'j R_j.

    References
    ----------
    Montavon et al. (2017), "Explaining NonLinear Classification Decisions with Deep Taylor
    Decomposition".
    """

    name: ClassVar[str] = "zplus"
    alpha: float = field(default=1.0, init=False)
    beta: float = field(default=0.0, init=False)

    def describe(self) -> str:
        return "zplus()"


@dataclass(frozen=True)
class Flat(Rule):
    """LRP-flat: every input in an output's receptive field gets an equal share.

    z_j counts the real inputs of output j (zero padding counts none, so gets nothing).

    References
    ----------
    Lapuschkin et al. (2019), "Unmasking Clever Hans predictors and assessing what machines
    really learn".
    """

    name: ClassVar[str] = "flat"

    def terms(self) -> tuple[Term, ...]:
        return (Term("ones", ONES, None),)

    def groups(self) -> tuple[Group, ...]:
        return (Group(sign="positive"),)


@dataclass(frozen=True)
class Gamma(Rule):
    """LRP-γ in zennit's generalized form: positive contributions amplified by γ.

    Where the layer's output z_j > 0 the relevance follows (x w)_ij + γ (x w)⁺_ij (bias
    b + γ b⁺ in the denominator); where z_j < 0 it follows (x w)_ij + γ (x w)⁻_ij (bias
    b + γ b⁻); outputs with z_j = 0 pass nothing. For non-negative inputs and positive
    outputs this is the original w + γ w⁺ rule.

    References
    ----------
    Montavon et al. (2019), "Layer-Wise Relevance Propagation: An Overview"; Andéol et al.
    (2021), "Learning Domain Invariant Representations by Joint Wasserstein Distance
    Minimization" (the signed generalization used by zennit).
    """

    name: ClassVar[str] = "gamma"
    gamma: float = 0.25

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gamma) and self.gamma >= 0):
            raise ValueError(f"gamma must be a finite number >= 0, got {self.gamma!r}")

    def terms(self) -> tuple[Term, ...]:
        up = plus_gamma(float(self.gamma), True)
        down = plus_gamma(float(self.gamma), False)
        return (
            Term("x+", up, up, 0),
            Term("x-", down, None, 0),
            Term("x+", down, down, 1),
            Term("x-", up, None, 1),
        )

    def groups(self) -> tuple[Group, ...]:
        return (Group(1.0, "positive", "positive"), Group(1.0, "negative", "negative"))


def _frozen_bound(value: Any) -> Any:
    """A hashable form of a bound: None, a float, or (shape, values)."""
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError("low and high must be finite")
    if array.ndim == 0:
        return float(array)
    return (array.shape, tuple(array.ravel().tolist()))


def bound_array(frozen: Any) -> np.ndarray | None:
    """The float32 array of a bound stored by :class:`ZBox` (None stays None)."""
    if frozen is None:
        return None
    if isinstance(frozen, float):
        return np.float32(frozen)
    shape, values = frozen
    return np.asarray(values, dtype=np.float32).reshape(shape)


@dataclass(frozen=True)
class ZBox(Rule):
    """LRP-z^B for inputs bounded by l ≤ x ≤ h (the first layer).

    R_i = Σ_j (x_i w_ij − l_i w⁺_ij − h_i w⁻_ij) / z_j R_j, z_j the sum of the numerators
    over i (the bias cancels). It is computed in the equal form
    (x_i − l_i) w⁺_ij + (x_i − h_i) w⁻_ij, so an input at its bound gets exactly zero
    instead of the rounding left by cancelling large terms. ``low`` and ``high`` are bounds
    of the values *entering the layer* (the model input unless preprocessing layers come
    first): scalars or arrays that broadcast to one sample (e.g. per channel, shape
    ``(C,)``). ``None`` takes each image's own minimum and maximum there.

    References
    ----------
    Montavon et al. (2017), "Explaining NonLinear Classification Decisions with Deep Taylor
    Decomposition".
    """

    name: ClassVar[str] = "zbox"
    low: Any = None
    high: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _frozen_bound(self.low))
        object.__setattr__(self, "high", _frozen_bound(self.high))
        low, high = bound_array(self.low), bound_array(self.high)
        if low is not None and high is not None:
            try:
                ordered = np.all(np.asarray(low) <= np.asarray(high))
            except ValueError as error:
                raise ValueError("low and high must broadcast to each other") from error
            if not ordered:
                raise ValueError("low must not exceed high")

    def terms(self) -> tuple[Term, ...]:
        return (
            Term("x-low", POSITIVE, None),
            Term("x-high", NEGATIVE, None),
        )

    def describe(self) -> str:
        def show(frozen: Any, default: str) -> str:
            if frozen is None:
                return default
            return repr(frozen) if isinstance(frozen, float) else f"array{frozen[0]}"

        low, high = show(self.low, "per-image min"), show(self.high, "per-image max")
        return f"zbox(low={low}, high={high})"


#: Rule classes by name.
RULES: dict[str, type[Rule]] = {
    cls.name: cls for cls in (Epsilon, ZPlus, AlphaBeta, Flat, Gamma, ZBox)
}

#: Parameters that ``lrp`` accepts, and their defaults.
PARAMS: dict[str, Any] = {
    "epsilon": 1e-6,
    "alpha": 1.0,
    "beta": 0.0,
    "gamma": 0.25,
    "low": None,
    "high": None,
}


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` completed with the defaults.

    Raises
    ------
    TypeError
        On a parameter name that no rule takes.
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise TypeError(
            f"unknown LRP parameter(s) {', '.join(map(repr, unknown))}; "
            f"valid are {', '.join(PARAMS)}"
        )
    return {**PARAMS, **params}


def make_rule(name: str, params: dict[str, Any]) -> Rule:
    """The rule called ``name`` with its parameters taken from ``params``.

    Raises
    ------
    ValueError
        On an unknown name or invalid parameters.
    """
    if name == "epsilon":
        return Epsilon(float(params["epsilon"]))
    if name == "zplus":
        return ZPlus()
    if name == "alpha_beta":
        return AlphaBeta(float(params["alpha"]), float(params["beta"]))
    if name == "flat":
        return Flat()
    if name == "gamma":
        return Gamma(float(params["gamma"]))
    if name == "zbox":
        return ZBox(params["low"], params["high"])
    raise ValueError(f"unknown LRP rule {name!r}; valid rules are {', '.join(RULES)}")
