"""KernelSHAP: Shapley values of an image's segments from a weighted regression.

A coalition S of segments keeps those segments and puts the baseline elsewhere; v(S) is the
target's pre-softmax score. Lundberg & Lee (2017) show that the Shapley values solve a
weighted least-squares problem over coalitions with the Shapley kernel
π(S) = (M − 1) / (C(M, |S|) · |S| · (M − |S|)) under the constraint Σ φ = v(all) − v(none).
With every coalition in the regression the solution is the exact Shapley value; with a
sample drawn from the kernel (sizes by their total kernel mass, then uniformly within a
size, each coalition together with its complement) it is the KernelSHAP estimate. The
constraint is kept exactly in both cases, and no coalition is evaluated twice: a coalition
drawn again counts again in the regression.
"""

from __future__ import annotations

from math import comb

import keras
import numpy as np

from ..gradients import Target, _prepare
from .evaluate import (
    DEFAULT_BATCH_SIZE,
    Progress,
    as_baseline,
    check_progress,
    keep_segments,
    positive_int,
    score_perturbations,
)
from .segments import check_segments


def kernel_shap(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    segments: np.ndarray | None = None,
    samples: int = 2048,
    baseline: float | np.ndarray = 0.0,
    seed: int = 0,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> np.ndarray:
    """Shapley values of the segments of each image; each pixel carries its segment's.

    ``segments``: int labels ``(N, H, W)`` or one ``(H, W)`` map, ``None`` for
    :func:`superpixels`. When 2^M − 2 ≤ ``samples`` (M segments) all coalitions are
    evaluated and the values are exact; otherwise ``samples`` distinct coalitions are
    drawn (``numpy.random.default_rng(seed)``, anew for each image). Either way the
    values of an image sum to score(x) − score(all baseline), and at most ``samples`` + 2
    copies per image go through the model, ``batch_size`` at a time. Returns ``(N, H, W)`` float32.

    Raises
    ------
    ValueError, TypeError
        If ``samples < 1``, the segments do not fit ``x``, or on bad ``x``, ``target`` or
        ``baseline``.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Lundberg & Lee (2017), "A Unified Approach to Interpreting Model Predictions".
    """
    samples = positive_int(samples, "samples")
    check_progress(progress)
    adapter, batch, targets = _prepare(model, x, target)
    base = as_baseline(baseline, batch)
    maps, counts = check_segments(segments, batch)
    # A generator per image from the same seed: an image's values do not depend on the
    # other images of the batch.
    plans = [_coalitions(m, samples, np.random.default_rng(seed)) for m in counts]
    # Every image's copies: all kept, none kept, then its coalitions.
    keep = [
        np.concatenate([np.ones((1, m), bool), np.zeros((1, m), bool), coalitions])
        for m, (coalitions, _) in zip(counts, plans, strict=True)
    ]
    sizes = [len(k) for k in keep]
    scores = score_perturbations(
        adapter,
        keep_segments(batch, base, maps, keep),
        sum(sizes),
        np.repeat(targets, sizes),
        batch_size=batch_size,
        progress=progress,
    )
    out = np.empty(maps.shape, dtype=np.float32)
    for n, (v, (coalitions, weights)) in enumerate(
        zip(np.split(scores, np.cumsum(sizes)[:-1]), plans, strict=True)
    ):
        phi = constrained_regression(coalitions, v[2:] - v[1], weights, v[0] - v[1])
        out[n] = phi[maps[n]]
    return out


def shapley_kernel(m: int, size: np.ndarray) -> np.ndarray:
    """π(S) for coalitions of ``size`` members out of ``m`` (0 < size < m)."""
    size = np.asarray(size, dtype=np.float64)
    binomial = np.array([float(comb(m, int(k))) for k in size.ravel()]).reshape(size.shape)
    return (m - 1) / (binomial * size * (m - size))


def _coalitions(m: int, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coalitions (bool ``(S, m)``, none empty or full) and their regression weights."""
    if m == 1:
        return np.zeros((0, 1), bool), np.zeros(0)
    if 2**m - 2 <= samples:
        codes = np.arange(1, 2**m - 1)
        table = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
        return table, shapley_kernel(m, table.sum(axis=1))
    return _sampled(m, samples, rng)


def _sampled(m: int, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` distinct coalitions drawn in complementary pairs from the kernel.

    A coalition's weight is how often it was drawn: the draws follow the kernel, so the
    counts stand in for it.
    """
    sizes = np.arange(1, m)
    mass = (m - 1) / (sizes * (m - sizes))  # Σ of π over all coalitions of each size
    mass /= mass.sum()
    found: dict[bytes, int] = {}
    rows: list[np.ndarray] = []
    weights: list[float] = []
    while True:
        chosen = rng.choice(sizes, size=max(8, samples // 2), p=mass)
        order = np.argsort(rng.random((len(chosen), m)), axis=1)
        drawn = order < chosen[:, None]
        for row in drawn:
            for member in (row, ~row):
                key = np.packbits(member).tobytes()
                index = found.get(key)
                if index is not None:
                    weights[index] += 1.0
                elif len(rows) < samples:
                    found[key] = len(rows)
                    rows.append(member)
                    weights.append(1.0)
            if len(rows) >= samples:
                return np.array(rows), np.array(weights)


def constrained_regression(
    z: np.ndarray, y: np.ndarray, weights: np.ndarray, total: float
) -> np.ndarray:
    """φ minimizing Σ_s w_s (y_s − z_s·φ)² subject to Σ φ = ``total``.

    Solved through its KKT system by least squares, so that too few coalitions still give a
    (minimum-norm) solution that meets the constraint.
    """
    m = z.shape[1]
    if len(z) == 0:
        return np.full(m, total / m)
    zf = z.astype(np.float64)
    gram = zf.T @ (weights[:, None] * zf)
    system = np.zeros((m + 1, m + 1))
    system[:m, :m] = gram
    system[:m, m] = system[m, :m] = 1.0
    rhs = np.append(zf.T @ (weights * y), total)
    solution = np.linalg.lstsq(system, rhs, rcond=None)[0]
    return solution[:m]
