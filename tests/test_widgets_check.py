"""The "Check this map" section and the Leaderboard tab, through their public surface.

Real TensorFlow, ipywidgets and bqplot on the demo model; no browser. Each test presses what
a user presses and compares what the widget shows (a line's data, a label, a table row) with
the faithfulness methods called directly on a map computed independently. The comparisons
are exact: the widgets must show what the methods return (deterministic on CPU).
"""

from __future__ import annotations

import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.methods.lrp import RULES, valid_names
from interpret_widgets.widgets import Dashboard, GradCAMPanel, Leaderboard, LRPPanel, Selection
from interpret_widgets.widgets.leaderboard import CORE_METHODS, leaderboard_methods


@pytest.fixture(scope="module")
def data(demo_data):
    images, _, masks = demo_data
    return images[:3], masks[:3]


@pytest.fixture(scope="module")
def gradcam(demo_model, data):
    panel = GradCAMPanel(demo_model, data[0])
    assert panel.wait(60)
    return panel


def opened(panel):
    """The panel's check section, opened as a user opens it."""
    panel.check.section.selected_index = 0
    return panel.check


def test_section_is_collapsed_and_computes_nothing(gradcam):
    check = gradcam.check
    assert check.section in gradcam.children
    assert check.section.selected_index is None  # closed by default
    assert check.section.titles == ("Check this map",)
    assert not check.busy and check.curves == {} and check.randomization is None
    assert all(len(line.y) == 0 for line in check.lines.values())


def test_deletion_curve_is_the_methods_curve(demo_model, gradcam):
    check = opened(gradcam)
    check.deletion_button.click()
    assert check.wait(120)
    batch = gradcam.selection.current_batch()
    target = gradcam.target
    cam = methods.grad_cam(demo_model, batch, target, gradcam.layer)  # independent of the panel
    expected = methods.deletion_curve(demo_model, batch, cam, target)
    np.testing.assert_array_equal(check.lines["deletion"].y, expected[0])
    np.testing.assert_array_equal(check.lines["deletion"].x, np.arange(33) / 32)
    auc = float(methods.curve_auc(expected)[0])
    assert check.aucs["deletion"] == auc
    assert f"deletion AUC <b>{auc:.3f}</b>" in check.auc_label.value
    # The random map: uniform from seed 0, of the shown map's shape; reproducible.
    noise = np.random.default_rng(0).random(cam.shape).astype(np.float32)
    random_auc = methods.curve_auc(methods.deletion_curve(demo_model, batch, noise, target))
    assert check.aucs["random deletion"] == float(random_auc[0])
    assert f"random map {random_auc[0]:.3f}" in check.auc_label.value
    first = check.aucs["random deletion"]
    check.deletion_button.click()
    assert check.wait(120)
    assert check.aucs["random deletion"] == first
    # Another class: the results were for another map and are gone.
    gradcam.target = gradcam.selection.runner_up()
    assert check.curves == {} and len(check.lines["deletion"].y) == 0
    assert check.auc_label.value == ""


def test_insertion_on_the_lrp_panel(demo_model, data):
    panel = LRPPanel(demo_model, data[0], rule="epsilon_plus")
    assert panel.wait(60)
    check = opened(panel)
    check.insertion_button.click()
    assert check.wait(120)
    batch, target = panel.selection.current_batch(), panel.target
    relevance = methods.lrp(demo_model, batch, target, rule="epsilon_plus", epsilon=1e-6)
    expected = methods.insertion_curve(demo_model, batch, relevance, target)
    # The panel's map is the relevance summed over channels, so float32 sums in another order:
    # the ranking can only differ on near-ties, 1e-6 apart in probability.
    np.testing.assert_allclose(check.lines["insertion"].y, expected[0], atol=1e-6)
    shown = panel.shown_map()
    exact = methods.insertion_curve(demo_model, batch, shown.values[None], target)
    np.testing.assert_array_equal(check.lines["insertion"].y, exact[0])
    assert check.aucs["insertion"] == float(methods.curve_auc(exact)[0])


def test_stop_halts_the_curve(gradcam):
    check = opened(gradcam)

    def stop_early(change):
        if change["new"] >= 8:  # after the first batch of 8 points
            check.stop()

    check.progress.observe(stop_early, "value")
    try:
        check.deletion_button.click()
        assert check.wait(120)
    finally:
        check.progress.unobserve(stop_early, "value")
    assert len(check.lines["deletion"].y) == 8  # of 33: the work stopped after one batch
    assert "deletion" not in check.aucs and "stopped after 8 of 33" in check.status.message
    assert not check.deletion_button.disabled and check.stop_button.disabled


def test_randomize_shows_a_strip_and_the_similarity(demo_model, gradcam):
    check = opened(gradcam)
    with untouched(demo_model):
        check.randomize_button.click()
        assert check.wait(120)
    layers = [layer for layer in demo_model.layers if layer.weights]
    assert len(check.thumbnails) == len(layers) + 1  # the trained model, then one per layer
    assert all(image.value[:4] == b"\x89PNG" for image in check.thumbnails)
    similarity = np.asarray(check.similarity_line.y)
    assert similarity[0] == 1.0 and len(similarity) == len(layers) + 1
    batch, target = gradcam.selection.current_batch(), gradcam.target
    expected = methods.randomization_test(
        demo_model, batch, "grad_cam", [target], layer=gradcam.layer
    )
    np.testing.assert_array_equal(similarity, expected.similarity[0])


def test_masks_give_pointing_game_and_relevance_mass(demo_model, data):
    images, masks = data
    dashboard = Dashboard(demo_model, images, masks=masks, tab="Grad-CAM")
    panel = dashboard.show("Grad-CAM")
    assert dashboard.wait(60)
    check = opened(panel)
    assert check.localize_button.layout.display is None
    check.localize_button.click()
    shown = panel.shown_map()
    mask = masks[dashboard.image_index][None]
    assert check.localization == {
        "pointing_game": float(methods.pointing_game(shown.values[None], mask)[0]),
        "relevance_mass": float(methods.relevance_mass(shown.values[None], mask)[0]),
    }
    assert f"{check.localization['relevance_mass']:.3f}" in check.localization_label.value


def test_without_masks_there_is_no_localization(gradcam):
    assert opened(gradcam).localize_button.layout.display == "none"


def test_invalid_masks_are_refused(demo_model, data):
    images, masks = data
    with pytest.raises(ValueError, match=r"masks must be a bool array \(N, H, W\)"):
        Selection(demo_model, images, masks=masks.astype(int))
    with pytest.raises(ValueError, match=r"= \(3, 64, 64\) matching the images.*\(2, 64, 64\)"):
        Selection(demo_model, images, masks=masks[:2])
    with pytest.raises(ValueError, match="masks were given without images"):
        Selection(demo_model, masks=masks)
    dashboard = Dashboard(demo_model, images, masks=masks[..., :32])
    assert "masks must be a bool array" in dashboard.status.message
    assert dashboard.status.state == "error"


def test_leaderboard_ranks_the_methods(demo_model, data):
    selection = Selection(demo_model, data[0])
    board = Leaderboard(selection, ["saliency", "grad_cam", "random"])
    assert board.rows == [] and board.table.value == ""  # nothing before the button
    board.compute_button.click()
    assert board.wait(300)
    batch, target = selection.current_batch(), selection.target
    maps = {
        "saliency": methods.saliency(demo_model, batch, target),
        "grad_cam": methods.grad_cam(demo_model, batch, target),
        "random": np.random.default_rng(0).random((1, 64, 64)).astype(np.float32),
    }
    expected = {}
    for name, values in maps.items():
        curves = [f(demo_model, batch, values, target)
                  for f in (methods.deletion_curve, methods.insertion_curve)]
        expected[name] = tuple(float(methods.curve_auc(c)[0]) for c in curves)
    rows = {row["name"]: (row["deletion"], row["insertion"]) for row in board.rows}
    assert rows == expected
    deletions = [row["deletion"] for row in board.rows]
    assert deletions == sorted(deletions)
    assert list(board.bars.x) == [row["name"] for row in board.rows]
    assert board.progress.value == 3 and "3 methods ranked" in board.status.message
    with pytest.raises(ValueError, match="unknown methods"):
        Leaderboard(selection, ["saliency", "magic"])


def test_leaderboard_covers_every_method():
    table = leaderboard_methods()
    composites = [n for n in valid_names() if n not in RULES]
    assert set(CORE_METHODS) | {f"lrp {n}" for n in composites} | {"random"} <= set(table)
    for name in ("layer_cam", "guided_backprop", "deep_lift", "score_cam", "occlusion", "lime"):
        assert (name in table) == hasattr(methods, name)


def test_dashboard_has_a_leaderboard_tab(demo_model, data):
    dashboard = Dashboard(demo_model, data[0], tab="Leaderboard")
    board = dashboard.panels["Leaderboard"]
    assert isinstance(board, Leaderboard) and board.selection is dashboard.selection
    assert len(board.functions) == len(leaderboard_methods())
    dashboard.image_index = 1
    assert board.rows == []
