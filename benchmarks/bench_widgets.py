"""Kernel-side latency of the widgets: from a trait change to the new PNG in the widget.

Two interactions on the demo model, one image:

- a cached slider move: ``ActivationExplorer.channel`` (the activations are cached, so the
  move only re-renders); target ≤ 30 ms;
- a class click on ``GradCAMPanel``: ``target`` moves to a class not computed yet, so the
  panel recomputes Grad-CAM and re-renders; target ≤ 1.1 × raw + 20 ms, where raw is one
  compiled forward+backward pass of the demo model on the same image.

The time stops when the observer chain returns, i.e. when the new PNG bytes are in the
widget's trait, ready to be sent (no browser here). Run: ``python benchmarks/bench_widgets.py``.
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
from interpret_widgets.widgets import ActivationExplorer, GradCAMPanel  # noqa: E402

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


def slider_times(model, images) -> list[float]:
    explorer = ActivationExplorer(model, images, list(CLASS_NAMES), layer="relu2")
    acts = explorer.layer_activation()
    # Channels whose maps differ from one another (a dead ReLU channel is all zeros).
    live = [c for c in range(acts.shape[-1]) if np.ptp(acts[..., c]) > 0]
    times = []
    for i in range(REPEATS + 3):
        channel = live[(i + 1) % len(live)]

        def move(channel: int = channel) -> None:
            explorer.channel = channel

        seconds = timed(move, lambda: bytes(explorer._map.value))
        if i >= 3:  # warm-up moves
            times.append(seconds)
    return times


def click_times(model, images) -> list[float]:
    panel = GradCAMPanel(model, images, list(CLASS_NAMES))
    calls = []
    original = panel.compute
    panel.compute = lambda target: calls.append(target) or original(target)
    classes = len(CLASS_NAMES)
    times = []
    for i in range(REPEATS + 3):
        # Cycling through all classes: each is evicted from the panel's small cache
        # before it comes back, so every click recomputes.
        target = (panel.target + 1) % classes

        def click(target: int = target) -> None:
            panel.target = target

        computed = len(calls)
        # (A class with no positive evidence gives an empty map, the same PNG as another.)
        seconds = timed(click, lambda: bytes(panel.heatmap.value), check=False)
        if len(calls) != computed + 1:
            raise AssertionError("a class click must recompute exactly once")
        if i >= 3:
            times.append(seconds)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]


def main() -> None:
    model = load_demo_model()
    images, _, _ = demo_images(4, seed=7)
    raw_fn = raw_forward_backward(model)
    raw_ms = median_time(lambda: raw_fn(images[:1]), repeats=REPEATS, warmup=3) * 1000
    slider_med, slider_p90 = summary(slider_times(model, images))
    click_med, click_p90 = summary(click_times(model, images))
    click_budget = 1.1 * raw_ms + 20
    print("Widget latency, kernel side (trait change → new PNG), demo model, one image\n")
    print(f"raw forward+backward pass: {raw_ms:.1f} ms\n")
    print("| interaction | median ms | p90 ms | median / raw | target | met |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    rows = [
        ("ActivationExplorer channel slider (cached)", slider_med, slider_p90, 30.0, "≤ 30 ms"),
        (
            "GradCAMPanel class click (recompute)",
            click_med,
            click_p90,
            click_budget,
            f"≤ 1.1 × raw + 20 ms = {click_budget:.1f} ms",
        ),
    ]
    for name, med, p90, budget, text in rows:
        met = "yes" if med <= budget else "NO"
        print(f"| {name} | {med:.1f} | {p90:.1f} | {med / raw_ms:.2f} | {text} | {met} |")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
