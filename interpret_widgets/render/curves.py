"""A static figure of pruning curves: accuracy and mean score against the pruned fraction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pruning_curves_figure(
    curves: Mapping[str, Mapping[str, np.ndarray]],
    title: str | None = None,
    accuracy_label: str = "accuracy",
) -> Figure:
    """Two panels, accuracy and mean score against the pruned fraction, one line per curve.

    ``curves`` maps a label (the criterion) to a dict with arrays ``amount``, ``accuracy``
    and ``mean_score``, as :func:`interpret_widgets.methods.pruning_curve` returns.

    Raises
    ------
    ValueError
        If there are no curves, or one lacks a key or has arrays of different lengths.
    """
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("pruning_curves_figure needs at least one curve")
    for label, curve in curves.items():
        missing = {"amount", "accuracy", "mean_score"} - set(curve)
        if missing:
            raise ValueError(f"curve {label!r} lacks {', '.join(sorted(missing))}")
        if not len(curve["amount"]) == len(curve["accuracy"]) == len(curve["mean_score"]):
            raise ValueError(f"curve {label!r} has arrays of different lengths")
    # A bare Figure (not pyplot): no global backend or figure-manager state is touched.
    figure = Figure(figsize=(8.0, 3.2))
    left, right = figure.subplots(1, 2)
    for label, curve in curves.items():
        amount = np.asarray(curve["amount"])
        left.plot(amount, np.asarray(curve["accuracy"]), marker="o", ms=3, label=label)
        right.plot(amount, np.asarray(curve["mean_score"]), marker="o", ms=3, label=label)
    left.set_ylabel(accuracy_label)
    left.set_ylim(-0.02, 1.02)
    right.set_ylabel("mean score of the original top class")
    for axis in (left, right):
        axis.set_xlabel("pruned fraction per layer")
        axis.grid(alpha=0.3)
    left.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
