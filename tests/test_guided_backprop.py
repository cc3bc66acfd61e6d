"""Guided backpropagation against independent math: the plain gradient where there is no
ReLU, and a float64 numpy network that guides every kind of ReLU the method covers."""

from __future__ import annotations

import keras
import numpy as np
from conftest import nested_model
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.model import get_adapter


def _uniform(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype("float32")


def test_equals_the_gradient_without_relus():
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, activation="tanh")(inp)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.LeakyReLU(negative_slope=0.1)(h)
    h = keras.layers.Dense(6, activation="sigmoid")(keras.layers.Flatten()(h))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h))
    x = _uniform((3, 8, 8, 2), 0)
    with untouched(model):
        got = methods.guided_backprop(model, x, [0, 1, 2])
    # Nothing is replaced, so it is the very same computation as saliency.
    np.testing.assert_allclose(got, methods.saliency(model, x, [0, 1, 2]), rtol=1e-6, atol=1e-9)


def relu_network() -> keras.Model:
    """Every covered ReLU form: a fused Conv2D and Dense activation, a ReLU layer, an
    Activation("relu") layer, ``keras.ops.relu`` and ``keras.activations.relu``."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((3, 3, 2))
    h = keras.layers.Conv2D(4, 1, activation="relu", name="conv")(inp)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(10, activation="relu", name="d1")(h)
    h = keras.layers.ReLU()(keras.layers.Dense(9, name="d2")(h))
    h = keras.layers.Activation("relu")(keras.layers.Dense(8, name="d3")(h))
    h = keras.ops.relu(keras.layers.Dense(7, name="d4")(h))
    h = keras.activations.relu(keras.layers.Dense(6, name="d5")(h))
    out = keras.layers.Dense(4, activation="softmax", name="out")(h)
    return keras.Model(inp, out)


def _numpy_guided(model, x, targets):
    """Forward by hand in float64, then every ReLU passes max(g, 0) where its input > 0."""
    weights = {
        name: [v.numpy().astype(np.float64) for v in model.get_layer(name).weights]
        for name in ("conv", "d1", "d2", "d3", "d4", "d5", "out")
    }
    k, kb = weights["conv"]
    z = x.astype(np.float64) @ k[0, 0] + kb  # the 1×1 convolution, per pixel
    pre = [z]
    h = np.maximum(z, 0).reshape(len(x), -1)
    for name in ("d1", "d2", "d3", "d4", "d5"):
        w, b = weights[name]
        z = h @ w + b
        pre.append(z)
        h = np.maximum(z, 0)
    g = weights["out"][0][:, targets].T
    for name, z in zip(("d5", "d4", "d3", "d2", "d1"), pre[:0:-1], strict=True):
        g = np.maximum(g, 0) * (z > 0)
        g = g @ weights[name][0].T
    g = np.maximum(g.reshape(pre[0].shape), 0) * (pre[0] > 0)
    return g @ k[0, 0].T


def test_matches_numpy_guided_network():
    model = relu_network()
    x = _uniform((5, 3, 3, 2), 3)
    targets = [0, 1, 2, 3, 1]
    with untouched(model):
        got = methods.guided_backprop(model, x, targets)
    want = _numpy_guided(model, x, targets)
    # float32 against float64 on a 7-layer network: rounding ~1e-6 of the magnitude.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    # Guidance matters on this network: the plain gradient differs.
    assert not np.allclose(methods.saliency(model, x, targets), want, atol=1e-3)


def test_nested_relus_are_guided():
    model = nested_model()
    x = _uniform((2, 16, 16, 3), 4)
    with untouched(model):
        got = methods.guided_backprop(model, x, 1)
    assert got.shape == x.shape and got.dtype == np.float32
    assert not np.allclose(got, methods.saliency(model, x, 1), atol=1e-6)


def test_no_retrace_for_new_images_and_targets():
    model = relu_network()
    x = _uniform((3, 3, 3, 2), 5)
    methods.guided_backprop(model, x, 0)
    probe = get_adapter(model)._probes[("guided_backprop",)]
    traces = probe.experimental_get_tracing_count()
    methods.guided_backprop(model, x[::-1].copy(), [3, 2, 1])
    methods.guided_backprop(model, x, None)
    assert probe.experimental_get_tracing_count() == traces
