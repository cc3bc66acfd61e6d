"""Deletion and insertion curves: do the pixels a map ranks first carry the prediction?

Pixels are removed (set to ``baseline`` in every channel) in order of decreasing
attribution and the softmax probability of the target is read after each of ``steps``
equal shares; insertion starts from the all-``baseline`` image and puts the pixels of ``x``
back in the same order. A faithful map makes the deletion curve fall fast (small area) and
the insertion curve rise fast (large area).

The ``N × (steps + 1)`` perturbed images are built chunk by chunk and scored in batches of
``batch_size`` (by default N, at least 8 and at most 64: on a CPU a larger batch costs
more per image, a single image per call pays the call overhead, and a chunk of N makes a
point of the curve cost one forward pass of N images) through the adapter's compiled
forward probe. :func:`curve_progress` is the iterator under
both curves: it yields after every chunk with the curve so far, so a caller can draw it
live or stop by leaving the loop; the curve functions take a ``progress(done, total)``
callback instead, which stops the work when it returns ``True``.

References
----------
Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation of
Black-box Models" (deletion and insertion metrics).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import keras
import numpy as np

from ..model import ModelAdapter, softmax
from ..model.inputs import as_baseline
from .featviz.arguments import positive_int
from .gradients import Target, _prepare
from .pixelmaps import pixel_maps
from .progress import Progress, check_progress, report

#: The fewest and the most perturbed images per compiled forward call when ``batch_size``
#: is ``None`` (which means N within these bounds).
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 8, 64

CURVE_KINDS = ("deletion", "insertion")


@dataclass(frozen=True)
class CurveProgress:
    """Where a curve computation stands after one chunk.

    ``curve`` is the ``(N, steps + 1)`` float32 result filled so far (NaN where a point is
    not computed yet); it is the same array at every yield, filled in place.
    """

    done: int
    total: int
    curve: np.ndarray


def removal_ranks(pixels: np.ndarray) -> np.ndarray:
    """Position of every pixel in the removal order, ``(N, H·W)`` int, row-major pixels.

    The order is a stable sort of −attribution: the highest value first, ties in row-major
    pixel order.
    """
    flat = pixels.reshape(len(pixels), -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :], axis=1)
    return ranks


def removed_counts(pixels: int, steps: int) -> np.ndarray:
    """Pixels removed at points 0…steps: ⌊i·pixels/steps + ½⌋, in exact integer arithmetic."""
    i = np.arange(steps + 1, dtype=np.int64)
    return (2 * i * pixels + steps) // (2 * steps)


def curve_progress(
    model: keras.Model,
    x: np.ndarray,
    attribution: np.ndarray,
    kind: str = "deletion",
    target: Target = None,
    steps: int = 32,
    baseline: float | np.ndarray = 0.0,
    batch_size: int | None = None,
) -> Iterator[CurveProgress]:
    """Compute a deletion or insertion curve chunk by chunk, yielding after each chunk.

    The first update comes before any work (``done = 0``, an all-NaN curve); then image
    n's points come in order 0…steps, image after image. Leaving the loop stops the work;
    the last yielded ``curve`` holds what was computed. Arguments are checked when this is
    called, before the first ``next``.

    Raises
    ------
    ValueError, TypeError
        On bad ``x``, ``target``, ``attribution`` (see :func:`deletion_curve`), ``kind``,
        ``steps``, ``batch_size`` or ``baseline``.
    """
    if kind not in CURVE_KINDS:
        raise ValueError(f"kind must be one of {CURVE_KINDS}, got {kind!r}")
    steps = positive_int(steps, "steps")
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size")
    adapter, batch, targets = _prepare(model, x, target)
    batch_size = batch_size or min(max(len(batch), MIN_BATCH_SIZE), MAX_BATCH_SIZE)
    pixels = pixel_maps(attribution, len(batch), batch.shape[1:3], batch.shape[3])
    base = as_baseline(baseline, batch)
    return _run(adapter, batch, targets, pixels, base, kind == "deletion", steps, batch_size)


def _run(
    adapter: ModelAdapter,
    batch: np.ndarray,
    targets: np.ndarray,
    pixels: np.ndarray,
    base: np.ndarray,
    deletion: bool,
    steps: int,
    batch_size: int,
) -> Iterator[CurveProgress]:
    n, height, width = pixels.shape
    ranks = removal_ranks(pixels).reshape(n, height, width, 1)
    counts = removed_counts(height * width, steps)
    points = steps + 1
    curve = np.full((n, points), np.nan, dtype=np.float32)
    total = n * points
    yield CurveProgress(0, total, curve)
    for start in range(0, total, batch_size):
        index = np.arange(start, min(start + batch_size, total))
        image, point = index // points, index % points
        removed = ranks[image] < counts[point][:, None, None, None]
        if deletion:
            chunk = np.where(removed, base[image], batch[image])
        else:
            chunk = np.where(removed, batch[image], base[image])
        curve[image, point] = target_probability(adapter.logits(chunk), targets[image])
        yield CurveProgress(int(index[-1]) + 1, total, curve)


def target_probability(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Softmax probability of each row's target class, computed stably in float64."""
    probabilities = softmax(logits)
    return probabilities[np.arange(len(probabilities)), targets].astype(np.float32)


def _consume(iterator: Iterator[CurveProgress], progress: Progress | None) -> np.ndarray:
    curve = None
    for update in iterator:
        curve = update.curve
        report(progress, update.done, update.total)
    return curve


def deletion_curve(
    model: keras.Model,
    x: np.ndarray,
    attribution: np.ndarray,
    target: Target = None,
    steps: int = 32,
    baseline: float | np.ndarray = 0.0,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Softmax probability of the target as pixels are removed, most relevant first.

    ``attribution`` may be ``(N, H, W, C)`` (summed over channels), ``(N, H, W)``, or
    ``(N, h, w)`` (resized bilinearly to ``(H, W)``, half-pixel centres). Point i of the
    ``(N, steps + 1)`` float32 result has ⌊i·H·W/steps + ½⌋ pixels set to ``baseline`` (all
    channels), chosen by a stable sort of −attribution (ties in row-major order); point 0
    is ``x`` itself. ``target=None`` is each image's top class on ``x``. ``baseline`` is a
    float or an array that broadcasts to ``x``. ``batch_size`` perturbed images go through
    the model per call (``None``: N, within 8…64). ``progress(done, total)`` is called with
    0 before the first batch and after every batch (``done`` perturbed images of
    ``total = N·(steps + 1)``); returning ``False`` stops the work with
    :class:`~interpret_widgets.methods.progress.Stopped`.
    :func:`curve_progress` gives the partial curve while it grows.

    Raises
    ------
    ValueError, TypeError
        On bad ``x`` or ``target``; an attribution of another rank, batch size or image
        size, or with NaN; ``steps`` or ``batch_size`` < 1; a baseline that does not
        broadcast; a ``progress`` that is not callable.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation of
    Black-box Models".
    """
    check_progress(progress)
    iterator = curve_progress(
        model, x, attribution, "deletion", target, steps, baseline, batch_size
    )
    return _consume(iterator, progress)


def insertion_curve(
    model: keras.Model,
    x: np.ndarray,
    attribution: np.ndarray,
    target: Target = None,
    steps: int = 32,
    baseline: float | np.ndarray = 0.0,
    *,
    batch_size: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Softmax probability of the target as the pixels of ``x`` return, most relevant first.

    The same order and pixel counts as :func:`deletion_curve`, starting from the
    all-``baseline`` image (point 0) and ending at ``x`` (point ``steps``).

    Raises
    ------
    ValueError, TypeError, Stopped
        As :func:`deletion_curve`.

    References
    ----------
    Petsiuk, Das & Saenko (2018), "RISE: Randomized Input Sampling for Explanation of
    Black-box Models".
    """
    check_progress(progress)
    iterator = curve_progress(
        model, x, attribution, "insertion", target, steps, baseline, batch_size
    )
    return _consume(iterator, progress)


def curve_auc(curve: np.ndarray) -> np.ndarray:
    """Area under each curve over [0, 1] by the trapezoid rule, ``(N,)`` float32.

    With K + 1 equally spaced points the area is the mean of (c_i + c_{i+1})/2; a curve
    with NaN (a stopped computation) gets NaN.

    Raises
    ------
    TypeError
        If ``curve`` is not numeric.
    ValueError
        If ``curve`` is not 2-D ``(N, points)`` with at least two points.
    """
    try:
        values = np.asarray(curve, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"curve must be a numeric array, got {type(curve).__name__}") from error
    if values.ndim != 2 or values.shape[1] < 2:
        hint = "; pass curve[None] for a single curve" if values.ndim == 1 else ""
        raise ValueError(
            f"curve must be 2-D (N, points) with at least 2 points, got shape "
            f"{values.shape}{hint}"
        )
    return ((values[:, :-1] + values[:, 1:]) / 2.0).mean(axis=1).astype(np.float32)
