"""The Dashboard in Python: one shared selection across lazily built, linked panels."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets.methods import grad_cam, saliency
from interpret_widgets.model import get_adapter
from interpret_widgets.render import overlay, to_png
from interpret_widgets.widgets import Dashboard, GradCAMPanel, GradientPanel
from interpret_widgets.widgets.dashboard import TABS

NAMES = ["cat", "dog", "fox", "owl", "eel"]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense", seed=5)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(3).uniform(0, 1, (4, 16, 16, 3)).astype("float32")


def predicted(model, images) -> np.ndarray:
    return get_adapter(model).logits(images).argmax(axis=-1)


def count_computes(panel) -> list[int]:
    """Spy on the panel's public ``compute``: the classes it computes."""
    calls: list[int] = []
    original = panel.compute

    def counting(target: int, method: str | None = None):
        calls.append(target)
        return original(target, method)

    panel.compute = counting
    return calls


def css(widget) -> list[str]:
    """The CSS classes a browser gets for ``widget`` (from its synced state)."""
    return list(widget.get_state()["_dom_classes"])


def settled(dashboard: Dashboard) -> Dashboard:
    """The Dashboard once its panels' background work (first uses) has finished."""
    assert dashboard.wait(60), "background work did not finish"
    return dashboard


def shown_png(panel) -> bytes:
    return panel.main.heatmap.value


def reference_png(panel, raw) -> bytes:
    image = panel.images[panel.image_index]
    return to_png(overlay(image, raw, panel.cmap, panel.opacity, panel.normalization))


def test_tabs_are_built_when_first_shown(model, images):
    dashboard = settled(Dashboard(model, images, NAMES))
    assert dashboard.status.state == "ok", dashboard.status.message
    assert list(dashboard.panels) == ["Activations"]
    assert dashboard.tabs.titles == TABS
    assert "iw-dashboard" in css(dashboard)
    assert "iw-tabs" in css(dashboard.tabs)
    assert "iw-image-slider" in css(dashboard.image_slider)
    dashboard.tabs.selected_index = TABS.index("Grad-CAM")  # the user opens the tab
    settled(dashboard)  # its first computation ran in a worker thread
    panel = dashboard.panels["Grad-CAM"]
    assert isinstance(panel, GradCAMPanel) and panel.active
    assert set(dashboard.panels) == {"Activations", "Grad-CAM"}
    assert panel.main.heatmap.value == reference_png(
        panel, grad_cam(model, images[:1], panel.target, panel.layer)[0]
    )


def test_a_class_clicked_in_one_panel_moves_every_panel(model, images):
    with untouched(model):
        dashboard = settled(Dashboard(model, images, NAMES, tab="Grad-CAM"))
        cam = dashboard.panels["Grad-CAM"]
        grads = dashboard.show("Gradients")
        settled(dashboard)
        assert isinstance(grads, GradientPanel) and not cam.active and grads.active
        cam_calls = count_computes(cam)
        bars = grads.class_bars.bars
        bars._handle_custom_msgs(bars, {"event": "element_click", "data": {"index": 3}}, [])
        clicked = grads.class_bars.classes[3]
        assert dashboard.target == cam.target == grads.target == clicked
        expected = reference_png(grads, saliency(model, images[:1], clicked)[0])
        assert grads.main.heatmap.value == expected
        assert cam_calls == []  # hidden: it waits
        dashboard.show("Grad-CAM")
        settled(dashboard)
        assert cam_calls == [clicked]
        assert list(cam.class_bars.bars.selected) == [cam.class_bars.classes.index(clicked)]
        assert cam.main.heatmap.value == reference_png(
            cam, grad_cam(model, images[:1], clicked, cam.layer)[0]
        )
        # And back through the other panel's bars, with the synced trait.
        cam.class_bars.bars.selected = [0]
        assert grads.target == dashboard.target == cam.class_bars.classes[0]


def test_image_slider_moves_every_panel_once(model, images):
    labels = predicted(model, images)
    dashboard = settled(Dashboard(model, images, NAMES, tab="Grad-CAM"))
    cam = dashboard.panels["Grad-CAM"]
    lrp_or_grads = dashboard.show("Gradients")
    explorer = dashboard.show("Activations")
    dashboard.show("Grad-CAM")
    settled(dashboard)
    cam_calls, grad_calls = count_computes(cam), count_computes(lrp_or_grads)
    dashboard.image_slider.value = 2
    for panel in (cam, lrp_or_grads, explorer):
        assert panel.image_index == 2
    assert dashboard.target == cam.target == lrp_or_grads.target == labels[2]
    assert cam_calls == [labels[2]]  # one computation for the new image and its class
    assert grad_calls == []  # hidden
    assert cam.main.heatmap.value == reference_png(
        cam, grad_cam(model, images[2:3], int(labels[2]), cam.layer)[0]
    )
    assert f"<b>{NAMES[labels[2]]}</b>" in dashboard.description.value
    assert dashboard.thumbnail.value == to_png(images[2])


def test_layer_is_shared(model, images):
    dashboard = settled(Dashboard(model, images, NAMES, tab="Grad-CAM"))
    cam = dashboard.panels["Grad-CAM"]
    explorer = dashboard.show("Activations")
    assert dashboard.layer == cam.layer == explorer.layer == "conv_b"
    dashboard.show("Grad-CAM")
    cam.layer_dropdown.value = "relu_a"
    settled(dashboard)
    assert dashboard.layer == explorer.layer == "relu_a"
    assert cam.main.heatmap.value == reference_png(
        cam, grad_cam(model, images[:1], cam.target, "relu_a")[0]
    )


def test_every_tab_opens_and_shares_the_layer(model, images):
    with untouched(model):
        dashboard = settled(Dashboard(model, images, NAMES))
        for name in TABS:
            panel = dashboard.show(name)
            settled(dashboard)
            assert dashboard.tabs.selected_index == TABS.index(name)
            status = panel.status
            assert status.state == "ok", f"{name}: {status.message}"
        filters = dashboard.panels["Filters"]
        assert filters.layer == dashboard.layer == "conv_b"
        assert not filters.running  # it waits for Start
        dashboard.layer = "conv_a"
        assert filters.layer == dashboard.panels["Grad-CAM"].layer == "conv_a"
        assert dashboard.panels["LRP"].target == dashboard.target


def test_explorer_image_change_reaches_the_panels(model, images):
    labels = predicted(model, images)
    dashboard = settled(Dashboard(model, images, NAMES, tab="Grad-CAM"))
    dashboard.show("Activations").image_index = 3
    assert dashboard.image_index == dashboard.image_slider.value == 3
    assert dashboard.panels["Grad-CAM"].target == labels[3]


def test_bad_input_is_a_status_message(model):
    dashboard = settled(Dashboard(model, np.zeros((2, 16, 16, 1), "float32")))
    assert dashboard.status.state == "error"
    assert "expects 3" in dashboard.status.message
    assert dashboard.panels == {}
    with pytest.raises(ValueError, match="unknown tab"):
        dashboard.show("Nope")


def test_set_images_after_rejected_images(model, images):
    """Rejected images leave a message; set_images with good ones makes the Dashboard work."""
    gray = np.zeros((2, 16, 16, 1), "float32")
    dashboard = settled(Dashboard(model, gray, NAMES, tab="Grad-CAM"))
    assert dashboard.status.state == "error" and dashboard.panels == {}
    with untouched(model):
        dashboard.set_images(images)
        settled(dashboard)
        assert dashboard.status.state == "ok", dashboard.status.message
        assert dashboard.image_slider.max == len(images) - 1
        panel = dashboard.panels["Grad-CAM"]  # the tab shown is built at once
        assert panel.status.state == "ok", panel.status.message
        top = int(predicted(model, images[:1])[0])
        assert dashboard.target == panel.target == top
        raw = grad_cam(model, images[:1], top, panel.layer)[0]
        assert shown_png(panel) == reference_png(panel, raw)


def test_set_images_rebuilds_the_panels(model, images):
    """New images: old panels closed and unlinked, new ones built on them; bad ones refused."""
    dashboard = settled(Dashboard(model, images, NAMES))
    old = dashboard.show("Gradients")
    settled(dashboard)
    dashboard.image_index = 2
    other = images[::-1].copy()[:3]
    dashboard.set_images(other, labels=[0, 1, 2])
    settled(dashboard)
    assert dashboard.image_index == 0 and dashboard.image_slider.max == 2
    assert dashboard.panels.keys() == {"Gradients"} and dashboard.panels["Gradients"] is not old
    assert old.comm is None  # closed
    new = dashboard.panels["Gradients"]
    np.testing.assert_array_equal(new.images, other)
    assert dashboard.target == new.target == int(predicted(model, other[:1])[0])
    assert new.main.heatmap.value == reference_png(new, saliency(model, other[:1], new.target)[0])
    dashboard.target = (dashboard.target + 1) % len(NAMES)  # still linked
    assert new.target == dashboard.target
    assert "label <b>cat</b>" in dashboard.description.value
    dashboard.set_images(np.zeros((1, 8, 8, 3), "float32"))  # wrong size: refused
    assert dashboard.status.state == "error"
    assert dashboard.panels["Gradients"] is new and len(dashboard.selection.images) == 3


def test_one_selection_is_linked_to_every_panel(model, images):
    """The Dashboard's selection is the panels' selection; values travel by traitlets.link."""
    dashboard = settled(Dashboard(model, images, NAMES, tab="Grad-CAM"))
    cam, lrp = dashboard.panels["Grad-CAM"], dashboard.show("LRP")
    settled(dashboard)
    assert cam.selection is lrp.selection is dashboard.selection
    selection = dashboard.selection
    selection.image_index = 3  # set on the selection: the Dashboard and both panels follow
    assert dashboard.image_index == cam.image_index == lrp.image_index == 3
    assert dashboard.target == cam.target == lrp.target == selection.predicted(3)
    lrp.target = (lrp.target + 1) % len(NAMES)  # set on one panel
    assert selection.target == dashboard.target == cam.target == lrp.target
    probabilities = selection.probabilities(3)
    assert lrp.selection.probabilities(3) is probabilities  # one cache, not one per panel


def test_every_panel_shares_the_dashboards_one_selection(model, images):
    """Every tab's panel, the explorer and the visualizer included, holds the Dashboard's
    Selection object itself (no second selection linked to it)."""
    dashboard = settled(Dashboard(model, images, NAMES))
    for name in TABS:
        dashboard.show(name)
        settled(dashboard)
    selections = {name: panel.selection for name, panel in dashboard.panels.items()}
    assert all(s is dashboard.selection for s in selections.values()), selections


def test_selection_changes_reach_the_explorer_and_the_visualizer(model, images):
    """Image, class and layer set on the Dashboard's selection reach the explorer (its
    thumbnail, prediction and activations) and the visualizer (its layer) by the links."""
    dashboard = settled(Dashboard(model, images, NAMES))
    explorer = dashboard.panels["Activations"]
    visualizer = dashboard.show("Filters")
    dashboard.show("Activations")
    settled(dashboard)
    selection = dashboard.selection
    selection.image_index = 2
    assert explorer.image_index == explorer.picker.index == 2
    top = int(predicted(model, images[2:3])[0])
    assert f"<b>{NAMES[top]}</b>" in explorer.picker.caption.value
    selection.target = (top + 1) % len(NAMES)
    assert explorer.selection.target == dashboard.target == (top + 1) % len(NAMES)
    selection.layer = "relu_a"
    assert explorer.layer == visualizer.layer == dashboard.layer == "relu_a"
    probe = keras.Model(model.input, model.get_layer("relu_a").output)  # independent
    expected = np.asarray(probe(images[2:3]))[0]
    np.testing.assert_allclose(explorer.layer_activation(), expected, rtol=1e-5, atol=1e-6)
    assert explorer.layer_select.value == visualizer.layer_select.value == "relu_a"
    explorer.layer = "conv_a"  # and back: the explorer's choice reaches the selection
    assert selection.layer == visualizer.layer == "conv_a"


def test_tab_first_use_runs_in_the_background(model, images, monkeypatch):
    """The first computation of a tab runs off the main thread with a preparing message."""
    import threading

    from interpret_widgets.widgets import LRPPanel

    release, threads = threading.Event(), []
    original = LRPPanel.compute

    def slow_compute(self, target, method=None):
        threads.append(threading.get_ident())
        release.wait(30)
        return original(self, target, method)

    monkeypatch.setattr(LRPPanel, "compute", slow_compute)
    dashboard = settled(Dashboard(keras_model_copy(model), images, NAMES, tab="Grad-CAM"))
    panel = dashboard.show("LRP")  # returns at once: the notebook is not blocked
    assert panel.busy and panel.status.state == "busy"
    message = panel.status.message
    assert message.startswith("preparing LRP") and "(first use traces the model)" in message
    assert "iw-spinner" in panel.status.value
    release.set()
    settled(dashboard)
    assert not panel.busy and panel.status.state == "ok", panel.status.message
    assert threads and threading.get_ident() not in threads
    from interpret_widgets.methods import lrp

    raw = lrp(panel.selection.model, images[:1], panel.target, panel.rule, epsilon=panel.epsilon)
    from interpret_widgets.render import to_map

    assert shown_png(panel) == reference_png(panel, to_map(raw[0]))


def keras_model_copy(model: keras.Model) -> keras.Model:
    """A fresh model with the same weights: nothing traced for it yet (a first use)."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@pytest.mark.slow
def test_resnet50_tab_switch_does_not_block():
    """On ResNet50 the Grad-CAM tab opens at once; its first map arrives from a worker."""
    net = keras.applications.ResNet50(weights=None, input_shape=(96, 96, 3), classes=10)
    x = np.random.default_rng(0).uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    dashboard = settled(Dashboard(net, x, tab="Gradients"))
    panel = dashboard.show("Grad-CAM")
    assert panel.busy and "first use traces the model" in panel.status.message
    settled(dashboard)
    assert panel.status.state == "ok", panel.status.message
    raw = grad_cam(net, x[:1], panel.target, panel.layer)[0]
    assert shown_png(panel) == reference_png(panel, raw)
