"""ablated_grad_cam against a hand-built reference: a copy of the model, filter zeroed."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets import methods


def zeroed_copy(model: keras.Model, layer: str, channels: list[int]) -> keras.Model:
    """A clone of ``model`` whose ``layer`` filters ``channels`` (kernel and bias) are 0.

    For conv_b of small_cnn (Conv2D with a built-in ReLU, no BN after it), a zero filter
    gives relu(0) = 0 everywhere: exactly the ablation of those channels with value 0.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kernel, bias = copy.get_layer(layer).get_weights()
    kernel[..., channels], bias[channels] = 0.0, 0.0
    copy.get_layer(layer).set_weights([kernel, bias])
    return copy


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense", seed=4)


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(11).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


@pytest.mark.parametrize("cam_layer", [None, "relu_a"])
@pytest.mark.parametrize("channels", [[0], [2, 5, 7]])
def test_ablated_grad_cam_equals_grad_cam_of_a_zeroed_copy(model, x, channels, cam_layer):
    reference = methods.grad_cam(zeroed_copy(model, "conv_b", channels), x, [1, 2, 3], cam_layer)
    with untouched(model):
        cam = methods.ablated_grad_cam(model, x, "conv_b", channels, [1, 2, 3], cam_layer)
    assert cam.dtype == np.float32 and cam.shape == reference.shape
    # Same float32 graph on both sides, up to summation order: 1e-5 relative to the map.
    np.testing.assert_allclose(cam, reference, atol=1e-5 * float(np.abs(reference).max()))
    assert not np.allclose(cam, methods.grad_cam(model, x, [1, 2, 3], cam_layer))


def test_ablated_grad_cam_default_target_is_the_top_class_after_ablation(model, x):
    copy = zeroed_copy(model, "conv_b", [1, 3])
    cam = methods.ablated_grad_cam(model, x, "conv_b", [1, 3])
    reference = methods.grad_cam(copy, x)  # None: the copy's own top class
    np.testing.assert_allclose(cam, reference, atol=1e-5 * float(np.abs(reference).max()))


def test_ablated_grad_cam_without_channels_is_grad_cam(model, x):
    np.testing.assert_allclose(
        methods.ablated_grad_cam(model, x, "conv_b", []), methods.grad_cam(model, x),
        rtol=1e-5, atol=1e-6,
    )  # fmt: skip


def test_ablated_grad_cam_errors(model, x):
    with pytest.raises(ValueError, match="channel 12 is out of range"):
        methods.ablated_grad_cam(model, x, "conv_b", [12])
    with pytest.raises(ValueError, match="no spatial axes"):
        methods.ablated_grad_cam(model, x, "conv_b", [0], cam_layer="logits")
    with pytest.raises(ValueError, match="target 9 is out of range"):
        methods.ablated_grad_cam(model, x, "conv_b", [0], target=9)
