"""Pruning curves: accuracy and the original top class's score as the pruned fraction grows.

The filters are ranked once (:class:`~.pruning.Pruner`), one copy of the model is made, and
for each amount its weights are re-assigned and the images scored through its compiled
logits probe (compiled once: the probe reads the copy's variables, whose values change).
:func:`iter_pruning_curve` yields the points one by one so that a view can draw the line as
it grows; :func:`pruning_curve` collects them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from ..model import get_adapter
from .progress import Progress, check_progress, keep_going
from .pruning import Pruner, check_amount, clone

#: The default amounts: 0, 0.1, …, 0.9.
DEFAULT_AMOUNTS = tuple(round(0.1 * i, 1) for i in range(10))


@dataclass(frozen=True)
class CurvePoint:
    """One point of a pruning curve."""

    amount: float
    accuracy: float
    mean_score: float


def _check_labels(labels: object, n: int, classes: int) -> np.ndarray | None:
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"labels must be {n} integer class indices (one per image), got an array of "
            f"shape {array.shape} and dtype {array.dtype}"
        )
    bad = array[(array < 0) | (array >= classes)]
    if bad.size:
        raise ValueError(f"label {int(bad[0])} is out of range: the model has {classes} classes")
    return array


def iter_pruning_curve(
    model: keras.Model,
    x: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
    criterion: str = "l1",
    layers: object = None,
    seed: int = 0,
    *,
    reference: np.ndarray | None = None,
    batchnorm: str = "keep",
) -> Iterator[CurvePoint]:
    """Yield a :class:`CurvePoint` per amount, in the order given (see :func:`pruning_curve`).

    Arguments are checked and the filters ranked before the first point; breaking out of the
    loop stops the measurement.
    """
    adapter = get_adapter(model)
    batch = adapter.check_input(x)
    truth = _check_labels(labels, len(batch), adapter.num_classes)
    points = [check_amount(a) for a in np.atleast_1d(np.asarray(amounts, dtype=object))]
    if reference is None:
        reference = batch
    ranked_on = reference if criterion == "relevance" else None
    pruner = Pruner(model, criterion, layers, ranked_on, seed, batchnorm)
    original = adapter.logits(batch)
    top = original.argmax(axis=1)
    expected = top if truth is None else truth
    copy = clone(model)
    scorer = get_adapter(copy)
    rows = np.arange(len(batch))
    return _points(pruner, copy, scorer, batch, points, expected, top, rows)


def _points(
    pruner: Pruner,
    copy: keras.Model,
    scorer: Any,
    batch: np.ndarray,
    amounts: list[float],
    expected: np.ndarray,
    top: np.ndarray,
    rows: np.ndarray,
) -> Iterator[CurvePoint]:
    for amount in amounts:
        pruner.assign(copy, amount)
        logits = scorer.logits(batch)
        accuracy = float(np.mean(logits.argmax(axis=1) == expected))
        yield CurvePoint(amount, accuracy, float(np.mean(logits[rows, top], dtype=np.float64)))


def pruning_curve(
    model: keras.Model,
    x: np.ndarray,
    labels: Sequence[int] | np.ndarray | None = None,
    amounts: Sequence[float] = DEFAULT_AMOUNTS,
    criterion: str = "l1",
    layers: object = None,
    seed: int = 0,
    *,
    reference: np.ndarray | None = None,
    batchnorm: str = "keep",
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Accuracy and mean original-top-class score of ``prune(model, a, …)`` for each amount.

    Returns a dict of float32 arrays ``amount``, ``accuracy`` and ``mean_score``. Accuracy
    is on ``(x, labels)``; with ``labels=None`` it is the agreement with the unpruned
    model's predictions. ``mean_score`` is the mean over images of the pruned model's
    pre-softmax score for each image's top class in the *unpruned* model. ``criterion``,
    ``layers``, ``seed`` and ``batchnorm`` are those of :func:`~.pruning.prune`; the filters
    are ranked once, so the pruned sets grow with the amount. ``reference`` (default ``x``) are the
    images whose relevance ranks the filters under ``"relevance"``.

    ``progress(done, total)`` is called before the first point and after each (see
    :mod:`.progress`); when it returns ``False`` the curve stops and the points measured so
    far are returned.

    Raises
    ------
    ValueError
        On an amount outside [0, 1), labels that do not fit ``x`` or the classes, and on
        the errors of :func:`~.pruning.prune`.

    References
    ----------
    Yeom et al. (2021), "Pruning by Explaining" (accuracy against the pruning rate, per
    criterion).
    """
    progress = check_progress(progress)
    points = iter_pruning_curve(
        model, x, labels, amounts, criterion, layers, seed, reference=reference,
        batchnorm=batchnorm,
    )
    total = len(np.atleast_1d(np.asarray(amounts, dtype=object)))
    measured: list[CurvePoint] = []
    if keep_going(progress, 0, total):
        for point in points:
            measured.append(point)
            if not keep_going(progress, len(measured), total):
                break
    return {
        name: np.asarray([getattr(p, name) for p in measured], dtype=np.float32)
        for name in ("amount", "accuracy", "mean_score")
    }
