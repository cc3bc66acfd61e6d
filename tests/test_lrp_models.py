"""LRP on whole models: a numpy reference network, conservation, batch-norm folding,
residual merges, nested models, keras.applications, errors, and localization on the demo."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from model_guard import untouched
from test_lrp_rules import layer_matrix, reference

from interpret_widgets.methods.lrp import (
    COMPOSITES,
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    ZBox,
    ZPlus,
    lrp,
    lrp_report,
)
from interpret_widgets.methods.lrp.rules import PARAMS
from interpret_widgets.model import get_adapter
from interpret_widgets.model.kinds import layer_kind, propagation_kind

ALL_NAMES = list(COMPOSITES)
PLAIN = ["epsilon", "zplus", "alpha_beta", "flat", "gamma", "zbox"]


def _randomize(model: keras.Model, seed: int, scale: float = 0.5) -> None:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.get_weights() and not isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [rng.normal(0, scale, w.shape).astype("float32") for w in layer.get_weights()]
            )


# -- a whole network against numpy ------------------------------------------------------


def test_conv_maxpool_dense_matches_numpy_network():
    """conv(relu) → maxpool → flatten → dense, every rule in float64 (tolerance 2e-5 max|R|)."""
    inp = keras.Input((6, 6, 2))
    conv = keras.layers.Conv2D(3, 3, padding="same", activation="relu")
    dense = keras.layers.Dense(4)
    model = keras.Model(inp, dense(keras.layers.Flatten()(keras.layers.MaxPooling2D(2)(conv(inp)))))
    _randomize(model, seed=2)
    # The layer applies ReLU inside: recover its linear part from a twin without it.
    lin = keras.layers.Conv2D(3, 3, padding="same")
    lin.build((None, 6, 6, 2))
    lin.set_weights(conv.get_weights())
    M1, b1 = layer_matrix(lin, (6, 6, 2))
    W2, b2 = (w.astype(np.float64) for w in dense.get_weights())
    x = np.random.default_rng(5).normal(0, 1, (4, 6, 6, 2)).astype("float32")
    targets = np.array([0, 1, 2, 3])
    for rule in (Epsilon(1e-3), ZPlus(), AlphaBeta(2.0, 1.0)):
        got = lrp(model, x, targets, rule=rule)
        for n, t in enumerate(targets):
            x0 = x[n].astype(np.float64).ravel()
            a1 = np.maximum(x0 @ M1 + b1, 0).reshape(6, 6, 3)
            windows = a1.reshape(3, 2, 3, 2, 3).transpose(0, 2, 4, 1, 3).reshape(3, 3, 3, 4)
            a2 = windows.max(-1)
            z = a2.ravel() @ W2 + b2
            R2 = reference(rule, a2.ravel(), W2, b2, None)[t] * z[t]
            win = windows.argmax(-1)  # winner of each window (no ties in random data)
            R1 = np.zeros((3, 3, 3, 4))
            np.put_along_axis(R1, win[..., None], R2.reshape(3, 3, 3)[..., None], -1)
            R1 = R1.reshape(3, 3, 3, 2, 2).transpose(0, 3, 1, 4, 2).reshape(-1)
            R0 = (R1 @ reference(rule, x0, M1, b1, None)).reshape(6, 6, 2)
            np.testing.assert_allclose(
                got[n], R0, atol=2e-5 * np.abs(R0).max(), err_msg=rule.describe()
            )


# -- conservation -----------------------------------------------------------------------


def _bias_free_cnn(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, activation="relu", use_bias=False, name="c1")(inp)
    h = keras.layers.MaxPooling2D(name="mp")(h)
    h = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="c2")(h)
    h = keras.layers.ReLU(name="r2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    out = keras.layers.Dense(5, use_bias=False, name="fc")(h)
    return keras.Model(inp, out)


@pytest.mark.parametrize(
    "rule, params, positive",
    [("epsilon", {"epsilon": 1e-9}, False), ("zplus", {}, True), ("alpha_beta", {}, True)],
)
def test_bias_free_relu_network_conserves(rule, params, positive):
    """Σ input relevance = target score within 1e-4 relative; every layer too."""
    model = _bias_free_cnn()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 12, 12, 3)) if positive else rng.normal(0, 1, (4, 12, 12, 3))
    report = lrp_report(model, x.astype("float32"), rule=rule, **params)
    np.testing.assert_allclose(report.input_sum, report.scores, rtol=1e-4)
    for name, total in report.layer_sums.items():
        np.testing.assert_allclose(total, report.scores, rtol=1e-4, err_msg=name)


# -- more layer types: conservation and twins ------------------------------------------------


def _layer_zoo(name: str) -> keras.Model:
    """Tiny bias-free models that pass through the layer types the issue lists."""
    keras.utils.set_random_seed(5)
    L = keras.layers
    if name == "conv1d_pool1d":
        inp = keras.Input((16, 3))
        h = L.Conv1D(4, 3, activation="relu", use_bias=False, name="c1")(inp)
        h = L.MaxPooling1D(2, name="mp")(h)
        h = L.Conv1D(5, 3, padding="same", use_bias=False, name="c2")(h)
        h = L.LeakyReLU(0.1, name="leaky")(h)
        h = L.AveragePooling1D(2, name="ap")(h)
        h = L.Flatten(name="flat")(h)
    elif name == "conv3d_globalmax":
        inp = keras.Input((5, 5, 5, 2))
        h = L.Conv3D(3, 3, use_bias=False, name="c1")(inp)
        h = L.ReLU(max_value=6.0, name="relu6")(h)
        h = L.Conv3D(4, 2, padding="same", use_bias=False, name="c2")(h)
        h = L.Activation("relu6", name="act_relu6")(h)
        h = L.GlobalMaxPooling3D(name="gmp")(h)
    elif name == "conv2d_routes":
        inp = keras.Input((10, 10, 3))
        h = L.Conv2D(4, 3, use_bias=False, name="c1")(inp)
        h = L.Activation("relu", name="act_relu")(h)
        h = L.AveragePooling2D(2, name="ap")(h)
        h = L.Cropping2D(1, name="crop")(h)
        h = L.Conv2D(6, 1, use_bias=False, name="c2")(h)
        h = L.Activation("tanh", name="act_tanh")(h)
        h = L.Dropout(0.5, name="drop")(h)
        h = L.GlobalMaxPooling2D(name="gmp")(h)
        h = L.Reshape((2, 3), name="reshape")(h)
        h = L.Flatten(name="flat")(h)
    elif name == "concat":
        inp = keras.Input((8, 8, 3))
        a = L.Conv2D(3, 3, padding="same", activation="relu", use_bias=False, name="ca")(inp)
        b = L.Conv2D(2, 1, activation="relu", use_bias=False, name="cb")(inp)
        h = L.Concatenate(name="cat")([a, b])
        h = L.Conv2D(4, 3, use_bias=False, name="c2")(h)
        h = L.GlobalAveragePooling2D(name="gap")(h)
    else:
        raise AssertionError(name)
    out = L.Dense(3, use_bias=False, name="fc")(h)
    return keras.Model(inp, out)


ZOO = ["conv1d_pool1d", "conv3d_globalmax", "conv2d_routes", "concat"]


@pytest.mark.parametrize("name", ZOO)
def test_layer_types_conserve_with_epsilon(name):
    """Bias-free nets with ε → 0: Σ R at the input and at every layer = score (1e-4 rel)."""
    model = _layer_zoo(name)
    shape = (3, *model.input_shape[1:])
    x = np.random.default_rng(1).normal(0, 1, shape).astype("float32")
    report = lrp_report(model, x, rule="epsilon", epsilon=1e-9)
    assert np.all(np.abs(report.scores) > 1e-3)  # a meaningful relative check
    np.testing.assert_allclose(report.input_sum, report.scores, rtol=1e-4)
    branches = {"ca", "cb"}  # the two inputs of the concatenation share the score
    for layer_name, total in report.layer_sums.items():
        if layer_name not in branches:
            np.testing.assert_allclose(total, report.scores, rtol=1e-4, err_msg=layer_name)
    if name == "concat":  # the merge splits relevance between its inputs, nothing lost
        sums = report.layer_sums
        np.testing.assert_allclose(sums["ca"] + sums["cb"], sums["cat"], rtol=1e-5)


def test_conv1d_pool1d_equal_their_2d_twins():
    """Conv1D, MaxPooling1D, AveragePooling1D give the relevance of their (1, k) 2-D twins
    under every rule (1e-5 of max|R|)."""
    L = keras.layers
    model = _layer_zoo("conv1d_pool1d")
    _randomize(model, seed=6)
    inp = keras.Input((1, 16, 3))
    c1 = L.Conv2D(4, (1, 3), activation="relu", use_bias=False)
    c2 = L.Conv2D(5, (1, 3), padding="same", use_bias=False)
    fc = L.Dense(3, use_bias=False)
    h = L.MaxPooling2D((1, 2))(c1(inp))
    h = L.AveragePooling2D((1, 2))(L.LeakyReLU(0.1)(c2(h)))
    twin = keras.Model(inp, fc(L.Flatten()(h)))
    for mine, theirs in ((c1, "c1"), (c2, "c2")):
        kernel = model.get_layer(theirs).get_weights()[0]
        mine.set_weights([kernel[None]])
    fc.set_weights(model.get_layer("fc").get_weights())
    x = np.random.default_rng(2).normal(0, 1, (3, 16, 3)).astype("float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), twin.predict(x[:, None], verbose=0), atol=1e-5
    )
    for rule in PLAIN:
        got = lrp(model, x, [0, 1, 2], rule=rule)
        want = lrp(twin, x[:, None], [0, 1, 2], rule=rule)[:, 0]
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max(), err_msg=rule)


# -- batch normalization ----------------------------------------------------------------


def _bn_pair(kind: str) -> tuple[keras.Model, keras.Model]:
    """A layer + BN model with non-trivial statistics, and its hand-folded twin."""
    rng = np.random.default_rng(3)
    shape = (6,) if kind == "dense" else (8, 8, 3)

    def linear(**kw):
        if kind == "dense":
            return keras.layers.Dense(5, **kw)
        if kind == "depthwise":
            return keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", **kw)
        return keras.layers.Conv2D(5, 3, padding="same", **kw)

    def head(h):
        h = keras.layers.ReLU()(h)
        if kind != "dense":
            h = keras.layers.GlobalAveragePooling2D()(h)
        return keras.layers.Dense(3)(h)

    inp = keras.Input(shape)
    lin = linear()
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inp, head(bn(lin(inp))))
    _randomize(model, seed=4)
    channels = bn.gamma.shape[0]
    gamma, beta = rng.uniform(0.5, 2, channels), rng.normal(0, 0.5, channels)
    mean, var = rng.normal(0, 0.5, channels), rng.uniform(0.3, 2, channels)
    bn.set_weights([w.astype("float32") for w in (gamma, beta, mean, var)])
    inp2 = keras.Input(shape)
    lin2 = linear()
    twin = keras.Model(inp2, head(lin2(inp2)))
    kernel, bias = lin.get_weights()
    a = gamma / np.sqrt(var + bn.epsilon)
    folded = kernel * (a.reshape(kernel.shape[-2:]) if kind == "depthwise" else a)
    lin2.set_weights([folded.astype("float32"), ((bias - mean) * a + beta).astype("float32")])
    twin.layers[-1].set_weights(model.layers[-1].get_weights())
    return model, twin


@pytest.mark.parametrize("kind", ["conv", "depthwise", "dense"])
def test_batchnorm_folding_equals_hand_folded_twin(kind):
    """Relevance with BN folded equals the pre-folded twin's (1e-5 of max|R|), model intact."""
    model, twin = _bn_pair(kind)
    shape = (4, *model.input_shape[1:])
    x = np.random.default_rng(1).normal(0, 1, shape).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), twin.predict(x, verbose=0), atol=1e-5)
    for rule in PLAIN:
        with untouched(model):
            got = lrp(model, x, 1, rule=rule)
        want = lrp(twin, x, 1, rule=rule)
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max(), err_msg=rule)


def test_standalone_batchnorm_is_a_diagonal_linear_layer():
    """A BN with no linear layer before it equals a 1×1 depthwise conv (a·x + c), 1e-5."""
    rng = np.random.default_rng(6)
    inp = keras.Input((6, 6, 3))
    bn = keras.layers.BatchNormalization()
    conv = keras.layers.Conv2D(4, 3, activation="relu")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(conv(bn(inp)))))
    _randomize(model, seed=1)
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(0, 0.5, 3)
    mean, var = rng.normal(0, 0.5, 3), rng.uniform(0.3, 2, 3)
    bn.set_weights([w.astype("float32") for w in (gamma, beta, mean, var)])
    a = gamma / np.sqrt(var + bn.epsilon)
    inp2 = keras.Input((6, 6, 3))
    diag = keras.layers.DepthwiseConv2D(1)
    conv2 = keras.layers.Conv2D(4, 3, activation="relu")
    dense2 = keras.layers.Dense(2)
    twin = keras.Model(inp2, dense2(keras.layers.Flatten()(conv2(diag(inp2)))))
    diag.set_weights([a.reshape(1, 1, 3, 1).astype("float32"), (beta - mean * a).astype("float32")])
    conv2.set_weights(conv.get_weights())
    dense2.set_weights(model.layers[-1].get_weights())
    x = rng.normal(0, 1, (3, 6, 6, 3)).astype("float32")
    for rule in PLAIN:
        got, want = lrp(model, x, 0, rule=rule), lrp(twin, x, 0, rule=rule)
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max(), err_msg=rule)


# -- residual merges and nested models -----------------------------------------------------


def test_add_conserves_across_the_merge():
    """Σ R entering Add = Σ R of its two branches (1e-5 rel); with ε the whole net conserves."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", use_bias=False, name="stem")(inp)
    a = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="branch_a")(h)
    b = keras.layers.Conv2D(4, 1, use_bias=False, name="branch_b")(h)
    s = keras.layers.Add(name="merge")([a, b])
    s = keras.layers.ReLU()(s)
    out = keras.layers.Dense(3, use_bias=False)(keras.layers.GlobalAveragePooling2D()(s))
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).uniform(0, 1, (3, 10, 10, 3)).astype("float32")
    for rule, params in [("epsilon", {"epsilon": 1e-9}), ("zplus", {}), ("epsilon_plus", {})]:
        r = lrp_report(model, x, rule=rule, **params)
        sums = r.layer_sums
        np.testing.assert_allclose(sums["branch_a"] + sums["branch_b"], sums["merge"], rtol=1e-5)
        if rule == "epsilon":  # z+ drops outputs whose contributions are all negative
            np.testing.assert_allclose(r.input_sum, r.scores, rtol=1e-4)


def test_add_shares_in_proportion_to_contributions():
    """Relevance entering each branch of Add is that branch's value at the target (1e-5)."""
    inp = keras.Input((4,))
    a = keras.layers.Dense(3, name="da")(inp)
    b = keras.layers.Dense(3, name="db")(inp)
    model = keras.Model(inp, keras.layers.Add()([a, b]))
    _randomize(model, seed=8)
    x = np.random.default_rng(2).normal(0, 1, (5, 4)).astype("float32")
    r = lrp_report(model, x, target=2)
    branch_a = x @ model.get_layer("da").get_weights()[0] + model.get_layer("da").get_weights()[1]
    np.testing.assert_allclose(r.layer_sums["da"], branch_a[:, 2], rtol=1e-5, atol=1e-6)


def _flat_twin_of_nested(nested: keras.Model) -> keras.Model:
    backbone = nested.layers[0]
    inp = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    skip = h
    h2 = keras.layers.Conv2D(6, 3, padding="same")(h)
    h = keras.layers.ReLU()(keras.layers.Add()([h2, skip]))
    out = keras.layers.Dense(4, activation="softmax")(keras.layers.GlobalAveragePooling2D()(h))
    twin = keras.Model(inp, out)
    convs = [layer for layer in twin.layers if isinstance(layer, keras.layers.Conv2D)]
    convs[0].set_weights(backbone.get_layer("inner_conv1").get_weights())
    convs[1].set_weights(backbone.get_layer("inner_conv2").get_weights())
    twin.layers[-1].set_weights(nested.get_layer("head_dense").get_weights())
    return twin


def test_nested_model_equals_its_flat_twin():
    """An application-in-Sequential model gives its flattened twin's relevance (1e-5)."""
    model = nested_model()
    twin = _flat_twin_of_nested(model)
    x = np.random.default_rng(3).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    for rule in ALL_NAMES:
        with untouched(model):
            got = lrp(model, x, rule=rule)
        want = lrp(twin, x, rule=rule)
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max(), err_msg=rule)


# -- keras.applications ---------------------------------------------------------------------


@pytest.fixture(scope="module", params=["VGG16", "ResNet50", "MobileNetV2"])
def application(request) -> keras.Model:
    keras.utils.set_random_seed(0)
    build = getattr(keras.applications, request.param)
    return build(weights=None, input_shape=(32, 32, 3), classes=10)


@pytest.mark.slow
def test_applications_run_every_composite(application):
    """Every rule and composite gives finite relevance; the model is left untouched."""
    x = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    with untouched(application):
        for rule in ALL_NAMES:
            report = lrp_report(application, x, rule=rule)
            assert report.relevance.shape == x.shape
            assert np.all(np.isfinite(report.relevance)), rule
            assert np.all(np.isfinite(report.input_sum)), rule


# -- the score head -----------------------------------------------------------------------


def test_output_relevance_is_the_logit_not_the_probability():
    """Dense-softmax model: Σ R = the pre-softmax logit (1e-4 rel), not the probability."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(5, 3, activation="relu", use_bias=False)(inp)
    feats = keras.layers.GlobalAveragePooling2D()(h)
    dense = keras.layers.Dense(4, activation="softmax", use_bias=False)
    model = keras.Model(inp, dense(feats))
    x = np.random.default_rng(4).uniform(0, 1, (3, 8, 8, 3)).astype("float32")
    report = lrp_report(model, x, target=[0, 1, 3], rule="epsilon", epsilon=1e-9)
    logits = keras.Model(inp, feats).predict(x, verbose=0) @ dense.get_weights()[0]
    expected = logits[np.arange(3), [0, 1, 3]]
    np.testing.assert_allclose(report.scores, expected, rtol=1e-5)
    np.testing.assert_allclose(report.input_sum, expected, rtol=1e-4)
    probabilities = model.predict(x, verbose=0)[np.arange(3), [0, 1, 3]]
    assert not np.allclose(report.input_sum, probabilities, rtol=1e-2)


@pytest.mark.parametrize("softmax", ["dense", "layer", "activation", "none"])
def test_every_softmax_form_gives_the_same_relevance(softmax):
    """The three softmax forms and plain logits explain the same score (1e-6 of max|R|)."""
    x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    want = lrp(small_cnn("none"), x, rule="epsilon_plus")
    got = lrp(small_cnn(softmax), x, rule="epsilon_plus")
    np.testing.assert_allclose(got, want, atol=1e-6 * np.abs(want).max())


# -- rules by mapping, caching ----------------------------------------------------------------


def test_user_mapping_by_kind_and_name():
    """{"conv": z+, "dense": ε} equals epsilon_plus; a name overrides its kind (exact)."""
    model = small_cnn("none")
    x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    by_kind = lrp(model, x, rule={"conv": ZPlus(), "dense": "epsilon"})
    np.testing.assert_array_equal(by_kind, lrp(model, x, rule="epsilon_plus"))
    by_name = lrp(model, x, rule={"conv": "zplus", "dense": "epsilon", "conv_a": Flat()})
    np.testing.assert_array_equal(by_name, lrp(model, x, rule="epsilon_plus_flat"))


def test_epsilon_gamma_box_assigns_zbox_gamma_epsilon():
    """zᴮ on the first layer, γ on the other convolutions, ε on dense layers (exact)."""
    composite = COMPOSITES["epsilon_gamma_box"]
    assert isinstance(composite.rule_for("conv", True, PARAMS), ZBox)
    assert isinstance(composite.rule_for("dense", True, PARAMS), ZBox)
    assert composite.rule_for("conv", False, PARAMS) == Gamma(PARAMS["gamma"])
    assert composite.rule_for("depthwise_conv", False, PARAMS) == Gamma(PARAMS["gamma"])
    assert composite.rule_for("dense", False, PARAMS) == Epsilon(PARAMS["epsilon"])
    model = small_cnn("none")  # conv_a (first, BN folded in), conv_b, logits (dense)
    x = np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    got = lrp(model, x, rule="epsilon_gamma_box")
    mapping = {"conv_a": ZBox(), "conv": Gamma(0.25), "dense": Epsilon(1e-6)}
    np.testing.assert_array_equal(got, lrp(model, x, rule=mapping))
    params = {"gamma": 0.6, "low": -0.5, "high": 1.5, "epsilon": 1e-3}
    got = lrp(model, x, rule="epsilon_gamma_box", **params)
    mapping = {"conv_a": ZBox(-0.5, 1.5), "conv": Gamma(0.6), "dense": Epsilon(1e-3)}
    np.testing.assert_array_equal(got, lrp(model, x, rule=mapping))
    # The assignment matters: a different one gives a different answer.
    assert not np.allclose(got, lrp(model, x, rule={"conv": Gamma(0.6), "dense": "epsilon"}))


def test_new_images_and_targets_do_not_retrace():
    """One trace serves other images and targets of the same batch size."""
    model = small_cnn("dense", seed=3)
    rng = np.random.default_rng(0)
    lrp(model, rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32"), rule="epsilon_plus")
    probes = [p for k, p in get_adapter(model)._probes.items() if k[0] == "lrp"]
    assert len(probes) == 1
    lrp(model, rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32"), 3, rule="epsilon_plus")
    lrp(model, rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32"), [1, 2], rule="epsilon_plus")
    assert probes[0].experimental_get_tracing_count() == 1


# -- errors -----------------------------------------------------------------------------------


def test_unsupported_layer_names_layer_and_class():
    inp = keras.Input((6,))
    a = keras.layers.Dense(4)(inp)
    b = keras.layers.Dense(4)(inp)
    out = keras.layers.Multiply(name="gate")([a, b])
    model = keras.Model(inp, keras.layers.Dense(2)(out))
    x = np.ones((1, 6), np.float32)
    with pytest.raises(ValueError, match=r"'gate' \(Multiply\)"):
        lrp(model, x)


@pytest.mark.parametrize("activation", ["softmax", "log_softmax", "sparsemax", "glu"])
@pytest.mark.parametrize("where", ["inside", "layer"])
def test_mixing_activation_in_a_hidden_layer_is_refused(activation, where):
    """A hidden activation that is not element-wise is an error naming the layer."""
    inp = keras.Input((6,))
    if where == "inside":
        hidden = keras.layers.Dense(4, activation=activation, name="mixer")(inp)
    else:
        hidden = keras.layers.Activation(activation, name="mixer")(keras.layers.Dense(4)(inp))
    model = keras.Model(inp, keras.layers.Dense(2)(hidden))
    with pytest.raises(ValueError, match=r"'mixer'.*" + activation):
        lrp(model, np.ones((1, 6), np.float32))


class _OwnCallDense(keras.layers.Dense):
    """A Dense whose forward is not the Keras Dense's."""

    def call(self, inputs):
        return super().call(inputs * inputs)


class _InheritedDense(keras.layers.Dense):
    """A Dense subclass that keeps Keras's forward."""

    def describe(self) -> str:
        return "mine"


class _CustomLayer(keras.layers.Layer):
    def call(self, inputs):
        return 2.0 * inputs


class Dense(keras.layers.Layer):
    """A namesake of the Keras class, not a subclass of it."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        return keras.ops.tile(inputs[:, :1], (1, self.units))


def test_dense_subclass_with_own_call_is_rejected():
    """A Keras Dense subclass overriding call raises naming the layer and class."""
    inp = keras.Input((6,))
    h = _OwnCallDense(4, name="mine")(keras.layers.Dense(5)(inp))
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    assert propagation_kind(model.get_layer("mine")) == "other"
    with pytest.raises(ValueError, match=r"'mine' \(_OwnCallDense\).*overrides"):
        lrp(model, np.ones((1, 6), np.float32))
    # A class that only shares the name of a Keras layer is no Dense either.
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(2)(Dense(3, name="namesake")(inp)))
    with pytest.raises(ValueError, match=r"'namesake' \(Dense\)"):
        lrp(model, np.ones((1, 6), np.float32))


def test_dense_subclass_without_own_call_is_a_dense():
    """A subclass that keeps Keras's call keeps its kind and its relevance (1e-6 of max|R|)."""
    layer = _InheritedDense(4, activation="relu")
    assert layer_kind(layer) == propagation_kind(layer) == "dense"
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(3)(layer(inp)))
    _randomize(model, seed=3)
    inp2 = keras.Input((6,))
    twin_layers = [keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)]
    twin = keras.Model(inp2, twin_layers[1](twin_layers[0](inp2)))
    for mine, theirs in zip(twin_layers, model.layers[1:], strict=True):
        mine.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).normal(0, 1, (3, 6)).astype("float32")
    for rule in PLAIN:
        want = lrp(twin, x, 1, rule=rule)
        np.testing.assert_allclose(
            lrp(model, x, 1, rule=rule), want, atol=1e-6 * np.abs(want).max(), err_msg=rule
        )


def _unsupported_model(which: str) -> tuple[keras.Model, np.ndarray]:
    L = keras.layers
    if which == "attention":
        inp = keras.Input((4, 6))
        h = L.MultiHeadAttention(2, 3, name="attn")(inp, inp)
        return keras.Model(inp, L.Dense(2)(L.Flatten()(h))), np.ones((1, 4, 6), np.float32)
    if which == "lstm":
        inp = keras.Input((5, 3))
        h = L.LSTM(4, name="rnn")(inp)
        return keras.Model(inp, L.Dense(2)(h)), np.ones((1, 5, 3), np.float32)
    inp = keras.Input((6,))
    h = L.Dense(4)(inp)
    if which == "lambda":
        h = L.Lambda(lambda t: 2.0 * t, name="lam")(h)
    else:
        h = _CustomLayer(name="custom")(h)
    return keras.Model(inp, L.Dense(2)(h)), np.ones((1, 6), np.float32)


@pytest.mark.parametrize(
    "which, pattern",
    [
        ("attention", r"'attn' \(MultiHeadAttention\)"),
        ("lstm", r"'rnn' \(LSTM\)"),
        ("lambda", r"'lam' \(Lambda\)"),
        ("custom", r"'custom' \(_CustomLayer\)"),
    ],
)
def test_layers_without_rule_raise_naming_layer_and_class(which, pattern):
    model, x = _unsupported_model(which)
    with pytest.raises(ValueError, match=pattern):
        lrp(model, x)


def test_keras_op_in_graph_is_rejected():
    """An operation with no rule (a cumulative sum mixes values) is named with its class;
    element-wise operations such as ``ops.tanh`` pass like activations (test_lrp_modern)."""
    inp = keras.Input((6,))
    h = keras.ops.cumsum(keras.layers.Dense(4)(inp), axis=-1)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    with pytest.raises(ValueError, match=r"Keras operation '\w+' \(Cumsum\)"):
        lrp(model, np.ones((1, 6), np.float32))


def test_bad_rule_name_lists_valid_names():
    model = small_cnn("none")
    with pytest.raises(ValueError, match="epsilon_plus_flat") as info:
        lrp(model, np.zeros((1, 16, 16, 3), np.float32), rule="epsilon_plsu")
    assert "epsilon_gamma_box" in str(info.value) and "zplus" in str(info.value)


def test_alpha_minus_beta_must_be_one():
    model = small_cnn("none")
    x = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="alpha - beta must equal 1"):
        lrp(model, x, rule="alpha_beta", alpha=2.0, beta=0.5)
    with pytest.raises(ValueError, match="alpha - beta"):
        AlphaBeta(1.0, 1.0)


def test_unknown_parameter_and_mapping_key():
    model = small_cnn("none")
    x = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(TypeError, match="valid are epsilon, alpha, beta, gamma, low, high"):
        lrp(model, x, rule="epsilon", gama=0.3)
    with pytest.raises(ValueError, match="'cnov_a'"):
        lrp(model, x, rule={"cnov_a": "flat"})


def test_single_image_without_batch_axis_is_an_error():
    with pytest.raises(ValueError, match="batch axis"):
        lrp(small_cnn("none"), np.zeros((16, 16, 3), np.float32))


# -- localization on the demo set ---------------------------------------------------------------


def test_epsilon_plus_flat_localizes_the_object():
    """Positive relevance concentrates on the object mask: ≥ 1.5× the mask's area share.

    Figures reached with the shipped demo model, 200 held-out images (seed 7): see the
    assertion message.
    """
    from interpret_widgets.demo import DEMO_MODEL_PATH, demo_images, load_demo_model

    if not DEMO_MODEL_PATH.is_file():
        pytest.skip("the demo model has not been trained yet")
    model = load_demo_model()
    images, labels, masks = demo_images(200, seed=7)
    relevance = np.concatenate(
        [
            lrp(model, images[i : i + 50], labels[i : i + 50], rule="epsilon_plus_flat")
            for i in range(0, 200, 50)
        ]
    )
    positive = np.maximum(relevance.sum(axis=-1), 0)
    masks = masks.reshape(positive.shape).astype(bool)
    inside = (positive * masks).sum(axis=(1, 2)) / np.maximum(positive.sum(axis=(1, 2)), 1e-12)
    area = masks.mean(axis=(1, 2))
    share, area_share = float(inside.mean()), float(area.mean())
    assert share >= 1.5 * area_share, f"relevance share {share:.3f} vs area {area_share:.3f}"
