"""Shared timing helpers for the benchmarks: the raw forward+backward reference pass."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_times(
    fn: Callable[[], object], reference: Callable[[], object], repeats: int = 7, warmup: int = 2
) -> tuple[float, float]:
    """Median wall times of ``fn()`` and ``reference()``, timed in alternation.

    Each repeat times the reference right before ``fn``, so a change in the machine's load
    (other processes on a 2-core machine) reaches both sides of the ratio alike.
    """
    for _ in range(warmup):
        reference()
        fn()
    ours, theirs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        reference()
        middle = time.perf_counter()
        fn()
        theirs.append(middle - start)
        ours.append(time.perf_counter() - middle)
    return statistics.median(ours), statistics.median(theirs)


def raw_forward_backward(model: keras.Model) -> Callable[[np.ndarray], object]:
    """One compiled forward pass of the model plus the gradient of the summed top output
    w.r.t. the input: the reference every ratio in benchmarks/README.md divides by."""

    @tf.function(reduce_retracing=True)
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            score = tf.reduce_sum(tf.reduce_max(y, axis=-1))
        return tape.gradient(score, x)

    def run(x: np.ndarray) -> object:
        return step(tf.convert_to_tensor(x)).numpy()

    return run


def vgg_like(size: int = 64) -> keras.Model:
    """VGG16 (weights=None) at a reduced input size: VGG-sized convolutions on 2 cores."""
    keras.utils.set_random_seed(0)
    return keras.applications.VGG16(weights=None, input_shape=(size, size, 3), classes=10)


def raw_forward(model: keras.Model) -> Callable[[np.ndarray], object]:
    """One compiled forward pass of the model, nothing else: the reference of the
    perturbation benchmarks (their copies need scores, not gradients)."""

    @tf.function(reduce_retracing=True)
    def step(x):
        return model(x, training=False)

    def run(x: np.ndarray) -> object:
        return step(tf.convert_to_tensor(x)).numpy()

    return run
