"""Time to the first heatmap on a big model: ResNet50 at 224×224, kernel side and in the browser.

``keras.applications.ResNet50(weights=None)`` (nothing is downloaded) with batch-norm
statistics calibrated on a copy (``calibrated_weights`` below: with the initial statistics
the scores of an untrained ResNet50 can be vanishingly small and every map flat), saved once
as a weights file; every measurement builds a **fresh** ResNet50 and loads those weights, as
a user loads a model, so no probe traced by an earlier step is reused. Inputs: demo images
upscaled to 224×224 and scaled to [0, 255].

Kernel side (this process, ``time.perf_counter``):

1. first ``grad_cam`` call (tracing the probe), then a second one on another image;
2. on a fresh model: first ``lrp`` (``epsilon_plus``, the LRP panel's default), second one;
3. on a fresh model: ``Dashboard(model, images, tab="Grad-CAM")`` returns; then, with
   ``Dashboard.wait()``, until its Grad-CAM panel's heatmap is there; then ``show("LRP")``
   until the LRP panel's heatmap is there.

In the browser (Voila serving a generated notebook that builds the same Dashboard, headless
Chromium, times on the browser clock from navigation start): the status line "preparing …
(first use traces the model)…" visible; the Grad-CAM heatmap painted (loaded, decoded, next
animation frame); then a click on the LRP tab → its "preparing" status visible → its heatmap
painted.

Run: ``python benchmarks/bench_first_heatmap.py [--part kernel,browser] [--repeats 1]``;
``--quick`` uses 96×96 inputs (a smoke run of the script, not the benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

RULE = "epsilon_plus"
CACHE = REPO / "benchmarks" / "results" / "first_heatmap"
TIMEOUT_S = 900


def resnet50(size: int) -> object:
    """A fresh, untrained ResNet50 at ``size``×``size`` (nothing downloaded)."""
    import keras

    return keras.applications.ResNet50(weights=None, input_shape=(size, size, 3))


def demo_batch(n: int, size: int) -> np.ndarray:
    """``n`` demo images (64×64) upscaled to ``size`` (bilinear) and scaled to [0, 255]."""
    from PIL import Image

    from interpret_widgets.demo import demo_images

    images, _, _ = demo_images(n, seed=7)
    out = [np.asarray(Image.fromarray((im * 255).astype(np.uint8)).resize(
        (size, size), Image.BILINEAR), dtype=np.float32) for im in images]
    return np.stack(out)


def calibrated_weights(model: object, images: np.ndarray) -> list[np.ndarray]:
    """The weights of a copy of ``model`` whose BatchNormalization layers take uncentred
    statistics of their inputs on ``images`` (moving mean 0, variance E[x²]), each measured
    in one eager pass in which every earlier BN already has its new statistics; ``model``
    itself is not changed.

    The test suite's ``tests/calibrate.py`` does the same; benchmarks do not import tests,
    so this is a small stand-alone copy of it on the adapter's public walk.
    """
    import keras

    from interpret_widgets.model import get_adapter

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    adapter = get_adapter(copy)

    def measuring(bn: object) -> object:
        def step(inputs: object, *args: object, **kwargs: object) -> object:
            x = keras.ops.convert_to_numpy(inputs).astype(np.float64)
            axes = tuple(a for a in range(x.ndim) if a != bn.axis % x.ndim)
            bn.moving_mean.assign(np.zeros(x.shape[bn.axis % x.ndim], "float32"))
            bn.moving_variance.assign(np.mean(x * x, axis=axes).astype("float32"))
            return bn(inputs, *args, **kwargs)

        return step

    replace = {e.output_key: measuring(e.layer) for e in adapter.layers
               if isinstance(e.layer, keras.layers.BatchNormalization)}
    adapter.run(keras.ops.convert_to_tensor(np.asarray(images, "float32")), replace=replace)
    return copy.get_weights()


def weights_file(size: int, images: np.ndarray) -> Path:
    """A ResNet50 weights file with calibrated statistics for ``size`` (built once)."""
    path = CACHE / f"resnet50_{size}_calibrated.weights.h5"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        model = resnet50(size)
        model.set_weights(calibrated_weights(model, images))
        model.save_weights(path)
    return path


def fresh(size: int, path: Path) -> object:
    model = resnet50(size)
    model.load_weights(path)
    return model


def timed(fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def kernel_side(size: int, path: Path, images: np.ndarray) -> list[tuple[str, float]]:
    from interpret_widgets.methods import grad_cam, lrp
    from interpret_widgets.widgets import Dashboard

    rows = []
    model = fresh(size, path)
    seconds, cam = timed(lambda: grad_cam(model, images[:1]))
    rows.append(("first `grad_cam`", seconds))
    rows.append(("second `grad_cam` (another image)",
                 timed(lambda: grad_cam(model, images[1:2]))[0]))
    print(f"  grad_cam map {cam.shape}, range {cam.min():.3g}…{cam.max():.3g}", flush=True)

    model = fresh(size, path)
    seconds, rel = timed(lambda: lrp(model, images[:1], rule=RULE))
    rows.append((f"first `lrp` (`{RULE}`)", seconds))
    rows.append((f"second `lrp` (`{RULE}`, another image)",
                 timed(lambda: lrp(model, images[1:2], rule=RULE))[0]))
    print(f"  lrp relevance sum {rel.sum():.3g}", flush=True)

    model = fresh(size, path)
    start = time.perf_counter()
    dashboard = Dashboard(model, images, tab="Grad-CAM")
    rows.append(("`Dashboard(model, images, tab='Grad-CAM')` returns", time.perf_counter() - start))
    print(f"  status: {dashboard.panels['Grad-CAM'].status.message}", flush=True)
    assert dashboard.wait(TIMEOUT_S), "the Grad-CAM panel did not finish"
    assert dashboard.panels["Grad-CAM"].main.heatmap.value, "no Grad-CAM heatmap"
    rows.append(("… until its Grad-CAM heatmap is there (`Dashboard.wait()`)",
                 time.perf_counter() - start))
    start = time.perf_counter()
    panel = dashboard.show("LRP")
    rows.append(("`show('LRP')` returns", time.perf_counter() - start))
    assert dashboard.wait(TIMEOUT_S), "the LRP panel did not finish"
    assert panel.main.heatmap.value, "no LRP heatmap"
    rows.append(("… until its LRP heatmap is there", time.perf_counter() - start))
    return rows


NOTEBOOK_CODE = '''\
import keras
import numpy as np

from interpret_widgets import Dashboard

model = keras.applications.ResNet50(weights=None, input_shape=({size}, {size}, 3))
model.load_weights({weights!r})
images = np.load({images!r})
Dashboard(model, images, tab="Grad-CAM")
'''

# Installed before the page's scripts: every animation frame, notes the first time the
# visible panel shows the "first use" status and the first time its heatmap is painted.
_WATCH_JS = """
(() => {
    const marks = window.__iwMarks = {};
    window.__iwPhase = 'load';
    const shown = el => el && el.offsetParent !== null;
    const tick = () => {
        const phase = window.__iwPhase;
        if (!marks['load:dashboard'] && shown(document.querySelector('.iw-dashboard')))
            marks['load:dashboard'] = performance.now();
        const status = [...document.querySelectorAll('.iw-panel .iw-status')].find(
            el => shown(el) && /first use traces the model/.test(el.textContent));
        if (status && !marks[phase + ':preparing']) {
            marks[phase + ':preparing'] = performance.now();
            marks[phase + ':text'] = status.textContent.trim();
        }
        const img = [...document.querySelectorAll('.iw-panel img.iw-heatmap')].find(shown);
        if (img && img.src && img.complete && img.naturalWidth > 0
                && img.src !== window.__iwOldSrc && !marks[phase + ':seen']) {
            marks[phase + ':seen'] = true;
            img.decode().catch(() => null).then(() => requestAnimationFrame(() => {
                marks[phase + ':heatmap'] = performance.now();
            }));
        }
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
})();
"""

_TAB_JS = """
() => {
    const img = [...document.querySelectorAll('.iw-panel img.iw-heatmap')]
        .find(el => el.offsetParent !== null);
    window.__iwOldSrc = img ? img.src : null;
    window.__iwPhase = 'lrp';
    document.addEventListener('pointerdown', e => {
        if (!window.__iwMarks['lrp:start']) window.__iwMarks['lrp:start'] = e.timeStamp;
    }, true);
}
"""


def browser_side(size: int, path: Path, images: np.ndarray) -> list[tuple[str, float]]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, voila_server

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    with tempfile.TemporaryDirectory() as work:
        where = Path(work)
        np.save(where / "images.npy", images)
        code = NOTEBOOK_CODE.format(size=size, weights=str(path),
                                    images=str(where / "images.npy"))
        notebook = {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None,
                               "outputs": [], "source": code}],
                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                "language": "python"}},
                    "nbformat": 4, "nbformat_minor": 5}
        (where / "resnet50.ipynb").write_text(json.dumps(notebook))
        server = voila_server("resnet50.ipynb", where, "bench-first-heatmap")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport=VIEWPORT)
                context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                              lambda route: route.abort())
                context.add_init_script(_WATCH_JS)
                page = context.new_page()
                page.goto(server.url("/"), wait_until="commit", timeout=TIMEOUT_S * 1000)
                page.wait_for_function("() => window.__iwMarks['load:heatmap']",
                                       timeout=TIMEOUT_S * 1000)
                tab = page.locator(".iw-tabs .lm-TabBar-tab", has_text=re.compile("^LRP$"))
                page.evaluate(_TAB_JS)
                tab.click()
                page.wait_for_function("() => window.__iwMarks['lrp:heatmap']",
                                       timeout=TIMEOUT_S * 1000)
                marks = page.evaluate("() => window.__iwMarks")
                browser.close()
        finally:
            server.stop()
    print(f"  status seen: {marks.get('load:text')!r} / {marks.get('lrp:text')!r}")
    ms = 1000.0
    rows = [
        ("page open → the Dashboard visible (Voila shows the page when the cell has run)",
         marks.get("load:dashboard", float("nan")) / ms),
        ("page open → \"preparing … (first use traces the model)\" visible",
         marks.get("load:preparing", float("nan")) / ms),
        ("page open → first Grad-CAM heatmap painted", marks["load:heatmap"] / ms),
        ("LRP tab click → \"preparing …\" visible",
         (marks.get("lrp:preparing", float("nan")) - marks["lrp:start"]) / ms),
        ("LRP tab click → LRP heatmap painted", (marks["lrp:heatmap"] - marks["lrp:start"]) / ms),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="kernel,browser")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quick", action="store_true", help="96×96 inputs (a smoke run)")
    args = parser.parse_args()
    size = 96 if args.quick else args.size
    images = demo_batch(8, size)
    path = weights_file(size, images)
    lines = [f"ResNet50 (weights=None, calibrated BN), {size}×{size}, one image per call", ""]
    for part in args.part.split(","):
        before = os.getloadavg()
        started = time.perf_counter()
        rows = kernel_side(size, path, images) if part == "kernel" else browser_side(
            size, path, images[:4])
        after = os.getloadavg()
        lines += [f"| {part} side: step | seconds |", "|---|---:|"]
        lines += [f"| {name} | {seconds:.1f} |" for name, seconds in rows]
        lines += ["", f"load average (1, 5, 15 min) before {', '.join(f'{v:.1f}' for v in before)}"
                  f", after {', '.join(f'{v:.1f}' for v in after)}; "
                  f"{time.perf_counter() - started:.0f} s", ""]
        print("\n".join(lines[-len(rows) - 4:]), flush=True)
    print("\n".join(lines))
    print(f"{platform.node()} · {len(os.sched_getaffinity(0))} cores")


if __name__ == "__main__":
    main()
