"""The cascading model-parameter randomization test: on a copy, output side first, seeded,
Spearman of absolute maps against a hand-written rank reference; the model untouched."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.methods.randomization import (
    randomization_progress,
    spearman_similarity,
    ssim_similarity,
)
from interpret_widgets.model import get_adapter

LAYERS = ("logits", "conv_b", "bn_a", "conv_a")  # small_cnn's layers with weights, output first


@pytest.fixture(scope="module")
def model():
    return small_cnn("dense", seed=2)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(11).uniform(0, 1, (2, 16, 16, 3)).astype("float32")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their positions (by hand)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = np.empty(len(values))
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        for position in range(start, stop + 1):
            ranks[order[position]] = (start + stop) / 2 + 1
        start = stop + 1
    return ranks


def reference_spearman(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.abs(a.ravel()).astype(np.float64), np.abs(b.ravel()).astype(np.float64)
    if a.min() == a.max() or b.min() == b.max():
        return 0.0
    return float(np.corrcoef(average_ranks(a), average_ranks(b))[0, 1])


def test_spearman_with_ties_and_constant_maps():
    a = np.array([[[1.0, -1.0, 2.0], [0.0, 2.0, -3.0]]])  # |a| has ties at 1 and 2
    b = np.array([[[0.5, 0.5, 0.1], [0.2, 0.9, 0.9]]])
    expected = reference_spearman(a[0], b[0])
    np.testing.assert_allclose(spearman_similarity(a, b), [expected], rtol=1e-6)
    from scipy.stats import spearmanr

    np.testing.assert_allclose(expected, spearmanr(np.abs(a.ravel()), b.ravel())[0])
    constant = np.full_like(a, -2.0)  # |·| constant
    assert spearman_similarity(a, constant).tolist() == [0.0]
    assert spearman_similarity(constant, constant).tolist() == [0.0]
    np.testing.assert_allclose(spearman_similarity(a, -a), [1.0], rtol=1e-6)  # absolute maps


def test_saliency_cascade_first_column_one_later_below(model, x):
    with untouched(model):
        result = methods.randomization_test(model, x, "saliency", keep_maps=True)
    assert result.layers == LAYERS
    assert result.similarity.shape == (2, 5) and result.similarity.dtype == np.float32
    np.testing.assert_allclose(result.similarity[:, 0], 1.0, rtol=1e-6)
    assert np.all(result.similarity[:, 1:] < 0.99)
    # Every column against the hand-written reference on the kept maps.
    assert result.maps.shape == (5, 2, 16, 16, 3)
    expected = [
        [reference_spearman(result.maps[0, n], result.maps[step, n]) for step in range(5)]
        for n in range(2)
    ]
    np.testing.assert_allclose(result.similarity, expected, rtol=1e-5, atol=1e-6)
    # Column 0's map is the trained model's map.
    np.testing.assert_allclose(result.maps[0], methods.saliency(model, x), rtol=1e-6)
    top = get_adapter(model).logits(x).argmax(axis=1)
    np.testing.assert_array_equal(result.targets, top)


def test_copy_is_randomized_layer_by_layer_output_first(model, x):
    """The method sees a copy whose first l layers (output side first) were re-initialized
    by their own initializers — BN to γ = 1, β = 0, μ = 0, σ² = 1 — and the rest as
    trained; the targets are the trained model's top classes at every step."""
    original = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    seen = []

    def record(copy, images, target=None):
        assert copy is not model
        seen.append(({layer.name: layer.get_weights() for layer in copy.layers}, target))
        return methods.saliency(copy, images, target)

    with untouched(model):
        methods.randomization_test(model, x, record, target=None)
    assert len(seen) == 5
    top = get_adapter(model).logits(x).argmax(axis=1)
    for step, (weights, target) in enumerate(seen):
        np.testing.assert_array_equal(target, top)
        for index, name in enumerate(LAYERS):
            same = all(
                np.array_equal(a, b) for a, b in zip(weights[name], original[name], strict=True)
            )
            assert same == (index >= step), (step, name)
    gamma, beta, mean, variance = seen[-1][0]["bn_a"]
    assert np.all(gamma == 1) and np.all(beta == 0)
    assert np.all(mean == 0) and np.all(variance == 1)
    kernel, bias = seen[-1][0]["conv_a"]
    limit = np.sqrt(6 / (3 * 3 * 3 + 3 * 3 * 8))  # Glorot uniform, fan_in 27, fan_out 72
    assert np.abs(kernel).max() <= limit and np.all(bias == 0)


def test_seeded(model, x):
    a = methods.randomization_test(model, x, "grad_cam", seed=1)
    b = methods.randomization_test(model, x, "grad_cam", seed=1)
    c = methods.randomization_test(model, x, "saliency", seed=2)
    d = methods.randomization_test(model, x, "saliency", seed=3)
    np.testing.assert_array_equal(a.similarity, b.similarity)
    assert not np.allclose(c.similarity[:, 1:], d.similarity[:, 1:])


def test_method_by_name_with_kwargs_and_callable(model, x):
    by_name = methods.randomization_test(model, x, "integrated_gradients", target=1, steps=3)

    def path_integral(m, images, target=None):
        return methods.integrated_gradients(m, images, target, steps=3)

    by_callable = methods.randomization_test(model, x, path_integral, target=1)
    np.testing.assert_allclose(by_name.similarity, by_callable.similarity, rtol=1e-6)
    np.testing.assert_array_equal(by_name.targets, [1, 1])


def test_ssim_of_normalized_maps(model, x):
    from skimage.metrics import structural_similarity

    result = methods.randomization_test(model, x, "grad_cam", target=0, ssim=True,
                                        keep_maps=True)
    assert result.ssim.shape == (2, 5)
    for n in range(2):
        for step in range(5):
            a, b = result.maps[0, n], result.maps[step, n]
            if a.max() == a.min() or b.max() == b.min():
                expected = 0.0
            else:
                expected = structural_similarity(
                    np.abs(a) / np.abs(a).max(), np.abs(b) / np.abs(b).max(),
                    data_range=1.0, win_size=7,
                )
            np.testing.assert_allclose(result.ssim[n, step], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="at least 3×3"):
        ssim_similarity(np.ones((1, 2, 2)), np.ones((1, 2, 2)))


def test_progress_and_stop(model, x):
    calls = []
    result = methods.randomization_test(model, x, "grad_cam",
                                        progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert np.isfinite(result.similarity).all()
    with pytest.raises(methods.Stopped, match="after 2 of 5"):
        methods.randomization_test(model, x, "grad_cam", progress=lambda d, t: d < 2)
    # The iterator hands out the partial result; leaving the loop stops the cascade.
    for update in randomization_progress(model, x, "grad_cam"):
        if update.done == 2:
            break
    assert update.layer == "logits" and update.map.shape == (2, 8, 8)
    np.testing.assert_array_equal(update.result.similarity[:, :2], result.similarity[:, :2])
    assert np.isnan(update.result.similarity[:, 2:]).all()


def test_nested_model(nested, images16):
    with untouched(nested):
        result = methods.randomization_test(nested, images16, "grad_cam")
    assert result.layers == ("head_dense", "inner_conv2", "inner_conv1")
    assert result.similarity.shape == (3, 4)


def test_errors(model, x):
    with pytest.raises(ValueError, match="did you mean 'saliency'"):
        methods.randomization_test(model, x, "salency")
    with pytest.raises(TypeError, match="method must be a method name or a callable"):
        methods.randomization_test(model, x, 3)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        methods.randomization_test(model, x, "saliency", seed=-1)
    with pytest.raises(ValueError, match=r"\(N, …\) maps with N = 2"):
        methods.randomization_test(model, x, lambda m, images, target=None: np.zeros(3))
