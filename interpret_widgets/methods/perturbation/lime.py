"""LIME for images: a weighted linear model of the score on which segments are kept.

The keep-vectors z are the all-ones vector and ``samples − 1`` random ones; each is scored
once through the batched evaluator (a vector drawn twice is evaluated once), weighted by
the ``lime`` package's image kernel, and a ridge regression with an unpenalized intercept
gives each segment's coefficient.
"""

from __future__ import annotations

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


def lime(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    segments: np.ndarray | None = None,
    samples: int = 1000,
    kernel_width: float = 0.25,
    alpha: float = 1.0,
    baseline: float | np.ndarray = 0.0,
    seed: int = 0,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> np.ndarray:
    """Per segment, the coefficient of a local weighted ridge regression of the score.

    Over ``samples`` keep-vectors z (z = all ones first, then ``samples − 1`` with each
    segment kept with p = ½, from ``numpy.random.default_rng(seed)`` anew for each
    image), the target's
    pre-softmax score is regressed on z with sample weights √exp(−d²/kernel_width²), d the
    cosine distance of z to all ones (1 for z = 0), penalty ``alpha`` on the coefficients
    and a free intercept. Removed segments take ``baseline``. Each pixel carries its
    segment's coefficient; ``(N, H, W)`` float32.

    Raises
    ------
    ValueError, TypeError
        If ``samples < 1``, ``kernel_width <= 0``, ``alpha < 0``, the segments do not fit
        ``x``, or on bad ``x``, ``target`` or ``baseline``.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Ribeiro, Singh & Guestrin (2016), "'Why Should I Trust You?': Explaining the
    Predictions of Any Classifier".
    """
    samples = positive_int(samples, "samples")
    if not float(kernel_width) > 0:
        raise ValueError(f"kernel_width must be > 0, got {kernel_width!r}")
    if not float(alpha) >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    check_progress(progress)
    adapter, batch, targets = _prepare(model, x, target)
    base = as_baseline(baseline, batch)
    maps, counts = check_segments(segments, batch)
    draws = []
    for m in counts:  # a generator per image: its result does not depend on the others
        rng = np.random.default_rng(seed)
        z = np.ones((samples, m), dtype=bool)
        z[1:] = rng.random((samples - 1, m)) < 0.5
        draws.append(z)
    unique = [np.unique(z, axis=0, return_inverse=True) for z in draws]
    keep = [u for u, _ in unique]
    sizes = [len(u) for u in keep]
    scores = score_perturbations(
        adapter,
        keep_segments(batch, base, maps, keep),
        sum(sizes),
        np.repeat(targets, sizes),
        batch_size=batch_size,
        progress=progress,
    )
    out = np.empty(maps.shape, dtype=np.float32)
    for n, v in enumerate(np.split(scores, np.cumsum(sizes)[:-1])):
        z, inverse = draws[n], unique[n][1].ravel()
        coefficients = weighted_ridge(z, v[inverse], lime_kernel(z, kernel_width), float(alpha))
        out[n] = coefficients[maps[n]]
    return out


def lime_kernel(z: np.ndarray, kernel_width: float) -> np.ndarray:
    """√exp(−d²/width²), d the cosine distance of each row of z to all ones (1 for z = 0)."""
    kept = z.sum(axis=1).astype(np.float64)
    distance = 1.0 - np.sqrt(kept / z.shape[1])
    return np.sqrt(np.exp(-(distance**2) / float(kernel_width) ** 2))


def weighted_ridge(z: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float) -> np.ndarray:
    """Coefficients β of min Σ w (y − b − z·β)² + α‖β‖², intercept b not penalized.

    Centring by the weighted means removes the intercept; the rest is solved as a least
    squares problem (minimum norm where ``alpha = 0`` leaves it underdetermined).
    """
    zf = z.astype(np.float64)
    total = weights.sum()
    zc = zf - (weights @ zf) / total
    yc = y - (weights @ y) / total
    root = np.sqrt(weights)[:, None]
    m = z.shape[1]
    design = np.concatenate([root * zc, np.sqrt(alpha) * np.eye(m)])
    rhs = np.concatenate([root[:, 0] * yc, np.zeros(m)])
    return np.linalg.lstsq(design, rhs, rcond=None)[0]
