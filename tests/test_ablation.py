"""Channel ablation and channel importance against hand-built references."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.model import get_adapter

#: float32 runs of the same layers in two compiled graphs: a few ulps of the logits.
TOL = {"rtol": 1e-5, "atol": 1e-6}


def sequential_cnn(seed: int = 0) -> keras.Sequential:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(6, 3, padding="same", name="c1"),
            keras.layers.ReLU(name="r1"),
            keras.layers.MaxPooling2D(name="p1"),
            keras.layers.Conv2D(5, 3, activation="relu", name="c2"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(7, activation="relu", name="hidden"),
            keras.layers.Dense(4, activation="softmax", name="out"),
        ],
        name="seq",
    )


def by_hand(model: keras.Sequential, x: np.ndarray, layer: str, channels, value=0.0):
    """Run the layers one by one; set the channels of ``layer``'s output to ``value``."""
    h = x
    for lay in model.layers:
        if lay is model.layers[-1]:  # the softmax head: its pre-softmax logits
            return h @ lay.kernel.numpy() + lay.bias.numpy()
        h = np.asarray(lay(h))
        if lay.name == layer:
            h = h.copy()
            h[..., channels] = value
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def x12():
    return np.random.default_rng(5).uniform(0, 1, (4, 12, 12, 3)).astype("float32")


@pytest.mark.parametrize(
    "layer, channels, value",
    [("c1", [0, 3], 0.0), ("r1", [5], 0.7), ("c2", [1, 2, 4], 0.0), ("hidden", [0, 6], -1.0)],
)
def test_ablate_matches_layers_run_by_hand(layer, channels, value, x12):
    model = sequential_cnn()
    expected = by_hand(model, x12, layer, channels, value)
    with untouched(model):
        got = methods.ablate(model, x12, layer, channels, value=value)
    assert got.dtype == np.float32 and got.shape == (4, 4)
    np.testing.assert_allclose(got, expected, **TOL)
    assert not np.allclose(got, by_hand(model, x12, layer, []), atol=1e-6)


def test_ablate_nothing_reproduces_the_logits(x12, images16):
    for model, x, layer in [(sequential_cnn(), x12, "c2"), (nested_model(), images16, "inner_add")]:
        with untouched(model):
            got = methods.ablate(model, x, layer, [])
        np.testing.assert_allclose(got, get_adapter(model).logits(x), **TOL)


def residual_by_hand(model: keras.Model, x: np.ndarray, layer: str, channels) -> np.ndarray:
    """The nested fixture's backbone (conv1 → conv2 + skip → relu) written out by hand."""
    backbone = model.layers[0]
    conv1, conv2 = backbone.get_layer("inner_conv1"), backbone.get_layer("inner_conv2")
    h1 = np.array(conv1(x))
    if layer == "inner_conv1":
        h1[..., channels] = 0.0
    h2 = np.array(conv2(h1))
    if layer == "inner_conv2":
        h2[..., channels] = 0.0
    out = np.maximum(h2 + h1, 0.0)
    dense = model.get_layer("head_dense")
    return out.mean(axis=(1, 2)) @ dense.kernel.numpy() + dense.bias.numpy()


@pytest.mark.parametrize("layer", ["inner_conv1", "inner_conv2"])
def test_ablate_inside_a_nested_residual_model(layer, images16):
    """Ablating the tensor that feeds both branches changes the skip path too."""
    model = nested_model()
    expected = residual_by_hand(model, images16, layer, [1, 4])
    with untouched(model):
        got = methods.ablate(model, images16, layer, [1, 4])
    np.testing.assert_allclose(got, expected, **TOL)


def test_toggling_channels_does_not_retrace(x12):
    model = sequential_cnn(1)
    adapter = get_adapter(model)
    methods.ablate(model, x12, "c2", [0])
    probes = {k: p for k, p in adapter._probes.items() if k[0].startswith("ablation")}
    assert {k[0] for k in probes} == {"ablation_prefix", "ablation_suffix"}
    traces = {k: p.experimental_get_tracing_count() for k, p in probes.items()}
    for channels in ([], [1, 2], [4], [0, 1, 2, 3, 4]):
        methods.ablate(model, x12, "c2", channels, value=0.5)
    methods.ablate(model, x12[::-1].copy(), "c2", 3)
    assert {k: p.experimental_get_tracing_count() for k, p in probes.items()} == traces


def test_importance_by_ablation_is_one_ablate_per_channel(x12):
    """Every (image, channel) row of the batched masks equals a separate ablate call;
    batch_size 7 makes chunks that cut across images."""
    model = sequential_cnn(2)
    logits = get_adapter(model).logits(x12)
    top = logits.argmax(axis=1)
    with untouched(model):
        got = methods.channel_importance(model, x12, "c1", method="ablation", batch_size=7)
    expected = np.stack(
        [logits[np.arange(4), top] - methods.ablate(model, x12, "c1", j)[np.arange(4), top]
         for j in range(6)],
        axis=1,
    )
    assert got.shape == (4, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    fixed = methods.channel_importance(model, x12, "c1", target=2, batch_size=64)
    single = logits[:, 2] - methods.ablate(model, x12, "c1", 5)[:, 2]
    np.testing.assert_allclose(fixed[:, 5], single, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ["ablation", "gradient", "relevance"])
def test_importance_before_a_linear_head_is_mean_activation_times_weight(method, images16):
    """conv_b (ReLU inside) → GAP → Dense: the score is linear in conv_b's output, so
    ablating channel j (value 0) drops it by exactly mean(A_j)·W[j, t]; gradient ×
    activation is the same number, and so is the ε-rule relevance of the Dense layer
    (R_j = a_j w_jt · z/(z + ε), ε = 1e-6) that GAP shares over the positions."""
    model = small_cnn("dense")
    dense = model.get_layer("logits")
    features = np.asarray(
        keras.Model(model.inputs, model.get_layer("conv_b").output)(images16), np.float64
    ).mean(axis=(1, 2))
    target = [0, 3, 1]
    expected = features * dense.kernel.numpy().T[target]
    with untouched(model):
        got = methods.channel_importance(model, images16, "conv_b", target, method)
    assert got.shape == (3, 12)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_layer_relevance_sums_to_the_reported_layer_sums(images16):
    """The relevance at a layer is the one the full walk passes through it."""
    model = nested_model()
    report = methods.lrp_report(model, images16, rule="epsilon_plus")
    for layer in ("inner_conv1", "inner_conv2", "inner_add", "head_gap"):
        with untouched(model):
            relevance = methods.layer_relevance(model, images16, layer)
        assert relevance.shape[0] == 3 and relevance.dtype == np.float32
        total = relevance.reshape(3, -1).sum(axis=1)
        np.testing.assert_allclose(total, report.layer_sums[layer], rtol=1e-5, atol=1e-7)


def test_importance_progress_and_stop(x12):
    model = sequential_cnn(3)
    seen = []
    methods.channel_importance(
        model, x12[:2], "c2", batch_size=4, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]
    with pytest.raises(methods.Stopped, match="after 4 of 10"):
        methods.channel_importance(
            model, x12[:2], "c2", batch_size=4, progress=lambda d, t: d < 4
        )
