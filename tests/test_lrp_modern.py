"""LRP through the blocks of modern networks, against hand-written float64 references.

Constant arithmetic (Keras operations such as ``x + 3.0``), activations of modern networks,
gating products (squeeze-and-excitation, signal-take-all), layer normalization (σ held
constant, then ε), layer scale, ``Dense`` on 4-D tensors and the augmentation layers that
are the identity at inference. The references re-derive each rule from its definition in
numpy; forward values of the hidden layers come from Keras sub-models.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
from calibrate import calibrated
from keras import layers, ops
from model_guard import untouched

from interpret_widgets.methods.lrp import lrp, lrp_report
from interpret_widgets.model import get_adapter, layer_kind, operation_kind, propagation_kind

EPS = 1e-6
# float32 engine vs float64 reference, relative to the largest |R| of the result: a few
# float32 roundings per layer over 3-4 layers.
RTOL = 1e-4


def stabilize(z: np.ndarray, s: float = EPS) -> np.ndarray:
    return z + s * np.where(z >= 0, 1.0, -1.0)


def eps_rule(x: np.ndarray, w: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """ε-rule of z = x w + b (rows are samples or positions)."""
    z = x @ w + b
    return x * ((r / stabilize(z)) @ w.T)


def top_relevance(model: keras.Model, x: np.ndarray, target: int) -> np.ndarray:
    logits = np.asarray(model(x), dtype=np.float64)
    r = np.zeros_like(logits)
    r[:, target] = logits[:, target]
    return r


def hidden(model: keras.Model, tensor, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.Model(model.inputs[0], tensor)(x), dtype=np.float64)


def weights(layer) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in layer.get_weights()]


def close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=RTOL * scale)


# -- kinds of Keras operations ---------------------------------------------------------------


def test_operations_are_classified_as_operations():
    inp = keras.Input((4,))
    out = ops.sqrt(ops.multiply(ops.add(inp, 3.0), 1 / 6))
    graph = get_adapter(keras.Model(inp, out)).graph
    classes = [type(s.operation).__name__ for s in graph.steps if s.operation is not None]
    kinds = [propagation_kind(s.operation) for s in graph.steps if s.operation is not None]
    assert classes == ["Add", "Multiply", "Sqrt"]
    assert kinds == ["add", "multiply", "op"]
    assert [layer_kind(s.operation) for s in graph.steps if s.operation] == kinds
    assert operation_kind(graph.steps[-1].operation) == "op"


def test_unknown_operation_error_names_it_and_says_what_to_do():
    inp = keras.Input((4,))
    out = layers.Dense(3)(ops.sqrt(ops.add(inp, 3.0)))
    model = keras.Model(inp, out)
    x = np.ones((1, 4), "float32")
    with pytest.raises(ValueError) as info:
        lrp(model, x)
    message = str(info.value)
    assert re.search(r"Keras operation 'sqrt(_\d+)?' \(Sqrt\)", message), message
    assert "overrides" not in message
    assert "gradient method" in message


# -- constant arithmetic and element-wise activations ----------------------------------------


def test_constant_arithmetic_and_activations_pass_relevance():
    keras.utils.set_random_seed(1)
    inp = keras.Input((6,))
    dense1 = layers.Dense(5)
    h = dense1(inp)
    h = ((h * 0.5 + 1.0) / 2.0) - 0.25
    h = layers.Activation("hard_silu")(h)
    h = ops.gelu(h)
    h = layers.Activation("silu")(h)
    h = layers.Activation("gelu")(h)
    h = ops.hard_sigmoid(h) * 3.0
    dense2 = layers.Dense(3)
    model = keras.Model(inp, dense2(h))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    with untouched(model):
        result = lrp(model, x, target=1)
    r_h = eps_rule(hidden(model, h, x), *weights(dense2), top_relevance(model, x, 1))
    expected = eps_rule(x.astype(np.float64), *weights(dense1), r_h)
    close(result, expected)


def test_constant_first_operand_of_division_is_refused():
    inp = keras.Input((4,))
    out = layers.Dense(2)(ops.divide(1.0, ops.add(inp, 3.0)))
    model = keras.Model(inp, out)
    with pytest.raises(ValueError, match="second operand"):
        lrp(model, np.ones((1, 4), "float32"))


# -- gating products ----------------------------------------------------------------------


def se_model(style: str, gate_first: bool = False) -> tuple[keras.Model, dict]:
    """Conv → squeeze-and-excitation → Dense; ``parts`` gives the layers for the reference."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((4, 4, 3))
    conv = layers.Conv2D(4, 1, activation="relu")
    c = conv(inp)
    g = layers.GlobalAveragePooling2D(keepdims=True)(c)
    g = layers.Dense(2, activation="relu")(g)
    if style == "sigmoid":
        g = layers.Dense(4, activation="sigmoid")(g)
    else:  # MobileNetV3: ReLU6(x + 3) / 6 written with operations
        g = layers.ReLU(6.0)(layers.Dense(4)(g) + 3.0) * (1.0 / 6.0)
    m = layers.Multiply()([g, c] if gate_first else [c, g])
    dense = layers.Dense(3)
    model = keras.Model(inp, dense(layers.Flatten()(m)))
    return model, {"conv": conv, "dense": dense, "m": m}


@pytest.mark.parametrize(("style", "gate_first"), [("sigmoid", False), ("hard", True)])
def test_signal_take_all_on_squeeze_excitation(style, gate_first):
    model, parts = se_model(style, gate_first)
    x = np.random.default_rng(3).uniform(0, 1, (2, 4, 4, 3)).astype("float32")
    with untouched(model):
        result = lrp(model, x, target=2)
    flat = hidden(model, parts["m"], x).reshape(2, -1)
    r_m = eps_rule(flat, *weights(parts["dense"]), top_relevance(model, x, 2))
    kernel, bias = weights(parts["conv"])
    r_c = r_m.reshape(2 * 16, 4)  # signal-take-all: the product's relevance, unchanged
    expected = eps_rule(x.reshape(-1, 3).astype(np.float64), kernel[0, 0], bias, r_c)
    close(result, expected.reshape(x.shape))


def test_signal_take_all_with_a_broadcast_signal_conserves():
    keras.utils.set_random_seed(4)
    inp = keras.Input((4, 4, 3))
    conv = layers.Conv2D(1, 1, use_bias=False)
    signal = conv(inp)  # (N, 4, 4, 1): broadcast over the gate's 4 channels
    gate = layers.Dense(4, activation="sigmoid")(layers.GlobalAveragePooling2D(keepdims=True)(inp))
    m = layers.Multiply()([signal, gate])
    dense = layers.Dense(3, use_bias=False)
    model = keras.Model(inp, dense(layers.Flatten()(m)))
    x = np.random.default_rng(5).uniform(0, 1, (2, 4, 4, 3)).astype("float32")
    result = lrp(model, x, target=0)
    r_m = eps_rule(
        hidden(model, m, x).reshape(2, -1), weights(dense)[0], 0.0, top_relevance(model, x, 0)
    )
    r_signal = r_m.reshape(2 * 16, 4).sum(axis=1, keepdims=True)  # Σ over the gated copies
    expected = eps_rule(x.reshape(-1, 3).astype(np.float64), weights(conv)[0][0, 0], 0.0, r_signal)
    close(result, expected.reshape(x.shape))
    # No bias anywhere: Σ R equals the score (float32 sums of 48 terms).
    scores = top_relevance(model, x, 0)[:, 0]
    np.testing.assert_allclose(result.sum(axis=(1, 2, 3)), scores, rtol=1e-4)


def test_ambiguous_products_are_refused_with_the_layer_named():
    inp = keras.Input((4, 4, 3))
    a = layers.Conv2D(2, 1)(inp)
    b = layers.Conv2D(2, 1)(inp)
    product = layers.Multiply(name="mixer")([a, b])
    model = keras.Model(inp, layers.Dense(2)(layers.Flatten()(product)))
    with pytest.raises(ValueError, match=r"'mixer' \(Multiply\).*neither of its inputs"):
        lrp(model, np.ones((1, 4, 4, 3), "float32"))
    sig = layers.Conv2D(2, 1, activation="sigmoid")
    both = layers.Multiply(name="both")([sig(inp), layers.Conv2D(2, 1, activation="sigmoid")(inp)])
    model = keras.Model(inp, layers.Dense(2)(layers.Flatten()(both)))
    with pytest.raises(ValueError, match=r"'both' \(Multiply\).*both of its inputs"):
        lrp(model, np.ones((1, 4, 4, 3), "float32"))


# -- layer normalization --------------------------------------------------------------------


def layernorm_reference(h: np.ndarray, ln, r: np.ndarray) -> np.ndarray:
    """ε-rule through y = W h + β, W = diag(γ/σ)(I − 11ᵀ/C) (or diag(γ/σ) with RMS scaling)."""
    gamma, *rest = weights(ln)
    beta = rest[0] if rest else np.zeros_like(gamma)
    out = []
    for row, rel in zip(h, r, strict=True):
        sigma = np.sqrt(row.var() + ln.epsilon)
        c = row.size
        center = np.eye(c) if ln.rms_scaling else np.eye(c) - 1.0 / c
        w = center * (gamma / sigma)[None, :]  # w[i, j] = ∂y_j/∂h_i
        out.append(eps_rule(row[None], w, beta, rel[None])[0])
    return np.array(out)


@pytest.mark.parametrize("rms", [False, True])
def test_layernorm_sigma_constant_then_epsilon(rms):
    keras.utils.set_random_seed(6)
    inp = keras.Input((6,))
    dense1, dense2 = layers.Dense(5), layers.Dense(3)
    h = dense1(inp)
    ln = layers.LayerNormalization(rms_scaling=rms, epsilon=1e-3)
    y = ln(h)
    model = keras.Model(inp, dense2(y))
    rng = np.random.default_rng(7)
    ln.set_weights([rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in ln.get_weights()])
    x = rng.normal(size=(3, 6)).astype("float32")
    with untouched(model):
        result = lrp(model, x, target=0)
    r_y = eps_rule(hidden(model, y, x), *weights(dense2), top_relevance(model, x, 0))
    r_h = layernorm_reference(hidden(model, h, x), ln, r_y)
    close(result, eps_rule(x.astype(np.float64), *weights(dense1), r_h))


def test_layernorm_conserves_on_channels_and_dense_on_4d_is_a_1x1_convolution():
    keras.utils.set_random_seed(8)

    def build(pointwise):
        inp = keras.Input((5, 5, 3))
        h = layers.Conv2D(6, 3, padding="same", name="conv")(inp)
        h = layers.LayerNormalization(epsilon=1e-6, name="ln")(h)
        h = pointwise(h)
        h = layers.GlobalAveragePooling2D()(layers.Activation("gelu")(h))
        return keras.Model(inp, layers.Dense(3, name="head")(h))

    dense_model = build(layers.Dense(4, name="pw"))
    conv_model = build(layers.Conv2D(4, 1, name="pw"))
    for name in ("conv", "ln", "head"):
        conv_model.get_layer(name).set_weights(dense_model.get_layer(name).get_weights())
    kernel, bias = dense_model.get_layer("pw").get_weights()
    conv_model.get_layer("pw").set_weights([kernel[None, None], bias])
    x = np.random.default_rng(9).normal(size=(2, 5, 5, 3)).astype("float32")
    report = lrp_report(dense_model, x, target=1)
    # β = 0 (its initializer): the LN map has no bias, so it conserves up to float32 sums.
    np.testing.assert_allclose(
        report.layer_sums["conv"], report.layer_sums["ln"], rtol=1e-4, atol=1e-6
    )
    for rule in ("epsilon", "epsilon_plus_flat"):
        close(lrp(dense_model, x, 1, rule=rule), lrp(conv_model, x, 1, rule=rule))


# -- layer scale, augmentation and other identity layers -----------------------------------


def test_layer_scale_passes_relevance():
    from keras.src.applications.convnext import LayerScale

    keras.utils.set_random_seed(10)
    inp = keras.Input((6,))
    dense1, dense2 = layers.Dense(5), layers.Dense(3)
    h = LayerScale(0.3, 5)(dense1(inp))
    model = keras.Model(inp, dense2(h))
    x = np.random.default_rng(11).normal(size=(2, 6)).astype("float32")
    r_h = eps_rule(hidden(model, h, x), *weights(dense2), top_relevance(model, x, 2))
    close(lrp(model, x, target=2), eps_rule(x.astype(np.float64), *weights(dense1), r_h))


IDENTITY_AT_INFERENCE = (
    lambda: layers.RandomFlip(),
    lambda: layers.RandomRotation(0.2),
    lambda: layers.RandomZoom(0.2),
    lambda: layers.RandomContrast(0.3),
    lambda: layers.RandomTranslation(0.2, 0.2),
    lambda: layers.RandomBrightness(0.3, value_range=(0, 255)),
    lambda: layers.GaussianNoise(0.5),
    lambda: layers.GaussianDropout(0.3),
    lambda: layers.SpatialDropout2D(0.3),
    lambda: layers.ActivityRegularization(0.1),
    lambda: layers.Dropout(0.5),
)


def test_augmentation_layers_are_the_identity_at_inference():
    keras.utils.set_random_seed(12)
    body = [
        layers.Rescaling(1 / 255),
        layers.Conv2D(4, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(3),
    ]
    plain = keras.Sequential([keras.Input((12, 12, 3)), *body])
    augmented = keras.Sequential(
        [keras.Input((12, 12, 3)), *(make() for make in IDENTITY_AT_INFERENCE), *body]
    )
    x = np.random.default_rng(13).uniform(0, 255, (2, 12, 12, 3)).astype("float32")
    # The adapter runs the layers at inference, as predict does (their call defaults to
    # training=True, which would flip, rotate and add noise).
    np.testing.assert_array_equal(get_adapter(augmented).logits(x), plain.predict(x, verbose=0))
    with untouched(augmented):
        for rule in ("epsilon", "zplus", "epsilon_plus_flat"):
            np.testing.assert_array_equal(
                lrp(augmented, x, 0, rule=rule), lrp(plain, x, 0, rule=rule)
            )


# -- separable convolution + batch normalization (Xception) ----------------------------------


def test_separable_conv_with_batchnorm_equals_hand_folded_twin():
    """Xception's SeparableConv2D → BN: the forward pass runs BN once (scores = predict) and
    relevance equals that of a twin with BN folded into the pointwise kernel by hand."""
    rng = np.random.default_rng(14)

    def build(with_bn):
        keras.utils.set_random_seed(15)
        inp = keras.Input((8, 8, 3))
        h = layers.SeparableConv2D(4, 3, use_bias=not with_bn, name="sep")(inp)
        if with_bn:
            h = layers.BatchNormalization(name="bn")(h)
        h = layers.ReLU()(h)
        return keras.Model(inp, layers.Dense(3, name="head")(layers.Flatten()(h)))

    model, twin = build(True), build(False)
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    model.get_layer("bn").set_weights([gamma, beta, mean, var])
    depthwise, pointwise = model.get_layer("sep").get_weights()
    scale = gamma / np.sqrt(var + model.get_layer("bn").epsilon)
    twin.get_layer("sep").set_weights([depthwise, pointwise * scale, beta - mean * scale])
    twin.get_layer("head").set_weights(model.get_layer("head").get_weights())
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    report = lrp_report(model, x, target=0)
    np.testing.assert_allclose(report.scores, model.predict(x, verbose=0)[:, 0], rtol=1e-5)
    for rule in ("epsilon", "zplus", "epsilon_alpha2_beta1"):
        close(lrp(model, x, 0, rule=rule), lrp(twin, x, 0, rule=rule))


# -- modern keras.applications (slow) ----------------------------------------------------------

ARCHITECTURES = ("MobileNetV3Small", "EfficientNetB0", "EfficientNetV2B0", "ConvNeXtTiny")
ALL_RULES = (
    "epsilon",
    "zplus",
    "alpha_beta",
    "flat",
    "gamma",
    "zbox",
    "epsilon_plus",
    "epsilon_plus_flat",
    "epsilon_gamma_box",
    "epsilon_alpha2_beta1",
)


def _tutorial_cnn(size: int = 96) -> keras.Model:
    """The Keras image-classification tutorial model (augmentation and rescaling inside)."""
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(5),
        ]
    )


@pytest.fixture(scope="module", params=(*ARCHITECTURES, "tutorial"))
def modern(request):
    """(name, calibrated copy, images): the copy stands for a user's model in the tests."""
    keras.utils.set_random_seed(0)
    if request.param == "tutorial":
        model = _tutorial_cnn()
    else:
        build = getattr(keras.applications, request.param)
        model = build(weights=None, input_shape=(96, 96, 3))
    x = np.random.default_rng(0).uniform(0, 255, (2, 96, 96, 3)).astype("float32")
    with untouched(model):
        copy = calibrated(model, x)
    return request.param, copy, x


@pytest.fixture
def eager():
    """Run the compiled LRP walk eagerly: tracing a 300-layer walk once per rule (10 rules)
    would take minutes; the walk's code is the same (the ε test below runs it compiled)."""
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.mark.slow
def test_modern_architectures_run_every_rule(modern, eager):
    name, model, x = modern
    with untouched(model):
        for rule in ALL_RULES:
            relevance = lrp(model, x, rule=rule)
            assert relevance.shape == x.shape, (name, rule)
            assert np.all(np.isfinite(relevance)), (name, rule)
            assert relevance.std() > 0, (name, rule)


@pytest.mark.slow
def test_modern_architectures_conserve_with_epsilon(modern):
    name, model, x = modern
    with untouched(model):
        report = lrp_report(model, x, rule="epsilon", epsilon=1e-9)
    # A meaningful relative check needs a score well above float32 noise.
    assert np.all(np.abs(report.scores) > 1e-3), (name, report.scores)
    # Bias-free after calibration (initial biases are 0): Σ R = score up to the float32 sums
    # of ~10⁵ terms per layer over tens of layers.
    np.testing.assert_allclose(report.input_sum, report.scores, rtol=2e-3, err_msg=name)
