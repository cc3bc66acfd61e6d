"""The Ablation panel through its public surface on the demo model."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import traitlets
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.widgets import AblationPanel, Dashboard


@pytest.fixture(scope="module")
def data(demo_data):
    images, labels, _ = demo_data
    return images[:8], labels[:8]


@pytest.fixture()
def panel(demo_model, data):
    dashboard = Dashboard(demo_model, data[0], labels=data[1], tab="Ablation")
    assert dashboard.wait(60), "background work did not finish"
    yield dashboard.panels["Ablation"]
    dashboard.close()


def current(panel: AblationPanel) -> np.ndarray:
    index = panel.image_index
    return panel.selection.images[index : index + 1]


def click_tile(panel: AblationPanel, channel: int) -> None:
    """Click the middle of ``channel``'s tile, in the data coordinates bqplot reports."""
    grid = panel.grid
    top, left, height, width = grid.tile_box(grid.channels.index(channel))
    grid._on_image_click(None, {"data": {
        "click_x": left + width / 2, "click_y": grid.size[0] - top - height / 2,
    }})  # fmt: skip


def test_tiles_are_sorted_by_channel_importance(panel, demo_model):
    importance = methods.channel_importance(
        demo_model, current(panel), panel.layer, panel.target, panel.method
    )[0]
    np.testing.assert_allclose(panel.importance, importance, rtol=1e-5, atol=1e-6)
    shown = np.asarray(panel.grid.channels)
    assert np.all(np.diff(importance[shown]) <= 1e-6)  # most important first
    assert shown[0] == int(np.argmax(importance))


def test_tile_clicks_knock_channels_out_and_back_in(panel, demo_model):
    first, second = panel.grid.channels[:2]
    with untouched(demo_model):
        click_tile(panel, first)
        click_tile(panel, second)
    assert panel.knocked_out == [first, second]
    assert panel.grid.crosses.x.shape == (4, 2)  # two crosses of two strokes
    click_tile(panel, first)
    assert panel.knocked_out == [second]


def test_bars_and_heatmap_after_the_ablation(panel, demo_model):
    before_png, before = panel.cam_after.value, panel.bars_after.probabilities.copy()
    panel.knock_out_top()  # the k = 4 most important channels
    x, knocked = current(panel), panel.knocked_out
    assert knocked == [int(c) for c in panel.order[:4]]
    scores = methods.ablate(demo_model, x, panel.layer, knocked)[0]
    expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    # float32 scores, softmax in float64 on both sides: 1e-6 absolute on probabilities.
    np.testing.assert_allclose(panel.bars_after.probabilities, expected, atol=1e-6)
    np.testing.assert_allclose(panel.bars_before.probabilities, before, atol=1e-12)
    assert np.abs(panel.bars_after.probabilities - before).max() > 1e-3
    cam = methods.ablated_grad_cam(demo_model, x, panel.layer, knocked, panel.target)[0]
    np.testing.assert_allclose(panel.result["cam"], cam, rtol=1e-5, atol=1e-6)
    assert not np.allclose(panel.result["cam"], panel.result["cam_before"])
    assert panel.cam_after.value != before_png


def test_top_k_buttons_and_reset(panel):
    panel.k = 5
    panel.keep_top_button.click()
    assert sorted(panel.knocked_out) == sorted(int(c) for c in panel.order[5:])
    assert panel.channel_count - len(panel.knocked_out) == 5
    panel.knock_top_button.click()
    assert panel.knocked_out == [int(c) for c in panel.order[:5]]
    panel.reset_button.click()
    assert panel.knocked_out == []
    np.testing.assert_allclose(
        panel.result["probabilities"], panel.result["probabilities_before"], atol=1e-6
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("knocked_out", [0, 999], "channel 999 is out of range"),
        ("knocked_out", [3, 3], "lists a channel twice"),
        ("method", "taylor", "method must be one of"),
        ("k", 0, "k must be within 1..128"),
        ("criterion", "l2", "criterion must be one of"),
        ("layer", "predictions", "has no 4-D output"),
    ],
)
def test_invalid_values_are_trait_errors_in_the_status(panel, name, value, message):
    before = getattr(panel, name)
    with pytest.raises(traitlets.TraitError, match=message):
        setattr(panel, name, value)
    assert getattr(panel, name) == before
    assert panel.status.state == "error" and message in panel.status.message


def test_a_new_layer_resets_the_knocked_out_channels(panel):
    panel.knocked_out = [1, 2]
    panel.layer = "relu2"
    assert panel.knocked_out == [] and panel.channel_count == 64
    assert len(panel.grid.channels) == 16 and panel.selection.layer == "relu2"


def test_pruning_grows_point_by_point_and_stops(panel, demo_model, data):
    lengths: list[int] = []
    panel.criterion = "l1"
    asked = threading.Event()

    def watch(_change):
        points = panel.chart.points("l1")
        lengths.append(points)
        if points == 3:
            asked.set()
            panel.stop()

    panel.chart.start("l1")  # the marks exist before the run restarts them
    panel.chart.lines["l1"][0].observe(watch, "x")
    with untouched(demo_model):
        panel.run_pruning()
        assert panel.wait(120)
    assert asked.is_set()
    assert lengths[-1] == 3 and lengths == sorted(lengths)  # one point at a time, then stop
    assert set(range(1, 4)) <= set(lengths)
    assert "stopped" in panel.status.message


def test_a_full_run_equals_pruning_curve_and_criteria_overlay(panel, demo_model, data):
    amounts = (0.0, 0.3, 0.6)
    for criterion in ("l1", "random"):
        panel.criterion = criterion
        panel.run_pruning(amounts)
        assert panel.wait(120)
    curves = panel.chart.arrays()
    assert set(curves) == {"l1", "random"} and len(panel.chart.accuracy_figure.marks) == 2
    reference = methods.pruning_curve(demo_model, data[0], data[1], amounts, "l1")
    for name in ("amount", "accuracy", "mean_score"):
        # The same pruned weights and scores: equal up to float32 rounding of the mean.
        np.testing.assert_allclose(curves["l1"][name], reference[name], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(panel.chart.lines["l1"][0].y, reference["accuracy"])
    assert panel.pruning_figure().axes[0].get_ylabel() == "accuracy"


def test_figures(panel):
    panel.toggle(int(panel.order[0]))
    figure = panel.figure()
    assert len(figure.axes) >= 6  # two rows: image, overlay, raw map (+ colour bars)
    assert f"knocked out [{int(panel.order[0])}]" in figure._suptitle.get_text()
    with pytest.raises(ValueError, match="needs at least one curve"):
        panel.pruning_figure()


def test_standalone_panel_without_labels_uses_agreement(demo_model, data):
    panel = AblationPanel(demo_model, data[0][:2])
    assert panel.wait(60) and panel.ready
    assert panel.knocked_out == [] and len(panel.grid.channels) == 16
    assert panel.chart.accuracy_figure.axes[1].label == "agreement"
    panel.close()
