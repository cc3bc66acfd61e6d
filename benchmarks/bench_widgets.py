"""Kernel-side latency of the widgets: from a trait change to the new PNG in the widget.

Every interaction of the widgets on the demo model, one image at a time:

- moves that only re-render from a cache (ActivationExplorer: channel slider, layer, image
  already seen, colormap, a grid-tile click; panels: colormap, opacity): target ≤ 30 ms;
- class clicks that recompute (GradCAMPanel, GradientPanel with saliency, LRPPanel):
  ``target`` moves to a class not computed yet; target ≤ 1.1 × raw + 20 ms for Grad-CAM and
  saliency, ≤ 1.5 × raw + 20 ms for LRP (its own cost target is 1.5 × raw), where raw is one
  compiled forward+backward pass of the demo model on the same image;
- a channel toggle in the AblationPanel (a tile click: scores and Grad-CAM of the ablated
  model, both PNGs and the class bars redrawn): target ≤ 100 ms;
- a new image in the ActivationExplorer (one forward pass for all layers): reported;
- a FilterVisualizer run (4 channels of relu2, 64 px, images every 10 steps) per step, next
  to the bare ``FilterOptimizer.steps()`` loop of the same run: reported (the widget's
  overhead is its progress, images and chart updates from the worker thread).

The time stops when the observer chain returns, i.e. when the new PNG bytes are in the
widget's trait, ready to be sent (no browser here). Run: ``python benchmarks/bench_widgets.py``
(``--panels``: the attribution panels only; ``--ablation``: the AblationPanel only).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from common import median_time, raw_forward_backward  # noqa: E402

from interpret_widgets.demo import CLASS_NAMES, demo_images, load_demo_model  # noqa: E402
from interpret_widgets.methods.featviz import FilterOptimizer  # noqa: E402
from interpret_widgets.widgets import (  # noqa: E402
    AblationPanel,
    ActivationExplorer,
    FilterVisualizer,
    GradCAMPanel,
    GradientPanel,
    LRPPanel,
)

REPEATS = 30


def timed(action, png, check: bool = True) -> float:
    """Seconds from ``action()`` to the return of its observers (the new PNG in place)."""
    before = png()
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    if check and png() == before:
        raise AssertionError("the interaction did not change the displayed PNG")
    return seconds


def repeat(actions, png, check: bool = True, warmup: int = 3) -> list[float]:
    """Times of ``REPEATS`` calls of ``actions(i)`` after ``warmup`` untimed ones."""
    times = []
    for i in range(REPEATS + warmup):
        seconds = timed(lambda i=i: actions(i), png, check)
        if i >= warmup:
            times.append(seconds)
    return times


def explorer_times(model, images) -> dict[str, list[float]]:
    explorer = ActivationExplorer(model, images, list(CLASS_NAMES), layer="relu2")
    png = lambda: bytes(explorer.activation_map.image.value)  # noqa: E731
    acts = explorer.layer_activation()
    # Channels whose maps differ from one another (a dead ReLU channel is all zeros).
    live = [c for c in range(acts.shape[-1]) if np.ptp(acts[..., c]) > 0]
    out = {}

    def channel(i: int) -> None:
        explorer.channel = live[(i + 1) % len(live)]

    out["ActivationExplorer channel slider (cached)"] = repeat(channel, png)
    layers = ["relu1", "relu2", "relu3"]

    def layer(i: int) -> None:
        explorer.layer = layers[(layers.index(explorer.layer) + 1) % len(layers)]
        explorer.channel = 1

    out["ActivationExplorer layer change (cached)"] = repeat(layer, png)
    cmaps = ["viridis", "magma", "gray"]

    def cmap(i: int) -> None:
        explorer.cmap = cmaps[(cmaps.index(explorer.cmap) + 1) % len(cmaps)]

    out["ActivationExplorer colormap (cached)"] = repeat(cmap, png)
    explorer.layer, explorer.grid_mode = "relu2", "all"

    def tile(i: int) -> None:
        # The click message bqplot's Image mark sends, in data coordinates (y up).
        grid = explorer.grid
        index = (grid.channels.index(explorer.channel) + 1) % 8
        top, left, _, _ = grid.tile_box(index)
        data = {"click_x": left + 2.0, "click_y": grid.size[0] - (top + 2.0)}
        event = {"event": "element_click", "data": data}
        grid.image_mark._handle_custom_msgs(grid.image_mark, event, [])

    out["ActivationExplorer grid-tile click (cached)"] = repeat(tile, png)
    explorer.image_index = 0
    for index in range(len(images)):  # every image once: all of them cached
        explorer.image_index = index

    def image(i: int) -> None:
        explorer.image_index = (explorer.image_index + 1) % len(images)

    out["ActivationExplorer image slider (image cached)"] = repeat(image, png)
    fresh = ActivationExplorer(model, images, list(CLASS_NAMES), layer="relu2", cache_size=1)
    out["ActivationExplorer image slider (new image: forward pass)"] = repeat(
        lambda i: setattr(fresh, "image_index", (fresh.image_index + 1) % len(images)),
        lambda: bytes(fresh.activation_map.image.value),
        warmup=2,
    )
    return out


def filter_times(model, runs: int = 3, steps: int = 60) -> dict[str, list[float]]:
    """Seconds per optimizer step: the FilterVisualizer's worker and the bare loop."""
    channels = [0, 1, 2, 3]

    def bare() -> float:
        optimizer = FilterOptimizer(model, "relu2", channels, size=64, steps=steps, seed=0)
        start = time.perf_counter()
        for _ in optimizer.steps(every=10, images=True):
            pass
        return (time.perf_counter() - start) / steps

    def widget() -> float:
        viz = FilterVisualizer(model, layer="relu2", channels=channels, image_every=10)
        viz.steps = steps
        start = time.perf_counter()
        viz.start()
        if not viz.wait(600) or not viz.status.message.startswith("done"):
            raise AssertionError(f"the run did not finish: {viz.status.message}")
        return (time.perf_counter() - start) / steps

    bare(), widget()  # warm-up: tracing
    return {
        "FilterOptimizer.steps() alone, per step (4 channels, 64 px)": [
            bare() for _ in range(runs)
        ],
        "FilterVisualizer run, per step (same optimizer, live display)": [
            widget() for _ in range(runs)
        ],
    }


def click_times(panel) -> list[float]:
    """Class clicks that each recompute exactly once."""
    calls = []
    original = panel.compute
    panel.compute = lambda target, *rest: calls.append(target) or original(target, *rest)
    classes = len(CLASS_NAMES)

    def click(i: int) -> None:
        # Cycling through all classes: each is evicted from the panel's small cache
        # before it comes back, so every click recomputes.
        computed = len(calls)
        panel.target = (panel.target + 1) % classes
        if len(calls) != computed + 1:
            raise AssertionError("a class click must recompute exactly once")

    # (A class with no positive evidence gives an empty map, the same PNG as another.)
    return repeat(click, lambda: bytes(panel.main.heatmap.value), check=False)


def presentation_times(panel) -> dict[str, list[float]]:
    png = lambda: bytes(panel.main.heatmap.value)  # noqa: E731
    cmaps = ["jet", "magma", "viridis"]

    def cmap(i: int) -> None:
        panel.cmap = cmaps[(cmaps.index(panel.cmap) + 1) % len(cmaps)]

    def opacity(i: int) -> None:
        panel.opacity = 0.3 + 0.1 * ((round(panel.opacity * 10) - 2) % 5)

    return {
        "GradCAMPanel colormap (cached map)": repeat(cmap, png),
        "GradCAMPanel opacity (cached map)": repeat(opacity, png),
    }


def ablation_times(model, images) -> list[float]:
    """Tile clicks in the AblationPanel: each knocks one more channel out (or back in)."""
    panel = AblationPanel(model, images)
    panel.wait()
    channels = [int(c) for c in panel.grid.channels[:6]]

    def toggle(i: int) -> None:
        panel.toggle(channels[i % len(channels)])

    times = repeat(toggle, lambda: bytes(panel.cam_after.value), check=False)
    panel.close()
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]


def main() -> None:
    model = load_demo_model()
    images, _, _ = demo_images(4, seed=7)
    raw_fn = raw_forward_backward(model)
    raw_ms = median_time(lambda: raw_fn(images[:1]), repeats=REPEATS, warmup=3) * 1000
    names = list(CLASS_NAMES)
    cached = ("≤ 30 ms", 30.0)
    click = (f"≤ 1.1 × raw + 20 ms = {1.1 * raw_ms + 20:.1f} ms", 1.1 * raw_ms + 20)
    lrp_click = (f"≤ 1.5 × raw + 20 ms = {1.5 * raw_ms + 20:.1f} ms", 1.5 * raw_ms + 20)
    rows = []
    toggle = ("≤ 100 ms", 100.0)
    if "--panels" not in sys.argv:
        rows.append(("AblationPanel channel toggle", ablation_times(model, images[:1]), toggle))
    if "--panels" not in sys.argv and "--ablation" not in sys.argv:
        for name, times in explorer_times(model, images).items():
            rows.append((name, times, None if "new image" in name else cached))
        rows += [(name, times, None) for name, times in filter_times(model).items()]
    if "--ablation" in sys.argv:
        report(rows, raw_ms)
        return
    # A panel's first computation runs in a worker thread (it traces the model): wait().
    cam = GradCAMPanel(model, images, names)
    cam.wait()
    rows.append(("GradCAMPanel class click (recompute)", click_times(cam), click))
    rows += [(name, times, cached) for name, times in presentation_times(cam).items()]
    saliency = GradientPanel(model, images, names, method="saliency")
    saliency.wait()
    rows.append(("GradientPanel (saliency) class click (recompute)", click_times(saliency), click))
    lrp = LRPPanel(model, images, names)
    lrp.wait()
    rows.append(("LRPPanel (epsilon_plus) class click (recompute)", click_times(lrp), lrp_click))
    report(rows, raw_ms)


def report(rows: list, raw_ms: float) -> None:
    """The table of ``(interaction, times, target)`` rows, in markdown."""
    print("Widget latency, kernel side (trait change → new PNG), demo model, one image\n")
    print(f"raw forward+backward pass: {raw_ms:.1f} ms\n")
    print("| interaction | median ms | p90 ms | median / raw | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    for name, times, target in rows:
        med, p90 = summary(times)
        text, met = ("(reported)", "—") if target is None else (
            target[0], "yes" if med <= target[1] else "NO"
        )
        print(f"| {name} | {med:.1f} | {p90:.1f} | {med / raw_ms:.2f} | {text} | {met} |")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
