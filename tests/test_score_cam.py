"""Score-CAM against a hand-derived map and against an independent reference."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets import methods

BIAS = np.array([0.5, -0.2, 1.0, 0.1], "float32")


def masking_invariant_model() -> keras.Model:
    """1×1 conv with known weights → GAP → Dense with a zero kernel (+ softmax).

    The logits are the Dense bias whatever the input, so every masked copy has the same
    softmax and every channel the same weight.
    """
    inp = keras.Input((6, 6, 2))
    conv = keras.layers.Conv2D(3, 1, name="conv")
    h = conv(inp)
    h = keras.layers.GlobalAveragePooling2D()(h)
    dense = keras.layers.Dense(4, activation="softmax", name="head")
    model = keras.Model(inp, dense(h))
    conv.kernel.assign(np.array([[[[1.0, -2.0, 0.5], [0.5, 1.0, -1.0]]]], "float32"))
    conv.bias.assign(np.array([0.1, -0.3, 0.2], "float32"))
    dense.kernel.assign(np.zeros((3, 4), "float32"))
    dense.bias.assign(BIAS)
    return model


def test_masking_invariant_logits_give_equal_weights():
    model = masking_invariant_model()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 2)).astype("float32")
    with untouched(model):
        default = methods.score_cam(model, x)  # target None: argmax of the bias, class 2
        other = methods.score_cam(model, x, target=[1, 3], batch_size=2)
    # By hand: A = x·W + b of the 1×1 conv; each channel's weight is softmax(BIAS)[target]
    # (the softmax of the pre-softmax logits, taken once), so the map is ReLU(α Σ_k A^k).
    kernel = np.array([[1.0, -2.0, 0.5], [0.5, 1.0, -1.0]])
    acts = x.astype(np.float64) @ kernel + np.array([0.1, -0.3, 0.2])
    p = np.exp(BIAS - BIAS.max()) / np.exp(BIAS - BIAS.max()).sum()
    expected = np.maximum(p[2] * acts.sum(-1), 0)
    np.testing.assert_allclose(default, expected, rtol=1e-5, atol=1e-6)
    for n, t in enumerate([1, 3]):
        np.testing.assert_allclose(
            other[n], np.maximum(p[t] * acts[n].sum(-1), 0), rtol=1e-5, atol=1e-6
        )


def test_score_cam_matches_reference_on_cnn():
    model = small_cnn("layer", seed=2)
    x = np.random.default_rng(3).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    with untouched(model):
        result = methods.score_cam(model, x, target=[0, 4], batch_size=5)
    # Reference from the definition, written with TensorFlow directly: the layer's output,
    # tf.image.resize (half-pixel bilinear), min-max scaling, then one masked copy per
    # channel through the model's own output (a Softmax layer: the probability itself).
    conv_b = keras.Model(model.input, model.get_layer("conv_b").output)
    acts = np.asarray(conv_b(x), dtype=np.float64)
    expected = []
    for n, t in enumerate([0, 4]):
        up = tf.image.resize(acts[n][None].astype("float32"), (16, 16), "bilinear")[0].numpy()
        low, high = up.min(axis=(0, 1)), up.max(axis=(0, 1))
        masks = np.where(high > low, (up - low) / np.where(high > low, high - low, 1), 0)
        copies = x[n][None] * np.moveaxis(masks, -1, 0)[..., None]
        weights = np.asarray(model(copies.astype("float32")), dtype=np.float64)[:, t]
        expected.append(np.maximum(acts[n] @ weights, 0))
    # float32 model calls on either side, float64 sums: agreement to ~1e-6 relative.
    np.testing.assert_allclose(result, np.array(expected), rtol=1e-4, atol=1e-6)
    assert result.shape == (2, 8, 8) and result.dtype == np.float32


def test_score_cam_layer_argument():
    model = small_cnn("dense")
    x = np.random.default_rng(1).uniform(0, 1, (1, 16, 16, 3)).astype("float32")
    by_name = methods.score_cam(model, x, layer="relu_a")
    assert by_name.shape == (1, 16, 16)
    np.testing.assert_array_equal(
        methods.score_cam(model, x, layer=model.get_layer("relu_a")), by_name
    )
    np.testing.assert_array_equal(
        methods.score_cam(model, x), methods.score_cam(model, x, layer="conv_b")
    )
