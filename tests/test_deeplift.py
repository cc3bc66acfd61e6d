"""DeepLIFT and DeepSHAP against independent math: summation to delta on every test model,
the gradient × Δx identity of linear models, a float64 numpy rescale-rule network with the
contract's max-pooling rule, and DeepSHAP as the mean of DeepLIFT over references."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from model_guard import untouched
from summation import assert_sums_to_delta, uniform

from interpret_widgets import methods
from interpret_widgets.model import get_adapter


def pooling_model() -> keras.Model:
    """Max and average pooling, a standalone BN, a residual Add, a separable convolution,
    dropout and a fused-ReLU Dense: every kind of step the DeepLIFT walk has a rule for."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, padding="same", name="c1")(inp)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU(name="r1")(h)
    h = keras.layers.MaxPooling2D(name="max")(h)
    skip = h
    h = keras.layers.BatchNormalization(name="bn_alone")(h)
    h = keras.layers.SeparableConv2D(6, 3, padding="same", activation="tanh", name="sep")(h)
    h = keras.layers.Add(name="residual")([h, skip])
    h = keras.layers.AveragePooling2D(2, name="avg")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.5)(h)
    h = keras.layers.Dense(8, activation="relu", name="fc1")(h)
    out = keras.layers.Dense(4, activation="softmax", name="fc2")(h)
    model = keras.Model(inp, out, name="pooling")
    rng = np.random.default_rng(5)
    for name in ("bn1", "bn_alone"):
        bn = model.get_layer(name)
        bn.moving_mean.assign(rng.normal(0, 0.2, 6).astype("float32"))
        bn.moving_variance.assign(rng.uniform(0.5, 1.5, 6).astype("float32"))
        bn.gamma.assign(rng.uniform(0.5, 1.5, 6).astype("float32"))
        bn.beta.assign(rng.normal(0, 0.2, 6).astype("float32"))
    return model


def global_max_model() -> keras.Model:
    """Global max pooling (whose gradient splits ties) after a fused-ReLU convolution."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(5, 3, activation="relu")(inp)
    h = keras.layers.GlobalMaxPooling2D()(h)
    return keras.Model(inp, keras.layers.Dense(3)(h), name="global_max")


MODELS = {
    "global_max": global_max_model,
    "cnn_dense": lambda: small_cnn("dense"),
    "cnn_activation": lambda: small_cnn("activation"),
    "nested": nested_model,
    "pooling": pooling_model,
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("baseline", ["zeros", "random"])
def test_summation_to_delta(name, baseline):
    model = MODELS[name]()
    shape = (3, *model.input_shape[1:])
    x = uniform(shape, 0)
    base = None if baseline == "zeros" else uniform(shape, 1)
    with untouched(model):
        got = methods.deep_lift(model, x, [0, 1, 2], baseline=base)
    logits = get_adapter(model).logits
    ref = logits(np.zeros_like(x) if base is None else base)
    delta = logits(x)[np.arange(3), [0, 1, 2]] - ref[np.arange(3), [0, 1, 2]]
    assert got.shape == x.shape and got.dtype == np.float32
    assert_sums_to_delta(got, delta, logits(x))


def test_summation_to_delta_on_the_demo_model(demo_model, demo_data):
    x = demo_data[0][:3]
    base = np.full_like(x, x.mean())
    with untouched(demo_model):
        got = methods.deep_lift(demo_model, x, baseline=base)
    logits = get_adapter(demo_model).logits(x)
    top = logits.argmax(axis=1)
    ref = get_adapter(demo_model).logits(base)[np.arange(3), top]
    assert_sums_to_delta(got, logits[np.arange(3), top] - ref, logits)


def linear_model() -> keras.Model:
    """No non-linearity anywhere: conv, BN, average pooling, a residual Add, dense."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, padding="same")(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Add()([h, keras.layers.Conv2D(4, 1)(inp)])
    h = keras.layers.AveragePooling2D(2)(h)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    bn = model.layers[2]
    bn.moving_variance.assign(np.linspace(0.5, 2, 4).astype("float32"))
    return model


def test_linear_model_gives_gradient_times_delta():
    # A linear network has the same gradient everywhere, and DeepLIFT's multipliers are
    # exactly the chain-rule gradient: attribution = ∇score · (x − b).
    model = linear_model()
    x, base = uniform((2, 8, 8, 2), 0), uniform((2, 8, 8, 2), 1)
    got = methods.deep_lift(model, x, [2, 0], baseline=base)
    want = methods.saliency(model, x, [2, 0]) * (x - base)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)  # float32 rounding only


def tiny_network() -> keras.Model:
    keras.utils.set_random_seed(9)
    inp = keras.Input((4, 4, 2))
    h = keras.layers.Conv2D(3, 1, activation="relu", name="conv")(inp)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(5, name="fc1")(h)
    h = keras.layers.ReLU(name="relu")(h)
    out = keras.layers.Dense(3, name="fc2")(h)
    return keras.Model(inp, out)


def _secant(dy, dx, upper, grad):
    small = np.abs(dx) < 1e-7
    return np.where(small, grad, upper * dy / np.where(small, 1.0, dx))


def _numpy_deeplift(model, x, b, target):
    """The rescale rule and the contract's max-pool rule, by hand in float64."""
    k, kb = (v.numpy().astype(np.float64) for v in model.get_layer("conv").weights)
    w1, b1 = (v.numpy().astype(np.float64) for v in model.get_layer("fc1").weights)
    w2, _ = (v.numpy().astype(np.float64) for v in model.get_layer("fc2").weights)

    def forward(v):
        z0 = v.astype(np.float64) @ k[0, 0] + kb  # (N, 4, 4, 3)
        a0 = np.maximum(z0, 0)
        windows = a0.reshape(len(v), 2, 2, 2, 2, 3).transpose(0, 1, 3, 5, 2, 4)
        windows = windows.reshape(len(v), 2, 2, 3, 4)  # (N, i, j, c, position in window)
        pooled = windows.max(axis=-1)
        z1 = pooled.reshape(len(v), -1) @ w1 + b1
        return z0, a0, windows, pooled, z1, np.maximum(z1, 0)

    z0x, a0x, winx, px, z1x, h1x = forward(x)
    z0b, a0b, winb, pb, z1b, h1b = forward(b)
    m = w2[:, target].T  # multiplier at h1, (N, 5)
    m = _secant(h1x - h1b, z1x - z1b, m, m * (z1x > 0))  # ReLU
    m = (m @ w1.T).reshape(pb.shape)  # fc1, then unflatten: multiplier at the pool output
    delta_out = px - pb
    wins_x, wins_b = winx.argmax(axis=-1), winb.argmax(axis=-1)
    contrib = np.zeros(winx.shape)  # per window position
    grad = np.zeros(winx.shape)
    n, i, j, c = np.indices(px.shape)
    x_larger = delta_out >= 0
    contrib[n, i, j, c, np.where(x_larger, wins_x, wins_b)] = m * delta_out
    grad[n, i, j, c, wins_x] = m
    unwindow = lambda t: t.reshape(len(x), 2, 2, 3, 2, 2).transpose(0, 1, 4, 2, 5, 3)  # noqa
    contrib = unwindow(contrib).reshape(a0x.shape)
    grad = unwindow(grad).reshape(a0x.shape)
    dx = a0x - a0b
    m = _secant(contrib, dx, 1.0, grad)  # multiplier at the pool input
    m = _secant(a0x - a0b, z0x - z0b, m, m * (z0x > 0))  # conv's fused ReLU
    m = m @ k[0, 0].T
    return m * (x - b), winx, winb, delta_out


def test_matches_numpy_rescale_rule_with_max_pooling():
    model = tiny_network()
    x, base = uniform((4, 4, 4, 2), 2) - 0.5, uniform((4, 4, 4, 2), 3) - 0.5
    targets = [0, 1, 2, 1]
    with untouched(model):
        got = methods.deep_lift(model, x, targets, baseline=base)
    want, _, _, delta_out = _numpy_deeplift(model, x, base, targets)
    # Both routings of the max-pool rule occur: windows where x's maximum is the larger
    # (its winner takes the difference) and windows where b's is.
    assert np.any(delta_out > 0) and np.any(delta_out < 0)
    # float32 against float64: relative rounding ~1e-6 per layer.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    # And the rescale rule is not the gradient × Δx of a linear model here.
    assert not np.allclose(got, methods.saliency(model, x, targets) * (x - base), atol=1e-4)


def test_nested_model_equals_its_flat_twin():
    nested = nested_model()
    backbone = nested.layers[0]
    inp = keras.Input((16, 16, 3))
    h = backbone(inp)
    h = nested.get_layer("head_gap")(h)
    twin = keras.Model(inp, nested.get_layer("head_dense")(h))
    x, base = uniform((2, 16, 16, 3), 4), uniform((2, 16, 16, 3), 5)
    np.testing.assert_allclose(
        methods.deep_lift(nested, x, 1, base), methods.deep_lift(twin, x, 1, base), atol=1e-7
    )


def test_baseline_forms_agree():
    model = small_cnn("none")
    x = uniform((2, 16, 16, 3), 6)
    channel = np.array([0.2, 0.5, 0.7], "float32")
    full = np.broadcast_to(channel, x.shape).copy()
    np.testing.assert_array_equal(
        methods.deep_lift(model, x, 1, channel), methods.deep_lift(model, x, 1, full)
    )
    np.testing.assert_array_equal(
        methods.deep_lift(model, x, 1, 0.0), methods.deep_lift(model, x, 1, None)
    )


def test_deep_shap_is_the_mean_of_deep_lift_over_references():
    model = pooling_model()
    x, background = uniform((2, 12, 12, 3), 7), uniform((5, 12, 12, 3), 8)
    with untouched(model):
        got = methods.deep_shap(model, x, background, target=[3, 1], batch_size=3)
    want = np.mean(
        [methods.deep_lift(model, x, [3, 1], baseline=b[None]) for b in background], axis=0
    )
    # The pairs go through the same compiled walk in other batch compositions.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    logits = get_adapter(model).logits
    delta = logits(x)[[0, 1], [3, 1]] - logits(background)[:, [3, 1]].mean(axis=0)
    assert_sums_to_delta(got, delta, logits(x))


def test_deep_shap_explains_each_images_own_top_class():
    model = small_cnn("dense")
    x, background = uniform((3, 16, 16, 3), 9), uniform((2, 16, 16, 3), 10)
    top = get_adapter(model).logits(x).argmax(axis=1)
    np.testing.assert_array_equal(
        methods.deep_shap(model, x, background), methods.deep_shap(model, x, background, top)
    )


def test_deep_shap_reports_progress_and_stops():
    model = small_cnn("none")
    x, background = uniform((2, 16, 16, 3), 11), uniform((3, 16, 16, 3), 12)
    seen = []
    methods.deep_shap(model, x, background, batch_size=4, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(4, 6), (6, 6)]
    calls = []

    def stop(done, total):
        calls.append(done)
        return False

    with pytest.raises(methods.Stopped, match="after 4 of 6"):
        methods.deep_shap(model, x, background, batch_size=4, progress=stop)
    assert calls == [4]


def test_unsupported_layers_are_refused_by_name():
    # Products of tensors have a rule now (tests/test_deeplift_blocks.py); a division by a
    # tensor has none.
    inp = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(2, 3, padding="same")(inp)
    gate = keras.layers.Conv2D(2, 3, padding="same", activation="sigmoid")(inp)
    h = keras.ops.divide(h, gate)
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    with pytest.raises(ValueError, match=r"DeepLIFT.*\(Divide\).*several tensors"):
        methods.deep_lift(model, uniform((1, 8, 8, 2), 0))

    class Scaled(keras.layers.Dense):
        def call(self, inputs):
            return super().call(inputs) * 2.0

    inp = keras.Input((4, 4, 1))
    out = Scaled(3, name="scaled")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    with pytest.raises(ValueError, match="DeepLIFT.*'scaled'"):
        methods.deep_shap(model, uniform((1, 4, 4, 1), 0), uniform((2, 4, 4, 1), 1))


def test_no_retrace_for_new_images_targets_and_baselines():
    model = small_cnn("dense")
    adapter = get_adapter(model)
    x = uniform((3, 16, 16, 3), 13)
    methods.deep_lift(model, x, 0)
    methods.deep_shap(model, x, x[:2], 0)
    probe = adapter._probes[("deep_lift",)]
    traces = probe.experimental_get_tracing_count()
    methods.deep_lift(model, x[::-1].copy(), [4, 3, 2], baseline=0.5)
    methods.deep_lift(model, x, None, baseline=x[::-1])
    methods.deep_shap(model, x[::-1].copy(), x[1:], [1, 2, 3])
    assert probe.experimental_get_tracing_count() == traces
