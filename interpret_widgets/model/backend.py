"""The only module that imports TensorFlow directly.

Gradients need a tape and compiled probes need a tracing compiler, which Keras 3 does not
abstract across backends; everything TensorFlow-specific sits here so that a second backend
touches one file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import tensorflow as tf
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "interpret_widgets needs TensorFlow as the Keras backend. Install it with "
        "`pip install interpret_widgets[cpu]` (tensorflow-cpu) or "
        "`pip install interpret_widgets[tensorflow]`; an existing tensorflow or "
        "tensorflow-cpu installation is enough."
    ) from error


def compile_function(function: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``function`` into a graph that is traced once per input signature.

    ``reduce_retracing`` lets a new batch size reuse the trace with a relaxed shape.
    """
    return tf.function(function, reduce_retracing=True)


def gradient_tape() -> Any:
    """A tape that records only what is explicitly watched (no weights)."""
    return tf.GradientTape(watch_accessed_variables=False)


def to_tensor(array: np.ndarray, dtype: str = "float32") -> Any:
    """A tensor of ``array`` in ``dtype``."""
    return tf.convert_to_tensor(array, dtype=dtype)


def to_numpy(tensor: Any, dtype: str = "float32") -> np.ndarray:
    """A numpy array of ``tensor`` in ``dtype`` (float32 by default)."""
    if isinstance(tensor, np.ndarray):
        return tensor.astype(dtype, copy=False)
    return np.asarray(tensor.numpy(), dtype=dtype)


def gather_rows(values: Any, indices: Any) -> Any:
    """``values[n, indices[n]]`` for every row ``n``."""
    return tf.gather(values, indices, batch_dims=1)


def select_targets(logits: Any, targets: Any) -> Any:
    """Replace every negative target by the row's top-scoring class."""
    top = tf.cast(tf.argmax(logits, axis=-1), targets.dtype)
    return tf.where(targets < 0, top, targets)


def variable(value: np.ndarray, name: str | None = None) -> Any:
    """A trainable variable owned by the caller (never a model's)."""
    return tf.Variable(value, trainable=True, name=name)
