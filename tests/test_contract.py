"""Every contract function: shapes, float32 numpy out, target forms, pre-softmax score,
and the model left untouched — on every model fixture."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.model import get_adapter

INPUT_SHAPED = {
    "saliency": lambda m, x, t: methods.saliency(m, x, t),
    "smoothgrad": lambda m, x, t: methods.smoothgrad(m, x, t, samples=3),
    "integrated_gradients": lambda m, x, t: methods.integrated_gradients(m, x, t, steps=8),
    "integrated_gradients_report": lambda m, x, t: methods.integrated_gradients_report(
        m, x, t, steps=8
    ).attribution,
    "deep_lift": lambda m, x, t: methods.deep_lift(m, x, t),
    "deep_shap": lambda m, x, t: methods.deep_shap(m, x, x[::-1] * 0.5, t),
    "guided_backprop": lambda m, x, t: methods.guided_backprop(m, x, t),
}
CAM = {
    "grad_cam": lambda m, x, t: methods.grad_cam(m, x, t),
    "grad_cam_plus_plus": lambda m, x, t: methods.grad_cam_plus_plus(m, x, t),
    "layer_cam": lambda m, x, t: methods.layer_cam(m, x, t),
}


@pytest.mark.parametrize("name", sorted(INPUT_SHAPED))
def test_input_shaped_methods(name, cnn, images16):
    with untouched(cnn):
        out = INPUT_SHAPED[name](cnn, images16, None)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == images16.shape
    assert np.all(np.isfinite(out)) and np.any(out != 0)


@pytest.mark.parametrize("name", sorted(CAM))
def test_cam_methods(name, cnn, images16):
    with untouched(cnn):
        out = CAM[name](cnn, images16, 1)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.shape == (3, 8, 8)  # conv_b at the layer's own resolution, not resized
    assert np.all(out >= 0)


@pytest.mark.parametrize("name", sorted({**INPUT_SHAPED, **CAM}))
def test_target_forms_agree(name, images16):
    model = small_cnn("dense")
    fn = {**INPUT_SHAPED, **CAM}[name]
    top = get_adapter(model).logits(images16).argmax(axis=1)
    implicit = fn(model, images16, None)
    per_sample = fn(model, images16, [int(t) for t in top])
    np.testing.assert_array_equal(implicit, per_sample)
    as_int = fn(model, images16, 3)
    as_list = fn(model, images16, [3, 3, 3])
    np.testing.assert_array_equal(as_int, as_list)


def test_activations_one_pass_all_layers(nested, images16):
    with untouched(nested):
        acts = methods.activations(nested, images16)
    assert {"inner_conv1", "inner_conv2", "inner_add", "head_gap", "head_dense"} <= set(acts)
    reference = nested(images16)
    np.testing.assert_allclose(acts["head_dense"], np.asarray(reference), rtol=1e-6)
    backbone = nested.layers[0]
    inner = keras.Model(backbone.inputs, backbone.get_layer("inner_conv1").output)
    np.testing.assert_allclose(acts["inner_conv1"], np.asarray(inner(images16)), rtol=1e-6)
    assert all(a.dtype == np.float32 for a in acts.values())


def test_activations_accepts_layer_objects_and_names(cnn, images16):
    layer = cnn.get_layer("conv_b")
    by_object = methods.activations(cnn, images16, [layer])
    by_name = methods.activations(cnn, images16, "conv_b")
    np.testing.assert_array_equal(by_object["conv_b"], by_name["conv_b"])


@pytest.mark.parametrize("placement", ["dense", "layer", "activation", "none"])
def test_score_is_pre_softmax_logit(placement, images16):
    """The explained score equals the logit computed by hand from the last layer's input."""
    model = small_cnn(placement)
    dense = model.get_layer("logits")
    features = np.asarray(keras.Model(model.inputs, dense.input)(images16), dtype=np.float64)
    logits_by_hand = features @ dense.kernel.numpy() + dense.bias.numpy()
    adapter = get_adapter(model)
    np.testing.assert_allclose(adapter.logits(images16), logits_by_hand, rtol=1e-5, atol=1e-6)
    scores, _, classes = adapter.input_gradients(images16, np.full(3, -1, np.int32))
    np.testing.assert_allclose(scores, logits_by_hand[np.arange(3), classes], rtol=1e-5)
    # Saliency is the gradient of that logit, taken independently through the
    # hand-built logit path (GAP features @ kernel + bias), not of the probability.
    import tensorflow as tf

    body = keras.Model(model.inputs, dense.input)
    x = tf.constant(images16)
    with tf.GradientTape() as tape:
        tape.watch(x)
        by_hand = tf.matmul(body(x), dense.kernel) + dense.bias
        score = tf.reduce_sum(by_hand[:, 2])
    expected = tape.gradient(score, x).numpy()
    np.testing.assert_allclose(
        methods.saliency(model, images16, target=2), expected, rtol=1e-4, atol=1e-7
    )
    if placement != "none":
        probabilities = np.asarray(model(images16))
        assert not np.allclose(adapter.logits(images16), probabilities, atol=1e-3)


def test_compiled_probes_do_not_retrace(images16):
    """A new target or a new image reuses every compiled probe: no probe traces again."""
    model = small_cnn("dense")
    adapter = get_adapter(model)
    other = images16[::-1].copy()

    def use_every_probe(x, target):
        methods.saliency(model, x, target=target)
        methods.grad_cam(model, x, target=target)
        methods.grad_cam_plus_plus(model, x, target=target)
        methods.activations(model, x, ["conv_b", "gap"])
        methods.ablate(model, x, "conv_b", [int(np.min(target))])  # new channels, same probe
        adapter.logits(x)

    use_every_probe(images16, 0)
    assert {key[0] for key in adapter._probes} >= {
        "input_gradients", "layer_gradients", "activations", "logits", "ablation_suffix"
    }
    traces = {key: p.experimental_get_tracing_count() for key, p in adapter._probes.items()}
    use_every_probe(images16, 1)
    use_every_probe(other, [4, 3, 2])
    after = {key: p.experimental_get_tracing_count() for key, p in adapter._probes.items()}
    assert after == traces


#: Every contract function, called with small settings; ``lrp`` once per plain rule and once
#: with a composite, ``visualize_filters`` for two channels of the default CAM layer.
EVERY_METHOD = {
    "activations": lambda m, x: methods.activations(m, x),
    "saliency": lambda m, x: methods.saliency(m, x),
    "smoothgrad": lambda m, x: methods.smoothgrad(m, x, samples=2),
    "integrated_gradients": lambda m, x: methods.integrated_gradients(m, x, steps=4),
    "grad_cam": lambda m, x: methods.grad_cam(m, x),
    "grad_cam_plus_plus": lambda m, x: methods.grad_cam_plus_plus(m, x),
    "lrp_epsilon": lambda m, x: methods.lrp(m, x, rule="epsilon"),
    "lrp_epsilon_plus_flat": lambda m, x: methods.lrp(m, x, rule="epsilon_plus_flat"),
    "deep_lift": lambda m, x: methods.deep_lift(m, x, baseline=0.5),
    "deep_shap": lambda m, x: methods.deep_shap(m, x, x[::-1]),
    "guided_backprop": lambda m, x: methods.guided_backprop(m, x),
    "layer_cam": lambda m, x: methods.layer_cam(m, x),
    "visualize_filters": lambda m, x: methods.visualize_filters(
        m, get_adapter(m).cam_layer(None).name, [0, 1], steps=2
    ),
    "ablate": lambda m, x: methods.ablate(m, x, get_adapter(m).cam_layer(None).name, [0, 1]),
    "channel_importance": lambda m, x: methods.channel_importance(
        m, x, get_adapter(m).cam_layer(None).name
    ),
    "channel_importance_relevance": lambda m, x: methods.channel_importance(
        m, x, get_adapter(m).cam_layer(None).name, method="relevance"
    ),
    "channel_importance_gradient": lambda m, x: methods.channel_importance(
        m, x, get_adapter(m).cam_layer(None).name, 0, method="gradient"
    ),
    "prune": lambda m, x: methods.prune(m, 0.5, "weights"),
    "pruning_curve": lambda m, x: methods.pruning_curve(m, x, amounts=(0.0, 0.5)),
    "deletion_curve": lambda m, x: methods.deletion_curve(m, x, methods.grad_cam(m, x), steps=4),
    "insertion_curve": lambda m, x: methods.insertion_curve(m, x, x, steps=4),
    "randomization_test": lambda m, x: methods.randomization_test(m, x, "grad_cam"),
}
#: Every model the fixtures give: the four softmax placements, nested, the demo CNN.
MODELS = ["cnn_dense", "cnn_layer", "cnn_activation", "cnn_none", "nested", "demo_model"]


@pytest.fixture(scope="module")
def every_model(nested, demo_model) -> dict[str, keras.Model]:
    built = {f"cnn_{p}": small_cnn(p) for p in ("dense", "layer", "activation", "none")}
    return {**built, "nested": nested, "demo_model": demo_model}


@pytest.mark.parametrize("method", sorted(EVERY_METHOD))
@pytest.mark.parametrize("name", MODELS)
def test_every_method_leaves_every_model_untouched(name, method, every_model):
    """Weights (exact bytes), configs, trainable flags, activations, layers and nodes of
    every model are the same after every contract function, and so is its output."""
    model = every_model[name]
    x = np.random.default_rng(3).uniform(0, 1, (2, *model.input_shape[1:])).astype("float32")
    before = np.asarray(model(x))
    with untouched(model):
        EVERY_METHOD[method](model, x)
    np.testing.assert_array_equal(np.asarray(model(x)), before)


def test_layer_table_lists_nested_layers(nested):
    rows = get_adapter(nested).layer_table()
    by_name = {row["name"]: row for row in rows}
    assert by_name["inner_conv2"] == {
        "name": "inner_conv2",
        "kind": "conv",
        "output_shape": (None, 16, 16, 6),
        "channels": 6,
        "path": "backbone",
    }
    assert by_name["backbone"]["kind"] == "model"
    assert by_name["head_dense"]["kind"] == "dense" and by_name["head_dense"]["channels"] == 4
    assert get_adapter(nested).cam_layer(None).name == "inner_relu"


#: Ablation and pruning outputs: shapes and dtypes on every model.
ABLATION_SHAPES = {
    "ablate": lambda m, x, layer: methods.ablate(m, x, layer, 0),
    "channel_importance": lambda m, x, layer: methods.channel_importance(m, x, layer),
    "layer_relevance": lambda m, x, layer: methods.layer_relevance(m, x, layer),
}


@pytest.mark.parametrize("name", sorted(ABLATION_SHAPES))
def test_ablation_shapes(name, cnn, images16):
    with untouched(cnn):
        out = ABLATION_SHAPES[name](cnn, images16, "conv_b")
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    expected = {"ablate": (3, 5), "channel_importance": (3, 12), "layer_relevance": (3, 8, 8, 12)}
    assert out.shape == expected[name]
    assert np.all(np.isfinite(out)) and np.any(out != 0)


def test_prune_returns_a_new_model_and_a_float32_curve(cnn, images16):
    with untouched(cnn):
        copy = methods.prune(cnn, 0.5)
        curve = methods.pruning_curve(cnn, images16)
    assert isinstance(copy, keras.Model) and copy is not cnn
    assert copy.output_shape == cnn.output_shape
    assert all(v.dtype == np.float32 and v.shape == (10,) for v in curve.values())
    np.testing.assert_allclose(curve["amount"], np.arange(10) / 10, atol=1e-7)
def test_faithfulness_shapes(images16):
    """Curves ``(N, steps + 1)``, AUCs and localization scores ``(N,)``, the randomization
    test ``(N, L + 1)``: float32 numpy; maps of every shape the methods return are accepted."""
    model = small_cnn("dense")
    maps = {
        "input-shaped": methods.saliency(model, images16),
        "pixel": methods.saliency(model, images16).sum(-1),
        "layer": methods.grad_cam(model, images16),
    }
    masks = np.zeros((3, 16, 16), bool)
    masks[:, 4:12, 4:12] = True
    for name, attribution in maps.items():
        for fn in (methods.deletion_curve, methods.insertion_curve):
            curve = fn(model, images16, attribution, target=2, steps=8)
            assert curve.shape == (3, 9) and curve.dtype == np.float32, name
            assert np.all((curve >= 0) & (curve <= 1))
            auc = methods.curve_auc(curve)
            assert auc.shape == (3,) and auc.dtype == np.float32
        for fn in (methods.pointing_game, methods.relevance_mass):
            out = fn(attribution, masks)
            assert out.shape == (3,) and out.dtype == np.float32, name
    result = methods.randomization_test(model, images16, "saliency", target=[0, 1, 2])
    assert isinstance(result, methods.RandomizationResult)
    assert result.similarity.shape == (3, 5) and result.similarity.dtype == np.float32
    assert result.layers == ("logits", "conv_b", "bn_a", "conv_a")
