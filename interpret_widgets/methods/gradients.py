"""The gradient family: saliency, SmoothGrad and Integrated Gradients.

All three are input schedules around one primitive, the gradient of each sample's target
score with respect to its input (:meth:`ModelAdapter.input_gradients`). SmoothGrad feeds it
noisy copies, Integrated Gradients points along a straight path; both batch their copies so
that S copies cost about S raw passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
import numpy as np

from ..model import ModelAdapter, get_adapter

Target = int | Sequence[int] | np.ndarray | None

#: How many copies (noisy samples or path points) go through the model per compiled call.
DEFAULT_BATCH_SIZE = 64


def _prepare(
    model: keras.Model, x: object, target: Target
) -> tuple[ModelAdapter, np.ndarray, np.ndarray]:
    """Validated batch and resolved targets (the top class computed where asked)."""
    adapter = get_adapter(model)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    if np.any(targets < 0):
        top = np.argmax(adapter.logits(batch), axis=-1).astype(np.int32)
        targets = np.where(targets < 0, top, targets).astype(np.int32)
    return adapter, batch, targets


def _gradients_in_chunks(
    adapter: ModelAdapter, copies: np.ndarray, targets: np.ndarray, batch_size: int
) -> np.ndarray:
    """Input gradients of many copies, ``batch_size`` at a time."""
    out = np.empty(copies.shape, dtype=np.float32)
    for start in range(0, len(copies), batch_size):
        stop = start + batch_size
        out[start:stop] = adapter.input_gradients(copies[start:stop], targets[start:stop])[1]
    return out


def saliency(model: keras.Model, x: np.ndarray, target: Target = None) -> np.ndarray:
    """Gradient of the target's pre-softmax score with respect to the input.

    Returns an array shaped like ``x`` (``(N, H, W, C)`` for images), float32.

    Raises
    ------
    ValueError, TypeError
        On a badly shaped ``x`` or an invalid ``target`` (see the contract).

    References
    ----------
    Simonyan, Vedaldi & Zisserman (2014), "Deep Inside Convolutional Networks".
    """
    adapter = get_adapter(model)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    return adapter.input_gradients(batch, targets)[1]


def smoothgrad(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    samples: int = 32,
    noise: float = 0.15,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """Mean input gradient over ``samples`` noisy copies of each image.

    The noise is Gaussian with standard deviation ``noise × (max − min)`` of each image,
    drawn from ``numpy.random.default_rng(seed)``. The target (when ``None``) is the top
    class of the clean image, so every copy explains the same class.

    Raises
    ------
    ValueError
        If ``samples < 1`` or ``noise < 0``, and on bad ``x`` or ``target``.

    References
    ----------
    Smilkov et al. (2017), "SmoothGrad: removing noise by adding noise".
    """
    if int(samples) < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative fraction of the value range, got {noise}")
    adapter, batch, targets = _prepare(model, x, target)
    samples = int(samples)
    axes = tuple(range(1, batch.ndim))
    spread = batch.max(axis=axes, keepdims=True) - batch.min(axis=axes, keepdims=True)
    rng = np.random.default_rng(seed)
    noisy = np.repeat(batch, samples, axis=0)
    noisy += rng.standard_normal(noisy.shape, dtype=np.float32) * np.repeat(
        spread * np.float32(noise), samples, axis=0
    )
    grads = _gradients_in_chunks(adapter, noisy, np.repeat(targets, samples), batch_size)
    return grads.reshape((len(batch), samples) + batch.shape[1:]).mean(axis=1, dtype=np.float32)


def integrated_gradients(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    baseline: np.ndarray | float | None = None,
    steps: int = 64,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """(x − baseline) × the mean gradient along the straight path from baseline to x.

    The path is sampled at the midpoints ``(k + ½)/steps``, a Riemann sum whose total over
    an image approaches ``score(x) − score(baseline)`` (completeness) as ``steps`` grows.
    ``baseline=None`` is all zeros; a scalar or an array broadcastable to ``x`` also works.

    Raises
    ------
    ValueError
        If ``steps < 1``, the baseline does not broadcast to ``x``, or on bad input.

    References
    ----------
    Sundararajan, Taly & Yan (2017), "Axiomatic Attribution for Deep Networks".
    """
    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    adapter, batch, targets = _prepare(model, x, target)
    steps = int(steps)
    base = _baseline(batch, baseline)
    alphas = ((np.arange(steps, dtype=np.float32) + 0.5) / steps).reshape(
        (1, steps) + (1,) * (batch.ndim - 1)
    )
    delta = (batch - base)[:, None]
    path = (base[:, None] + alphas * delta).reshape((-1,) + batch.shape[1:])
    grads = _gradients_in_chunks(adapter, path, np.repeat(targets, steps), batch_size)
    mean_grad = grads.reshape((len(batch), steps) + batch.shape[1:]).mean(axis=1)
    return (delta[:, 0] * mean_grad).astype(np.float32)


def _baseline(batch: np.ndarray, baseline: np.ndarray | float | None) -> np.ndarray:
    """The baseline broadcast to ``batch`` (zeros for None)."""
    if baseline is None:
        return np.zeros_like(batch)
    try:
        return np.broadcast_to(np.asarray(baseline, dtype=np.float32), batch.shape)
    except ValueError as error:
        raise ValueError(
            f"baseline of shape {np.shape(baseline)} does not broadcast to x {batch.shape}"
        ) from error


class IGReport(NamedTuple):
    """Integrated Gradients with its completeness check, per sample.

    ``attribution`` as :func:`integrated_gradients` returns it; ``score_difference`` is
    ``score(x) − score(baseline)`` of the explained class, ``completeness_error`` the sum of
    the attribution minus that difference (zero in the limit of many steps).
    """

    attribution: np.ndarray
    score_difference: np.ndarray
    completeness_error: np.ndarray


def integrated_gradients_report(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    baseline: np.ndarray | float | None = None,
    steps: int = 64,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> IGReport:
    """Integrated Gradients and how far its sum is from ``score(x) − score(baseline)``.

    The completeness axiom says Σ IG = score(x) − score(baseline) exactly for the path
    integral; the Riemann sum of ``steps`` midpoints approaches it, and the error shows
    whether ``steps`` is enough. Arguments as :func:`integrated_gradients`.

    Raises
    ------
    ValueError
        As :func:`integrated_gradients`.

    References
    ----------
    Sundararajan, Taly & Yan (2017), "Axiomatic Attribution for Deep Networks".
    """
    attribution = integrated_gradients(model, x, target, baseline, steps, batch_size)
    adapter, batch, targets = _prepare(model, x, target)
    logits = adapter.logits(np.concatenate([batch, _baseline(batch, baseline)]))
    rows = np.arange(len(batch))
    difference = (logits[rows, targets] - logits[len(batch) + rows, targets]).astype(np.float32)
    sums = attribution.reshape(len(batch), -1).sum(axis=1, dtype=np.float32)
    return IGReport(attribution, difference, (sums - difference).astype(np.float32))
