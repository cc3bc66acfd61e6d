"""Time every method on real architectures, and the first heatmap on ResNet50 at 224×224.

Run: ``python benchmarks/bench_architectures.py [names…] [--skip-ttfh | --only-ttfh]``. For each
architecture of the conformance test (tests/test_architectures.py; ``weights=None``, 96×96,
batch 2) it prints one markdown table: per method the time of its **first call** on a fresh
model (tracing and planning included, methods called in table order, so a probe that an
earlier method traced is reused), the median of later calls, and their ratio to a raw compiled
forward+backward pass of the same model (``common.raw_forward_backward``) timed in
alternation with it (``common.paired_times``). Methods run with their contract defaults
(SmoothGrad 32 samples, IG 64 steps: those ratios are ~samples by definition).

Then the time to the first heatmap on a fresh ResNet50 at 224×224, kernel side: the first
``grad_cam`` call, the first ``lrp`` call (the LRP panel's default composite), and a
Dashboard constructed on the Grad-CAM tab until its heatmap is there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from common import paired_times, raw_forward_backward  # noqa: E402
from test_architectures import BUILDERS, images  # noqa: E402

from interpret_widgets import methods  # noqa: E402

REPEATS, WARMUP = 3, 1
LRP_DEFAULT = "epsilon_plus"  # the LRP panel's default
#: The rules and composites defined by one VJP per layer (the issue's ≤ 1.5× goal); every
#: rule and composite is timed on VGG16 by bench_lrp.py.
LRP_RULES = ("epsilon", "zplus", "flat", "epsilon_plus", "epsilon_plus_flat")

#: Methods timed, in the order of their first calls; those the package lacks are left out.
METHODS = {
    "saliency": lambda m, x: methods.saliency(m, x),
    "smoothgrad": lambda m, x: methods.smoothgrad(m, x),
    "integrated_gradients": lambda m, x: methods.integrated_gradients(m, x),
    "grad_cam": lambda m, x: methods.grad_cam(m, x),
    "grad_cam_plus_plus": lambda m, x: methods.grad_cam_plus_plus(m, x),
    "layer_cam": lambda m, x: methods.layer_cam(m, x),
    "guided_backprop": lambda m, x: methods.guided_backprop(m, x),
    "deep_lift": lambda m, x: methods.deep_lift(m, x),
    **{f"lrp {r}": (lambda m, x, r=r: methods.lrp(m, x, rule=r)) for r in LRP_RULES},
}


def _available(only: list[str] | None = None) -> dict:
    """The methods the package has (and whose label starts with one of ``only``, if given)."""
    return {
        k: f
        for k, f in METHODS.items()
        if hasattr(methods, k.split()[0]) and (not only or any(k.startswith(o) for o in only))
    }


def first_call(fn) -> tuple[float, object]:
    start = time.perf_counter()
    try:
        result = fn()
    except (ValueError, TypeError) as error:  # refused: reported in the table
        return time.perf_counter() - start, error
    return time.perf_counter() - start, result


def bench(name: str, only: list[str] | None = None) -> None:
    keras.utils.set_random_seed(0)
    model = BUILDERS[name]()
    x = images(1)
    raw_fn = raw_forward_backward(model)
    raw_first, _ = first_call(lambda: raw_fn(x))
    print(f"\n### {name}: raw forward+backward, first call {raw_first:.1f} s\n")
    print("| method | first call, s | median ms | raw beside it, ms | ratio to raw |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, call in _available(only).items():
        first, result = first_call(lambda call=call: call(model, x))
        if isinstance(result, Exception):
            reason = str(result).split(":")[0][:70]
            print(f"| {label} | {first:.1f} | refused: {reason} | | |")
            continue
        t, beside = paired_times(
            lambda call=call: call(model, x), lambda: raw_fn(x), REPEATS, WARMUP
        )
        print(f"| {label} | {first:.1f} | {t * 1e3:.1f} | {beside * 1e3:.1f} | {t / beside:.2f}× |")
        sys.stdout.flush()


def _resnet50_224() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))


def _wait_for_heatmap(panel, limit: float = 600.0) -> None:
    """Return once the panel shows a heatmap and is no longer busy (computing may be async)."""
    deadline = time.perf_counter() + limit
    while not (len(panel.heatmap.value) > 0 and panel.status.state != "busy"):
        if time.perf_counter() > deadline:
            raise TimeoutError("no heatmap")
        time.sleep(0.01)


def time_to_first_heatmap() -> None:
    from interpret_widgets.widgets import Dashboard

    x = np.random.default_rng(0).uniform(0, 255, (1, 224, 224, 3)).astype("float32")
    rows = []
    for label, call in (
        ("first grad_cam", lambda m: methods.grad_cam(m, x)),
        (f"first lrp ({LRP_DEFAULT})", lambda m: methods.lrp(m, x, rule=LRP_DEFAULT)),
    ):
        model = _resnet50_224()
        for when in ("first", "second"):
            seconds = first_call(lambda call=call, model=model: call(model))[0]
            rows.append((label.replace("first", when), seconds))
    model = _resnet50_224()
    start = time.perf_counter()
    dashboard = Dashboard(model, x, tab="Grad-CAM")
    built = time.perf_counter() - start
    _wait_for_heatmap(dashboard.panels["Grad-CAM"])
    rows.append(("Dashboard(tab='Grad-CAM') returns", built))
    rows.append(("… until its first heatmap is there", time.perf_counter() - start))
    start = time.perf_counter()
    dashboard.show("LRP")
    _wait_for_heatmap(dashboard.panels["LRP"])
    rows.append(("then the LRP tab opened until its heatmap", time.perf_counter() - start))
    print("\n### Time to first heatmap: ResNet50, 224×224, one image, kernel side\n")
    print("| step (fresh model each for the first calls) | seconds |")
    print("| --- | ---: |")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"architectures (default all): {list(BUILDERS)}")
    parser.add_argument("--skip-ttfh", action="store_true", help="skip the ResNet50 224 part")
    parser.add_argument("--only-ttfh", action="store_true", help="only the ResNet50 224 part")
    parser.add_argument("--methods", nargs="*", help="only methods whose label starts so")
    args = parser.parse_args()
    for name in [] if args.only_ttfh else args.names or BUILDERS:
        bench(name, args.methods)
    if not args.skip_ttfh:
        time_to_first_heatmap()


if __name__ == "__main__":
    main()
