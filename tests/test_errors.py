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


ALL = [
    methods.saliency,
    methods.smoothgrad,
    methods.integrated_gradients,
    methods.integrated_gradients_report,
    methods.grad_cam,
    methods.grad_cam_plus_plus,
    methods.lrp,
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
