"""The gradient family against independent math: finite differences, linear models, IG."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets.methods import integrated_gradients, saliency, smoothgrad


def tanh_model() -> keras.Model:
    """A smooth float64 model (tanh) so central differences are accurate."""
    keras.utils.set_random_seed(3)
    inp = keras.Input((6, 6, 2), dtype="float64")
    h = keras.layers.Conv2D(4, 3, activation="tanh", dtype="float64")(inp)
    h = keras.layers.Flatten(dtype="float64")(h)
    h = keras.layers.Dense(8, activation="tanh", dtype="float64")(h)
    out = keras.layers.Dense(3, activation="softmax", dtype="float64")(h)
    return keras.Model(inp, out)


def logit_fn(model: keras.Model, cls: int):
    """Pre-softmax score computed by hand from the last layer's input (float64)."""
    dense = model.layers[-1]
    body = keras.Model(model.inputs, dense.input)
    kernel, bias = dense.kernel.numpy(), dense.bias.numpy()

    def score(x: np.ndarray) -> np.ndarray:
        return np.asarray(body(x.astype("float64")), dtype=np.float64) @ kernel[:, cls] + bias[cls]

    return score


def test_saliency_matches_central_differences():
    model = tanh_model()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 2)).astype("float32")
    with untouched(model):
        grads = saliency(model, x, target=1)
    score = logit_fn(model, 1)
    h = 1e-5
    numeric = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape[1:]):
        for n in range(len(x)):
            up, down = x[n : n + 1].astype("float64"), x[n : n + 1].astype("float64")
            up[(0, *index)] += h
            down[(0, *index)] -= h
            numeric[(n, *index)] = (score(up)[0] - score(down)[0]) / (2 * h)
    # float32 input cast into a float64 model: agreement to 1e-5 absolute.
    np.testing.assert_allclose(grads, numeric, atol=1e-5, rtol=1e-4)


def linear_model(softmax: bool) -> keras.Model:
    keras.utils.set_random_seed(5)
    inp = keras.Input((4, 4, 3))
    h = keras.layers.Flatten()(inp)
    out = keras.layers.Dense(5, activation="softmax" if softmax else None, name="lin")(h)
    return keras.Model(inp, out)


@pytest.mark.parametrize("softmax", [True, False])
def test_saliency_of_linear_model_is_the_weight_row(softmax):
    model = linear_model(softmax)
    x = np.random.default_rng(1).normal(size=(3, 4, 4, 3)).astype("float32")
    kernel = model.get_layer("lin").kernel.numpy()
    grads = saliency(model, x, target=[0, 2, 4])
    for n, cls in enumerate([0, 2, 4]):
        # The gradient of a linear score is its weight row, exactly (float32 bits).
        np.testing.assert_array_equal(grads[n].reshape(-1), kernel[:, cls])


def test_integrated_gradients_on_linear_model_is_delta_times_weights():
    model = linear_model(True)
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 3)).astype("float32")
    baseline = np.full_like(x, 0.3)
    kernel = model.get_layer("lin").kernel.numpy()
    ig = integrated_gradients(model, x, target=3, baseline=baseline, steps=8)
    expected = (x - baseline) * kernel[:, 3].reshape(4, 4, 3)
    np.testing.assert_allclose(ig, expected, rtol=1e-5, atol=1e-6)


def test_integrated_gradients_completeness_on_demo_model(demo_model, demo_data):
    from interpret_widgets.model import get_adapter

    images = demo_data[0][:8]
    adapter = get_adapter(demo_model)
    logits = adapter.logits(images)
    base_logits = adapter.logits(np.zeros_like(images))
    top = logits.argmax(axis=1)
    expected = logits[np.arange(8), top] - base_logits[np.arange(8), top]
    with untouched(demo_model):
        ig = integrated_gradients(demo_model, images, steps=256)
    error = np.abs(ig.sum(axis=(1, 2, 3)) - expected) / np.abs(expected)
    # Completeness at 256 steps: within 1 % of score(x) - score(baseline) on average over
    # 8 images (measured 0.6 %), no image beyond 2 % (ReLU kinks make the Riemann sum
    # converge unevenly) ...
    assert error.mean() <= 0.01 and error.max() <= 0.02, error
    # ... and every image within 1 % once the path is finer (measured ≤ 0.3 % at 1024).
    fine = integrated_gradients(demo_model, images[:4], steps=1024).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(fine, expected[:4], rtol=0.01)


def test_integrated_gradients_report_on_linear_model():
    """On a linear score, IG is exact: the completeness error is rounding only."""
    from interpret_widgets.methods import integrated_gradients_report

    model = linear_model(True)
    x = np.random.default_rng(3).normal(size=(2, 4, 4, 3)).astype("float32")
    kernel = model.get_layer("lin").kernel.numpy().astype(np.float64)
    bias = model.get_layer("lin").bias.numpy().astype(np.float64)
    with untouched(model):
        report = integrated_gradients_report(model, x, target=[1, 4], baseline=0.5, steps=4)
    np.testing.assert_array_equal(
        report.attribution, integrated_gradients(model, x, [1, 4], baseline=0.5, steps=4)
    )
    flat = x.reshape(2, -1).astype(np.float64)
    scores = flat @ kernel + bias  # score(x), written out in numpy
    base = np.full_like(flat, 0.5) @ kernel + bias
    expected = np.array([scores[0, 1] - base[0, 1], scores[1, 4] - base[1, 4]])
    # float32 scores of magnitude ~1: differences agree to ~1e-5
    np.testing.assert_allclose(report.score_difference, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(report.completeness_error, 0.0, atol=1e-4)
    total = report.attribution.reshape(2, -1).sum(axis=1)
    np.testing.assert_allclose(
        report.completeness_error, total - report.score_difference, rtol=0, atol=1e-6
    )


def test_smoothgrad_with_zero_noise_equals_saliency(cnn, images16):
    with untouched(cnn):
        smooth = smoothgrad(cnn, images16, target=2, samples=3, noise=0.0)
        plain = saliency(cnn, images16, target=2)
    np.testing.assert_allclose(smooth, plain, rtol=1e-5, atol=1e-7)


def test_smoothgrad_is_seeded_and_noisy(cnn, images16):
    a = smoothgrad(cnn, images16, samples=4, noise=0.2, seed=1)
    b = smoothgrad(cnn, images16, samples=4, noise=0.2, seed=1)
    c = smoothgrad(cnn, images16, samples=4, noise=0.2, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_smoothgrad_explains_clean_top_class(cnn, images16):
    """target=None means the clean image's top class for every noisy copy."""
    from interpret_widgets.model import get_adapter

    top = get_adapter(cnn).logits(images16).argmax(axis=1)
    implicit = smoothgrad(cnn, images16, samples=4, noise=0.5, seed=3)
    explicit = smoothgrad(cnn, images16, target=list(top), samples=4, noise=0.5, seed=3)
    np.testing.assert_array_equal(implicit, explicit)
