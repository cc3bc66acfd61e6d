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
    methods.occlusion,
    methods.kernel_shap,
    methods.lime,
    methods.score_cam,
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


def test_score_cam_on_dense_layer(model, x):
    with pytest.raises(ValueError, match="no spatial axes.*4-D"):
        methods.score_cam(model, x, layer="logits")
    with pytest.raises(ValueError, match="no layer named 'conv_c'"):
        methods.score_cam(model, x, layer="conv_c")


@pytest.mark.parametrize("fn", [methods.kernel_shap, methods.lime], ids=lambda f: f.__name__)
def test_bad_segments(fn, model, x):
    with pytest.raises(ValueError, match=r"segments must have shape \(2, 16, 16\).*got \(8, 8\)"):
        fn(model, x, segments=np.zeros((8, 8), int))
    with pytest.raises(ValueError, match=r"got \(3, 16, 16\)"):
        fn(model, x, segments=np.zeros((3, 16, 16), int))
    with pytest.raises(TypeError, match="integer label array, got dtype float"):
        fn(model, x, segments=np.zeros((16, 16)))
    with pytest.raises(ValueError, match="samples must be an integer >= 1, got 0"):
        fn(model, x, samples=0)


@pytest.mark.parametrize(
    "fn", [methods.occlusion, methods.kernel_shap, methods.lime], ids=lambda f: f.__name__
)
def test_bad_baseline_progress_and_batch_size(fn, model, x):
    with pytest.raises(ValueError, match=r"baseline of shape \(5, 5\) does not broadcast"):
        fn(model, x, baseline=np.zeros((5, 5)))
    with pytest.raises(TypeError, match="baseline must be None, a float or a numeric array"):
        fn(model, x, baseline="grey")
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        fn(model, x, progress=5)
    segments = {} if fn is methods.occlusion else {"segments": np.zeros((16, 16), int)}
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        fn(model, x, batch_size=0, **segments)


def test_bad_occlusion_windows(model, x):
    with pytest.raises(ValueError, match=r"window \(20, 20\) is larger than the image \(16, 16\)"):
        methods.occlusion(model, x, window=20)
    with pytest.raises(ValueError, match=r"window must be >= 1 pixel, got 0"):
        methods.occlusion(model, x, window=0)
    with pytest.raises(ValueError, match=r"stride \(5, 5\) is larger than the window \(4, 4\)"):
        methods.occlusion(model, x, window=4, stride=5)
    with pytest.raises(TypeError, match=r"window must be an int or a pair of ints"):
        methods.occlusion(model, x, window=(2, 2, 2))


def test_bad_lime_and_superpixel_parameters(model, x):
    with pytest.raises(ValueError, match="kernel_width must be > 0, got 0"):
        methods.lime(model, x, kernel_width=0)
    with pytest.raises(ValueError, match="alpha must be >= 0, got -1"):
        methods.lime(model, x, alpha=-1)
    with pytest.raises(
        ValueError, match=r"superpixels expects images \(N, H, W, C\).*\(16, 16, 3\)"
    ):
        methods.superpixels(x[0])
    with pytest.raises(ValueError, match="n_segments must be an integer >= 1"):
        methods.superpixels(x, n_segments=0)
    with pytest.raises(ValueError, match="compactness must be > 0"):
        methods.superpixels(x, compactness=0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        methods.score_cam(model, x, batch_size=0)
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
