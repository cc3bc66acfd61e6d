"""Cost of one feature-visualization step against one raw forward+backward pass.

Run ``python benchmarks/bench_featviz.py``. On the demo model (64×64 inputs in [0, 1]) and
a middle layer, for K = 1, 8, 32 channels it times

- raw: a compiled function that runs the full model forward on a batch of K and takes the
  gradient of the sum of its outputs with respect to the input;
- step: one :class:`FilterOptimizer` step (Fourier parametrization, the standard
  transforms, forward to the layer, objective, gradient, Adam update) for K channels,

and prints a markdown table with medians over repeated runs after warm-up (raw and step
calls alternate, so that a change in machine load hits both). The target is a
step costing at most 1.3× the raw pass. Falls back to an untrained demo-architecture CNN
where the trained demo model does not exist yet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from interpret_widgets.demo import build_demo_model, load_demo_model  # noqa: E402
from interpret_widgets.methods.featviz import FilterOptimizer  # noqa: E402


def _model() -> tuple[keras.Model, str]:
    try:
        return load_demo_model(), "demo model"
    except FileNotFoundError:
        keras.utils.set_random_seed(0)
        return build_demo_model(), "untrained demo architecture (no trained file yet)"


def _median_times(calls: list, repeats: int, warmup: int = 3) -> list[float]:
    """Median wall time of each call; the calls alternate so that load drifts hit all."""
    for call in calls:
        for _ in range(warmup):
            call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, bucket in zip(calls, times, strict=True):
            start = time.perf_counter()
            call()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def bench(layer: str, ks: list[int], repeats: int) -> str:
    model, label = _model()

    @tf.function(reduce_retracing=True)
    def raw(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=False)
            total = tf.reduce_sum(y)
        return tape.gradient(total, x)

    rows = [
        f"Model: {label}; layer {layer!r}; median of {repeats} interleaved runs after warm-up; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}.",
        "",
        "| K | raw fwd+bwd (ms) | featviz step (ms) | ratio | steps/s |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    channels_in_layer = model.get_layer(layer).output.shape[-1]
    for k in ks:
        x = tf.constant(np.random.default_rng(0).uniform(size=(k, 64, 64, 3)), tf.float32)
        channels = [c % channels_in_layer for c in range(k)]
        optimizer = FilterOptimizer(model, layer, channels, steps=repeats + 3)
        progress = optimizer.steps(images=False)
        raw_s, step_s = _median_times(
            [lambda x=x: raw(x).numpy(), lambda progress=progress: next(progress)], repeats
        )
        rows.append(
            f"| {k} | {1e3 * raw_s:.2f} | {1e3 * step_s:.2f} | {step_s / raw_s:.2f} | "
            f"{1 / step_s:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layer", default="relu2")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    print(bench(args.layer, args.k, max(7, args.repeats)))


if __name__ == "__main__":
    main()
