"""Deletion and insertion curves, their AUC, the map resize, pointing game and relevance mass,
each against a hand-written numpy reference of its definition."""

from __future__ import annotations

from fractions import Fraction

import keras
import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.methods.faithfulness import curve_progress, removed_counts
from interpret_widgets.methods.pixelmaps import bilinear_resize


def tiny_model(softmax: bool = True, seed: int = 0) -> keras.Model:
    """conv(relu) → flatten → dense on 6×6×2 inputs, 4 classes."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(3, 3, padding="same", activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(4, activation="softmax" if softmax else None)(h)
    return keras.Model(inp, out, name=f"tiny_{softmax}")


def one_pixel_model() -> keras.Model:
    """4×4×1 → 2 classes; logit 0 = 10·x[1, 2] − 5, logit 1 = 0. Hand-set weights."""
    inp = keras.Input((4, 4, 1))
    dense = keras.layers.Dense(2, activation="softmax")
    out = dense(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out, name="one_pixel")
    kernel = np.zeros((16, 2), "float32")
    kernel[1 * 4 + 2, 0] = 10.0
    dense.set_weights([kernel, np.array([-5.0, 0.0], "float32")])
    return model


@pytest.fixture(scope="module")
def tiny():
    return tiny_model(True)


@pytest.fixture(scope="module")
def x6():
    return np.random.default_rng(5).uniform(0, 1, (3, 6, 6, 2)).astype("float32")


def reference_order(pixel_map: np.ndarray) -> list[int]:
    """Decreasing value, ties in row-major order — written with Python's sort on keys."""
    flat = pixel_map.ravel().tolist()
    return sorted(range(len(flat)), key=lambda p: (-flat[p], p))


def reference_curve(model, x, pixel_maps, targets, steps, baseline, deletion):
    """The definition, image by image and point by point, probabilities from the model's
    own softmax where it has one (numpy softmax of its output otherwise)."""
    n, height, width, _ = x.shape
    base = np.broadcast_to(np.asarray(baseline, "float32"), x.shape)
    curve = np.zeros((n, steps + 1))
    for k in range(n):
        order = reference_order(pixel_maps[k])
        for i in range(steps + 1):
            count = int(Fraction(i * height * width, steps) + Fraction(1, 2))  # ⌊·+½⌋
            chosen = np.zeros(height * width, bool)
            chosen[order[:count]] = True
            chosen = chosen.reshape(height, width, 1)
            image = np.where(chosen, base[k], x[k]) if deletion else np.where(chosen, x[k], base[k])
            out = np.asarray(model(image[None]), dtype=np.float64)[0]
            if model.layers[-1].activation.__name__ != "softmax":
                out = np.exp(out - out.max()) / np.exp(out - out.max()).sum()
            curve[k, i] = out[targets[k]]
    return curve


def test_removed_counts_round_half_up():
    for pixels, steps in [(36, 5), (6, 4), (16, 16), (4096, 32), (7, 3)]:
        expected = [int(Fraction(i * pixels, steps) + Fraction(1, 2)) for i in range(steps + 1)]
        assert removed_counts(pixels, steps).tolist() == expected
    assert removed_counts(6, 4).tolist() == [0, 2, 3, 5, 6]  # 1.5 → 2 and 4.5 → 5


@pytest.mark.parametrize("deletion", [True, False], ids=["deletion", "insertion"])
def test_curves_match_reference_with_ties(deletion, tiny, x6):
    # Attribution with many ties (values in {0, 1, 2}, summed over 2 channels) so that the
    # row-major tie rule decides most of the order; 36 pixels in 5 steps (7.2 per step).
    attribution = np.random.default_rng(1).integers(0, 3, (3, 6, 6, 2)).astype("float32")
    baseline = np.array([0.25, 0.75], "float32")  # per channel, broadcast to x
    targets = [0, 2, 3]
    fn = methods.deletion_curve if deletion else methods.insertion_curve
    with untouched(tiny):
        curve = fn(tiny, x6, attribution, target=targets, steps=5, baseline=baseline,
                   batch_size=4)  # chunks that cut across images
    expected = reference_curve(
        tiny, x6, attribution.sum(-1), targets, 5, baseline, deletion
    )
    assert curve.shape == (3, 6) and curve.dtype == np.float32
    # float32 forward passes in both; the probabilities agree to float32 rounding.
    np.testing.assert_allclose(curve, expected, rtol=1e-5, atol=1e-6)


def test_curves_of_logit_model_and_default_target(x6):
    """No softmax in the model: the curve is the softmax of its output; target=None is the
    top class on x, kept along the curve."""
    model = tiny_model(softmax=False, seed=3)
    attribution = np.random.default_rng(2).normal(size=(3, 6, 6)).astype("float32")
    top = np.asarray(model(x6)).argmax(axis=1)
    curve = methods.deletion_curve(model, x6, attribution, steps=4)
    expected = reference_curve(model, x6, attribution, top, 4, 0.0, True)
    np.testing.assert_allclose(curve, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        curve, methods.deletion_curve(model, x6, attribution, target=top.tolist(), steps=4)
    )


def test_small_maps_are_resized_half_pixel_before_ranking(tiny, x6):
    cam = np.random.default_rng(3).uniform(size=(3, 3, 3)).astype("float32")
    curve = methods.insertion_curve(tiny, x6, cam, target=1, steps=6)
    resized = bilinear_resize(cam, (6, 6))
    expected = reference_curve(tiny, x6, resized, [1, 1, 1], 6, 0.0, False)
    np.testing.assert_allclose(curve, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("source,target", [((3, 3), (6, 6)), ((4, 5), (16, 13)),
                                           ((8, 8), (3, 5)), ((1, 4), (4, 4))])
def test_bilinear_resize_is_tf_image_resize(source, target):
    import tensorflow as tf

    maps = np.random.default_rng(4).normal(size=(2, *source)).astype("float32")
    expected = tf.image.resize(maps[..., None], target, method="bilinear").numpy()[..., 0]
    # We interpolate in float64, TensorFlow in float32.
    np.testing.assert_allclose(bilinear_resize(maps, target), expected, rtol=1e-5, atol=1e-6)


def test_deleting_the_decisive_pixel_first_drops_the_score_at_once():
    model = one_pixel_model()
    x = np.ones((1, 4, 4, 1), "float32")
    first = np.zeros((1, 4, 4), "float32")
    first[0, 1, 2] = 1.0  # ranks the decisive pixel first, the rest tie in row-major order
    last = 1.0 - first  # ranks it last
    p_on, p_off = 1 / (1 + np.exp(-5.0)), 1 / (1 + np.exp(5.0))  # softmax of (±5, 0)
    with untouched(model):
        deletion = methods.deletion_curve(model, x, first, target=0, steps=16)
        late = methods.deletion_curve(model, x, last, target=0, steps=16)
        insertion = methods.insertion_curve(model, x, first, target=0, steps=16)
    np.testing.assert_allclose(deletion[0], [p_on] + [p_off] * 16, rtol=1e-6)
    np.testing.assert_allclose(late[0], [p_on] * 16 + [p_off], rtol=1e-6)
    np.testing.assert_allclose(insertion[0], [p_off] + [p_on] * 16, rtol=1e-6)
    assert methods.curve_auc(deletion)[0] < methods.curve_auc(late)[0]


def test_curve_auc_is_the_trapezoid_rule():
    np.testing.assert_allclose(methods.curve_auc(np.full((2, 9), 0.3)), [0.3, 0.3], rtol=1e-6)
    curves = np.random.default_rng(6).uniform(size=(3, 11))
    expected = [np.trapezoid(c, np.linspace(0, 1, 11)) for c in curves]
    np.testing.assert_allclose(methods.curve_auc(curves), expected, rtol=1e-6)
    np.testing.assert_allclose(methods.curve_auc([[0.0, 1.0]]), [0.5])
    assert methods.curve_auc(curves).dtype == np.float32


def test_progress_reports_every_chunk_and_stops(tiny, x6):
    attribution = np.random.default_rng(7).normal(size=(3, 6, 6)).astype("float32")
    calls = []
    full = methods.deletion_curve(tiny, x6, attribution, steps=4, batch_size=4,
                                  progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 15), (4, 15), (8, 15), (12, 15), (15, 15)]
    assert np.isfinite(full).all()
    with pytest.raises(methods.Stopped, match="after 8 of 15") as stop:
        methods.deletion_curve(tiny, x6, attribution, steps=4, batch_size=4,
                               progress=lambda done, total: done < 8)
    assert (stop.value.done, stop.value.total) == (8, 15)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        methods.insertion_curve(tiny, x6, attribution, progress="yes")


def test_curve_progress_iterator_fills_in_order(tiny, x6):
    attribution = np.random.default_rng(8).normal(size=(3, 6, 6, 2)).astype("float32")
    updates = curve_progress(tiny, x6, attribution, "insertion", steps=2, batch_size=2)
    seen = []
    for update in updates:
        seen.append(int(np.isfinite(update.curve).sum()))
        assert seen[-1] == update.done
    assert seen == [0, 2, 4, 6, 8, 9]
    # Another batch size (one chunk of 9 here) may round the last float32 bit differently.
    np.testing.assert_allclose(
        update.curve, methods.insertion_curve(tiny, x6, attribution, steps=2), rtol=1e-6
    )
    # Leaving the loop early leaves the rest NaN: what a live view draws.
    for update in curve_progress(tiny, x6, attribution, "deletion", steps=2, batch_size=2):
        if update.done >= 4:
            break
    assert np.isfinite(update.curve).sum() == 4


# -- localization -------------------------------------------------------------------------


def test_pointing_game_by_hand():
    masks = np.zeros((3, 4, 4), bool)
    masks[:, 1:3, 1:3] = True
    maps = np.zeros((3, 4, 4), "float32")
    maps[0, 2, 2] = 5.0  # maximum inside → hit
    maps[1, 0, 3] = 5.0  # maximum outside → miss
    maps[1, 1, 1] = 4.0
    maps[2] = 1.0  # constant: ties → the first pixel in row-major order, (0, 0): miss
    np.testing.assert_array_equal(methods.pointing_game(maps, masks), [1.0, 0.0, 0.0])
    masks[2, 0, 0] = True
    np.testing.assert_array_equal(methods.pointing_game(maps, masks), [1.0, 0.0, 1.0])
    # Tied maxima at (0, 3) and (2, 1): the row-major first, (0, 3), is outside → miss.
    tied = np.zeros((1, 4, 4, 2), "float32")
    tied[0, 0, 3] = [1.0, 2.0]
    tied[0, 2, 1] = [3.0, 0.0]
    assert methods.pointing_game(tied, masks[:1]).tolist() == [0.0]
    assert methods.pointing_game(tied[:, ::-1], masks[:1]).tolist() == [1.0]


def test_pointing_game_resizes_small_maps():
    masks = np.zeros((1, 8, 8), bool)
    masks[0, 4:, 4:] = True
    cam = np.array([[[0.0, 0.1], [0.2, 1.0]]], "float32")  # bottom-right cell strongest
    assert methods.pointing_game(cam, masks).tolist() == [1.0]
    assert methods.pointing_game(cam[:, ::-1, ::-1], masks).tolist() == [0.0]


def test_relevance_mass_by_hand():
    masks = np.zeros((3, 2, 3), bool)
    masks[:, 0, :2] = True
    maps = np.zeros((3, 2, 3, 2), "float32")
    # Image 0: per-pixel sums 3 (in), -1 (in), 1 (out): positive 3 in, 1 out → 0.75.
    maps[0, 0, 0] = [1.0, 2.0]
    maps[0, 0, 1] = [2.0, -3.0]  # summed over channels first: −1, no positive part
    maps[0, 1, 2] = [0.5, 0.5]
    maps[1] = -1.0  # nothing positive → 0
    maps[2, 0, 0] = 4.0  # all positive relevance inside → 1
    np.testing.assert_allclose(methods.relevance_mass(maps, masks), [0.75, 0.0, 1.0])
    assert methods.relevance_mass(maps, masks).dtype == np.float32


def test_relevance_mass_of_a_uniform_map_is_the_mask_share():
    masks = np.random.default_rng(9).uniform(size=(2, 8, 8)) < 0.3
    share = masks.reshape(2, -1).mean(axis=1)
    np.testing.assert_allclose(
        methods.relevance_mass(np.ones((2, 8, 8)), masks), share, rtol=1e-6
    )
    np.testing.assert_allclose(
        methods.relevance_mass(np.ones((2, 2, 2)), masks), share, rtol=1e-6
    )  # resized constant map stays constant


def test_localization_on_the_demo_set(demo_model, demo_data):
    images, _, masks = demo_data
    cam = methods.grad_cam(demo_model, images[:8])
    # The README reports that Grad-CAM's maximum falls on the object for 99.5 % of 200
    # held-out images; 8 of them must all hit, and the mass must beat the mask's share.
    assert methods.pointing_game(cam, masks[:8]).mean() == 1.0
    share = masks[:8].reshape(8, -1).mean(axis=1)
    assert np.all(methods.relevance_mass(cam, masks[:8]) > 2 * share)
