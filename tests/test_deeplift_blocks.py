"""DeepLIFT and DeepSHAP through the blocks of modern networks, against independent math.

Squeeze-and-excitation gates, products of two ordinary branches (and MobileNetV3's
x·hard_sigmoid(x)), LayerNormalization in each Keras variant and ConvNeXt's layer scale:
summation to delta on every model, the product rule by hand in float64 on a two-input
model, the layer-norm multiplier against a float64 numpy path integral of finite-difference
Jacobians (in both of the rule's regimes), DeepSHAP's sums, and refusals by name.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from keras.src.applications.convnext import LayerScale
from model_guard import untouched
from summation import assert_sums_to_delta, uniform

from interpret_widgets import methods
from interpret_widgets.model import get_adapter

L = keras.layers


def _randomize(model: keras.Model, seed: int) -> keras.Model:
    """Non-trivial γ and β for every LayerNormalization and LayerScale (not 1 and 0)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, (L.LayerNormalization, LayerScale)):
            for w in layer.weights:
                mean = 1.0 if "gamma" in w.path else 0.0
                w.assign(rng.normal(mean, 0.5, w.shape).astype("float32"))
    return model


def se_model() -> keras.Model:
    """EfficientNet's squeeze-and-excitation: GAP → Dense relu → Dense sigmoid → × signal."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((8, 8, 3))
    h = L.Conv2D(6, 3, padding="same", activation="swish", name="stem")(inp)
    s = L.GlobalAveragePooling2D(name="squeeze")(h)
    s = L.Dense(3, activation="relu", name="reduce")(s)
    s = L.Dense(6, activation="sigmoid", name="expand")(s)
    s = L.Reshape((1, 1, 6))(s)
    h = L.Multiply(name="excite")([h, s])
    h = L.Conv2D(4, 1, name="project")(h)
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(inp, L.Dense(3, name="head")(h), name="se")


def branches_model() -> keras.Model:
    """A product of two ordinary convolution branches, then MobileNetV3's hard swish as a
    product x·hard_sigmoid(x) (both factors from one tensor)."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((8, 8, 3))
    a = L.Conv2D(5, 3, padding="same", activation="tanh", name="branch_a")(inp)
    b = L.Conv2D(5, 3, padding="same", name="branch_b")(inp)
    h = L.Multiply(name="product")([a, b])
    h = L.Conv2D(4, 3, name="mix")(h)
    h = L.Multiply(name="hard_swish")([h, L.Activation("hard_sigmoid")(h)])
    h = L.Flatten()(h)
    return keras.Model(inp, L.Dense(3, name="head")(h), name="branches")


def layernorm_model(**options) -> keras.Model:
    """A ConvNeXt-like block: conv → LayerNormalization(**options) → Dense (1×1) gelu."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 6, 3))
    h = L.Conv2D(8, 3, padding="same", name="conv")(inp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rms_scaling=True is deprecated in Keras 3
        h = L.LayerNormalization(name="norm", **options)(h)
    h = L.Dense(8, activation="gelu", name="pointwise")(h)
    h = L.GlobalAveragePooling2D()(h)
    return _randomize(keras.Model(inp, L.Dense(3, name="head")(h), name="layernorm"), 3)


def layer_scale_model() -> keras.Model:
    """ConvNeXt's residual with layer scale: x + LayerScale(Dense(LayerNorm(conv x)))."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((6, 6, 3))
    h = L.Conv2D(8, 3, padding="same", name="conv")(inp)
    r = L.LayerNormalization(epsilon=1e-6, name="norm")(h)
    r = L.Dense(8, activation="gelu", name="pointwise")(r)
    r = LayerScale(0.5, 8, name="layer_scale")(r)
    h = L.Add()([h, r])
    h = L.GlobalAveragePooling2D()(h)
    return _randomize(keras.Model(inp, L.Dense(3, name="head")(h), name="layer_scale"), 4)


MODELS = {
    "se": se_model,
    "branches": branches_model,
    "layernorm": layernorm_model,
    "layernorm_no_center": lambda: layernorm_model(center=False),
    "layernorm_no_scale": lambda: layernorm_model(scale=False),
    "layernorm_rms": lambda: layernorm_model(rms_scaling=True),
    "layernorm_two_axes": lambda: layernorm_model(axis=[-2, -1], epsilon=1e-6),
    "layer_scale": layer_scale_model,
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("baseline", ["zeros", "random"])
def test_summation_to_delta(name, baseline):
    model = MODELS[name]()
    x = uniform((3, *model.input_shape[1:]), 0)
    base = None if baseline == "zeros" else uniform(x.shape, 1)
    targets = [0, 1, 2]
    with untouched(model):
        got = methods.deep_lift(model, x, targets, baseline=base)
    logits = get_adapter(model).logits
    rows = np.arange(3)
    ref = logits(np.zeros_like(x) if base is None else base)[rows, targets]
    delta = logits(x)[rows, targets] - ref
    assert got.shape == x.shape and got.dtype == np.float32
    assert np.all(np.isfinite(got))
    assert np.all(np.abs(delta) > 1e-4), delta  # a real difference to explain
    assert_sums_to_delta(got, delta, logits(x))


@pytest.mark.parametrize("name", ["se", "branches", "layer_scale"])
def test_deep_shap_sums_to_the_expected_difference(name):
    model = MODELS[name]()
    shape = model.input_shape[1:]
    x, background = uniform((2, *shape), 2), uniform((4, *shape), 3)
    with untouched(model):
        got = methods.deep_shap(model, x, background, target=[2, 0], batch_size=3)
    logits = get_adapter(model).logits
    delta = logits(x)[[0, 1], [2, 0]] - logits(background)[:, [2, 0]].mean(axis=0)
    assert_sums_to_delta(got, delta, logits(x))


def two_input_product_model() -> keras.Model:
    """z = (W_s x) ⊙ sigmoid(W_g x), score = W_o z: the product rule on a tiny case."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((1, 1, 2))
    flat = L.Flatten()(inp)
    s = L.Dense(3, name="s")(flat)
    g = L.Dense(3, activation="sigmoid", name="g")(flat)
    z = L.Multiply(name="product")([s, g])
    return keras.Model(inp, L.Dense(2, name="out")(z))


def test_product_rule_matches_float64_hand_computation():
    model = two_input_product_model()
    x = np.array([[[[0.9, -0.4]]], [[[-0.3, 0.8]]]], "float32")
    base = np.array([[[[0.1, 0.2]]], [[[0.5, -0.6]]]], "float32")
    targets = [1, 0]
    with untouched(model):
        got = methods.deep_lift(model, x, targets, baseline=base)
    ws, bs = (v.numpy().astype(np.float64) for v in model.get_layer("s").weights)
    wg, bg = (v.numpy().astype(np.float64) for v in model.get_layer("g").weights)
    wo = model.get_layer("out").weights[0].numpy().astype(np.float64)
    xv, bv = x.reshape(2, 2).astype(np.float64), base.reshape(2, 2).astype(np.float64)
    s_x, s_b = xv @ ws + bs, bv @ ws + bs
    zg_x, zg_b = xv @ wg + bg, bv @ wg + bg
    g_x, g_b = 1 / (1 + np.exp(-zg_x)), 1 / (1 + np.exp(-zg_b))
    m_z = wo[:, targets].T  # (2, 3)
    m_s = m_z * (g_x + g_b) / 2  # Δz = ḡ Δs + s̄ Δg
    m_g = m_z * (s_x + s_b) / 2
    m_zg = m_g * (g_x - g_b) / (zg_x - zg_b)  # the sigmoid's secant
    want = ((m_s @ ws.T + m_zg @ wg.T) * (xv - bv)).reshape(x.shape)
    # float32 walk against float64: a few float32 roundings per value.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    # The gate is no constant here: signal-take-all (the gate held at x) would differ.
    take_all = ((m_z * g_x) @ ws.T * (xv - bv)).reshape(x.shape)
    assert not np.allclose(got, take_all, atol=1e-3)


def _numpy_layernorm(v, gamma, beta, epsilon, center, rms):
    mean = v.mean(axis=-1, keepdims=True)
    var = v.var(axis=-1, keepdims=True)
    y = (v if rms else v - mean) / np.sqrt(var + epsilon)
    return y * gamma + (beta if center and not rms else 0.0)


def _path_jacobian_reference(x, b, w, gamma, beta, epsilon, center, rms):
    """m = ∫₀¹ ∇(w·LN)(b + tΔx) dt in float64: central finite differences (step 1e-6) at
    the nodes of a 400-panel composite 4-point Gauss–Legendre rule, independent of the
    closed form and of the 12-point rule in the library."""
    nodes, weights = np.polynomial.legendre.leggauss(4)
    edges = np.linspace(0.0, 1.0, 401)
    t = ((edges[:-1, None] + edges[1:, None]) / 2 + np.diff(edges)[:, None] / 2 * nodes).ravel()
    wt = (np.diff(edges)[:, None] / 2 * weights).ravel()
    points = b[None] + t[:, None, None] * (x - b)[None]  # (T, N, C)
    step = 1e-6
    grad = np.zeros_like(points)
    for i in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[i] = step
        up = _numpy_layernorm(points + e, gamma, beta, epsilon, center, rms) @ w
        down = _numpy_layernorm(points - e, gamma, beta, epsilon, center, rms) @ w
        grad[..., i] = (up - down) / (2 * step)
    return np.tensordot(wt, grad, axes=1)


@pytest.mark.parametrize("regime", ["closed_form", "quadrature"])
@pytest.mark.parametrize(
    "options",
    [{}, {"center": False}, {"scale": False}, {"rms_scaling": True}],
    ids=["default", "no_center", "no_scale", "rms_scaling"],
)
def test_layernorm_multiplier_is_the_path_averaged_jacobian(options, regime):
    # LN(x) · w on (N, 1, 1, C) inputs: the attribution is Δx ⊙ J̄ᵀw exactly.
    keras.utils.set_random_seed(6)
    count, epsilon = 6, 1e-3
    inp = keras.Input((1, 1, count))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h = L.LayerNormalization(epsilon=epsilon, name="norm", **options)(inp)
    out = L.Dense(1, name="score")(L.Flatten()(h))
    model = _randomize(keras.Model(inp, out), 6)
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (4, 1, 1, count)).astype("float32")
    if regime == "closed_form":
        # A reference of (almost) constant values: σ_b² ≈ ε, and the path crosses the
        # normalization's sharp region, |Δu|²/C ≫ the vertex height of σ².
        base = np.full_like(x, 0.3) + rng.normal(0, 1e-3, x.shape).astype("float32")
    else:
        # A nearby reference: σ² hardly changes along the path.
        base = x + rng.normal(0, 0.05, x.shape).astype("float32")
    xv, bv = (v.reshape(4, count).astype(np.float64) for v in (x, base))
    du = (xv - bv) - (xv - bv).mean(axis=1, keepdims=True)
    ub = bv - bv.mean(axis=1, keepdims=True)
    a = (du**2).mean(axis=1)
    along = (ub * du).sum(axis=1) / (du**2).sum(axis=1)
    height = ((ub - along[:, None] * du) ** 2).mean(axis=1) + epsilon
    assert np.all(a > height) if regime == "closed_form" else np.all(a <= height)

    with untouched(model):
        got = methods.deep_lift(model, x, 0, baseline=base).reshape(4, count)
    norm = model.get_layer("norm")
    gamma = norm.gamma.numpy().astype(np.float64) if norm.scale else 1.0
    beta = norm.beta.numpy().astype(np.float64) if norm.beta is not None else 0.0
    w = model.get_layer("score").weights[0].numpy().astype(np.float64)[:, 0]
    center, rms = norm.center, bool(norm.rms_scaling)
    m = _path_jacobian_reference(xv, bv, w, gamma, beta, epsilon, center, rms)
    want = m * (xv - bv)
    scale = np.abs(want).max()
    # float32 inputs and walk against a float64 reference whose finite differences and
    # quadrature are good to ~1e-8: 1e-5 of the largest attribution.
    np.testing.assert_allclose(got, want, atol=1e-5 * scale)
    delta = _numpy_layernorm(xv, gamma, beta, epsilon, center, rms) @ w
    delta -= _numpy_layernorm(bv, gamma, beta, epsilon, center, rms) @ w
    np.testing.assert_allclose(want.sum(axis=1), delta, rtol=1e-6)  # the reference is exact


def test_zero_reference_after_an_unbiased_convolution_stays_bounded():
    # The reference's LN input is all zeros (σ_b = √ε): the path-averaged Jacobian stays of
    # the order of ln(σ/√ε)/σ, where chaining DeepLIFT's elementary rules (centering,
    # square, rsqrt, product) would give multipliers ~1/√ε with cancelling signs. Here
    # Σ|attribution| is 13-16× |Δscore|; the elementary chain gives 280-420× (measured
    # once with that rule swapped in). The bound 50× separates the two.
    model = layernorm_model(epsilon=1e-6)
    assert not np.any(model.get_layer("conv").bias.numpy())  # zeros: an unbiased convolution
    x = uniform((2, 6, 6, 3), 8)
    got = methods.deep_lift(model, x, [0, 1])
    logits = get_adapter(model).logits
    delta = logits(x)[[0, 1], [0, 1]] - logits(np.zeros_like(x))[[0, 1], [0, 1]]
    assert_sums_to_delta(got, delta, logits(x))
    ratio = np.abs(got).sum(axis=(1, 2, 3)) / np.abs(delta)
    assert np.all(ratio < 50), ratio


def test_a_product_of_three_tensors_is_refused_by_name():
    inp = keras.Input((4, 4, 2))
    a, b, c = (L.Conv2D(2, 1, name=f"c{i}")(inp) for i in range(3))
    h = L.Multiply(name="triple")([a, b, c])
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(h)))
    with pytest.raises(ValueError, match=r"DeepLIFT .*'triple' \(Multiply\).*3 tensors"):
        methods.deep_lift(model, uniform((1, 4, 4, 2), 0))
