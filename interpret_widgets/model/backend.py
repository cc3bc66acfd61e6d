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


def irfft2d(real: Any, imag: Any, size: tuple[int, int]) -> Any:
    """Inverse real 2-D FFT over the last two axes of the spectrum ``real + i·imag``.

    ``size = (height, width)`` of the real output; the spectrum's last axis holds the
    ``width // 2 + 1`` non-negative frequencies. Unnormalized like ``numpy.fft.irfft2``.
    """
    spectrum = tf.complex(real, imag)
    return tf.signal.irfft2d(spectrum, fft_length=list(size))


def vjp(function: Callable[..., Any], primals: list[Any]) -> tuple[Any, Callable[[Any], list]]:
    """Evaluate ``function(*primals)``; return its outputs and their pullback.

    ``pullback(cotangents)`` (callable once) gives the vector-Jacobian product: for each
    primal, the sum over outputs of ``cotangent · ∂output/∂primal``; zeros where a primal
    does not reach the outputs. Only the primals are watched, never variables. Inside a
    compiled function, forward operations that the pullback does not need are pruned.
    """
    tape = tf.GradientTape(watch_accessed_variables=False)
    with tape:
        for primal in primals:
            tape.watch(primal)
        outputs = function(*primals)

    def pullback(cotangents: Any) -> list:
        return tape.gradient(
            outputs,
            list(primals),
            output_gradients=cotangents,
            unconnected_gradients=tf.UnconnectedGradients.ZERO,
        )

    return outputs, pullback


def redirected_relu(x: Any, max_value: float | None = None) -> Any:
    """ReLU (or ReLU clipped at ``max_value``) whose gradient cannot die.

    The forward value is the ordinary one. Backwards, a batch item whose ordinary ReLU
    gradient is zero everywhere (every unit that the objective reads is inactive) gets
    the "redirected" gradient instead: the upstream gradient passes wherever it would
    raise the input, and is blocked where it would lower an inactive input further.
    Used by feature visualization so that a channel that is off for the starting image
    can still be optimized (Lucid's redirected ReLU).
    """

    @tf.custom_gradient
    def relu(inputs: Any) -> Any:
        if max_value is None:
            outputs = tf.nn.relu(inputs)
            active = inputs > 0
        else:
            outputs = tf.clip_by_value(inputs, 0.0, max_value)
            active = tf.logical_and(inputs > 0, inputs < max_value)

        def gradient(upstream: Any) -> Any:
            zero = tf.zeros_like(upstream)
            ordinary = tf.where(active, upstream, zero)
            axes = list(range(1, len(inputs.shape)))
            alive = tf.reduce_any(tf.not_equal(ordinary, 0), axis=axes, keepdims=True)

            def redirect() -> Any:
                # Descent moves the input against the gradient: upstream > 0 lowers it.
                lowering = tf.logical_and(inputs < 0, upstream > 0)
                return tf.where(alive, ordinary, tf.where(lowering, zero, upstream))

            return tf.cond(tf.reduce_all(alive), lambda: ordinary, redirect)

        return outputs, gradient

    return relu(x)


def positive_gradient(x: Any) -> Any:
    """Identity whose gradient keeps only its positive part: backwards, g ↦ max(g, 0).

    Applied to the output of a ReLU (a ReLU layer or operation, or a layer with a fused
    ReLU activation, run as it is), it turns that ReLU into the guided-backpropagation
    ReLU: the ReLU's own gradient still zeroes the positions whose input was not positive,
    so together they pass max(g, 0)·[input > 0]. Working on the output means that no
    layer has to be recomputed or changed, whatever its class.
    """

    @tf.custom_gradient
    def guided(inputs: Any) -> Any:
        def gradient(upstream: Any) -> Any:
            return tf.nn.relu(upstream)

        return tf.identity(inputs), gradient

    return guided(x)


def affine_warp(images: Any, rows: Any, output_size: tuple[int, int], fill: float) -> Any:
    """Bilinear warp of ``images`` ``(K, H, W, C)`` onto ``output_size`` by affine ``rows``.

    ``rows`` ``(K, 6)`` map output pixel ``(x, y)`` to the source point
    ``(r0 x + r1 y + r2, r3 x + r4 y + r5)``; neighbours outside the image read ``fill``.
    TensorFlow's gradient warps the output gradient back by the inverse transform.
    """
    rows = tf.cast(rows, tf.float32)
    transforms = tf.concat([rows, tf.zeros_like(rows[:, :2])], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant(list(output_size), tf.int32),
        fill_value=tf.constant(fill, images.dtype),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
