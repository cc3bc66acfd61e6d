"""Time LRP per rule and composite as ratios to a raw compiled forward+backward pass.

Run: ``python benchmarks/bench_lrp.py``. Prints a markdown table per model (the demo CNN at
64×64, trained if its weights ship, else the same architecture untrained; and VGG16 with
``weights=None`` at 64×64), batch 8, median of 7 runs after warm-up.
``--arch Xception,InceptionV3`` times ``keras.applications`` architectures instead
(``weights=None``, 96×96, batch 2; ``tutorial`` is the Keras image-classification tutorial
CNN with augmentation and rescaling inside); ``--rules`` picks the rules. The raw pass is one
compiled forward pass plus the gradient of the summed top outputs w.r.t. the input
(:func:`common.raw_forward_backward`); both sides include the conversion to numpy. The
target is ``lrp`` ≤ 1.5× raw; each rule is timed in alternation with the raw pass
(``common.paired_times``) and divided by the raw pass measured beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from common import median_time, paired_times, raw_forward_backward, vgg_like  # noqa: E402

from interpret_widgets.methods.lrp import lrp  # noqa: E402

BATCH = 8
REPEATS = 7
RULES = (
    "epsilon",
    "zplus",
    "alpha_beta",
    "flat",
    "gamma",
    "zbox",
    "epsilon_plus",
    "epsilon_plus_flat",
    "epsilon_gamma_box",
    "epsilon_alpha2_beta1",
)


def demo_model_and_images():
    """The shipped demo model and images, or its untrained architecture on random images."""
    from interpret_widgets.demo import DEMO_MODEL_PATH, build_demo_model, demo_images

    images = demo_images(BATCH, seed=7)[0]
    if DEMO_MODEL_PATH.is_file():
        from interpret_widgets.demo import load_demo_model

        return "demo model (64×64, trained)", load_demo_model(), images
    return "demo architecture (64×64, untrained)", build_demo_model(), images


def bench(name: str, model, x: np.ndarray, rules=RULES, repeats: int = REPEATS) -> None:
    raw_fn = raw_forward_backward(model)
    raw = median_time(lambda: raw_fn(x), repeats=repeats)
    print(f"\n### {name}, batch {len(x)}, raw forward+backward {raw * 1e3:.1f} ms\n")
    print("| rule | median ms | raw beside it, ms | ratio to raw | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    for rule in rules:
        kwargs = {"alpha": 2.0, "beta": 1.0} if rule == "alpha_beta" else {}
        t, beside = paired_times(
            lambda rule=rule, kwargs=kwargs: lrp(model, x, rule=rule, **kwargs),
            lambda: raw_fn(x),
            repeats=repeats,
        )
        label = "alpha_beta (α=2, β=1)" if kwargs else rule
        print(f"| {label} | {t * 1e3:.1f} | {beside * 1e3:.1f} | {t / beside:.2f}× | ≤ 1.5 |")


def tutorial_model(size: int = 96, classes: int = 5):
    """The Keras image-classification tutorial CNN: augmentation and rescaling inside."""
    import keras

    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(classes),
        ]
    )


def application(arch: str, size: int = 96):
    """``keras.applications.<arch>`` with ``weights=None`` at size×size (or the tutorial)."""
    import keras

    keras.utils.set_random_seed(0)
    if arch == "tutorial":
        return tutorial_model(size)
    return getattr(keras.applications, arch)(weights=None, input_shape=(size, size, 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", help="comma-separated keras.applications names, or tutorial")
    parser.add_argument("--rules", help="comma-separated rules (default: all)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()
    rules = tuple(args.rules.split(",")) if args.rules else RULES
    if args.arch:
        rng = np.random.default_rng(0)
        for arch in args.arch.split(","):
            model = application(arch, args.size)
            x = rng.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32")
            label = f"{arch} (weights=None, {args.size}×{args.size})"
            bench(label, model, x, rules, args.repeats)
        return
    name, demo, images = demo_model_and_images()
    bench(name, demo, images, rules)
    vgg = vgg_like(64)
    x = np.random.default_rng(0).uniform(0, 255, (BATCH, 64, 64, 3)).astype("float32")
    bench("VGG16 (weights=None, 64×64)", vgg, x, rules)


if __name__ == "__main__":
    main()
