"""Shared checks of the DeepLIFT tests: seeded inputs and summation to delta."""

from __future__ import annotations

import numpy as np


def uniform(shape, seed: int) -> np.ndarray:
    """Seeded float32 values uniform in [0, 1)."""
    return np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")


def assert_sums_to_delta(attribution: np.ndarray, delta, scores) -> None:
    """Σ attribution per image equals score(x) − score(baseline).

    Each rule is exact, so only float32 rounding of the two forward passes and of the walk
    remains (~1e-7–1e-6 of the score); 1e-4 relative plus 1e-5·max|score| absolute (for
    differences near zero) leaves a wide margin.
    """
    sums = attribution.sum(axis=tuple(range(1, attribution.ndim)), dtype=np.float64)
    scale = max(1.0, float(np.abs(scores).max()))
    np.testing.assert_allclose(sums, delta, rtol=1e-4, atol=1e-5 * scale)
