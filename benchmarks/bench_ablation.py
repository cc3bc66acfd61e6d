"""Time ablation and pruning on the demo model, as ratios to a raw compiled forward pass.

Run: ``python benchmarks/bench_ablation.py`` (after ``scripts/setup_env.sh test``). Prints
a markdown table; the figures in benchmarks/README.md come from it. The latency goal is
the future Ablation panel's toggle: one ``ablate`` call on one image, the probe already
compiled, ≤ 100 ms kernel side. Each row is timed in alternation with a raw compiled
forward pass of the same model on the same batch (``common.paired_times``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import paired_times  # noqa: E402

from interpret_widgets import methods  # noqa: E402
from interpret_widgets.demo import demo_images, load_demo_model  # noqa: E402


def raw_forward(model):
    """One compiled forward pass of the model (the reference of the ratios)."""
    step = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda x: step(tf.convert_to_tensor(x)).numpy()


def main() -> None:
    model = load_demo_model()
    images, labels, _ = demo_images(64, seed=0)
    one, batch8 = images[:1], images[:8]
    forward = raw_forward(model)
    toggles = iter(np.random.default_rng(0).integers(0, 128, size=(10_000, 3)))
    rows = [
        ("ablate, 1 image, relu3, 3 channels (a toggle)", one,
         lambda: methods.ablate(model, one, "relu3", list(next(toggles)))),
        ("ablate, 1 image, conv1, 3 channels", one,
         lambda: methods.ablate(model, one, "conv1", [int(c) % 32 for c in next(toggles)])),
        ("ablate, 8 images, relu3", batch8,
         lambda: methods.ablate(model, batch8, "relu3", list(next(toggles)))),
        ("channel_importance ablation, 1 image, relu3 (128 masks)", one,
         lambda: methods.channel_importance(model, one, "relu3")),
        ("channel_importance gradient, 1 image, relu3", one,
         lambda: methods.channel_importance(model, one, "relu3", method="gradient")),
        ("channel_importance relevance, 1 image, relu3", one,
         lambda: methods.channel_importance(model, one, "relu3", method="relevance")),
        ("prune(0.5, l1): clone + assign", one, lambda: methods.prune(model, 0.5)),
        ("pruning_curve l1, 64 images, 10 amounts", images,
         lambda: methods.pruning_curve(model, images, labels)),
    ]
    print("| call | ms | raw forward beside it, ms | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label, x, fn in rows:
        ours, raw = paired_times(fn, lambda x=x: forward(x), repeats=7, warmup=2)
        print(f"| {label} | {ours * 1e3:.1f} | {raw * 1e3:.2f} | {ours / raw:.1f}× |")


if __name__ == "__main__":
    main()
