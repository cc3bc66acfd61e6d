"""Time the perturbation methods per perturbed copy, against a raw compiled forward pass.

Run: ``python benchmarks/bench_perturbation.py [--quick] [--part perturbation|gradients]``.

Perturbation methods: the number of copies a method sends through the model is read from
its ``progress`` callback. Its reference is the raw compiled forward pass
(``common.raw_forward``) run on as many batches of 64 images (the methods' ``batch_size``)
as the method needs for its copies, timed in alternation with it (``common.paired_times``):
both sides then last about as long and meet the same machine load. The ratio is the cost
per copy over the cost per image of the raw pass. The segments are computed beforehand;
``superpixels`` is timed on its own.

Integrated gradients and SmoothGrad: 32 path points / noisy copies of a batch of 8, for
several ``batch_size`` chunkings, against 32 raw forward+backward passes of the batch of 8
(``common.raw_forward_backward``) run in alternation: the ratio is the cost per point over
the cost of one raw pass.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    median_time,
    paired_times,
    raw_forward,
    raw_forward_backward,
    vgg_like,
)

from interpret_widgets import methods  # noqa: E402
from interpret_widgets.demo import demo_images, load_demo_model  # noqa: E402

BATCH = 64
POINTS = 32


def copies_of(run) -> int:
    """How many perturbed copies ``run(progress=…)`` evaluates (the run is the warm-up)."""
    seen = []
    run(progress=lambda done, total: seen.append(total))
    return seen[-1]


def repeated(fn, times: int):
    def run() -> None:
        for _ in range(times):
            fn()

    return run


def bench_methods(
    name: str, model, image: np.ndarray, settings: dict, repeats: int, only: str | None = None
) -> None:
    raw_fn = raw_forward(model)
    block = np.repeat(image, BATCH, axis=0)
    raw_fn(block)
    segments = methods.superpixels(image)
    seconds = median_time(lambda: methods.superpixels(image), repeats=repeats)
    m = int(segments.max()) + 1
    window, stride = settings["window"], settings["stride"]
    runs = {
        f"occlusion(window={window}, stride={stride})": lambda **kw: methods.occlusion(
            model, image, window=window, stride=stride, **kw
        ),
        f"kernel_shap(samples={settings['shap']})": lambda **kw: methods.kernel_shap(
            model, image, segments=segments, samples=settings["shap"], **kw
        ),
        f"lime(samples={settings['lime']})": lambda **kw: methods.lime(
            model, image, segments=segments, samples=settings["lime"], **kw
        ),
        "score_cam": lambda **kw: methods.score_cam(model, image, **kw),
    }
    print(f"\n### {name}, one image, batch_size {BATCH}, M = {m} superpixels\n")
    print(f"superpixels (SLIC): {seconds * 1e3:.1f} ms\n")
    print("| method | copies | median ms | raw passes beside it, ms | per copy / per raw image |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, run in runs.items():
        if only and not any(label.startswith(o) for o in only.split(",")):
            continue
        copies = copies_of(run)
        calls = math.ceil(copies / BATCH)
        reference = repeated(lambda: raw_fn(block), calls)
        t, beside = paired_times(run, reference, repeats=repeats, warmup=0)
        ratio = (t / copies) / (beside / (calls * BATCH))
        print(f"| {label} | {copies} | {t * 1e3:.0f} | {beside * 1e3:.0f} | {ratio:.2f}× |")


def bench_gradient_schedules(
    name: str, model, x: np.ndarray, repeats: int, chunks: tuple[int, ...]
) -> None:
    raw_fn = raw_forward_backward(model)
    reference = repeated(lambda: raw_fn(x), POINTS)
    print(f"\n### {name}: IG and SmoothGrad, batch {len(x)}, {POINTS} points\n")
    print("| method | batch_size | median ms | raw passes beside it, ms | per point / raw pass |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for batch_size in chunks:
        rows = (
            ("integrated_gradients", lambda b=batch_size: methods.integrated_gradients(
                model, x, steps=POINTS, batch_size=b)),
            ("smoothgrad", lambda b=batch_size: methods.smoothgrad(
                model, x, samples=POINTS, batch_size=b)),
        )  # fmt: skip
        for label, fn in rows:
            t, beside = paired_times(fn, reference, repeats=repeats, warmup=1)
            print(f"| {label} | {batch_size} | {t * 1e3:.0f} | {beside * 1e3:.0f} "
                  f"| {t / beside:.2f}× |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="demo model only")
    parser.add_argument("--part", choices=["all", "perturbation", "gradients"], default="all")
    parser.add_argument("--models", default="demo,vgg", help="demo, vgg or both")
    parser.add_argument("--only", default=None, help="comma-separated method names")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (demo 2, VGG 1)")
    parser.add_argument("--chunks", default="32,64,256", help="IG/SmoothGrad batch sizes")
    args = parser.parse_args()
    perturbation = args.part in ("all", "perturbation")
    gradients = args.part in ("all", "gradients")
    demo = load_demo_model()
    images = demo_images(8, seed=7)[0]
    if perturbation and "demo" in args.models:
        settings = {"window": 8, "stride": 4, "shap": 2048, "lime": 1000}
        repeats = args.repeats or 2
        bench_methods("demo model (64×64)", demo, images[:1], settings, repeats, args.only)
    if gradients and "demo" in args.models:
        chunks = tuple(int(c) for c in args.chunks.split(","))
        bench_gradient_schedules("demo model", demo, images, repeats=3, chunks=chunks)
    if args.quick or "vgg" not in args.models:
        return
    vgg = vgg_like(64)
    x = images * 255.0  # VGG's input range; demo images, so that SLIC finds segments
    if perturbation:
        settings = {"window": 16, "stride": 8, "shap": 256, "lime": 256}
        bench_methods(
            "VGG16 (weights=None, 64×64)", vgg, x[:1], settings, args.repeats or 1, args.only
        )
    if gradients:
        bench_gradient_schedules("VGG16", vgg, x, repeats=1, chunks=(64, 256))


if __name__ == "__main__":
    main()
