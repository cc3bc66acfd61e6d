"""Score many perturbed inputs in batches: the one evaluator of every perturbation method.

Occlusion, LIME, KernelSHAP and Score-CAM all ask the same question many times: what is the
model's score on this altered copy of the image? They describe their copies by a
``build(start, stop)`` function that makes rows ``start … stop − 1`` on demand, and this
module pushes them through the adapter's compiled logits probe ``batch_size`` at a time, so
that S copies cost about S rows of a raw forward pass and never sit in memory all at once.

Progress and stopping
---------------------
Every method takes ``progress=callable(done, total)`` (the convention of
:mod:`~interpret_widgets.methods.progress`). It is called with ``done = 0`` before the first
batch and after every batch with the number of copies scored so far (increasing, ending at
``total``). If it returns ``False`` (exactly ``False``; ``None`` continues) the evaluation
stops before the next batch and the method raises :class:`Stopped`; so a stop requested
during a batch takes effect when that batch ends. An exception raised by the callback
itself passes through unchanged. A widget's Stop button is then
``progress=lambda done, total: not stop_event.is_set()``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...model import ModelAdapter, softmax
from ...model.inputs import as_baseline
from ..featviz.arguments import positive_int
from ..progress import Progress, Stopped, check_progress, report

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Progress",
    "Stopped",
    "as_baseline",
    "check_progress",
    "keep_segments",
    "positive_int",
    "score_perturbations",
]

#: ``build(start, stop)`` gives perturbed inputs ``start … stop − 1``, float32.
Build = Callable[[int, int], np.ndarray]

#: Perturbed copies per compiled call when a method is not told otherwise.
DEFAULT_BATCH_SIZE = 64


def score_perturbations(
    adapter: ModelAdapter,
    build: Build,
    total: int,
    classes: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    probabilities: bool = False,
) -> np.ndarray:
    """The score of class ``classes[r]`` on perturbed input r, for r = 0 … total − 1.

    Inputs are built and scored ``batch_size`` at a time through the adapter's compiled
    logits probe (the pre-softmax score). With ``probabilities=True`` the softmax of those
    logits is taken instead (Score-CAM's weights). Returns ``(total,)`` float64.

    Raises
    ------
    Stopped
        When ``progress`` returns ``False`` (see the module's docstring).
    """
    batch_size = positive_int(batch_size, "batch_size")
    out = np.empty(total, dtype=np.float64)
    report(progress, 0, total)
    for start in range(0, total, batch_size):
        stop = min(start + batch_size, total)
        logits = adapter.logits(build(start, stop)).astype(np.float64)
        if probabilities:
            logits = softmax(logits)
        out[start:stop] = logits[np.arange(stop - start), classes[start:stop]]
        report(progress, stop, total)
    return out


def keep_segments(
    batch: np.ndarray,
    base: np.ndarray,
    segments: np.ndarray,
    keep: list[np.ndarray],
) -> Build:
    """Builder of copies in which only the kept segments show the image.

    Row r belongs to image ``n`` (rows are laid out image after image, ``len(keep[n])`` rows
    each); ``keep[n][s]`` is a boolean vector over image n's segments, and a pixel of a
    removed segment takes ``base``'s value (all channels).
    """
    owner = np.repeat(np.arange(len(keep)), [len(k) for k in keep])
    offset = np.concatenate([[0], np.cumsum([len(k) for k in keep])])

    def build(start: int, stop: int) -> np.ndarray:
        rows = np.arange(start, stop)
        images = owner[rows]
        masks = np.stack(
            [keep[n][r - offset[n]][segments[n]] for n, r in zip(images, rows, strict=True)]
        )
        return np.where(masks[..., None], batch[images], base[images])

    return build
