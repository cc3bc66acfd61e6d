"""DeepLIFT multipliers for the blocks of modern networks: products of tensors, layer norm.

Both rules take one principle: the multiplier of a block is its Jacobian *averaged along the
straight segment* from the reference b to the input x, m = ∫₀¹ J(b + t·Δx)ᵀ dt · upper. By
the fundamental theorem of calculus Σ m·Δx = upper·(f(x) − f(b)) exactly, so the block keeps
DeepLIFT's summation to delta. For an element-wise function this average is the rescale
rule's secant Δy/Δx (Ancona et al. 2018), so these rules extend the rescale rule to blocks
that mix several values.

- **Product of two tensors** z = s·g (squeeze-and-excitation and other gates, MobileNetV3's
  ``x · hard_sigmoid(x)``, any ``Multiply`` of two branches): the average of a bilinear map's
  Jacobian is its Jacobian at the midpoint, so s receives upper·ḡ and g receives upper·s̄
  (s̄ = (s + s_b)/2, ḡ = (g + g_b)/2, broadcasting summed by the product's own
  vector-Jacobian product): Δz = ḡ·Δs + s̄·Δg exactly. This is the Shapley value of the
  two-player product, the rule of DeepSHAP's two-input handlers (``shap``'s ``deep_tf``
  ``Mul``). A product of three or more tensors has no rule.
- **Layer normalization** y = γ ⊙ v/σ + β over the normalized axes (C values), with
  u = x − mean x, σ = √(var x + ε) and v = u (v = x with ``rms_scaling=True``, which Keras
  scales by the variance without centering). Its Jacobian is
  J = diag(γ)[V/σ − v uᵀ/(C σ³)] (V the centering projection P, or I for ``rms_scaling``),
  so the multiplier is m = V g·c₀ − (u_b c₁ + Δu c₂)/C with g = γ ⊙ upper and the scalars
  c₀ = ∫ q^{-1/2}, c₁ = ∫ (α + βt) q^{-3/2}, c₂ = ∫ t(α + βt) q^{-3/2} over t ∈ [0, 1],
  where q(t) = σ(b + tΔx)² = |u_b + tΔu|²/C + ε is a quadratic in t, α = v_b·g and
  β = Δv·g. They are integrated in closed form (asinh and rational terms, about the
  vertex of q where the path passes the normalization's sharp region), or, where q varies
  slowly (|Δu|²/C at most the vertex height), by 12-point Gauss–Legendre quadrature, whose
  error there is below 1e-10. The whole block is evaluated in float64, so Σ m·Δx matches
  Δy to float32 rounding. β cancels; ``center=False`` and ``scale=False`` only drop β or γ.
  (Chaining DeepLIFT's elementary rules through centering, square, mean and rsqrt would
  also be exact, but where the reference's variance is ~0, as for a zero image after an
  unbiased convolution, its multipliers grow like 1/√ε with cancelling signs.)

References
----------
Shrikumar, Greenside & Kundaje (2017), "Learning Important Features Through Propagating
Activation Differences"; Ancona et al. (2018), "Towards better understanding of
gradient-based attribution methods for Deep Neural Networks"; Sundararajan, Taly & Yan
(2017), "Axiomatic Attribution for Deep Networks" (the path integral); Lundberg & Lee
(2017), "A Unified Approach to Interpreting Model Predictions" (DeepSHAP's product).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from keras import ops

from ...model import backend

#: Gauss–Legendre nodes and weights on [0, 1] for the slowly varying layer-norm case.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(12)
NODES = (_NODES + 1.0) / 2.0
WEIGHTS = _WEIGHTS / 2.0
#: The smallest vertex height of q used (guards ε = 0 with a path through u = 0).
TINY = 1e-30


def product(
    function: Callable[..., Any], x_values: list[Any], b_values: list[Any], upper: Any
) -> list[Any]:
    """Multipliers at the inputs of a product of two tensors (``function`` of both).

    The product's vector-Jacobian product at the midpoint of x and b: ḡ·upper for s and
    s̄·upper for g, broadcast dimensions summed. Exact: Σ m·Δ = upper·Δz.
    """
    midpoints = [(vx + vb) / 2.0 for vx, vb in zip(x_values, b_values, strict=True)]
    _, pullback = backend.vjp(function, midpoints)
    return list(pullback(upper))


def layernorm(layer: Any, x: Any, b: Any, upper: Any) -> Any:
    """Multiplier at the input of a Keras ``LayerNormalization`` (see the module doc).

    ``x`` and ``b`` are the layer's inputs in the two passes, ``upper`` the multiplier at
    its output. Computed in float64, returned in ``x``'s dtype.
    """
    rank = len(x.shape)
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    axes = sorted(int(a) % rank for a in axes)
    count = float(np.prod([x.shape[a] for a in axes]))
    dtype = x.dtype
    x, b, upper = (ops.cast(t, "float64") for t in (x, b, upper))
    g = upper
    if layer.scale:
        shape = [1] * rank
        for axis in axes:
            shape[axis] = x.shape[axis]
        g = g * ops.reshape(ops.cast(layer.gamma, "float64"), shape)

    def dot(p: Any, q: Any) -> Any:
        return ops.sum(p * q, axis=axes, keepdims=True)

    def center(t: Any) -> Any:
        return t - ops.mean(t, axis=axes, keepdims=True)

    u_b, delta_u = center(b), center(x - b)
    if layer.rms_scaling:  # y = γ x / σ: v = x, V = I
        v_b, delta_v, projected = b, x - b, g
    else:  # y = γ u / σ + β: v = u, V = P (centering)
        v_b, delta_v, projected = u_b, delta_u, center(g)
    epsilon = float(layer.epsilon)
    alpha, beta = dot(v_b, g), dot(delta_v, g)
    a = dot(delta_u, delta_u) / count  # q(t) = a t² + 2 (u_b·Δu / C) t + |u_b|²/C + ε
    closed = _closed_form(u_b, delta_u, alpha, beta, a, count, epsilon, dot)
    quadrature = _quadrature(u_b, delta_u, alpha, beta, count, epsilon, dot)
    height = closed[1]
    c0 = ops.where(a > height, closed[0][0], quadrature[0])
    inner = ops.where(a > height, closed[0][1], quadrature[1])
    return ops.cast(projected * c0 - inner / count, dtype)


def _quadrature(
    u_b: Any, delta_u: Any, alpha: Any, beta: Any, count: float, epsilon: float, dot: Any
) -> tuple[Any, Any]:
    """(c₀, u_b c₁ + Δu c₂) by Gauss–Legendre in t (q slowly varying on [0, 1])."""
    c0 = c1 = c2 = 0.0
    for t, w in zip(NODES, WEIGHTS, strict=True):
        u = u_b + float(t) * delta_u
        q = dot(u, u) / count + epsilon
        root = ops.sqrt(ops.maximum(q, TINY))
        c0 = c0 + float(w) / root
        weight = float(w) * (alpha + beta * float(t)) / (q * root)
        c1 = c1 + weight
        c2 = c2 + float(t) * weight
    return c0, u_b * c1 + delta_u * c2


def _closed_form(
    u_b: Any,
    delta_u: Any,
    alpha: Any,
    beta: Any,
    a: Any,
    count: float,
    epsilon: float,
    dot: Any,
) -> tuple[tuple[Any, Any], Any]:
    """((c₀, u_b c₁ + Δu c₂), vertex height h) integrated in closed form.

    With τ = t − t* about q's vertex t* = −u_b·Δu/|Δu|², u = u⊥ + τΔu where u⊥ ⊥ Δu, and
    q = aτ² + h, h = |u⊥|²/C + ε; with y = τ√(a/h) and w = asinh y:
    ∫q^{-1/2} = w/√a, ∫q^{-3/2} = y/(h√a√(1+y²)), ∫τq^{-3/2} = −1/(a√h√(1+y²)),
    ∫τ²q^{-3/2} = (w − y/√(1+y²))/a^{3/2}, each between the path's ends.
    """
    safe_a = ops.where(a > 0, a, ops.ones_like(a))
    t_star = -dot(u_b, delta_u) / (safe_a * count)
    u_perp = u_b + t_star * delta_u
    height = ops.maximum(dot(u_perp, u_perp) / count + epsilon, TINY)
    root_a, root_h = ops.sqrt(safe_a), ops.sqrt(height)
    scale = root_a / root_h
    y0, y1 = -t_star * scale, (1.0 - t_star) * scale
    r0, r1 = ops.sqrt(1.0 + y0 * y0), ops.sqrt(1.0 + y1 * y1)
    w = ops.arcsinh(y1) - ops.arcsinh(y0)
    j0 = w / root_a
    l0 = (y1 / r1 - y0 / r0) / (height * root_a)
    l1 = -(1.0 / r1 - 1.0 / r0) / (safe_a * root_h)
    l2 = (w - (y1 / r1 - y0 / r0)) / (safe_a * root_a)
    alpha_star = alpha + beta * t_star  # v(t*)·g
    c1 = alpha_star * l0 + beta * l1
    c2 = alpha_star * l1 + beta * l2  # ∫ τ (α* + βτ) q^{-3/2}
    return (j0, u_perp * c1 + delta_u * c2), height
