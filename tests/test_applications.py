"""keras.applications architectures (weights=None, small inputs) run every method."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets import methods

pytestmark = pytest.mark.slow

BUILDERS = {
    "VGG16": lambda: keras.applications.VGG16(weights=None, input_shape=(32, 32, 3), classes=10),
    "ResNet50": lambda: keras.applications.ResNet50(
        weights=None, input_shape=(32, 32, 3), classes=10
    ),
    "MobileNetV2_nested": lambda: keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.applications.MobileNetV2(
                weights=None, input_shape=(32, 32, 3), include_top=False
            ),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(7, activation="softmax"),
        ]
    ),
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def application(request):
    keras.utils.set_random_seed(0)
    return BUILDERS[request.param]()


def test_every_method_runs(application):
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    with untouched(application):
        results = {
            "saliency": methods.saliency(application, x),
            "smoothgrad": methods.smoothgrad(application, x, samples=2),
            "ig": methods.integrated_gradients(application, x, steps=4),
            "grad_cam": methods.grad_cam(application, x),
            "grad_cam_pp": methods.grad_cam_plus_plus(application, x),
        }
        acts = methods.activations(application, x)
    for name, value in results.items():
        assert value.dtype == np.float32, name
        assert np.all(np.isfinite(value)), name
    assert results["saliency"].shape == x.shape
    assert results["grad_cam"].ndim == 3
    assert len(acts) > 10
