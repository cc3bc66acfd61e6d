"""Layer embeddings of many images: what a model "sees" in each, as one vector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from ..model import get_adapter


def embed(
    model: keras.Model,
    images: np.ndarray,
    layer: str | Any | None = None,
    batch_size: int = 64,
    progress: Callable[[int, int], Any] | None = None,
) -> np.ndarray:
    """The output of ``layer`` for every image, one float32 vector each ``(N, d)``.

    ``layer=None`` is the penultimate representation: the last layer with a 2-D output
    before the model's output (e.g. the global pooling in front of the classifier). A 4-D
    output ``(N, h, w, k)`` is averaged over its positions. Batches of ``batch_size`` go
    through one compiled forward probe.

    Raises
    ------
    ValueError
        On bad images, an unknown layer, or a model without a layer before its output.
    """
    adapter = get_adapter(model)
    batch = adapter.check_input(images)
    entry = adapter.resolve_layer(layer) if layer is not None else _penultimate(adapter)
    name = adapter.name_of(entry)
    parts = []
    for start in range(0, len(batch), batch_size):
        out = adapter.activations(batch[start : start + batch_size], [entry])[name]
        parts.append(out.mean(axis=tuple(range(1, out.ndim - 1))) if out.ndim > 2 else out)
        if progress is not None:
            progress(min(start + batch_size, len(batch)), len(batch))
    return np.concatenate(parts).reshape(len(batch), -1).astype(np.float32)


def _penultimate(adapter: Any) -> Any:
    layers = [e for e in adapter.layers if e.kind not in ("model", "input")]
    for entry in reversed(layers[:-1]):
        if len(entry.output_shape) in (2, 4):
            return entry
    raise ValueError(f"model {adapter.name!r} has no layer before its output to embed")
