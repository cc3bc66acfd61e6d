"""Time the gradient and CAM methods as ratios to a raw compiled forward+backward pass.

Run: ``python benchmarks/bench_methods.py [method …]`` (after ``scripts/setup_env.sh test``;
method names select rows, e.g. ``deep_lift deep_shap``). Prints a
markdown table per model; the figures in benchmarks/README.md come from it. Each method is
timed in alternation with the raw pass (``common.paired_times``), and its ratio is to the
raw pass measured beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from common import median_time, paired_times, raw_forward_backward, vgg_like  # noqa: E402

from interpret_widgets import methods  # noqa: E402
from interpret_widgets.demo import demo_images, load_demo_model  # noqa: E402

BATCH = 8
#: Reference images per input in the DeepSHAP row: B·N pairs, one DeepLIFT walk each, sent
#: BATCH at a time so that each compiled call has the raw pass's batch size.
REFERENCES = 4


def bench(name: str, model, x: np.ndarray, ig_steps: int, only: set[str]) -> None:
    raw_fn = raw_forward_backward(model)
    raw = median_time(lambda: raw_fn(x))
    reference = lambda: raw_fn(x)  # noqa: E731
    rows = [
        ("saliency", lambda: methods.saliency(model, x), 1.0, "≤ 1.05"),
        ("grad_cam", lambda: methods.grad_cam(model, x), 1.0, "≤ 0.7"),
        ("grad_cam_plus_plus", lambda: methods.grad_cam_plus_plus(model, x), 1.0, "—"),
        (
            f"integrated_gradients(steps={ig_steps})",
            lambda: methods.integrated_gradients(model, x, steps=ig_steps),
            ig_steps,
            f"≤ 1.0 × {ig_steps}",
        ),
        (
            "smoothgrad(samples=16)",
            lambda: methods.smoothgrad(model, x, samples=16),
            16,
            "—",
        ),
        ("deep_lift", lambda: methods.deep_lift(model, x), 1.0, "—"),
        (
            f"deep_shap({REFERENCES} references)",
            lambda: methods.deep_shap(model, x, x[:REFERENCES] * 0.5, batch_size=BATCH),
            REFERENCES,
            "—",
        ),
        ("guided_backprop", lambda: methods.guided_backprop(model, x), 1.0, "—"),
        ("layer_cam", lambda: methods.layer_cam(model, x), 1.0, "—"),
    ]
    if only:
        rows = [row for row in rows if row[0].split("(")[0] in only]
    print(f"\n### {name}, batch {BATCH}, raw forward+backward {raw * 1e3:.1f} ms\n")
    print("| method | median ms | raw beside it, ms | ratio to raw | per raw pass | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, fn, passes, target in rows:
        t, beside = paired_times(fn, reference)
        print(
            f"| {label} | {t * 1e3:.1f} | {beside * 1e3:.1f} | {t / beside:.2f}× "
            f"| {t / (beside * passes):.2f}× | {target} |"
        )


def main() -> None:
    """Every row, or only the methods named on the command line (``deep_lift layer_cam``)."""
    only = set(sys.argv[1:])
    demo = load_demo_model()
    images = demo_images(BATCH, seed=7)[0]
    bench("demo model (64×64)", demo, images, ig_steps=64, only=only)
    vgg = vgg_like(64)
    x = np.random.default_rng(0).uniform(0, 255, (BATCH, 64, 64, 3)).astype("float32")
    bench("VGG16 (weights=None, 64×64)", vgg, x, ig_steps=16, only=only)


if __name__ == "__main__":
    main()
