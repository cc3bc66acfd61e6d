"""LRP rules against an independent float64 reference in matrix form.

Each layer under test is recovered as a dense matrix by applying it to unit basis images
(its own Keras call, not the engine's code); the reference then applies the rule's
definition (CONTRACT.md, zennit's formulas) to the contribution matrix x_i·w_ij. Every
output neuron is checked, one per sample of a batch: the target j of sample j.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from interpret_widgets.methods.lrp import (
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    ZBox,
    ZPlus,
    lrp,
    lrp_report,
)

# float32 engine vs float64 reference: relative to the largest |R| of the batch.
RTOL = 2e-5


def stabilize(z: np.ndarray, s: float) -> np.ndarray:
    return z + s * np.where(z >= 0, 1.0, -1.0)


def reference(rule: object, x: np.ndarray, M: np.ndarray, b: np.ndarray, A: np.ndarray):
    """R_in for R_out = I (row j: relevance from output j alone), shape (out, in).

    ``x`` (in,), ``M`` (in, out) the layer's matrix, ``b`` (out,), ``A`` (in, out) the
    connectivity (1 where input i is in output j's receptive field).
    """
    C = x[:, None] * M
    if isinstance(rule, Epsilon):
        z = C.sum(0) + b
        return (C / stabilize(z, rule.epsilon)).T
    if isinstance(rule, AlphaBeta):  # ZPlus included (alpha=1, beta=0)
        Cp, Cn = np.maximum(C, 0), np.minimum(C, 0)
        pos = Cp / stabilize(Cp.sum(0), 1e-6)
        neg = Cn / stabilize(Cn.sum(0), 1e-6)
        return (rule.alpha * pos - rule.beta * neg).T
    if isinstance(rule, Flat):
        return (A / stabilize(A.sum(0), 1e-6)).T
    if isinstance(rule, Gamma):
        g = rule.gamma
        z = C.sum(0) + b
        up = C + g * np.maximum(C, 0)
        down = C + g * np.minimum(C, 0)
        z_up = up.sum(0) + b + g * np.maximum(b, 0)
        z_down = down.sum(0) + b + g * np.minimum(b, 0)
        R = (z > 0) * up / stabilize(z_up, 1e-6) + (z < 0) * down / stabilize(z_down, 1e-6)
        return R.T
    if isinstance(rule, ZBox):
        low, high = rule.low, rule.high
        low = x.min() if low is None else low
        high = x.max() if high is None else high
        C = C - low * np.maximum(M, 0) - high * np.minimum(M, 0)
        return (C / stabilize(C.sum(0), 1e-6)).T
    raise AssertionError(rule)


def layer_matrix(layer: keras.layers.Layer, in_shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(M, b) with layer(x).ravel() == x.ravel() @ M + b, from the layer's own calls."""
    n = int(np.prod(in_shape))
    basis = np.eye(n, dtype=np.float32).reshape((n, *in_shape))
    zero = np.asarray(layer(np.zeros((1, *in_shape), np.float32)), np.float64).reshape(1, -1)
    out = np.asarray(layer(basis), np.float64).reshape(n, -1)
    return out - zero, zero[0]


def connectivity(config: dict, in_shape: tuple) -> np.ndarray:
    """Receptive-field mask: the same layer configuration with all-ones weights."""
    cfg = {**config, "use_bias": False, "name": None}
    twin = type_of(cfg).from_config(cfg)
    twin.build((None, *in_shape))
    twin.set_weights([np.ones_like(w) for w in twin.get_weights()])
    M, _ = layer_matrix(twin, in_shape)
    return (M != 0).astype(np.float64)


def type_of(cfg: dict) -> type:
    return keras.layers.Conv2D if "filters" in cfg else keras.layers.Dense


def single_layer_model(layer: keras.layers.Layer, in_shape: tuple, relu_first: bool):
    inp = keras.Input(in_shape)
    h = keras.layers.ReLU()(inp) if relu_first else inp
    h = layer(h)
    if len(in_shape) > 1:
        h = keras.layers.Flatten()(h)
    return keras.Model(inp, h)


LAYERS = {
    "dense": (lambda bias: keras.layers.Dense(5, use_bias=bias), (7,)),
    "conv_valid": (lambda bias: keras.layers.Conv2D(3, 3, use_bias=bias), (5, 5, 2)),
    "conv_same_s2": (
        lambda bias: keras.layers.Conv2D(3, 3, strides=2, padding="same", use_bias=bias),
        (6, 6, 2),
    ),
}
RULES = {
    "epsilon": Epsilon(1e-3),
    "zplus": ZPlus(),
    "alpha2_beta1": AlphaBeta(2.0, 1.0),
    "flat": Flat(),
    "gamma": Gamma(0.25),
    "zbox": ZBox(-1.5, 2.0),
    "zbox_default": ZBox(),
}


def _randomize(layer: keras.layers.Layer, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("relu_first", [False, True], ids=["signed", "relu_input"])
@pytest.mark.parametrize("layer_name", list(LAYERS))
@pytest.mark.parametrize("rule_name", list(RULES))
def test_rule_matches_matrix_reference(rule_name, layer_name, relu_first, bias):
    rule = RULES[rule_name]
    make, in_shape = LAYERS[layer_name]
    layer = make(bias)
    model = single_layer_model(layer, in_shape, relu_first)
    _randomize(layer, seed=3)
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, in_shape).astype("float32")
    M, b = layer_matrix(layer, in_shape)
    A = connectivity(layer.get_config(), in_shape) if len(in_shape) > 1 else np.ones_like(M)
    n_out = M.shape[1]
    x_in = np.maximum(x, 0) if relu_first else x
    expected = reference(rule, x_in.astype(np.float64).ravel(), M, b, A)
    # R_out = e_j · z_j for sample j (the score of target j is z_j).
    z = x_in.astype(np.float64).ravel() @ M + b
    expected = expected * z[:, None]
    batch = np.repeat(x[None], n_out, axis=0)
    got = lrp(model, batch, target=np.arange(n_out), rule=rule).reshape(n_out, -1)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(
        got, expected, rtol=0, atol=RTOL * scale, err_msg=f"{rule_name} on {layer_name}"
    )


def test_flat_gives_padding_nothing_and_shares_equally():
    """Flat on a 'same' conv: border outputs share among fewer inputs (tolerance 1e-6)."""
    layer = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)
    model = single_layer_model(layer, (4, 4, 1), relu_first=False)
    _randomize(layer, seed=0)
    x = np.ones((1, 4, 4, 1), np.float32)
    corner = lrp(model, x, target=0, rule="flat")[0, :, :, 0]
    z = float(model(x)[0, 0])
    expected = np.zeros((4, 4))
    expected[:2, :2] = z / 4  # the corner output sees 4 real inputs, 5 padded ones
    np.testing.assert_allclose(corner, expected, atol=1e-6 * abs(z))


def test_depthwise_conv_matches_reference():
    """DepthwiseConv2D is one linear map; epsilon and z+ match the matrix reference."""
    layer = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    in_shape = (5, 5, 2)
    model = single_layer_model(layer, in_shape, relu_first=False)
    _randomize(layer, seed=5)
    x = np.random.default_rng(2).normal(0, 1, in_shape).astype("float32")
    M, b = layer_matrix(layer, in_shape)
    n_out = M.shape[1]
    z = x.astype(np.float64).ravel() @ M + b
    for rule in (Epsilon(1e-3), ZPlus(), AlphaBeta(2.0, 1.0)):
        expected = reference(rule, x.astype(np.float64).ravel(), M, b, None) * z[:, None]
        got = lrp(model, np.repeat(x[None], n_out, 0), np.arange(n_out), rule=rule)
        np.testing.assert_allclose(
            got.reshape(n_out, -1), expected, atol=RTOL * np.abs(expected).max()
        )


@pytest.mark.parametrize("rule", ["epsilon", "zplus", "alpha_beta", "flat", "gamma", "zbox"])
def test_separable_conv_equals_depthwise_then_pointwise(rule):
    """SeparableConv2D is propagated as its two stages (twin model, tolerance 1e-5)."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((8, 8, 3))
    sep = keras.layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2)
    model = keras.Model(inp, keras.layers.Flatten()(sep(inp)))
    _randomize(sep, seed=9)
    dw_kernel, pw_kernel, bias = sep.get_weights()
    inp2 = keras.Input((8, 8, 3))
    dw = keras.layers.DepthwiseConv2D(
        3, strides=2, padding="same", depth_multiplier=2, use_bias=False
    )
    pw = keras.layers.Conv2D(4, 1)
    twin = keras.Model(inp2, keras.layers.Flatten()(pw(dw(inp2))))
    dw.set_weights([dw_kernel])
    pw.set_weights([pw_kernel, bias])
    x = np.random.default_rng(1).normal(0, 1, (4, 8, 8, 3)).astype("float32")
    targets = [0, 5, 17, 40]
    got = lrp(model, x, targets, rule=rule, alpha=2.0, beta=1.0)
    want = lrp(twin, x, targets, rule=rule, alpha=2.0, beta=1.0)
    np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_alpha_beta_parameters_reach_the_rule():
    """alpha=2, beta=1 through **params equals the AlphaBeta(2, 1) value (exact)."""
    layer = keras.layers.Dense(3)
    model = single_layer_model(layer, (6,), relu_first=False)
    x = np.random.default_rng(0).normal(0, 1, (2, 6)).astype("float32")
    a = lrp(model, x, 1, rule="alpha_beta", alpha=2.0, beta=1.0)
    b = lrp(model, x, 1, rule=AlphaBeta(2.0, 1.0))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, lrp(model, x, 1, rule="alpha_beta"))


def test_zero_epsilon_is_lrp0_without_nan():
    """epsilon=0 (LRP-0) divides safely: an output with z = 0 passes nothing, no NaN."""
    inp = keras.Input((2,))
    layer = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inp, layer(inp))
    layer.set_weights([np.array([[1.0], [-1.0]], np.float32)])
    x = np.array([[0.5, 0.5], [2.0, 1.0]], np.float32)
    R = lrp(model, x, 0, rule="epsilon", epsilon=0.0)
    np.testing.assert_allclose(R, [[0.0, 0.0], [2.0, -1.0]], atol=1e-6)


def test_report_sums_are_consistent():
    """input_sum is the sum of the relevance; layer_sums start at the score (1e-6 rel)."""
    layer = keras.layers.Dense(4)
    model = single_layer_model(layer, (5,), relu_first=True)
    x = np.random.default_rng(3).normal(0, 1, (3, 5)).astype("float32")
    report = lrp_report(model, x, rule="epsilon")
    np.testing.assert_allclose(report.input_sum, report.relevance.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(report.layer_sums[layer.name], report.scores, rtol=1e-6)
    logits = np.asarray(model(x))
    np.testing.assert_array_equal(report.targets, logits.argmax(axis=1))
    np.testing.assert_allclose(report.scores, logits.max(axis=1), rtol=1e-6)


def _padding_twins(bias: bool) -> tuple[keras.Model, keras.Model]:
    """ZeroPadding2D(1) → Conv2D(valid), and Conv2D(same) with the same kernel, then a head."""
    rng = np.random.default_rng(7)

    def head(h):
        return keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.ReLU()(h)))

    inp = keras.Input((7, 7, 2))
    padded = keras.layers.Conv2D(4, 3, use_bias=bias, name="conv")
    model = keras.Model(inp, head(padded(keras.layers.ZeroPadding2D(1, name="pad")(inp))))
    inp2 = keras.Input((7, 7, 2))
    same = keras.layers.Conv2D(4, 3, padding="same", use_bias=bias, name="conv")
    twin = keras.Model(inp2, head(same(inp2)))
    padded.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in padded.get_weights()])
    same.set_weights(padded.get_weights())
    dense = [rng.normal(0, 0.3, w.shape).astype("float32") for w in model.layers[-1].get_weights()]
    model.layers[-1].set_weights(dense)
    twin.layers[-1].set_weights(dense)
    return model, twin


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize(
    "rule", ["flat", "zbox", ZBox(-1.0, 2.0), "epsilon_plus_flat", "epsilon_gamma_box"]
)
def test_explicit_zero_padding_gets_no_share(rule, bias):
    """ZeroPadding2D then a valid conv = the conv's own "same" padding under flat and zbox
    (1e-5 of max|R|); Σ R at the input = Σ R entering the padded conv (1e-5 rel)."""
    model, twin = _padding_twins(bias)
    # Inputs away from 0: a padded zero is then neither a bound nor a typical value.
    x = np.random.default_rng(3).uniform(0.2, 1.0, (3, 7, 7, 2)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0), atol=1e-5)
    got = lrp_report(model, x, [0, 1, 2], rule=rule)
    want = lrp_report(twin, x, [0, 1, 2], rule=rule)
    np.testing.assert_allclose(
        got.relevance, want.relevance, atol=1e-5 * np.abs(want.relevance).max()
    )
    np.testing.assert_allclose(got.input_sum, got.layer_sums["conv"], rtol=1e-5)
    np.testing.assert_allclose(got.layer_sums["pad"], got.layer_sums["conv"], rtol=1e-5)


def test_conv3d_matches_reference():
    """Conv3D (strided, same padding) is one linear map: ε, z⁺, αβ match the matrix form."""
    layer = keras.layers.Conv3D(2, 3, strides=2, padding="same")
    in_shape = (4, 4, 4, 2)
    model = single_layer_model(layer, in_shape, relu_first=False)
    _randomize(layer, seed=6)
    x = np.random.default_rng(4).normal(0, 1, in_shape).astype("float32")
    M, b = layer_matrix(layer, in_shape)
    n_out = M.shape[1]
    z = x.astype(np.float64).ravel() @ M + b
    for rule in (Epsilon(1e-3), ZPlus(), AlphaBeta(2.0, 1.0), Gamma(0.25)):
        expected = reference(rule, x.astype(np.float64).ravel(), M, b, None) * z[:, None]
        got = lrp(model, np.repeat(x[None], n_out, 0), np.arange(n_out), rule=rule)
        np.testing.assert_allclose(
            got.reshape(n_out, -1),
            expected,
            atol=RTOL * np.abs(expected).max(),
            err_msg=rule.describe(),
        )


def test_gamma_low_high_parameters_reach_the_rule():
    """gamma=, low=, high= through **params equal the Gamma / ZBox values (exact)."""
    layer = keras.layers.Conv2D(3, 3)
    model = single_layer_model(layer, (5, 5, 2), relu_first=False)
    _randomize(layer, seed=1)
    x = np.random.default_rng(0).normal(0, 1, (2, 5, 5, 2)).astype("float32")
    a = lrp(model, x, 4, rule="gamma", gamma=0.7)
    np.testing.assert_array_equal(a, lrp(model, x, 4, rule=Gamma(0.7)))
    assert not np.allclose(a, lrp(model, x, 4, rule="gamma"))
    a = lrp(model, x, 4, rule="zbox", low=-3.0, high=3.5)
    np.testing.assert_array_equal(a, lrp(model, x, 4, rule=ZBox(-3.0, 3.5)))
    assert not np.allclose(a, lrp(model, x, 4, rule="zbox"))
    low, high = np.array([-3.0, -4.0], np.float32), np.array([3.0, 5.0], np.float32)
    a = lrp(model, x, 4, rule="zbox", low=low, high=high)  # per channel
    np.testing.assert_array_equal(a, lrp(model, x, 4, rule=ZBox(low, high)))


@pytest.mark.parametrize(
    "params, pattern",
    [
        ({"rule": "gamma", "gamma": -0.1}, "gamma must be a finite number >= 0"),
        ({"rule": "gamma", "gamma": float("inf")}, "gamma must be a finite number"),
        ({"rule": "zbox", "low": 1.0, "high": 0.0}, "low must not exceed high"),
        ({"rule": "zbox", "low": float("nan")}, "low and high must be finite"),
        ({"rule": "zbox", "low": [0.0, 0.0], "high": [1.0, 1.0, 1.0]}, "broadcast"),
        ({"rule": "epsilon_gamma_box", "gamma": -1.0}, "gamma must be"),
        ({"rule": "epsilon", "epsilon": -1e-3}, "epsilon must be"),
    ],
)
def test_invalid_rule_parameters_raise(params, pattern):
    layer = keras.layers.Dense(3)
    model = single_layer_model(layer, (6,), relu_first=False)
    with pytest.raises(ValueError, match=pattern):
        lrp(model, np.zeros((1, 6), np.float32), **params)
