"""Bad input raises ValueError/TypeError with a message that names the problem."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from interpret_widgets import methods


@pytest.fixture(scope="module")
def model():
    from conftest import small_cnn

    return small_cnn("dense")


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype("float32")




def deep_shap(model, x, **kwargs):
    """DeepSHAP with a valid background, so that the errors come from ``x`` and ``target``."""
    return methods.deep_shap(model, x, np.zeros((2, 16, 16, 3), "float32"), **kwargs)


ALL = [
    methods.saliency,
    methods.smoothgrad,
    methods.integrated_gradients,
    methods.integrated_gradients_report,
    methods.grad_cam,
    methods.grad_cam_plus_plus,
    methods.lrp,
    methods.deep_lift,
    deep_shap,
    methods.guided_backprop,
    methods.layer_cam,
]


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_single_image_without_batch_axis(fn, model, x):
    with pytest.raises(ValueError, match=r"batch axis.*x\[None\]"):
        fn(model, x[0])


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_wrong_channel_count(fn, model, x):
    with pytest.raises(ValueError, match="1 channels but model .* expects 3"):
        fn(model, x[..., :1])


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_wrong_rank(fn, model):
    with pytest.raises(ValueError, match="rank 4"):
        fn(model, np.zeros((2, 16, 16, 3, 1), "float32"))


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_target_out_of_range(fn, model, x):
    with pytest.raises(ValueError, match=r"target 7 is out of range: the model has 5 classes"):
        fn(model, x, target=7)
    with pytest.raises(ValueError, match="2 samples"):
        fn(model, x, target=[1, 2, 3])
    with pytest.raises(TypeError, match="target must be"):
        fn(model, x, target="cat")


def test_unknown_layer_lists_close_matches(model, x):
    with pytest.raises(ValueError, match=r"no layer named 'conv_c'.*'conv_a', 'conv_b'|'conv_b'"):
        methods.grad_cam(model, x, layer="conv_c")
    with pytest.raises(ValueError, match="did you mean 'gap'"):
        methods.activations(model, x, ["gapp"])


def test_cam_on_dense_layer(model, x):
    with pytest.raises(ValueError, match="no spatial axes.*4-D"):
        methods.grad_cam(model, x, layer="logits")


def test_cam_on_model_without_spatial_layer():
    inp = keras.Input((16, 16, 3))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    flat_model = keras.Model(inp, out)
    with pytest.raises(ValueError, match="no layer with a 4-D"):
        methods.grad_cam(flat_model, np.zeros((1, 16, 16, 3), "float32"))


def test_non_model_and_non_array():
    with pytest.raises(TypeError, match="keras.Model"):
        methods.saliency("not a model", np.zeros((1, 4)))


def test_bad_parameters(model, x):
    with pytest.raises(ValueError, match="steps must be at least 1"):
        methods.integrated_gradients(model, x, steps=0)
    with pytest.raises(ValueError, match="samples must be at least 1"):
        methods.smoothgrad(model, x, samples=0)
    with pytest.raises(ValueError, match="does not broadcast"):
        methods.integrated_gradients(model, x, baseline=np.zeros((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        methods.saliency(model, np.full_like(x, np.nan))


def test_bad_references_for_deep_lift_and_deep_shap(model, x):
    with pytest.raises(ValueError, match=r"baseline of shape \(5, 5\) does not broadcast"):
        methods.deep_lift(model, x, baseline=np.zeros((5, 5)))
    with pytest.raises(ValueError, match="baseline contains NaN"):
        methods.deep_lift(model, x, baseline=np.nan)
    with pytest.raises(TypeError, match="baseline must be"):
        methods.deep_lift(model, x, baseline="zeros")
    with pytest.raises(ValueError, match=r"background must be a batch of references.*batch axis"):
        methods.deep_shap(model, x, x[0])
    with pytest.raises(ValueError, match="background must be a batch.*1 channels"):
        methods.deep_shap(model, x, x[..., :1])
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        methods.deep_shap(model, x, x, batch_size=0)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        methods.deep_shap(model, x, x, progress=5)


def test_layer_cam_on_dense_layer(model, x):
    with pytest.raises(ValueError, match="no spatial axes.*4-D"):
        methods.layer_cam(model, x, layer="logits")
#: Ablation and pruning functions that take images, as (model, x) calls.
ABLATION = {
    "ablate": lambda m, x: methods.ablate(m, x, "conv_b", [0]),
    "channel_importance": lambda m, x: methods.channel_importance(m, x, "conv_b"),
    "pruning_curve": lambda m, x: methods.pruning_curve(m, x, amounts=(0.0,)),
    "prune_relevance": lambda m, x: methods.prune(m, 0.5, "relevance", x=x),
}
@pytest.mark.parametrize("name", sorted(ABLATION))
def test_ablation_functions_check_x(name, model, x):
    fn = ABLATION[name]
    with pytest.raises(ValueError, match=r"batch axis.*x\[None\]"):
        fn(model, x[0])
    with pytest.raises(ValueError, match="1 channels but model .* expects 3"):
        fn(model, x[..., :1])
def test_ablate_bad_channels_and_value(model, x):
    with pytest.raises(ValueError, match=r"channel 12 is out of range: layer 'conv_b' has 12"):
        methods.ablate(model, x, "conv_b", [0, 12])
    with pytest.raises(ValueError, match="channel -1 is out of range"):
        methods.ablate(model, x, "conv_b", -1)
    with pytest.raises(TypeError, match="channels must be an int or a sequence of ints"):
        methods.ablate(model, x, "conv_b", "0")
    with pytest.raises(TypeError, match="channels must be ints"):
        methods.ablate(model, x, "conv_b", [0.5])
    with pytest.raises(ValueError, match="value must be finite"):
        methods.ablate(model, x, "conv_b", 0, value=np.nan)
    with pytest.raises(ValueError, match="no layer named 'conv_c'"):
        methods.ablate(model, x, "conv_c", 0)
def test_channel_importance_bad_method_and_target(model, x):
    with pytest.raises(ValueError, match="method must be one of 'ablation', 'relevance'"):
        methods.channel_importance(model, x, "conv_b", method="taylor")
    with pytest.raises(ValueError, match="target 7 is out of range"):
        methods.channel_importance(model, x, "conv_b", target=7)
        methods.channel_importance(model, x, "conv_b", progress=3)
def test_prune_bad_amount_criterion_and_layers(model, x):
    for amount in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\)"):
            methods.prune(model, amount)
    with pytest.raises(TypeError, match="amount must be a fraction"):
        methods.prune(model, "half")
    with pytest.raises(ValueError, match="criterion must be one of 'l1', 'random'"):
        methods.prune(model, 0.5, "l2")
    with pytest.raises(ValueError, match=r"layer 'pool_a' \(MaxPooling2D\) has no filters"):
        methods.prune(model, 0.5, layers=["conv_a", "pool_a"])
    with pytest.raises(ValueError, match="criterion 'relevance' .* pass them as x"):
        methods.prune(model, 0.5, "relevance")
    with pytest.raises(ValueError, match="did you mean"):
        methods.prune(model, 0.5, layers="conv_bb")
    with pytest.raises(ValueError, match="batchnorm must be one of 'keep', 'zero'"):
        methods.prune(model, 0.5, batchnorm="fold")
def test_pruning_curve_bad_amounts_and_labels(model, x):
    with pytest.raises(ValueError, match=r"amount must be a fraction in \[0, 1\)"):
        methods.pruning_curve(model, x, amounts=(0.0, 1.0))
    with pytest.raises(ValueError, match="labels must be 2 integer class indices"):
        methods.pruning_curve(model, x, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="label 9 is out of range"):
        methods.pruning_curve(model, x, labels=[0, 9])
def test_ablation_on_a_layer_without_channels():
    inp = keras.Input((4,))
    out = keras.layers.Dense(3)(keras.layers.Dense(5)(inp))
    vector_model = keras.Model(inp, out)
    hidden = vector_model.layers[1]
    scores = methods.ablate(vector_model, np.ones((2, 4), "float32"), hidden, [1])
    assert scores.shape == (2, 3)  # a Dense output's units are its channels
    summed = keras.ops.expand_dims(keras.ops.sum(keras.layers.Dense(3)(inp), axis=-1), -1)
    sum_model = keras.Model(inp, keras.layers.Dense(2)(summed))
    with pytest.raises(ValueError, match=r"layer 'sum' has output shape \(None,\) with no ch"):
        methods.ablate(sum_model, np.ones((2, 4), "float32"), "sum", [0])
    with pytest.raises(ValueError, match="layer 'sum' has output shape"):
        methods.channel_importance(sum_model, np.ones((2, 4), "float32"), "sum")
    pruned = methods.prune(sum_model, 0.5)  # keras.ops steps in the graph are no layers
    assert np.count_nonzero(pruned.layers[1].kernel.numpy().any(axis=0)) == 2
    flat = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    entry = flat.layers[0]
    with pytest.raises(ValueError, match="no filters to prune"):
        methods.prune(flat, 0.5, layers=[entry])


#: The faithfulness functions that take a model and images, with a valid map for the rest.
WITH_MAPS = {
    "deletion_curve": lambda m, x, **kw: methods.deletion_curve(
        m, x, np.ones((2, 16, 16), "float32"), steps=2, **kw
    ),
    "insertion_curve": lambda m, x, **kw: methods.insertion_curve(
        m, x, np.ones((len(x), 4, 4), "float32"), steps=2, **kw
    ),
    "randomization_test": lambda m, x, **kw: methods.randomization_test(
        m, x, "grad_cam", **kw
    ),
}


@pytest.mark.parametrize("name", sorted(WITH_MAPS))
def test_faithfulness_bad_images_and_targets(name, model, x):
    fn = WITH_MAPS[name]
    with pytest.raises(ValueError, match=r"batch axis.*x\[None\]"):
        fn(model, x[0])
    with pytest.raises(ValueError, match="1 channels but model .* expects 3"):
        fn(model, x[..., :1])
    with pytest.raises(ValueError, match=r"target 7 is out of range: the model has 5 classes"):
        fn(model, x, target=7)
    with pytest.raises(TypeError, match="target must be"):
        fn(model, x, target="cat")


def test_curve_arguments(model, x):
    good = np.ones((2, 16, 16), "float32")
    with pytest.raises(ValueError, match=r"attribution must be shaped .*got shape \(3, 16, 16\)"):
        methods.deletion_curve(model, x, np.ones((3, 16, 16)))
    with pytest.raises(ValueError, match=r"attribution must be shaped .*got shape \(16, 16\)"):
        methods.deletion_curve(model, x, good[0])
    with pytest.raises(ValueError, match=r"attribution of rank 4 must be shaped \(N, 16, 16, 3\)"):
        methods.insertion_curve(model, x, np.ones((2, 16, 16, 1)))
    with pytest.raises(ValueError, match="attribution contains NaN"):
        methods.deletion_curve(model, x, np.full((2, 4, 4), np.nan))
    with pytest.raises(TypeError, match="attribution must be a numeric array"):
        methods.deletion_curve(model, x, "map")
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        methods.deletion_curve(model, x, good, steps=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        methods.insertion_curve(model, x, good, batch_size=0)
    with pytest.raises(ValueError, match="baseline of shape .* does not broadcast"):
        methods.deletion_curve(model, x, good, baseline=np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"curve must be 2-D .*curve\[None\]"):
        methods.curve_auc(np.ones(5))
    with pytest.raises(ValueError, match="at least 2 points"):
        methods.curve_auc(np.ones((2, 1)))


def test_localization_arguments():
    masks = np.ones((2, 8, 8), bool)
    for fn in (methods.pointing_game, methods.relevance_mass):
        with pytest.raises(ValueError, match=r"masks must be a bool array \(N, H, W\)"):
            fn(np.ones((2, 8, 8)), masks.astype(int))
        with pytest.raises(ValueError, match="the mask of image 1 is empty"):
            fn(np.ones((2, 8, 8)), np.stack([masks[0], ~masks[1]]))
        with pytest.raises(ValueError, match=r"maps must be shaped .*N = 2.*got shape \(3, 8, 8\)"):
            fn(np.ones((3, 8, 8)), masks)
        with pytest.raises(ValueError, match=r"maps of rank 4 must be shaped \(N, 8, 8, C\)"):
            fn(np.ones((2, 4, 4, 3)), masks)
