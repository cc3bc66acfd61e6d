"""Pruning on a copy: exactly the right filters zeroed, everything else bit-exact."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.model import get_adapter


def weights_by_layer(model: keras.Model) -> dict[str, list[np.ndarray]]:
    """Every layer's weights by name, nested models' layers included."""
    out = {}
    for layer in model._flatten_layers(include_self=False):
        if not isinstance(layer, keras.Model):
            out[layer.name] = [np.array(w) for w in layer.get_weights()]
    return out


def lowest(values: np.ndarray, amount: float) -> np.ndarray:
    """Indices of the ⌊amount·k⌋ lowest values (numpy's own stable sort)."""
    return np.argsort(values, kind="stable")[: math.floor(round(amount * len(values), 9))]


@pytest.mark.parametrize("amount", [0.25, 0.5, 0.9])
def test_l1_zeroes_exactly_the_lowest_filters_and_keeps_the_rest(amount):
    model = small_cnn("dense")
    before = weights_by_layer(model)
    with untouched(model):
        pruned = methods.prune(model, amount)
    after = weights_by_layer(pruned)
    assert pruned is not model and isinstance(pruned, keras.Model)
    for name in ("conv_a", "conv_b"):  # every conv and dense layer but the classifier
        kernel, bias = before[name]
        gone = lowest(np.abs(kernel).sum(axis=(0, 1, 2)), amount)
        keep = np.setdiff1d(np.arange(kernel.shape[-1]), gone)
        assert len(gone) == math.floor(amount * kernel.shape[-1])
        new_kernel, new_bias = after[name]
        assert np.all(new_kernel[..., gone] == 0) and np.all(new_bias[gone] == 0)
        np.testing.assert_array_equal(new_kernel[..., keep], kernel[..., keep])
        np.testing.assert_array_equal(new_bias[keep], bias[keep])
    for name in ("bn_a", "logits"):  # batch norm and the classifier: untouched
        for old, new in zip(before[name], after[name], strict=True):
            np.testing.assert_array_equal(old, new)


def test_amount_zero_reproduces_the_predictions(images16):
    for model in (small_cnn("layer"), nested_model()):
        with untouched(model):
            copy = methods.prune(model, 0.0)
        np.testing.assert_array_equal(np.asarray(copy(images16)), np.asarray(model(images16)))


def test_nested_model_is_copied_deeply(images16):
    model = nested_model()
    with untouched(model):
        pruned = methods.prune(model, 0.5)
    assert pruned.layers[0] is not model.layers[0]
    originals = {id(v) for v in model.weights}
    assert not originals.intersection(id(v) for v in pruned.weights)
    before, after = weights_by_layer(model), weights_by_layer(pruned)
    for name in ("inner_conv1", "inner_conv2"):
        kernel = before[name][0]
        gone = lowest(np.abs(kernel).sum(axis=(0, 1, 2)), 0.5)
        assert np.all(after[name][0][..., gone] == 0)
        assert np.count_nonzero(np.abs(after[name][0]).sum(axis=(0, 1, 2))) == 3
    np.testing.assert_array_equal(after["head_dense"][0], before["head_dense"][0])


def test_weights_criterion_zeroes_about_amount_of_entries_and_keeps_biases(demo_model):
    amount = 0.3
    before = weights_by_layer(demo_model)
    with untouched(demo_model):
        pruned = methods.prune(demo_model, amount, "weights", seed=4)
    after = weights_by_layer(pruned)
    zeroed = total = 0
    for name in ("conv1", "conv2a", "conv2", "conv3a", "conv3"):
        (kernel, bias), (new_kernel, new_bias) = before[name][:2], after[name][:2]
        kept = new_kernel != 0
        np.testing.assert_array_equal(new_kernel[kept], kernel[kept])
        np.testing.assert_array_equal(new_bias, bias)
        zeroed += np.count_nonzero(~kept & (kernel != 0))
        total += kernel.size
    # Each entry is zeroed independently with p = 0.3: the count is Binomial(total, p);
    # 5 standard deviations (≈ 0.3 % of the ~280k entries) bound it with certainty in practice.
    sigma = math.sqrt(total * amount * (1 - amount))
    assert abs(zeroed - amount * total) < 5 * sigma
    np.testing.assert_array_equal(after["predictions"][0], before["predictions"][0])
    again = weights_by_layer(methods.prune(demo_model, amount, "weights", seed=4))
    np.testing.assert_array_equal(again["conv2"][0], after["conv2"][0])


def test_random_criterion_is_seeded_and_prunes_the_count():
    model = small_cnn("none")
    a = weights_by_layer(methods.prune(model, 0.5, "random", seed=1))
    b = weights_by_layer(methods.prune(model, 0.5, "random", seed=1))
    c = weights_by_layer(methods.prune(model, 0.5, "random", seed=2))
    zero = {k: np.flatnonzero(np.abs(v[0]).sum(axis=(0, 1, 2)) == 0) for k, v in a.items()
            if k.startswith("conv")}
    assert len(zero["conv_a"]) == 4 and len(zero["conv_b"]) == 6
    np.testing.assert_array_equal(a["conv_b"][0], b["conv_b"][0])
    assert not np.array_equal(a["conv_b"][0], c["conv_b"][0])


def test_relevance_criterion_ranks_by_lrp_relevance(images16):
    """conv_b (ReLU inside, A ≥ 0) feeds GAP → Dense: under ε on the Dense layer and
    GAP's proportional sharing, position (h, w) of channel j gets A_nhwj/(hw)·W[j, t_n]
    (see test_ablation), so the criterion, Σ over images and positions of |relevance|, is
    Σ_n mean(A_nj)·|W[j, t_n]|: the pruned filters are the lowest of that sum, computed
    here by hand. The per-channel relevance of conv_a adds up to the layer sum that
    lrp_report gives."""
    model = small_cnn("dense")
    dense = model.get_layer("logits")
    features = np.asarray(
        keras.Model(model.inputs, model.get_layer("conv_b").output)(images16), np.float64
    ).mean(axis=(1, 2))
    top = get_adapter(model).logits(images16).argmax(axis=1)
    relevance = (features * np.abs(dense.kernel.numpy().T[top])).sum(axis=0)
    gone = lowest(relevance, 0.5)
    order = np.sort(relevance)
    assert order[6] - order[5] > 1e-4  # a clear split between pruned and kept
    with untouched(model):
        pruned = methods.prune(model, 0.5, "relevance", layers=["conv_b"], x=images16)
    after = weights_by_layer(pruned)["conv_b"][0]
    assert set(np.flatnonzero(np.abs(after).sum(axis=(0, 1, 2)) == 0)) == set(gone)
    report = methods.lrp_report(model, images16, rule="epsilon_plus")
    channel = methods.layer_relevance(model, images16, "conv_a").sum(axis=(1, 2))
    np.testing.assert_allclose(channel.sum(axis=1), report.layer_sums["conv_a"], rtol=1e-5)


def filter_kinds_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((10, 10, 3))
    h = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(inp)
    h = keras.layers.SeparableConv2D(8, 3, padding="same", name="sep")(h)
    h = keras.layers.Conv2DTranspose(5, 3, strides=2, name="tconv")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    h = keras.layers.Dense(6, name="hidden")(h)
    out = keras.layers.Dense(3, name="out")(h)
    return keras.Model(inp, out, name="filter_kinds")


def test_every_filter_kind_zeroes_its_output_channel(images16):
    """A pruned filter is one output channel: with kernel and bias zeroed (and no
    activation) that channel of the layer's output is exactly 0 at every position; the L1
    of each kind's filter is taken over its own kernel slice (computed here by hand)."""
    model = filter_kinds_model()
    x = images16[:, :10, :10]
    before = weights_by_layer(model)
    with untouched(model):
        pruned = methods.prune(model, 0.5)
    dw = np.abs(before["dw"][0]).sum(axis=(0, 1)).reshape(-1)  # f = c·multiplier + m
    sep = np.abs(before["sep"][1]).sum(axis=(0, 1, 2))  # the pointwise column
    tconv = np.abs(before["tconv"][0]).sum(axis=(0, 1, 3))  # output axis second to last
    hidden = np.abs(before["hidden"][0]).sum(axis=0)
    acts = methods.activations(pruned, x, ["dw", "sep", "tconv", "hidden"])
    for name, l1 in (("dw", dw), ("sep", sep), ("tconv", tconv), ("hidden", hidden)):
        dead = np.flatnonzero(np.all(acts[name] == 0, axis=tuple(range(acts[name].ndim - 1))))
        np.testing.assert_array_equal(dead, np.sort(lowest(l1, 0.5)), err_msg=name)
    after = weights_by_layer(pruned)
    np.testing.assert_array_equal(after["sep"][0], before["sep"][0])  # depthwise part kept
    np.testing.assert_array_equal(after["out"][0], before["out"][0])


def test_pruning_curve_points_are_pruned_models(images16):
    model = small_cnn("activation")
    amounts = (0.0, 0.25, 0.5, 0.75)
    logits = get_adapter(model).logits(images16)
    top = logits.argmax(axis=1)
    labels = np.array([0, 1, 2])
    with untouched(model):
        curve = methods.pruning_curve(model, images16, labels, amounts)
        agree = methods.pruning_curve(model, images16, None, amounts)
    assert set(curve) == {"amount", "accuracy", "mean_score"}
    assert all(v.dtype == np.float32 and v.shape == (4,) for v in curve.values())
    np.testing.assert_array_equal(curve["amount"], np.float32(amounts))
    assert agree["accuracy"][0] == 1.0
    for i, amount in enumerate(amounts):
        pruned = get_adapter(methods.prune(model, amount)).logits(images16)
        np.testing.assert_allclose(curve["mean_score"][i], pruned[np.arange(3), top].mean(),
                                   rtol=1e-5)
        assert curve["accuracy"][i] == np.float32(np.mean(pruned.argmax(axis=1) == labels))
        assert agree["accuracy"][i] == np.float32(np.mean(pruned.argmax(axis=1) == top))


def test_pruning_curve_stops_with_the_points_so_far(images16):
    model = small_cnn("none")
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 2

    curve = methods.pruning_curve(model, images16, progress=progress)
    assert calls == [(0, 10), (1, 10), (2, 10)]
    np.testing.assert_array_equal(curve["amount"], np.float32([0.0, 0.1]))
    assert len(curve["accuracy"]) == len(curve["mean_score"]) == 2


def test_batchnorm_zero_removes_the_pruned_channels(images16):
    """With batchnorm="zero" the pruned channels of the batch normalization right after
    the layer are exactly 0 (its moving mean and β zeroed there, nothing else changed);
    with the default they are the batch normalization's constant shift."""
    model = small_cnn("dense")
    with untouched(model):
        removed = methods.prune(model, 0.5, layers=["conv_a"], batchnorm="zero")
        kept = methods.prune(model, 0.5, layers=["conv_a"])
    kernel = model.get_layer("conv_a").kernel.numpy()
    gone = lowest(np.abs(kernel).sum(axis=(0, 1, 2)), 0.5)
    others = np.setdiff1d(np.arange(8), gone)
    out = methods.activations(removed, images16, "bn_a")["bn_a"]
    assert np.all(out[..., gone] == 0)
    np.testing.assert_array_equal(out[..., others], methods.activations(kept, images16, "bn_a")[
        "bn_a"][..., others])
    bn, new = model.get_layer("bn_a"), removed.get_layer("bn_a")
    assert np.all(new.moving_mean.numpy()[gone] == 0) and np.all(new.beta.numpy()[gone] == 0)
    np.testing.assert_array_equal(new.moving_mean.numpy()[others], bn.moving_mean.numpy()[others])
    np.testing.assert_array_equal(new.gamma.numpy(), bn.gamma.numpy())
    np.testing.assert_array_equal(new.moving_variance.numpy(), bn.moving_variance.numpy())
    shifted = methods.activations(kept, images16, "bn_a")["bn_a"][..., gone]
    expected = bn.beta.numpy() - bn.gamma.numpy() * bn.moving_mean.numpy() / np.sqrt(
        bn.moving_variance.numpy() + bn.epsilon)
    np.testing.assert_allclose(shifted, np.broadcast_to(expected[gone], shifted.shape), atol=1e-6)


def test_pruning_curves_figure_draws_one_line_per_criterion():
    from interpret_widgets.render.curves import pruning_curves_figure

    amount = np.float32([0.0, 0.5])
    curves = {
        name: {"amount": amount, "accuracy": np.float32([1.0, a]), "mean_score": amount - a}
        for name, a in (("l1", 0.5), ("random", 0.2), ("relevance", 0.7))
    }
    figure = pruning_curves_figure(curves, title="t")
    left, right = figure.axes
    assert [line.get_label() for line in left.lines] == ["l1", "random", "relevance"]
    np.testing.assert_array_equal(left.lines[2].get_ydata(), np.float32([1.0, 0.7]))
    np.testing.assert_array_equal(right.lines[0].get_ydata(), amount - 0.5)
    with pytest.raises(ValueError, match="lacks mean_score"):
        pruning_curves_figure({"l1": {"amount": amount, "accuracy": amount}})
    with pytest.raises(ValueError, match="at least one curve"):
        pruning_curves_figure({})
