"""Image sources for data-set jobs, cut into the shards that results are stored in.

A source is a numpy array ``(N, H, W, C)`` (with optional labels ``(N,)``), or an iterable
of batches, each an array or an ``(images, labels)`` pair. Either way the images are regrouped
into shards of ``shard_size`` consecutive images, numbered from 0, so that a shard always
covers the same images and an interrupted job can skip what is already on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

Shard = tuple[int, np.ndarray, np.ndarray | None]


def array_length(images: Any) -> int | None:
    """The number of images when ``images`` is an array, else ``None`` (a stream)."""
    return len(images) if isinstance(images, np.ndarray) else None


def check_labels(labels: Any, count: int | None) -> np.ndarray | None:
    """``labels`` as int64 ``(N,)``; ``None`` stays ``None``.

    Raises
    ------
    ValueError
        If the labels are not one integer per image.
    """
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {array.shape} "
                         f"of {array.dtype}")
    if count is not None and len(array) != count:
        raise ValueError(f"labels has {len(array)} entries for {count} images")
    return array.astype(np.int64)


def shards(images: Any, labels: np.ndarray | None, shard_size: int) -> Iterator[Shard]:
    """``(index, images, labels)`` for each shard of the source, in order."""
    if isinstance(images, np.ndarray):
        for index, start in enumerate(range(0, len(images), shard_size)):
            stop = start + shard_size
            yield index, images[start:stop], None if labels is None else labels[start:stop]
        return
    if not isinstance(images, Iterable):
        raise TypeError(
            "images must be a numpy array (N, H, W, C), an iterable of batches or a "
            f"ray.data.Dataset, got {type(images).__name__}"
        )
    yield from _regroup(images, labels, shard_size)


def _regroup(batches: Iterable[Any], labels: np.ndarray | None, size: int) -> Iterator[Shard]:
    pending_x: list[np.ndarray] = []
    pending_y: list[np.ndarray] = []
    held = index = seen = 0
    for batch in batches:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        x = np.asarray(x, dtype=np.float32)
        if y is None and labels is not None:
            y = labels[seen : seen + len(x)]
        seen += len(x)
        pending_x.append(x)
        pending_y.append(None if y is None else np.asarray(y, dtype=np.int64))
        held += len(x)
        while held >= size:
            xs, ys = _join(pending_x, pending_y)
            yield index, xs[:size], None if ys is None else ys[:size]
            pending_x, pending_y = [xs[size:]], [None if ys is None else ys[size:]]
            held -= size
            index += 1
    if held:
        xs, ys = _join(pending_x, pending_y)
        yield index, xs, ys


def _join(xs: list[np.ndarray], ys: list[np.ndarray | None]) -> tuple[np.ndarray, Any]:
    images = np.concatenate(xs)
    if any(y is None for y in ys):
        return images, None
    return images, np.concatenate(ys)
