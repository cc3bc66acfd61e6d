"""Occlusion: the drop of the score when a sliding window is set to the baseline.

Every window position is one perturbed copy; all copies of all images go through the model
in batches (:func:`score_perturbations`). A pixel's value is the mean score drop over the
windows that cover it.
"""

from __future__ import annotations

import math
from numbers import Integral

import keras
import numpy as np

from ..gradients import Target, _prepare
from .evaluate import (
    DEFAULT_BATCH_SIZE,
    Progress,
    as_baseline,
    check_progress,
    score_perturbations,
)


def occlusion(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    window: int | tuple[int, int] = 8,
    stride: int | tuple[int, int] = 4,
    baseline: float | np.ndarray = 0.0,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> np.ndarray:
    """Mean of score(x) − score(x with a window at ``baseline``) over the covering windows.

    A ``window`` of h × w pixels (an int is square), all channels, starts at rows
    i·stride for i = 0 … ⌈(H − h)/stride⌉ and at columns likewise; the last window is
    clipped at the border, so every pixel is covered. ``baseline`` is a float or an array
    broadcastable to ``x``. Returns ``(N, H, W)`` float32. ``progress(done, total)`` is
    told about every batch of copies and may stop the run (see
    :mod:`~interpret_widgets.methods.perturbation.evaluate`).

    Raises
    ------
    ValueError
        If the window is larger than the image, window or stride is < 1, the stride is
        larger than the window (pixels would be left uncovered), or on bad ``x``,
        ``target`` or ``baseline``.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Zeiler & Fergus (2014), "Visualizing and Understanding Convolutional Networks".
    """
    check_progress(progress)
    adapter, batch, targets = _prepare(model, x, target)
    if batch.ndim != 4:
        raise ValueError(f"occlusion explains images (N, H, W, C), got x of shape {batch.shape}")
    size = batch.shape[1:3]
    (h, w), (sh, sw) = _pair(window, "window"), _pair(stride, "stride")
    if h > size[0] or w > size[1]:
        raise ValueError(f"window {(h, w)} is larger than the image {size}")
    if sh > h or sw > w:
        raise ValueError(
            f"stride {(sh, sw)} is larger than the window {(h, w)}: pixels between windows "
            "would be left uncovered"
        )
    base = as_baseline(baseline, batch)
    rows = [i * sh for i in range(math.ceil((size[0] - h) / sh) + 1)]
    cols = [j * sw for j in range(math.ceil((size[1] - w) / sw) + 1)]
    boxes = [(r, c) for r in rows for c in cols]
    per_image = len(boxes) + 1  # copy 0 of each image is the image itself

    def build(start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *batch.shape[1:]), dtype=np.float32)
        for i, index in enumerate(range(start, stop)):
            n, k = divmod(index, per_image)
            out[i] = batch[n]
            if k:
                r, c = boxes[k - 1]
                out[i, r : r + h, c : c + w] = base[n, r : r + h, c : c + w]
        return out

    total = len(batch) * per_image
    scores = score_perturbations(
        adapter,
        build,
        total,
        np.repeat(targets, per_image),
        batch_size=batch_size,
        progress=progress,
    ).reshape(len(batch), per_image)
    drops = scores[:, :1] - scores[:, 1:]
    summed = np.zeros((len(batch), *size), dtype=np.float64)
    counts = np.zeros(size, dtype=np.float64)
    for k, (r, c) in enumerate(boxes):
        summed[:, r : r + h, c : c + w] += drops[:, k, None, None]
        counts[r : r + h, c : c + w] += 1.0
    return (summed / counts).astype(np.float32)


def _pair(value: object, what: str) -> tuple[int, int]:
    """An int or a pair of ints, each >= 1, as ``(rows, columns)``."""
    pair = (value, value) if isinstance(value, Integral) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{what} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{what} must be >= 1 pixel, got {value!r}")
    return int(pair[0]), int(pair[1])
