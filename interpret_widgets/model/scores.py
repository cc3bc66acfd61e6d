"""Probabilities from pre-softmax scores: the one softmax every layer of the package uses."""

from __future__ import annotations

import numpy as np


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, float64, computed stably (the row maximum subtracted).

    The package explains pre-softmax scores; views and metrics that show or measure
    probabilities turn those scores into probabilities here, so a model whose softmax sits
    inside its last layer gives the same numbers as its own output.
    """
    z = np.asarray(scores, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
