"""DatasetExplorer with 10,000 points in the browser: time to draw the scatter, time to
answer a click on a point.

The data set is ``benchmarks/dataset_cache.py``'s: ``demo_images(10000, seed=7)`` and
``explain_dataset(demo model, images, "grad_cam", labels=labels)``, built once and kept
under ``benchmarks/results/``. A generated notebook loads it, builds a Dashboard on the same
images (as a user who links the two would) and shows a "build" button above an output area:
a click closes the explorer shown (and every widget it made) and builds a new
``DatasetExplorer(result, images, labels, CLASS_NAMES)`` in the view under test, linked to
the Dashboard, displayed into the output. Voila serves the notebook
(``tests.browser.conftest.voila_server``) and headless Debian Chromium drives it through
Playwright. Every time is taken inside the page, on the browser's clock:

- **page load → scatter drawn**: from navigation start (``performance.now()`` is 0 there)
  until the scatter is drawn; this includes Voila starting a kernel, the imports, reading
  the 10,000 images and building the Dashboard and the first explorer. Once per view.
- **build → scatter drawn** (the cell's work alone): from the button's click to the scatter
  drawn.
- **click on a point → the explorer's map, → the Dashboard's thumbnail**: from the input
  event to the new picture decoded and the next animation frame run.

"Drawn" means: 2-D (bqplot, SVG), all N ``.dot`` elements are in the new figure and the
next animation frame has run; 3-D (ipyvolume, WebGL), the new figure's canvas received a
draw call of N instances (``drawElementsInstanced``/``drawArraysInstanced``, caught by
wrapping WebGL's functions before the page loads) and the next animation frame has run. A
2-D click is a ``click`` event dispatched on the n-th dot; a 3-D click is a real mouse click
(Playwright) on a pixel of a point found in a screenshot of the canvas, picked by
ipyvolume's own id buffer.

Run: ``python benchmarks/bench_dataset_explorer.py [--n 10000] [--repeats 7] [--quick]``
(needs /usr/bin/chromium). ``--quick``: 1,000 points, 2 repeats, and the PCA embedding that
10,000 points get anyway (t-SNE, the default up to 5,000, takes a minute per build here): a
smoke run of the script. Prints markdown tables
with the machine's load average (``os.getloadavg()``) before and after.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_cache import build  # noqa: E402
from tables import spread_table  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, voila_server  # noqa: E402

TIMEOUT_MS = 120_000
LOAD_TIMEOUT_MS = 600_000
CLICK_3D_TIMEOUT_MS = 20_000

# Installed before any page script: wraps WebGL's instanced draw calls so that the page
# records when a canvas that was not marked old draws >= window.__iw.want instances.
_INIT_JS = """
(() => {
    window.__iw = {want: Infinity, drawn3d: null, painted3d: null, painted2d: null, max: 0};
    const seen = (gl, count) => {
        const iw = window.__iw;
        if (count > iw.max) iw.max = count;
        if (count < iw.want || iw.drawn3d !== null || (gl.canvas && gl.canvas.__iwOld)) return;
        iw.drawn3d = performance.now();
        requestAnimationFrame(() => { iw.painted3d = performance.now(); });
    };
    const wrap = (target, name, countIndex) => {
        const original = target && target[name];
        if (!original || original.__iwWrapped) return;
        const wrapped = function (...args) {
            seen(this.__iwGl || this, args[countIndex]);
            return original.apply(this, args);
        };
        wrapped.__iwWrapped = true;
        target[name] = wrapped;
    };
    for (const proto of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
        if (!proto) continue;
        wrap(proto.prototype, 'drawElementsInstanced', 4);
        wrap(proto.prototype, 'drawArraysInstanced', 3);
        const getExtension = proto.prototype.getExtension;
        proto.prototype.getExtension = function (name) {
            const ext = getExtension.call(this, name);
            if (ext && name === 'ANGLE_instanced_arrays' && !ext.__iwGl) {
                ext.__iwGl = this;
                wrap(ext, 'drawElementsInstancedANGLE', 4);
                wrap(ext, 'drawArraysInstancedANGLE', 3);
            }
            return ext;
        };
    }
})();
"""

# Marks every scatter now in the page as old (their redraws do not count) and starts
# watching for a new one drawn (2-D: its dots; 3-D: the hook above); resolves
# window.__iwDrawn with the painted time (browser clock).
_WATCH_JS = """
([view, n, timeout]) => {
    const iw = window.__iw;
    iw.want = n; iw.drawn3d = null; iw.painted3d = null; iw.painted2d = null;
    for (const fig of document.querySelectorAll('.iw-dataset-scatter')) fig.dataset.iwOld = '1';
    for (const canvas of document.querySelectorAll('canvas')) canvas.__iwOld = true;
    window.__iwDrawn = new Promise((resolve, reject) => {
        const give_up = performance.now() + timeout;
        const poll = () => {
            if (performance.now() > give_up) { reject(new Error('no scatter drawn')); return; }
            if (view === '3-D') {
                if (iw.painted3d !== null) { resolve(iw.painted3d); return; }
            } else {
                let dots = 0;
                const fresh = '.iw-dataset-scatter:not([data-iw-old])';
                for (const fig of document.querySelectorAll(fresh))
                    dots = Math.max(dots, fig.querySelectorAll('.dot').length);
                if (dots >= n) {
                    requestAnimationFrame(() => {
                        iw.painted2d = performance.now();
                        resolve(iw.painted2d);
                    });
                    return;
                }
            }
            requestAnimationFrame(poll);
        };
        requestAnimationFrame(poll);
    });
}
"""

# Clicks the build button; the click's time is window.__iwStart.
_BUILD_JS = """
(button) => {
    window.__iwStart = performance.now();
    button.click();
}
"""

# Arms a one-shot measurement on several <img>: resolves window.__iwLatency with, per image,
# the milliseconds from the first pointerdown (or window.__iwStart, set by a dispatched
# click) to the frame after its new picture has decoded.
_ARM_JS = """
([imgs, timeout]) => {
    window.__iwStart = null;
    const first = e => { if (window.__iwStart === null) window.__iwStart = e.timeStamp; };
    document.addEventListener('pointerdown', first, true);
    const one = img => new Promise((resolve, reject) => {
        const old = img.src;
        const timer = setTimeout(() => reject(new Error('no new picture')), timeout);
        const observer = new MutationObserver(async () => {
            if (img.src === old) return;
            observer.disconnect();
            try { await img.decode(); } catch (e) { /* a broken picture still counts */ }
            requestAnimationFrame(() => {
                clearTimeout(timer);
                resolve(performance.now() - window.__iwStart);
            });
        });
        observer.observe(img, {attributes: true, attributeFilter: ['src']});
    });
    window.__iwLatency = Promise.all(imgs.map(one)).finally(
        () => document.removeEventListener('pointerdown', first, true));
}
"""

_DOT_CLICK_JS = """
(dot) => {
    window.__iwStart = performance.now();
    dot.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
}
"""

NOTEBOOK_CODE = '''\
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from IPython.display import display
from ipywidgets.widgets.widget import _instances

from interpret_widgets import Dashboard, DatasetExplorer
from interpret_widgets.dataset import DatasetResult
from interpret_widgets.demo import CLASS_NAMES, load_demo_model

FOLDER, VIEW, EMBEDDING = Path({folder!r}), {view!r}, {embedding!r}
images, labels = np.load(FOLDER / "images.npy"), np.load(FOLDER / "labels.npy")
result = DatasetResult(FOLDER / "result")
dashboard = Dashboard(load_demo_model(), images, class_names=CLASS_NAMES)
out = widgets.Output()
button = widgets.Button(description="build").add_class("iw-bench-build")
current = {{"made": set(), "link": None}}


def make(_=None):
    """Close the explorer shown (and every widget it made), build and show a new one."""
    out.clear_output()
    if current["link"] is not None:
        current["link"].unlink()
    for key in current["made"]:
        if key in _instances:
            _instances[key].close()
    before = set(_instances)
    explorer = DatasetExplorer(result, images, labels, CLASS_NAMES, embedding=EMBEDDING)
    if VIEW == "2-D":
        explorer.view = "2-D"
    current["link"] = explorer.link(dashboard)
    current["made"] = set(_instances) - before
    with out:
        display(explorer)


button.on_click(make)
make()
display(widgets.VBox([button, out]), dashboard)
'''


def write_notebook(folder: Path, view: str, where: Path, embedding: str | None = None) -> Path:
    """The benchmark's notebook for ``view`` in ``where``; its path."""
    code = NOTEBOOK_CODE.format(folder=str(folder), view=view, embedding=embedding)
    cell = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
            "source": code}
    notebook = {"cells": [cell], "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}
    path = where / f"explorer_{view[0]}d.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    return path


def measure_click(page: object, imgs: list[object], trigger: object, timeout: int) -> list[float]:
    """Milliseconds from ``trigger()``'s input event to each of ``imgs``' new picture painted."""
    page.evaluate(_ARM_JS, [[img.element_handle() for img in imgs], timeout])
    trigger()
    return [float(v) for v in page.evaluate("() => window.__iwLatency")]


def caption_index(page: object) -> int:
    text = page.locator(".iw-dataset-caption").first.inner_text()
    return int(text.split(":")[0].split()[-1])


def point_pixels(png: bytes, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """Pixels (x, y) of a canvas screenshot that lie inside a drawn point: the centre of a
    3×3 patch of saturated colour (points are tab10-coloured spheres; the background, the
    box and the axes are grey)."""
    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    saturated = rgb.max(axis=2) - rgb.min(axis=2) > 60
    h, w = saturated.shape
    ok = np.zeros_like(saturated)
    inner = saturated[1:-1, 1:-1].copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            inner &= saturated[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
    ok[1:-1, 1:-1] = inner
    ys, xs = np.nonzero(ok)
    order = np.random.default_rng(seed).permutation(len(xs))
    return [(int(xs[i]), int(ys[i])) for i in order[: count * 20]]


def bench_view(view: str, folder: Path, n: int, repeats: int, work: Path,
               browser: object, embedding: str | None = None) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {
        f"{view}: page load → scatter drawn (kernel start, imports, data, Dashboard, explorer)": [],
        f"{view}: build button → scatter drawn (DatasetExplorer built, sent, drawn)": [],
        f"{view}: click on a point → explorer's map painted": [],
        f"{view}: click on a point → linked Dashboard's thumbnail painted": [],
    }
    load, rebuild, to_map, to_dash = results.values()
    notebook = write_notebook(folder, view, work, embedding)
    server = voila_server(notebook.name, work, f"bench-explorer-{view[0]}d")
    misses = 0
    try:
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        context.route(__import__("re").compile(r"^https?://(?!127\.0\.0\.1[:/])"),
                      lambda route: route.abort())
        context.add_init_script(_INIT_JS)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url("/"), wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        page.evaluate(_WATCH_JS, [view, n, LOAD_TIMEOUT_MS])
        load.append(float(page.evaluate("() => window.__iwDrawn")))

        button = page.locator(".iw-bench-build button, button.iw-bench-build").first
        for _ in range(repeats):
            page.evaluate(_WATCH_JS, [view, n, TIMEOUT_MS])
            button.evaluate(_BUILD_JS)
            drawn = float(page.evaluate("() => window.__iwDrawn"))
            rebuild.append(drawn - float(page.evaluate("() => window.__iwStart")))
            page.locator(".iw-dataset-caption").first.wait_for()
            page.wait_for_function(
                "() => /^image 0:/.test(document.querySelector('.iw-dataset-caption')"
                "?.innerText || '')")

        heatmap = page.locator("img.iw-dataset-heatmap").first
        thumbnail = page.locator(".iw-dashboard img.iw-thumbnail").first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=heatmap.element_handle())
        rng = __import__("random").Random(0)
        if view == "2-D":
            dots = page.locator(".iw-dataset-scatter:not([data-iw-old]) .dot")
            for k in rng.sample(range(1, n), repeats):
                a, b = measure_click(page, [heatmap, thumbnail],
                                     lambda k=k: dots.nth(k).evaluate(_DOT_CLICK_JS), TIMEOUT_MS)
                to_map.append(a)
                to_dash.append(b)
                assert caption_index(page) == k, (caption_index(page), k)
        else:
            canvas = page.locator(".iw-dataset-explorer canvas").first
            time.sleep(1.5)  # WebGL settles before its screenshot (BROWSER_TESTING.md)
            box = canvas.bounding_box()
            png = canvas.screenshot()
            (folder / "canvas-3d.png").write_bytes(png)
            candidates = point_pixels(png, repeats)
            print(f"3-D: {len(candidates)} candidate pixels on the canvas {box}")
            for x, y in candidates:
                if len(to_map) >= repeats:
                    break
                before = caption_index(page)
                try:
                    a, b = measure_click(
                        page, [heatmap, thumbnail],
                        lambda x=x, y=y: page.mouse.click(box["x"] + x, box["y"] + y),
                        CLICK_3D_TIMEOUT_MS)
                except Exception:  # no point picked, or the same point again
                    misses += 1
                    page.mouse.move(0, 0)
                    if misses > 3 * repeats:
                        break
                    continue
                if caption_index(page) != before:
                    to_map.append(a)
                    to_dash.append(b)
        if errors:
            print(f"page errors ({view}):", *errors[:5], sep="\n  ")
        context.close()
    finally:
        server.stop()
    if view == "3-D":
        print(f"3-D clicks: {len(to_map)} picked, {misses} missed (no point under the pixel, "
              "or the same point again)")
    return results


def table(results: dict[str, list[float]]) -> str:
    return spread_table(results, "measurement (Voila, headless Chromium)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="points (images)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--views", default="2-D,3-D")
    parser.add_argument("--quick", action="store_true",
                        help="1,000 points, 2 repeats, PCA embedding (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeats = 1000, 2
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    folder = build(args.n)
    started = time.perf_counter()
    load_before = os.getloadavg()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        for view in args.views.split(","):
            results.update(bench_view(view, folder, args.n, args.repeats, Path(work), browser,
                                      "pca" if args.quick else None))
        browser.close()
    load_after = os.getloadavg()
    print(table(results))
    print(
        f"\n{args.n} points · {platform.node()} · "
        f"{len(os.sched_getaffinity(0))} cores · load average (1, 5, 15 min) before "
        f"{', '.join(f'{v:.1f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.1f}' for v in load_after)} · "
        f"{time.perf_counter() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
