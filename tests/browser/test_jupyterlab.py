"""The widgets in JupyterLab 4, driven as a user would in headless Chromium.

One JupyterLab server serves the module. The quickstart notebook (a copy of the repo's
``notebooks/quickstart.ipynb``) is opened and run once; scenarios 1, 2, 3 and 5 then act on
that page in order, each asserting what changed in it. The FilterVisualizer and bad-input
scenarios use small notebooks of their own from ``tests/browser/notebooks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import scenarios
from .conftest import Server, jupyter_server
from .helpers import (
    DASHBOARD_TIMEOUT_MS,
    UPDATE_TIMEOUT_MS,
    assert_colourful,
    assert_no_error_outputs,
    assert_not_blank,
    img_src,
    open_tab,
    press_slider,
    run_all_cells,
    run_cell,
    shot,
    slider_value,
    stderr_outputs,
    visible,
    wait_cells_done,
    wait_dashboard,
    wait_img_changed,
    wait_img_loaded,
    wait_kernel_idle,
    wait_text,
    wait_text_changed,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(workdir: Path, artifacts: Path) -> Iterator[Server]:
    server = jupyter_server("lab", workdir, "jupyterlab")
    yield server
    server.stop()


def _open(page: object, lab: Server, path: str) -> None:
    """Open ``path`` alone in a reset workspace and wait for its kernel.

    Without ``?reset`` JupyterLab restores the notebooks that earlier pages opened, hidden
    in other tabs: their never-run prompts and stale comms would confuse every check.
    """
    page.goto(lab.url(f"/lab/tree/{path}?reset"))
    page.locator(".jp-Notebook >> visible=true").first.wait_for(timeout=60_000)
    assert page.locator(".jp-NotebookPanel").count() == 1, "other notebooks were restored"
    wait_kernel_idle(page)


def _run_notebook(page: object, lab: Server, path: str, ready: str) -> None:
    _open(page, lab, path)
    run_all_cells(page)
    page.locator(ready).first.wait_for(state="visible", timeout=DASHBOARD_TIMEOUT_MS)
    wait_cells_done(page)


@pytest.fixture(scope="module")
def quickstart(lab: Server, open_page: object) -> Iterator[object]:
    """The quickstart notebook opened in JupyterLab and run with Run → Run All Cells."""
    page = open_page("lab-quickstart")
    _run_notebook(page, lab, "notebooks/quickstart.ipynb", ".iw-dashboard")
    wait_dashboard(page)
    yield page
    page.close()
    lab.shutdown_kernels()


def test_widget_stack_renders(lab: Server, test_pages: object) -> None:
    """ipywidgets, bqplot and ipyvolume themselves work here (no interpret_widgets code).

    If this fails, the front-end stack is broken, not our widgets.
    """
    page = test_pages("lab-smoke")
    _run_notebook(page, lab, "own/smoke.ipynb", ".smoke-volume canvas")
    assert_no_error_outputs(page)
    image = page.locator("img.smoke-image")
    old = wait_img_loaded(page, image)
    press_slider(page.locator(".smoke-slider"))
    wait_img_changed(page, image, old)
    page.locator(".smoke-bars .bargroup rect").nth(2).click()
    page.locator(".smoke-label", has_text="selected: [2]").wait_for()
    canvas = page.locator(".smoke-volume canvas").first
    assert_colourful(shot(canvas, "lab-smoke-canvas", settle_webgl=True), "smoke volume", 0.01)
    lab.shutdown_kernels()


def test_quickstart_renders(quickstart: object) -> None:
    """Scenario 1: Run All shows the Dashboard; bars, heatmap and volume are not blank."""
    page = quickstart
    assert_no_error_outputs(page)
    scenarios.check_dashboard_renders(page, "lab")
    assert stderr_outputs(page) == [], "the quickstart writes to stderr (red text)"


def test_class_bar_click(quickstart: object) -> None:
    """Scenario 2: another class bar re-selects, relabels and recomputes the heatmap."""
    seconds = scenarios.check_class_bar_click(quickstart, "lab")
    assert seconds < UPDATE_TIMEOUT_MS / 1000


def test_activation_controls(quickstart: object) -> None:
    """Scenario 3: image slider, layer dropdown, channel slider and grid tiles drive the map."""
    page = quickstart
    open_tab(page, "Activations")
    explorer = visible(page, ".iw-activation-explorer")
    image = explorer.locator("img.iw-activation-image")
    status = explorer.locator(".iw-status")
    channel = explorer.locator(".iw-channel-slider")
    src = wait_img_loaded(page, image)

    # The Dashboard's image slider (in its header) moves every panel to the next image.
    header_slider = page.locator(".iw-dashboard .iw-image-slider").first
    before = slider_value(header_slider)
    press_slider(header_slider)
    assert slider_value(header_slider) == str(int(before) + 1)
    src = wait_img_changed(page, image, src)
    wait_text(status, rf"^image {int(before) + 1} ")

    # The layer dropdown: another layer, another map, another channel count.
    select = explorer.locator(".iw-layer-select select")
    options = select.locator("option").all_inner_texts()
    layer = next(text for text in options if text.startswith("relu2"))
    name = re.split(r"\s·\s", layer)[0].strip()  # the browser's text has no-break spaces
    select.select_option(label=layer)
    src = wait_img_changed(page, image, src)
    wait_text(status, rf"layer {re.escape(name)} \(")
    channels = int(re.findall(r"\d+", layer)[-1])  # "relu2a · (32, 32, 64)"
    top = channel.locator(".noUi-handle").get_attribute("aria-valuemax")
    assert float(top) == channels - 1, (layer, top)

    # The channel slider, with the keyboard.
    start = int(slider_value(channel))
    press_slider(channel, "ArrowRight", times=2)
    wait_text(channel.locator(".widget-readout"), rf"^\s*{start + 2}\s*$")
    src = wait_img_changed(page, image, src)
    shot(page, "lab-activations-after-sliders")

    # A tile of the grid: the channel slider follows the clicked channel.
    grid = explorer.locator(".iw-activation-grid")
    labels = grid.locator("text")
    # SVG text has no innerText; marks other than the channel labels may add empty ones.
    numbers = labels.evaluate_all("els => els.map(el => (el.textContent || '').trim())")
    pick = next(i for i, n in enumerate(numbers[3:], 3) if n.isdigit() and int(n) != start + 2)
    box = labels.nth(pick).bounding_box()
    page.mouse.click(box["x"] + 20, box["y"] + box["height"] + 20)
    wait_text(channel.locator(".widget-readout"), rf"^\s*{numbers[pick]}\s*$")
    wait_img_changed(page, image, src)
    assert_colourful(shot(image, "lab-activation-map-after-tile"), "the activation map")
    shot(page, "lab-activations-after-tile-click")


def test_lrp_composite(quickstart: object) -> None:
    """Scenario 5: another LRP composite changes the heatmap and the conservation figure."""
    page = quickstart
    open_tab(page, "LRP")
    panel = visible(page, ".iw-panel")
    heatmap = panel.locator("img.iw-heatmap")
    conservation = panel.locator(".iw-conservation")
    src = wait_img_loaded(page, heatmap, DASHBOARD_TIMEOUT_MS)
    before = wait_text_changed(page, conservation, "")
    assert "Σ R" in before
    shot(page, "lab-lrp-before")

    rule = panel.locator(".iw-lrp-rule select")
    current = rule.evaluate("el => el.options[el.selectedIndex].text")
    composites = [t for t in rule.locator("option").all_inner_texts() if t.startswith("composite")]
    other = next(t for t in composites if t != current and "γ" in t)
    rule.select_option(label=other)

    wait_img_changed(page, heatmap, src, DASHBOARD_TIMEOUT_MS)
    after = wait_text_changed(page, conservation, before)
    assert "Σ R" in after and after != before
    assert_colourful(shot(heatmap, "lab-lrp-heatmap-after"), "the LRP heatmap")
    status = panel.locator(":scope > .iw-status")
    assert "iw-status-ok" in status.get_attribute("class"), status.inner_text()
    shot(page, "lab-lrp-after")


def _line_points(line: object) -> int:
    """Points of a bqplot line: the commands of its SVG path ("M…L…L…")."""
    d = line.get_attribute("d") or ""
    return len(re.findall(r"[ML]", d))


def test_ablation_panel(quickstart: object) -> None:
    """Scenario 8: two tile clicks knock channels out: the class bars after the ablation and
    its Grad-CAM change; a pruning run draws its line point by point."""
    page = quickstart
    open_tab(page, "Ablation")
    panel = visible(page, ".iw-ablation-panel")
    cam = panel.locator("img.iw-ablation-cam-after")
    caption = panel.locator(".iw-ablation-caption")
    bars = panel.locator(".iw-class-bars-after")
    src = wait_img_loaded(page, cam, DASHBOARD_TIMEOUT_MS)
    text = wait_text(caption, r"^0 channel")
    probabilities = bars.locator("text").all_text_contents()
    shot(page, "lab-ablation-before")

    # Tiles 2 and 3 of the grid, found by their channel labels (SVG text in each tile's
    # top-left corner; the figure's margins make its bounding box no tile grid).
    labels = panel.locator(".iw-activation-grid").first.locator("text")
    for count, index in enumerate((1, 2), start=1):
        numbers = labels.evaluate_all("els => els.map(el => (el.textContent || '').trim())")
        tiles = [i for i, n in enumerate(numbers) if n.isdigit()]
        box = labels.nth(tiles[index]).bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2 + 3, box["y"] + box["height"] + 6)
        text = wait_text(caption, rf"^{count} channel")
        src = wait_img_changed(page, cam, src)
    page.wait_for_function(
        "([el, old]) => [...el.querySelectorAll('text')].map(t => t.textContent).join('|') "
        "!== old",
        arg=[bars.element_handle(), "|".join(probabilities)],
        timeout=UPDATE_TIMEOUT_MS,
    )
    assert "→" in text
    assert_colourful(shot(cam, "lab-ablation-cam-after"), "the ablated Grad-CAM")
    shot(page, "lab-ablation-after-two-clicks")

    line = panel.locator(".iw-pruning-accuracy path.line").first
    panel.locator("button.iw-pruning-run").click()
    seen: list[int] = []
    status = panel.locator(":scope > .iw-status")
    for _ in range(600):  # poll the drawn line while the curve is measured
        points = _line_points(line) if line.count() else 0
        if not seen or points != seen[-1]:
            seen.append(points)
        if "done" in status.inner_text():
            break
        page.wait_for_timeout(50)
    seen.append(_line_points(line))
    assert seen[-1] == 10, seen  # the ten default amounts
    grown = [n for n in seen if 2 < n < 10]
    assert len(grown) >= 2, f"the line did not grow point by point: {seen}"
    assert_not_blank(shot(panel.locator(".iw-pruning-accuracy"), "lab-pruning-chart"), "chart")
    shot(page, "lab-ablation-pruning")


def _step(text: str) -> int:
    match = re.search(r"step (\d+) /", text)
    assert match, f"no step in {text!r}"
    return int(match.group(1))


def test_filter_visualizer_start_stop(lab: Server, test_pages: object) -> None:
    """Scenario 4: Start advances the progress and the images; Stop halts; the kernel answers."""
    page = test_pages("lab-filters")
    _run_notebook(page, lab, "own/filters.ipynb", ".iw-filter-visualizer")
    assert_no_error_outputs(page)
    answers = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
    assert "kernel answers #1: running=False" in answers.inner_text()
    label = page.locator(".iw-progress-label")
    grid = page.locator("img.iw-filter-grid")
    status = page.locator(".iw-filter-visualizer .iw-status")

    page.locator("button.iw-start").click()
    first = wait_text_changed(page, label, "", DASHBOARD_TIMEOUT_MS)
    src = wait_img_changed(page, grid, img_src(grid), DASHBOARD_TIMEOUT_MS)
    src = wait_img_changed(page, grid, src, DASHBOARD_TIMEOUT_MS)  # a second update
    later = wait_text_changed(page, label, label.inner_text())
    assert _step(later) > _step(first) >= 0
    # The images start grey; by step 100 the optimized patterns are in colour.
    page.wait_for_function(
        """() => {
            const label = document.querySelector('.iw-progress-label');
            const match = label && label.innerText.match(/step (\\d+) \\//);
            return match && Number(match[1]) >= 100;
        }""",
        timeout=DASHBOARD_TIMEOUT_MS,
    )
    wait_img_changed(page, grid, img_src(grid), DASHBOARD_TIMEOUT_MS)
    assert_colourful(shot(grid, "lab-filters-grid-running"), "the filter images", 0.02)
    # The optimizer runs in a thread: the kernel answers while it works.
    run_cell(page, 2)
    answers.filter(has_text="#2: running=True").wait_for(timeout=UPDATE_TIMEOUT_MS)
    shot(page, "lab-filters-running")

    page.locator("button.iw-stop").click()
    stopped = status.filter(has_text=re.compile(r"stopped at step \d+"))
    stopped.wait_for(timeout=UPDATE_TIMEOUT_MS)
    at = int(re.search(r"stopped at step (\d+)", stopped.inner_text()).group(1))
    assert _step(label.inner_text()) == at
    assert page.locator("button.iw-stop").is_disabled()

    run_cell(page, 2)
    answers.filter(has_text="#3: running=False").wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert _step(label.inner_text()) == at, "the progress moved after Stop"
    assert_not_blank(shot(page.locator(".iw-objective-chart"), "lab-filters-chart"), "chart")
    shot(page, "lab-filters-stopped")
    lab.shutdown_kernels()


def test_bad_input_reports_in_status(lab: Server, test_pages: object) -> None:
    """Scenario 7: grayscale images for an RGB model end in the status line, not in a crash."""
    page = test_pages("lab-bad-input")
    _run_notebook(page, lab, "own/bad_input.ipynb", ".iw-status")
    assert_no_error_outputs(page)
    errors = page.locator(".iw-status.iw-status-error")
    errors.nth(1).wait_for(timeout=UPDATE_TIMEOUT_MS)
    texts = errors.all_inner_texts()
    assert len(texts) == 2, texts  # the Dashboard's and the GradCAMPanel's
    for text in texts:
        # The batch has 1 channel where the model takes 3 (the Dashboard says so; the panel,
        # given one image without its batch axis, names the whole shape).
        assert re.search(
            r"1 channels? but model 'demo_cnn' expects 3|\(N, 64, 64, 3\).*got shape \(64, 64, 1\)",
            text,
        ), text
    shot(page, "lab-bad-input")
    lab.shutdown_kernels()


def test_dataset_explorer_click_moves_the_dashboard(lab: Server, test_pages: object) -> None:
    """#15: the DatasetExplorer's scatter renders; a click on a point selects that image in
    the explorer and in the linked Dashboard."""
    page = test_pages("lab-dataset")
    _run_notebook(page, lab, "own/dataset.ipynb", ".iw-dataset-scatter")
    assert_no_error_outputs(page)
    dots = page.locator(".iw-dataset-scatter .dot")
    dots.first.wait_for(timeout=UPDATE_TIMEOUT_MS)
    assert dots.count() == 200
    caption = page.locator(".iw-dataset-caption").first
    wait_text(caption, r"^image 0:")
    header = page.locator(".iw-dashboard .iw-image-slider").first
    assert slider_value(header) == "0"
    dots.nth(57).click(force=True)
    wait_text(caption, r"^image 57:")
    page.wait_for_function(
        "() => document.querySelector('.iw-dashboard .iw-image-slider .widget-readout')"
        "?.textContent.trim() === '57'", timeout=UPDATE_TIMEOUT_MS)
    shot(page.locator(".iw-dataset-explorer").first, "lab-dataset-explorer")
    lab.shutdown_kernels()


#: The width of the progress bar's fill, as recorded by a MutationObserver in the page.
_RECORD_BAR = """el => {
    window.iwWidths = [];
    const fill = el.querySelector('.progress-bar');
    new MutationObserver(() => window.iwWidths.push(parseFloat(fill.style.width) || 0))
        .observe(fill, {attributes: true, attributeFilter: ['style']});
}"""


def test_perturbation_panel_progress_class_click_stop(lab: Server, test_pages: object) -> None:
    """Scenario 8: KernelSHAP's progress advances and its map appears; a class click changes
    the map; Stop halts a long run and the kernel still answers."""
    page = test_pages("lab-perturbation")
    _run_notebook(page, lab, "own/perturbation.ipynb", ".iw-panel")
    assert_no_error_outputs(page)
    panel = page.locator(".iw-panel").first
    heatmap = panel.locator("img.iw-heatmap")
    status = panel.locator(":scope > .iw-status")
    bar = panel.locator(".iw-perturbation-progress")
    src = wait_img_loaded(page, heatmap, DASHBOARD_TIMEOUT_MS)
    wait_text(status, r"^Occlusion .* in [\d.]+ s", DASHBOARD_TIMEOUT_MS)

    # Pick KernelSHAP: the bar fills batch by batch, then the map and the segments appear.
    bar.evaluate(_RECORD_BAR)
    panel.locator(".iw-perturbation-method select").select_option(label="KernelSHAP")
    src = wait_img_changed(page, heatmap, src, DASHBOARD_TIMEOUT_MS)
    wait_text(status, r"^KernelSHAP .* of '.+' in [\d.]+ s", DASHBOARD_TIMEOUT_MS)
    widths = page.evaluate("window.iwWidths")
    assert widths and widths[-1] == 100, widths
    assert len({w for w in widths if 0 < w < 100}) >= 2, f"no progress shown: {widths}"
    assert "top segments" in panel.locator(".iw-perturbation-top").inner_text()
    wait_img_loaded(page, panel.locator("img.iw-perturbation-segments"))
    assert_colourful(shot(heatmap, "lab-perturbation-kernelshap"), "the KernelSHAP map")
    shot(page, "lab-perturbation-kernelshap-page")

    # A class bar: another class, another map.
    label = panel.locator(".iw-class-label")
    before = label.inner_text()
    rects = panel.locator(".iw-class-bars .bargroup rect")
    widths = rects.evaluate_all("els => els.map(el => el.getBBox().width)")
    scenarios.click_bar(rects.nth(1), widths[1])  # the runner-up class
    wait_text_changed(page, label, before, DASHBOARD_TIMEOUT_MS)
    src = wait_img_changed(page, heatmap, src, DASHBOARD_TIMEOUT_MS)
    wait_text(status, r"^KernelSHAP .* of '.+' in [\d.]+ s", DASHBOARD_TIMEOUT_MS)
    shot(page, "lab-perturbation-after-class-click")

    # A long run (the second cell sets 20 000 samples), stopped with the Stop button.
    answers = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea-output")
    run_cell(page, 2)
    answers.filter(has_text="#2: busy=True").wait_for(timeout=UPDATE_TIMEOUT_MS)
    bar.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(
        "el => parseFloat(el.querySelector('.progress-bar').style.width) > 0",
        arg=bar.element_handle(),
        timeout=UPDATE_TIMEOUT_MS,
    )
    shot(page, "lab-perturbation-running")
    panel.locator("button.iw-perturbation-stop").click()
    stopped = status.filter(has_text=re.compile(r"stopped after \d+ of \d+ samples"))
    stopped.wait_for(timeout=UPDATE_TIMEOUT_MS)
    done, total = map(int, re.search(r"after (\d+) of (\d+)", stopped.inner_text()).groups())
    assert 0 < done < total
    bar.wait_for(state="hidden", timeout=UPDATE_TIMEOUT_MS)
    run_cell(page, 2)
    answers.filter(has_text="#3: busy=False").wait_for(timeout=UPDATE_TIMEOUT_MS)
    shot(page, "lab-perturbation-stopped")
    lab.shutdown_kernels()


def _curve_points(line: object) -> int:
    """How many points a bqplot line draws now (its SVG path's commands)."""
    path = line.get_attribute("d") or ""
    return len(re.findall(r"[ML]", path))


def test_check_this_map(lab: Server, test_pages: object) -> None:
    """Issue #14: "Check this map" on the Grad-CAM panel: the deletion curve grows and its
    AUC appears; "randomize the model" shows the strip of maps and the similarity curve."""
    page = test_pages("lab-check-map")
    _run_notebook(page, lab, "own/check_map.ipynb", ".iw-panel img.iw-heatmap")
    assert_no_error_outputs(page)
    section = page.locator(".iw-check-section")
    assert not section.locator(".iw-check-deletion").is_visible()  # collapsed by default
    section.locator(".jupyter-widget-Collapse-header").first.click()
    deletion = section.locator("button.iw-check-deletion")
    deletion.wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    section.locator(".iw-check-curves").wait_for(state="visible", timeout=UPDATE_TIMEOUT_MS)
    shot(page, "lab-check-opened")

    # Record the points of the deletion line at every change of its path, as it is drawn.
    page.evaluate(
        """() => {
            const figure = document.querySelector('.iw-check-section .iw-check-curves');
            window.iwCurvePoints = [];
            const count = () => {
                const path = figure.querySelector('path.line');
                const d = (path && path.getAttribute('d')) || '';
                window.iwCurvePoints.push((d.match(/[ML]/g) || []).length);
            };
            new MutationObserver(count).observe(
                figure, {subtree: true, childList: true, attributes: true,
                         attributeFilter: ['d']});
        }"""
    )
    deletion.click()
    line = section.locator(".iw-check-curves path.line").first
    auc = section.locator(".iw-check-auc")
    wait_text(auc, r"deletion AUC \d\.\d{3} · random map \d\.\d{3}", DASHBOARD_TIMEOUT_MS)
    assert _curve_points(line) == 33, "the finished curve has steps + 1 points"
    seen = page.evaluate("() => window.iwCurvePoints")
    grown = sorted({n for n in seen if 0 < n < 33})
    assert grown, f"the curve was never seen part-drawn (points seen: {sorted(set(seen))})"
    assert_not_blank(shot(section.locator(".iw-check-curves"), "lab-check-curves"), "curves")
    shot(page, "lab-check-deletion")

    section.locator("button.iw-check-randomize").click()
    status = section.locator(".iw-check .iw-status").last
    wait_text(status, r"randomization of .*: \d+ layers", DASHBOARD_TIMEOUT_MS)
    thumbnails = section.locator(".iw-check-strip img.iw-check-thumbnail")
    count = thumbnails.count()
    assert count >= 2, count
    for k in (0, count - 1):
        wait_img_loaded(page, thumbnails.nth(k))
    assert_colourful(shot(thumbnails.first, "lab-check-thumbnail-trained"), "the trained map")
    similarity = section.locator(".iw-check-similarity path.line").first
    assert _curve_points(similarity) == count
    shot(page, "lab-check-randomized")
    lab.shutdown_kernels()
