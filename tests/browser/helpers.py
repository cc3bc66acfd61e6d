"""Page drivers and checks shared by the browser tests (JupyterLab, Notebook 7, Voila).

Waits are conditions on the DOM (``wait_for_function``, ``expect``), never fixed sleeps, with
one documented exception: ipyvolume's WebGL canvas needs ~1.5 s to settle before its
screenshot shows the rendered volume rather than a half-drawn frame.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
WEBGL_SETTLE_S = 1.5
KERNEL_START_TIMEOUT_MS = 90_000
NOTEBOOK_RUN_TIMEOUT_MS = 180_000
UPDATE_TIMEOUT_MS = 30_000

# Console errors that are not ours and say nothing about the widgets.
_HARMLESS = [
    re.compile(r"^\s*warning:", re.IGNORECASE),  # singleton version notices, WebGL stalls
    re.compile(r"GPU stall due to ReadPixels", re.IGNORECASE),
    # Voila 0.5's notices about JupyterLab core package versions it was built against.
    re.compile(r"(unsatisfied|incompatible|mismatch\w*) version", re.IGNORECASE),
    # Voila 0.5 also loads Notebook 7's lab extension, whose module federation needs a newer
    # @jupyterlab/docregistry than Voila's core offers: it fails to load, nothing else.
    re.compile(r"#RUNTIME-012[\s\S]*/labextensions/@jupyter-notebook/lab-extension/"),
]

# Uncaught errors raised by the front ends themselves, before any notebook runs: (message,
# stack) patterns, both must match. Notebook 7.6's shortcut settings plugin reads the schema
# of a plugin its registry does not list, on every page (``/tree`` included).
_UPSTREAM_PAGE_ERRORS = [
    (
        re.compile(r"^Cannot read properties of undefined \(reading 'schema'\)$"),
        re.compile(r"^\s*at .*/static/notebook/notebook_core\.[0-9a-f]+\.js", re.MULTILINE),
    ),
]


def _local(url: str) -> bool:
    return not url or url.startswith(("http://127.0.0.1", "about:", "blob:", "data:"))


class ConsoleWatch:
    """Collects a page's uncaught errors and its console errors worth failing on.

    Known-harmless lines are dropped: requests to outside hosts (aborted on purpose, e.g.
    Voila's CDN font stylesheet), ``warning:`` lines from widget extensions, version notices,
    and the two front-end bugs named in ``_HARMLESS``/``_UPSTREAM_PAGE_ERRORS``. Every other
    ``pageerror`` is kept.
    """

    def __init__(self, page: object, name: str) -> None:
        self.page, self.name = page, name
        self.errors: list[str] = []
        self.ignored: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)

    def _on_console(self, message: object) -> None:
        if message.type != "error":
            return
        text = message.text
        url = (message.location or {}).get("url", "")
        if not _local(url) or any(p.search(text) for p in _HARMLESS):
            self.ignored.append(text)
            return
        self.errors.append(f"[{self.name}] console.error: {text} (at {url})")

    def _on_pageerror(self, error: object) -> None:
        message, stack = str(error), getattr(error, "stack", "") or ""
        frames = [line for line in stack.splitlines() if line.strip().startswith("at ")]
        for text, where in _UPSTREAM_PAGE_ERRORS:
            if text.search(message) and frames and where.match(frames[0]):
                self.ignored.append(message)
                return
        self.errors.append(f"[{self.name}] uncaught: {error}\n{stack[:1500]}")

    def take(self) -> list[str]:
        """The errors seen since the last call."""
        found, self.errors = self.errors, []
        return found


# --------------------------------------------------------------------------- evidence


def shot(target: object, name: str, settle_webgl: bool = False) -> bytes:
    """Save a screenshot of a page or locator as ``test-artifacts/browser/<name>.png``."""
    if settle_webgl:
        time.sleep(WEBGL_SETTLE_S)  # documented WebGL settle; the only fixed wait
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if hasattr(target, "goto"):
        return target.screenshot(path=str(path), full_page=True)
    return target.screenshot(path=str(path))


def pixel_spread(png: bytes) -> tuple[int, float]:
    """(number of distinct colours, largest per-channel standard deviation) of a PNG."""
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    count = len(colours) if colours is not None else 1 << 20
    return count, max(ImageStat.Stat(image).stddev)


def assert_not_blank(png: bytes, what: str, min_colours: int = 16, min_std: float = 8.0) -> None:
    """Fail unless a screenshot has real content (not one flat colour, not near-uniform)."""
    colours, std = pixel_spread(png)
    assert colours >= min_colours and std >= min_std, (
        f"{what} looks blank: {colours} distinct colours, channel std {std:.1f}"
    )


def assert_colourful(png: bytes, what: str, min_fraction: float = 0.05) -> None:
    """Fail unless a screenshot is blank-free *and* holds coloured (non-grey) pixels.

    A colormapped map or a rendered volume is colourful; an empty ``<img>``, a white canvas
    or a canvas with only ipyvolume's black bounding box is not.
    """
    from PIL import Image

    assert_not_blank(png, what)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = list(image.getdata())
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 40)
    fraction = coloured / max(1, len(pixels))
    assert fraction >= min_fraction, (
        f"{what} has only {100 * fraction:.1f}% coloured pixels (< {100 * min_fraction:.0f}%)"
    )


# ------------------------------------------------------------------- JupyterLab / Notebook 7


def open_notebook(page: object, server: object, path: str, app: str = "lab") -> None:
    """Open ``path`` (relative to the server root) and wait until its kernel is idle."""
    route = f"/lab/tree/{path}" if app == "lab" else f"/notebooks/{path}"
    page.goto(server.url(route))
    page.locator(".jp-Notebook").first.wait_for(state="visible", timeout=60_000)
    # JupyterLab opens the file browser beside the notebook: fold it for wider shots.
    left = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if left.count():
        left.first.click()
    wait_kernel_idle(page)


def wait_kernel_idle(page: object, timeout: int = KERNEL_START_TIMEOUT_MS) -> None:
    """Wait until the notebook has a started, connected kernel with nothing queued.

    The execution indicator alone is not enough: JupyterLab shows it idle for a moment
    while the session reads "No Kernel | Initializing", and a Run All in that moment is lost.
    """
    page.wait_for_function(
        """() => {
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            if (!indicator || indicator.dataset.status !== 'idle') return false;
            const name = document.querySelector('.jp-Toolbar-kernelName');
            if (!name || /No Kernel/i.test(name.textContent)) return false;
            const bar = document.querySelector('#jp-main-statusbar');
            return !bar || !/No Kernel|Initializing|Connecting|Starting|Restarting/i.test(
                bar.textContent);
        }""",
        timeout=timeout,
    )


def run_all_cells(page: object) -> None:
    """Run → Run All Cells from the menu bar, as a user would; wait until all are queued."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
            .every(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))""",
        timeout=UPDATE_TIMEOUT_MS,
    )


def run_cell(page: object, index: int) -> None:
    """Select the ``index``-th code cell and run it with Shift+Enter."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")


def wait_cells_done(page: object, timeout: int = NOTEBOOK_RUN_TIMEOUT_MS) -> None:
    """Wait until no cell shows the ``[*]`` busy prompt and the kernel reads idle."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')];
            const busy = prompts.some(p => p.textContent.includes('*'));
            const idle = document.querySelector(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']");
            return !busy && idle !== null;
        }""",
        timeout=timeout,
    )


def assert_no_error_outputs(page: object) -> None:
    """No traceback and no "Error displaying widget" anywhere in the notebook's outputs."""
    errors = page.locator("[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, "a cell raised:\n" + "\n".join(errors.all_inner_texts())
    broken = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert broken.count() == 0, "\n".join(broken.all_inner_texts())


def wait_widget_or_fail(page: object, selector: str, timeout: int = 240_000) -> None:
    """Wait for ``selector`` to show, failing at once if a cell errors out instead.

    Voila (without ``--show_tracebacks``) prints "There was an error when executing cell";
    JupyterLab and Notebook 7 render an error output. Either ends the wait with its text
    rather than a long timeout.
    """
    failed = (
        "[data-mime-type='application/vnd.jupyter.error'], "
        ".jp-OutputArea-output:has-text('There was an error when executing cell')"
    )
    page.locator(f"{selector}, {failed}").first.wait_for(state="visible", timeout=timeout)
    assert_no_error_outputs(page)
    errors = page.locator(failed)
    assert errors.count() == 0, "a cell failed:\n" + "\n".join(errors.all_inner_texts())
    page.locator(selector).first.wait_for(state="visible", timeout=timeout)


def stderr_outputs(page: object) -> list[str]:
    """Text that cells wrote to stderr (shown red in the notebook)."""
    return page.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()


# --------------------------------------------------------------------------- widgets


def img_src(image: object) -> str:
    """The current ``src`` of an ``<img>`` locator (ipywidgets Images are ``blob:`` URLs)."""
    return image.evaluate("el => el.src")


def wait_img_changed(
    page: object, image: object, old_src: str, timeout: int = UPDATE_TIMEOUT_MS
) -> str:
    """Wait until the ``<img>`` locator ``image`` shows a new, loaded picture; its ``src``."""
    handle = image.element_handle(timeout=timeout)
    result = page.wait_for_function(
        """([img, old]) => img.src && img.src !== old && img.complete && img.naturalWidth > 0
            ? img.src : null""",
        arg=[handle, old_src],
        timeout=timeout,
    )
    return result.json_value()


def wait_img_loaded(page: object, image: object, timeout: int = UPDATE_TIMEOUT_MS) -> str:
    """Wait until the ``<img>`` locator ``image`` shows a loaded picture; its ``src``."""
    return wait_img_changed(page, image, "", timeout)


def wait_text_changed(
    page: object, element: object, old: str, timeout: int = UPDATE_TIMEOUT_MS
) -> str:
    """Wait until the text of ``element`` is non-empty and differs from ``old``; the new text."""
    handle = element.element_handle(timeout=timeout)
    result = page.wait_for_function(
        """([el, old]) => {
            const text = el.innerText.trim();
            return text && text !== old ? text : null;
        }""",
        arg=[handle, old.strip()],
        timeout=timeout,
    )
    return result.json_value()


def wait_text(element: object, pattern: str, timeout: int = UPDATE_TIMEOUT_MS) -> str:
    """Wait until the text of the locator ``element`` matches the regex ``pattern``.

    The locator is queried afresh on every poll, so a re-rendered element is still seen.
    """
    from playwright.sync_api import expect

    expect(element).to_have_text(re.compile(pattern), timeout=timeout)
    return element.inner_text()


def slider_value(slider: object) -> str:
    """The readout of an ipywidgets 8 slider (what the user reads beside it)."""
    return slider.locator(".widget-readout").first.inner_text().strip()


def press_slider(slider: object, key: str = "ArrowRight", times: int = 1) -> None:
    """Move a noUiSlider with the keyboard: click its handle, then press ``key``."""
    handle = slider.locator(".noUi-handle").first
    handle.click()
    for _ in range(times):
        handle.press(key)


def bar_fills(figure: object) -> list[str]:
    """The computed fill of every bar of a bqplot figure locator, in data order."""
    return figure.locator(".bargroup rect").evaluate_all(
        "els => els.map(el => getComputedStyle(el).fill)"
    )


def selected_bar(fills: list[str]) -> int:
    """Index of the one bar drawn differently from the others (the selected class)."""
    odd = [i for i, fill in enumerate(fills) if fills.count(fill) == 1]
    assert len(fills) >= 3 and len(odd) == 1, f"no single highlighted bar among {fills}"
    return odd[0]


# --------------------------------------------------------------------------- Dashboard

DASHBOARD_TIMEOUT_MS = 240_000


def open_tab(page: object, name: str) -> None:
    """Click the Dashboard tab ``name`` and wait until it is the current one."""
    tab = page.locator(".iw-tabs .lm-TabBar-tab", has_text=re.compile(f"^{re.escape(name)}$"))
    tab.click()
    page.wait_for_function(
        """name => [...document.querySelectorAll('.iw-tabs .lm-TabBar-tab.lm-mod-current')]
            .some(t => t.textContent.trim() === name)""",
        arg=name,
    )


def visible(page: object, selector: str) -> object:
    """The single visible element matching ``selector`` (hidden tabs keep theirs in the DOM)."""
    found = page.locator(selector).filter(visible=True)
    found.first.wait_for(state="visible", timeout=DASHBOARD_TIMEOUT_MS)
    assert found.count() == 1, f"{found.count()} visible elements match {selector!r}"
    return found


def wait_dashboard(page: object) -> object:
    """Wait for the Dashboard of the quickstart notebook and its first tab's image."""
    dashboard = page.locator(".iw-dashboard")
    dashboard.wait_for(state="visible", timeout=DASHBOARD_TIMEOUT_MS)
    wait_img_loaded(page, visible(page, "img.iw-activation-image"), DASHBOARD_TIMEOUT_MS)
    return dashboard
