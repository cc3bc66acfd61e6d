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
    calls: list[int] = []
    original = panel.compute

    def counting(target: int):
        calls.append(target)
        return original(target)

    panel.compute = counting
    return calls


def shown_png(panel) -> bytes:
    return panel.heatmap.value


def reference_png(panel, raw) -> bytes:
    image = panel.images[panel.image_index]
    return to_png(overlay(image, raw, panel.cmap, panel.opacity, panel.normalization))


def test_tabs_are_built_when_first_shown(model, images):
    dashboard = Dashboard(model, images, NAMES)
    assert dashboard.status.state == "ok", dashboard.status.message
    assert list(dashboard.panels) == ["Activations"]
    assert dashboard.tabs.titles == TABS
    assert "iw-dashboard" in dashboard._dom_classes
    assert "iw-tabs" in dashboard.tabs._dom_classes
    assert "iw-image-slider" in dashboard.image_slider._dom_classes
    dashboard.tabs.selected_index = TABS.index("Grad-CAM")  # the user opens the tab
    panel = dashboard.panels["Grad-CAM"]
    assert isinstance(panel, GradCAMPanel) and panel.active
    assert set(dashboard.panels) == {"Activations", "Grad-CAM"}
    assert panel.heatmap.value == reference_png(
        panel, grad_cam(model, images[:1], panel.target, panel.layer)[0]
    )


def test_a_class_clicked_in_one_panel_moves_every_panel(model, images):
    with untouched(model):
        dashboard = Dashboard(model, images, NAMES, tab="Grad-CAM")
        cam = dashboard.panels["Grad-CAM"]
        grads = dashboard.show("Gradients")
        assert isinstance(grads, GradientPanel) and not cam.active and grads.active
        cam_calls = count_computes(cam)
        bars = grads.class_bars.bars
        bars._handle_custom_msgs(bars, {"event": "element_click", "data": {"index": 3}}, [])
        clicked = grads.class_bars.classes[3]
        assert dashboard.target == cam.target == grads.target == clicked
        assert grads.heatmap.value == reference_png(grads, saliency(model, images[:1], clicked)[0])
        assert cam_calls == []  # hidden: it waits
        dashboard.show("Grad-CAM")
        assert cam_calls == [clicked]
        assert list(cam.class_bars.bars.selected) == [cam.class_bars.classes.index(clicked)]
        assert cam.heatmap.value == reference_png(
            cam, grad_cam(model, images[:1], clicked, cam.layer)[0]
        )
        # And back through the other panel's bars, with the synced trait.
        cam.class_bars.bars.selected = [0]
        assert grads.target == dashboard.target == cam.class_bars.classes[0]


def test_image_slider_moves_every_panel_once(model, images):
    labels = predicted(model, images)
    dashboard = Dashboard(model, images, NAMES, tab="Grad-CAM")
    cam = dashboard.panels["Grad-CAM"]
    lrp_or_grads = dashboard.show("Gradients")
    explorer = dashboard.show("Activations")
    dashboard.show("Grad-CAM")
    cam_calls, grad_calls = count_computes(cam), count_computes(lrp_or_grads)
    dashboard.image_slider.value = 2
    for panel in (cam, lrp_or_grads, explorer):
        assert panel.image_index == 2
    assert dashboard.target == cam.target == lrp_or_grads.target == labels[2]
    assert cam_calls == [labels[2]]  # one computation for the new image and its class
    assert grad_calls == []  # hidden
    assert cam.heatmap.value == reference_png(
        cam, grad_cam(model, images[2:3], int(labels[2]), cam.layer)[0]
    )
    assert f"<b>{NAMES[labels[2]]}</b>" in dashboard.selection.value
    assert dashboard.thumbnail.value == to_png(images[2])


def test_layer_is_shared(model, images):
    dashboard = Dashboard(model, images, NAMES, tab="Grad-CAM")
    cam = dashboard.panels["Grad-CAM"]
    explorer = dashboard.show("Activations")
    assert dashboard.layer == cam.layer == explorer.layer == "conv_b"
    dashboard.show("Grad-CAM")
    cam.layer_dropdown.value = "relu_a"
    assert dashboard.layer == explorer.layer == "relu_a"
    assert cam.heatmap.value == reference_png(
        cam, grad_cam(model, images[:1], cam.target, "relu_a")[0]
    )


def test_every_tab_opens_and_shares_the_layer(model, images):
    with untouched(model):
        dashboard = Dashboard(model, images, NAMES)
        for name in TABS:
            panel = dashboard.show(name)
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
    dashboard = Dashboard(model, images, NAMES, tab="Grad-CAM")
    dashboard.show("Activations").image_index = 3
    assert dashboard.image_index == dashboard.image_slider.value == 3
    assert dashboard.panels["Grad-CAM"].target == labels[3]


def test_bad_input_is_a_status_message(model):
    dashboard = Dashboard(model, np.zeros((2, 16, 16, 1), "float32"))
    assert dashboard.status.state == "error"
    assert "expects 3" in dashboard.status.message
    assert dashboard.panels == {}
    with pytest.raises(ValueError, match="unknown tab"):
        dashboard.show("Nope")


def test_set_images_after_rejected_images(model, images):
    """Rejected images leave a message; set_images with good ones makes the Dashboard work."""
    dashboard = Dashboard(model, np.zeros((2, 16, 16, 1), "float32"), NAMES, tab="Grad-CAM")
    assert dashboard.status.state == "error" and dashboard.panels == {}
    with untouched(model):
        dashboard.set_images(images)
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
    dashboard = Dashboard(model, images, NAMES)
    old = dashboard.show("Gradients")
    dashboard.image_index = 2
    other = images[::-1].copy()[:3]
    dashboard.set_images(other, labels=[0, 1, 2])
    assert dashboard.image_index == 0 and dashboard.image_slider.max == 2
    assert dashboard.panels.keys() == {"Gradients"} and dashboard.panels["Gradients"] is not old
    assert old.comm is None  # closed
    new = dashboard.panels["Gradients"]
    np.testing.assert_array_equal(new.images, other)
    assert dashboard.target == new.target == int(predicted(model, other[:1])[0])
    assert new.heatmap.value == reference_png(new, saliency(model, other[:1], new.target)[0])
    dashboard.target = (dashboard.target + 1) % len(NAMES)  # still linked
    assert new.target == dashboard.target
    assert "label <b>cat</b>" in dashboard.selection.value
    dashboard.set_images(np.zeros((1, 8, 8, 3), "float32"))  # wrong size: refused
    assert dashboard.status.state == "error"
    assert dashboard.panels["Gradients"] is new and len(dashboard.images) == 3
