"""LayerCAM against Grad-CAM where gradients are spatially constant, and a numpy reference
where they are not."""

from __future__ import annotations

import keras
import numpy as np
from model_guard import untouched

from interpret_widgets.methods import activations, grad_cam, layer_cam
from interpret_widgets.model import get_adapter


def gap_network(nonnegative: bool) -> keras.Model:
    keras.utils.set_random_seed(12)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(6, 3, activation="relu", name="last_conv")(inp)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inp, keras.layers.Dense(4, activation="softmax", name="fc")(h))
    if nonnegative:
        fc = model.get_layer("fc")
        fc.kernel.assign(np.abs(fc.kernel.numpy()))
    return model


def _x(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")


def test_equals_grad_cam_where_gradients_are_spatially_constant():
    # conv → GAP → Dense: score_c = Σ_k W_kc · (1/hw) Σ_ij A^k_ij + b_c, so
    # ∂score/∂A^k_ij = W_kc / (h·w) at every position: Grad-CAM's α_k is that value and
    # LayerCAM weighs every position by ReLU(α_k). With W ≥ 0, ReLU(α_k) = α_k and the two
    # maps are the same; with signed W, LayerCAM is Grad-CAM with α_k replaced by α_k⁺.
    x = _x((3, 10, 10, 3))
    targets = [0, 2, 3]
    model = gap_network(nonnegative=True)
    with untouched(model):
        got = layer_cam(model, x, targets)
    assert got.shape == (3, 8, 8) and got.dtype == np.float32
    np.testing.assert_allclose(got, grad_cam(model, x, targets), rtol=1e-6, atol=1e-9)

    model = gap_network(nonnegative=False)
    maps = activations(model, x, ["last_conv"])["last_conv"].astype(np.float64)
    alpha = model.get_layer("fc").kernel.numpy()[:, targets].T / 64.0
    want = np.maximum(np.einsum("nhwk,nk->nhw", maps, np.maximum(alpha, 0)), 0)
    np.testing.assert_allclose(layer_cam(model, x, targets), want, rtol=1e-5, atol=1e-8)


def test_matches_numpy_reference_with_spatial_gradients():
    # conv → Flatten → Dense: ∂score_c/∂A^k_ij is the Dense weight of that flattened
    # position, different at every (i, j).
    keras.utils.set_random_seed(13)
    inp = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(3, 3, name="conv")(inp)
    out = keras.layers.Dense(4, name="fc")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    x = _x((2, 6, 6, 2), 1)
    targets = [1, 3]
    with untouched(model):
        got = layer_cam(model, x, targets, layer="conv")
    maps = activations(model, x, ["conv"])["conv"].astype(np.float64)
    kernel = model.get_layer("fc").kernel.numpy().astype(np.float64)
    grads = kernel[:, targets].T.reshape(2, 4, 4, 3)
    want = np.maximum((np.maximum(grads, 0) * maps).sum(axis=-1), 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)  # float32 rounding
    assert not np.allclose(got, grad_cam(model, x, targets, layer="conv"), atol=1e-4)


def test_default_layer_is_the_adapters_cam_layer():
    model = gap_network(nonnegative=False)
    x = _x((2, 10, 10, 3), 2)
    name = get_adapter(model).cam_layer(None).name
    np.testing.assert_array_equal(layer_cam(model, x), layer_cam(model, x, layer=name))


def test_no_retrace_for_new_images_and_targets():
    model = gap_network(nonnegative=False)
    x = _x((3, 10, 10, 3), 3)
    layer_cam(model, x, 0)
    adapter = get_adapter(model)
    traces = {key: p.experimental_get_tracing_count() for key, p in adapter._probes.items()}
    layer_cam(model, x[::-1].copy(), [3, 2, 1])
    layer_cam(model, x, None)
    after = {key: p.experimental_get_tracing_count() for key, p in adapter._probes.items()}
    assert after == traces
