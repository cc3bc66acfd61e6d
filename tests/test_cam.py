"""Grad-CAM against CAM (Zhou et al. 2016), Grad-CAM++ against a numpy reference, and
the pointing game on the demo set."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets.methods import activations, grad_cam, grad_cam_plus_plus
from interpret_widgets.render import resize


def gap_model() -> keras.Model:
    keras.utils.set_random_seed(11)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="c1")(inp)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="last_conv")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(4, activation="softmax", name="fc")(h)
    return keras.Model(inp, out)


def test_grad_cam_equals_cam_on_gap_network():
    model = gap_model()
    x = np.random.default_rng(0).uniform(0, 1, (3, 12, 12, 3)).astype("float32")
    targets = [0, 3, 1]
    with untouched(model):
        cam = grad_cam(model, x, target=targets)
    maps = activations(model, x, ["last_conv"])["last_conv"]
    kernel = model.get_layer("fc").kernel.numpy()
    h, w = maps.shape[1:3]
    # CAM: the class-weighted sum of the last conv maps; Grad-CAM equals it up to 1/(h·w).
    expected = np.maximum(np.einsum("nhwk,kn->nhw", maps, kernel[:, targets]), 0) / (h * w)
    assert cam.shape == (3, h, w) and cam.dtype == np.float32
    np.testing.assert_allclose(cam, expected, rtol=1e-5, atol=1e-7)


def test_default_layer_is_last_4d_layer():
    model = gap_model()
    x = np.random.default_rng(1).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    np.testing.assert_array_equal(grad_cam(model, x), grad_cam(model, x, layer="last_conv"))
    layer_object = model.get_layer("c1")
    assert grad_cam(model, x, layer=layer_object).shape == (2, 10, 10)


def pooled_head_model() -> keras.Model:
    """MobileNetV3's head in small: GAP(keepdims=True), then 1×1 convolutions, flatten."""
    keras.utils.set_random_seed(12)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(8, 3, activation="relu", name="c1")(inp)
    h = keras.layers.Conv2D(6, 3, activation="hard_swish", name="last_conv")(h)
    h = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pool")(h)
    h = keras.layers.Conv2D(16, 1, activation="hard_swish", name="head_1x1")(h)
    h = keras.layers.Conv2D(4, 1, name="logits_1x1")(h)
    out = keras.layers.Flatten(name="flat")(h)
    return keras.Model(inp, out)


def test_default_layer_skips_a_pooled_1x1_head():
    """The default CAM layer is the last 4-D layer with h·w > 1 (CONTRACT.md): on a
    MobileNetV3-style head the 1×1 outputs after pooling would give one flat value."""
    model = pooled_head_model()
    x = np.random.default_rng(4).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    with untouched(model):
        default = grad_cam(model, x, target=3)
        plus = grad_cam_plus_plus(model, x, target=3)
    np.testing.assert_array_equal(default, grad_cam(model, x, target=3, layer="last_conv"))
    assert default.shape == plus.shape == (2, 8, 8)
    assert all(np.ptp(m) > 0 for m in default)  # a real map, not a flat colour
    # Asked for by name, a 1×1 layer still works: one position per image.
    pooled = grad_cam(model, x, target=1, layer="head_1x1")
    assert pooled.shape == (2, 1, 1) and np.all(np.isfinite(pooled))


def test_no_layer_with_positions_is_a_clear_error():
    keras.utils.set_random_seed(13)
    inp = keras.Input((1, 1, 3))
    h = keras.layers.Conv2D(4, 1, name="only_1x1")(inp)
    model = keras.Model(inp, keras.layers.Flatten()(h))
    x = np.zeros((1, 1, 1, 3), "float32")
    with pytest.raises(ValueError, match="more than one spatial position"):
        grad_cam(model, x)
    assert grad_cam(model, x, target=0, layer="only_1x1").shape == (1, 1, 1)


def test_grad_cam_plus_plus_matches_numpy_reference():
    model = gap_model()
    x = np.random.default_rng(2).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    with untouched(model):
        result = grad_cam_plus_plus(model, x, target=2)
    A = activations(model, x, ["last_conv"])["last_conv"].astype(np.float64)
    kernel = model.get_layer("fc").kernel.numpy().astype(np.float64)
    h, w = A.shape[1:3]
    # For a GAP → Dense head the gradient is w_k2 / (h·w) at every position.
    g = np.broadcast_to(kernel[:, 2] / (h * w), A.shape)
    alpha_num = g**2
    alpha_den = 2 * g**2 + A.sum(axis=(1, 2), keepdims=True) * g**3
    alpha = np.where(alpha_den != 0, alpha_num / np.where(alpha_den != 0, alpha_den, 1), 0)
    weights = (alpha * np.maximum(g, 0)).sum(axis=(1, 2))
    expected = np.maximum(np.einsum("nhwk,nk->nhw", A, weights), 0)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-8)


def test_nested_model_cam_inside_backbone(nested, images16):
    with untouched(nested):
        cam = grad_cam(nested, images16, layer="inner_conv2")
        default = grad_cam(nested, images16)
    assert cam.shape == (3, 16, 16)
    assert default.shape == (3, 16, 16)
    assert np.all(np.isfinite(cam)) and np.all(cam >= 0)


def test_pointing_game_on_demo_set(demo_model, demo_data):
    images, _, masks = demo_data
    with untouched(demo_model):
        cams = grad_cam(demo_model, images)
    hits = 0
    for cam, mask in zip(cams, masks, strict=True):
        up = resize(cam, mask.shape)
        r, c = np.unravel_index(np.argmax(up), up.shape)
        hits += bool(mask[r, c])
    rate = hits / len(images)
    print(f"Grad-CAM pointing game on 200 held-out demo images: {rate:.1%}")
    assert rate >= 0.90, f"pointing game {rate:.1%} < 90 %"
