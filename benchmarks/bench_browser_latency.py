"""Latency as the user sees it: from an input event in the browser to the new picture painted.

The quickstart Dashboard is served by Voila (the README's command) and driven in headless
Chromium. Each timing is taken inside the page, on the browser's clock:

- start: the input event's own ``timeStamp`` (a real key press through Playwright, caught in
  the capture phase), or ``performance.now()`` right before a bar's click event is
  dispatched (short bars sit under their value label, where a mouse click would land on
  the label);
- end: the watched ``<img>`` has a new ``src``, the picture is decoded, and the next
  animation frame has run (the frame that paints it).

So each figure is the whole round trip: front end → kernel (trait change, method, PNG) →
front end (blob URL, decode, paint). Interactions, each ``--repeats`` times (default 20):

1. image slider (Dashboard header, ArrowRight/ArrowLeft) → new Grad-CAM heatmap: a forward
   pass for the prediction, Grad-CAM for it, render;
2. class bar click on a class not yet computed for this image → new heatmap (Grad-CAM of
   that class, render);
3. class bar click back to a class already computed → new heatmap (cached map, render only);
4. ActivationExplorer channel slider, ArrowRight → new activation image (cached
   activations, render only).

Run: ``python benchmarks/bench_browser_latency.py [--repeats 20]`` (needs /usr/bin/chromium).
Prints a markdown table of medians and spreads in milliseconds.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tables import spread_table  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, voila_server  # noqa: E402
from tests.browser.helpers import (  # noqa: E402
    bar_fills,
    open_tab,
    selected_bar,
    visible,
    wait_img_changed,
    wait_img_loaded,
)

TIMEOUT_MS = 60_000

# Arms a one-shot measurement on ``img``: resolves window.__iwLatency with the milliseconds
# from the first keydown/pointerdown (or window.__iwStart, set by a dispatched click) to the
# frame after the new picture has decoded.
_ARM_JS = """
([img, timeout]) => {
    window.__iwStart = null;
    const old = img.src;
    const first = e => { if (window.__iwStart === null) window.__iwStart = e.timeStamp; };
    document.addEventListener('keydown', first, true);
    document.addEventListener('pointerdown', first, true);
    window.__iwLatency = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no new picture')), timeout);
        const observer = new MutationObserver(async () => {
            if (img.src === old) return;
            observer.disconnect();
            try { await img.decode(); } catch (e) { /* a broken picture still counts */ }
            requestAnimationFrame(() => {
                const end = performance.now();
                clearTimeout(timer);
                document.removeEventListener('keydown', first, true);
                document.removeEventListener('pointerdown', first, true);
                resolve(end - window.__iwStart);
            });
        });
        observer.observe(img, {attributes: true, attributeFilter: ['src']});
    });
}
"""

_CLICK_JS = """
(rect) => {
    window.__iwStart = performance.now();
    rect.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
}
"""


def measure(page: object, img: object, trigger: object) -> float:
    """Milliseconds from ``trigger()``'s input event to ``img``'s new picture painted."""
    old = img.evaluate("el => el.src")
    page.evaluate(_ARM_JS, [img.element_handle(), TIMEOUT_MS])
    trigger()
    ms = page.evaluate("() => window.__iwLatency")
    wait_img_changed(page, img, old, TIMEOUT_MS)  # the picture is really there
    return float(ms)


def click_bar(page: object, bars: object, index: int) -> None:
    rect = bars.locator(".bargroup rect").nth(index)
    rect.evaluate(_CLICK_JS)


def wait_bar_selected(page: object, bars: object, index: int) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while selected_bar(bar_fills(bars)) != index:
        if time.monotonic() > deadline:
            raise RuntimeError(f"bar {index} was never highlighted")
        page.wait_for_timeout(20)


def bench(repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {
        "image slider → Grad-CAM heatmap (forward + Grad-CAM + render)": [],
        "class bar, new class → heatmap (Grad-CAM + render)": [],
        "class bar, computed class → heatmap (cached, render only)": [],
        "channel slider → activation image (cached activations, render only)": [],
    }
    slider_key, cam_new, cam_cached, channel_key = results.values()
    server = voila_server("notebooks/quickstart.ipynb", REPO, "bench-voila")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server.url("/"), timeout=240_000)
            page.locator(".iw-dashboard").wait_for(state="visible", timeout=240_000)

            # Grad-CAM: image slider, then a new class, then back to the computed one.
            open_tab(page, "Grad-CAM")
            heatmap = visible(page, ".iw-panel img.iw-heatmap")
            bars = visible(page, ".iw-panel .iw-class-bars")
            wait_img_loaded(page, heatmap, TIMEOUT_MS)
            handle = page.locator(".iw-dashboard .iw-image-slider .noUi-handle").first
            handle.click()
            maximum = int(float(handle.get_attribute("aria-valuemax")))
            position, step = 0, 1
            for _ in range(repeats):
                if not 0 <= position + step <= maximum:
                    step = -step
                position += step
                key = "ArrowRight" if step > 0 else "ArrowLeft"
                slider_key.append(measure(page, heatmap, lambda key=key: handle.press(key)))
                before = selected_bar(bar_fills(bars))
                count = bars.locator(".bargroup rect").count()
                other = (before + 1) % count
                cam_new.append(measure(page, heatmap, lambda o=other: click_bar(page, bars, o)))
                wait_bar_selected(page, bars, other)
                cam_cached.append(measure(page, heatmap, lambda b=before: click_bar(page, bars, b)))
                wait_bar_selected(page, bars, before)

            # ActivationExplorer: the channel slider.
            open_tab(page, "Activations")
            image = visible(page, "img.iw-activation-image")
            wait_img_loaded(page, image, TIMEOUT_MS)
            channel = visible(page, ".iw-channel-slider .noUi-handle")
            channel.click()
            for _ in range(repeats):
                channel_key.append(measure(page, image, lambda: channel.press("ArrowRight")))
            browser.close()
    finally:
        server.stop()
    return results


def table(results: dict[str, list[float]]) -> str:
    return spread_table(results, "interaction (Voila, headless Chromium)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    started = time.perf_counter()
    results = bench(args.repeats)
    print(table(results))
    print(
        f"\n{platform.node()} · {platform.processor() or platform.machine()} · "
        f"{len(__import__('os').sched_getaffinity(0))} cores · demo model, quickstart "
        f"Dashboard · {time.perf_counter() - started:.0f} s in all"
    )


if __name__ == "__main__":
    main()
