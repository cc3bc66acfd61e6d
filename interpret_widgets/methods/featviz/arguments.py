"""Argument checks of the feature-visualization optimizer, with the messages users see.

Every check raises a ``ValueError`` (or ``TypeError``) that says what was expected and what
was given, in the words of the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any

import numpy as np

from ...model import LayerEntry
from .objectives import Objective
from .regularizers import Regularizer

#: The most channels one optimizer takes when ``channels=None`` asks for all of them.
MAX_CHANNELS = 256


def positive_int(value: object, what: str) -> int:
    """``value`` as an int >= 1 (``what`` names it in the error)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    return int(value)


def non_negative_int(value: object, what: str) -> int:
    """``value`` as an int >= 0 (``what`` names it in the error)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


def channels_of(channels: object, entry: LayerEntry, name: str) -> list[int]:
    """The channel list: ``None`` → all (at most :data:`MAX_CHANNELS`), an int → one."""
    count = entry.channels
    if len(entry.output_shape) < 2 or count is None:
        raise ValueError(
            f"layer {name!r} has output shape {entry.output_shape} with no channel axis; "
            "feature visualization needs a layer whose last axis holds channels"
        )
    if channels is None:
        if count > MAX_CHANNELS:
            raise ValueError(
                f"layer {name!r} has {count} channels, more than {MAX_CHANNELS} in one batch; "
                "pass the channels to visualize"
            )
        return list(range(count))
    if isinstance(channels, bool):
        raise TypeError("channels must be an int, a sequence of ints or None, got a bool")
    if isinstance(channels, Integral):
        channels = [channels]
    if not isinstance(channels, (Sequence, np.ndarray)) or isinstance(channels, str):
        raise TypeError(
            f"channels must be an int, a sequence of ints or None, got {type(channels).__name__}"
        )
    values = list(channels)
    if not values:
        raise ValueError("channels is empty; give at least one channel")
    for c in values:
        if isinstance(c, bool) or not isinstance(c, Integral):
            raise TypeError(f"channels must be ints, got {c!r}")
        if not 0 <= c < count:
            raise ValueError(
                f"channel {c} is out of range: layer {name!r} has {count} channels (0..{count - 1})"
            )
    return [int(c) for c in values]


def sizes(
    input_shape: tuple, model_name: str, size: int | tuple[int, int] | None
) -> tuple[tuple[int, int, int], tuple[int, int]]:
    """The image shape ``(h, w, c)`` to optimize and the spatial size the model gets."""
    if len(input_shape) != 4:
        raise ValueError(
            f"model {model_name!r} has input shape {input_shape}; feature visualization needs "
            "an image input (N, H, W, C)"
        )
    _, mh, mw, c = input_shape
    if c is None:
        raise ValueError(f"model {model_name!r} has an unknown number of input channels")
    if size is None:
        if mh is None or mw is None:
            raise ValueError(
                f"model {model_name!r} takes inputs of any size {input_shape}; give size="
            )
        h, w = int(mh), int(mw)
    else:
        pair = (size, size) if isinstance(size, Integral) else tuple(size)
        if len(pair) != 2 or not all(isinstance(s, Integral) and s >= 8 for s in pair):
            raise ValueError(f"size must be an int >= 8 or a pair of them, got {size!r}")
        h, w = int(pair[0]), int(pair[1])
    return (h, w, int(c)), (int(mh or h), int(mw or w))


def value_map(
    value_range: tuple[float, float] | None, preprocess: Callable[[Any], Any] | None
) -> Callable[[Any], Any]:
    """The map from the [0, 1] image to the model's input (identity by default)."""
    if value_range is not None and preprocess is not None:
        raise ValueError("give value_range or preprocess, not both")
    if preprocess is not None:
        if not callable(preprocess):
            raise TypeError(f"preprocess must be callable, got {type(preprocess).__name__}")
        return preprocess
    if value_range is None:
        return lambda x: x
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError) as error:
        raise ValueError(f"value_range must be (low, high), got {value_range!r}") from error
    if not low < high:
        raise ValueError(f"value_range needs low < high, got {value_range!r}")
    if (low, high) == (0.0, 1.0):
        return lambda x: x
    return lambda x: low + (high - low) * x


def regularizer_list(regularizers: Sequence[Regularizer]) -> list[Regularizer]:
    """The regularizers as a list of objectives (a single one is accepted too)."""
    if isinstance(regularizers, Objective):
        regularizers = [regularizers]
    items = list(regularizers)
    for r in items:
        if not isinstance(r, Objective):
            raise TypeError(f"regularizers must be Regularizer objects, got {type(r).__name__}")
    return items
