"""Validation of the arrays and targets that users hand to the methods.

The contract asks for errors that say what was expected and what was given; every method
goes through these checks so that the messages are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_batch(x: object, input_shape: tuple, model_name: str) -> np.ndarray:
    """Return ``x`` as a float32 array shaped like the model's input, batch axis first.

    Raises
    ------
    TypeError
        If ``x`` cannot be read as a numeric array.
    ValueError
        If its rank, channel count or spatial size does not fit the model.
    """
    try:
        array = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"x must be a numeric array, got {type(x).__name__}") from error
    expected = "(N, " + ", ".join("?" if d is None else str(d) for d in input_shape[1:]) + ")"
    if array.ndim == len(input_shape) - 1 and _fits(array.shape, input_shape[1:]):
        raise ValueError(
            f"x must have a batch axis: model {model_name!r} expects {expected}, got one "
            f"sample of shape {array.shape}; pass x[None] for a single image"
        )
    if array.ndim != len(input_shape):
        raise ValueError(
            f"x must have rank {len(input_shape)} {expected} for model {model_name!r}, "
            f"got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError("x is an empty batch (N = 0)")
    channels = input_shape[-1]
    if channels is not None and array.shape[-1] != channels:
        raise ValueError(
            f"x has {array.shape[-1]} channels but model {model_name!r} expects {channels} "
            f"(channels-last {expected}); got shape {array.shape}"
        )
    if not _fits(array.shape[1:], input_shape[1:]):
        raise ValueError(f"x has shape {array.shape} but model {model_name!r} expects {expected}")
    if not np.all(np.isfinite(array)):
        raise ValueError("x contains NaN or infinite values")
    return array


def _fits(shape: tuple, expected: tuple) -> bool:
    return len(shape) == len(expected) and all(
        e is None or s == e for s, e in zip(shape, expected, strict=True)
    )


def as_targets(target: object, n: int, num_classes: int) -> np.ndarray:
    """Return one class index per sample; -1 stands for "the top predicted class".

    Raises
    ------
    TypeError
        If ``target`` is neither None, an int nor a sequence of ints.
    ValueError
        If a class index is out of range or the sequence length is not ``n``.
    """
    if target is None:
        return np.full((n,), -1, dtype=np.int32)
    if isinstance(target, bool):
        raise TypeError("target must be None, an int or a sequence of ints, got a bool")
    if isinstance(target, (int, np.integer)):
        values = np.full((n,), int(target), dtype=np.int64)
    elif isinstance(target, (Sequence, np.ndarray)) and not isinstance(target, str):
        values = np.asarray(target)
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
            raise TypeError(f"target must be None, an int or a sequence of N ints, got {target!r}")
        if len(values) != n:
            raise ValueError(
                f"target gives {len(values)} classes for a batch of {n} samples; "
                "give one per sample, a single int, or None"
            )
    else:
        raise TypeError(
            f"target must be None, an int or a sequence of ints, got {type(target).__name__}"
        )
    bad = values[(values < 0) | (values >= num_classes)]
    if bad.size:
        raise ValueError(
            f"target {int(bad[0])} is out of range: the model has {num_classes} classes "
            f"(0..{num_classes - 1})"
        )
    return values.astype(np.int32)


def as_baseline(baseline: object, batch: np.ndarray) -> np.ndarray:
    """The reference input as a float32 array of ``batch``'s shape.

    ``None`` is all zeros; a float or any array that broadcasts to ``batch`` (one image,
    one value per channel…) is broadcast.

    Raises
    ------
    ValueError
        If ``baseline`` does not broadcast to ``batch`` or holds NaN or infinite values.
    TypeError
        If it cannot be read as a numeric array.
    """
    if baseline is None:
        return np.zeros_like(batch)
    try:
        array = np.asarray(baseline, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"baseline must be None, a float or a numeric array, got {type(baseline).__name__}"
        ) from error
    try:
        array = np.broadcast_to(array, batch.shape)
    except ValueError as error:
        raise ValueError(
            f"baseline of shape {array.shape} does not broadcast to x {batch.shape}"
        ) from error
    if not np.all(np.isfinite(array)):
        raise ValueError("baseline contains NaN or infinite values")
    return np.ascontiguousarray(array)
