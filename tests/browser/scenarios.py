"""The browser scenarios, written once and driven in JupyterLab, Notebook 7 and Voila.

Every scenario works on whatever page shows the quickstart Dashboard: selectors are the
widgets' own CSS classes (``iw-…``), restricted to what is visible, because a Dashboard
keeps the panels of tabs it has shown in the DOM, hidden.
"""

from __future__ import annotations

import re
import time

from .helpers import UPDATE_TIMEOUT_MS, assert_not_blank, shot

# The first match of a CSS selector that is rendered (hidden tabs have no layout box).
_VISIBLE_JS = """
    (sel) => [...document.querySelectorAll(sel)].find(
        el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
"""


def visible(page: object, selector: str) -> object:
    """A locator of the first *visible* element matching ``selector``."""
    return page.locator(f"{selector} >> visible=true").first


def wait_visible_img(
    page: object, selector: str, old: str = "", timeout: int = UPDATE_TIMEOUT_MS
) -> str:
    """Wait until the first visible ``<img>`` matching ``selector`` shows a new, loaded picture."""
    handle = page.wait_for_function(
        f"""([sel, old]) => {{
            const img = ({_VISIBLE_JS})(sel);
            return img && img.src && img.src !== old && img.complete && img.naturalWidth > 0
                ? img.src : null;
        }}""",
        arg=[selector, old],
        timeout=timeout,
    )
    return handle.json_value()


def wait_visible_text_changed(
    page: object, selector: str, old: str, timeout: int = UPDATE_TIMEOUT_MS
) -> str:
    """Wait until the visible element's text differs from ``old`` (and is not empty)."""
    handle = page.wait_for_function(
        f"""([sel, old]) => {{
            const el = ({_VISIBLE_JS})(sel);
            const text = el ? el.textContent.trim() : '';
            return text && text !== old ? text : null;
        }}""",
        arg=[selector, old],
        timeout=timeout,
    )
    return handle.json_value()


def visible_text(page: object, selector: str) -> str:
    return page.evaluate(
        f"(sel) => {{ const el = ({_VISIBLE_JS})(sel); return el ? el.textContent.trim() : ''; }}",
        selector,
    )


def open_tab(page: object, name: str) -> None:
    """Click the Dashboard tab ``name`` and wait until its panel is built and shown."""
    tab = page.locator(
        ".iw-dashboard .lm-TabBar-tab", has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")
    )
    tab.first.click()
    page.wait_for_function(
        """(name) => {
            const tab = [...document.querySelectorAll('.iw-dashboard .lm-TabBar-tab')]
                .find(t => t.textContent.trim() === name);
            return tab && tab.classList.contains('lm-mod-current');
        }""",
        arg=name,
        timeout=UPDATE_TIMEOUT_MS,
    )


def assert_no_widget_errors(page: object) -> None:
    """No "Error displaying widget" and no status line in the error state."""
    broken = page.locator("text=Error displaying widget")
    assert broken.count() == 0, "a widget failed to render"
    errors = page.locator(".iw-status-error")
    assert errors.count() == 0, "a status line reports an error: " + " | ".join(
        errors.all_inner_texts()
    )


# --------------------------------------------------------------------------- scenario 1


def check_dashboard_renders(page: object, prefix: str, volume: bool = True) -> None:
    """The Dashboard is there, its activation image, class bars, heatmap and 3-D view paint."""
    dashboard = page.locator(".iw-dashboard").first
    dashboard.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    # Activations is the first tab: its image must load.
    wait_visible_img(page, "img.iw-activation-image", timeout=60_000)
    assert_not_blank(visible(page, "img.iw-activation-image").screenshot(), "activation image")
    if volume:
        toggle = visible(page, ".iw-volume-toggle")
        toggle.click()
        canvas = visible(page, ".iw-volume canvas")
        canvas.wait_for(state="visible", timeout=60_000)
        canvas.scroll_into_view_if_needed()
        png = shot(canvas, f"{prefix}-volume", settle_webgl=True)
        assert_not_blank(png, "ipyvolume canvas", min_colours=8, min_std=4.0)
    # Grad-CAM: the class bars and the heatmap.
    open_tab(page, "Grad-CAM")
    wait_visible_img(page, "img.iw-heatmap", timeout=60_000)
    page.wait_for_function(
        f"""() => {{
            const fig = ({_VISIBLE_JS})('.iw-class-bars');
            return fig && fig.querySelectorAll('.bargroup rect').length >= 2;
        }}""",
        timeout=UPDATE_TIMEOUT_MS,
    )
    bars = visible(page, ".iw-class-bars")
    assert_not_blank(shot(bars, f"{prefix}-class-bars"), "class bars", min_colours=4)
    assert_not_blank(shot(visible(page, "img.iw-heatmap"), f"{prefix}-heatmap"), "heatmap")
    assert_no_widget_errors(page)
    shot(page, f"{prefix}-dashboard")


# --------------------------------------------------------------------------- scenario 2


def _visible_bar_fills(page: object) -> list[str]:
    return page.evaluate(
        f"""() => {{
            const fig = ({_VISIBLE_JS})('.iw-class-bars');
            return [...fig.querySelectorAll('.bargroup rect')].map(r => getComputedStyle(r).fill);
        }}"""
    )


def check_class_bar_click(page: object, prefix: str) -> float:
    """Click an unselected class bar; its fill, the class label and the heatmap follow.

    Returns the seconds from the click to the new heatmap being loaded.
    """
    open_tab(page, "Grad-CAM")
    old_src = wait_visible_img(page, "img.iw-heatmap")
    old_label = visible_text(page, ".iw-class-label")
    fills = _visible_bar_fills(page)
    assert len(set(fills)) == 2, f"expected one selected bar among the others: {fills}"
    selected = next(i for i, f in enumerate(fills) if fills.count(f) == 1)
    rects = visible(page, ".iw-class-bars").locator(".bargroup rect")
    widths = rects.evaluate_all("els => els.map(el => el.getBBox().width)")
    pick = max((i for i in range(len(widths)) if i != selected), key=lambda i: widths[i])
    started = time.perf_counter()
    click_bar(rects.nth(pick), widths[pick])
    wait_visible_img(page, "img.iw-heatmap", old_src)
    elapsed = time.perf_counter() - started
    new_label = wait_visible_text_changed(page, ".iw-class-label", old_label)
    page.wait_for_function(
        f"""([pick, selFill]) => {{
            const fig = ({_VISIBLE_JS})('.iw-class-bars');
            const rects = [...fig.querySelectorAll('.bargroup rect')];
            return rects[pick] && getComputedStyle(rects[pick]).fill === selFill;
        }}""",
        arg=[pick, fills[selected]],
        timeout=UPDATE_TIMEOUT_MS,
    )
    after = _visible_bar_fills(page)
    assert after[pick] == fills[selected] and after[selected] != fills[selected], (fills, after)
    assert new_label != old_label
    shot(visible(page, ".iw-panel"), f"{prefix}-after-bar-click")
    return elapsed


def click_bar(rect: object, width: float) -> None:
    """Click a bar near its base: its value label is drawn over the far end.

    A bar too short to have a free spot under the label gets the click event itself.
    """
    if width >= 30:
        box = rect.bounding_box()
        rect.page.mouse.click(box["x"] + min(10.0, box["width"] / 4), box["y"] + box["height"] / 2)
    else:
        rect.dispatch_event("click")
