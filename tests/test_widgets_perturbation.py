"""The perturbation panel, and the new CAM and gradient entries, through their public surface.

Real TensorFlow and ipywidgets. Each map the panel shows is compared exactly with the method
called directly with the same parameters (the methods are deterministic: same seed, same
batches), and PNGs with ones built from the render helpers alone.
"""

from __future__ import annotations

import numpy as np
import pytest
import traitlets
from conftest import small_cnn
from matplotlib.figure import Figure
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.render import (
    overlay,
    perturbation_baseline,
    segment_boundaries,
    to_map,
    to_png,
    top_segments,
)
from interpret_widgets.widgets import Dashboard, GradCAMPanel, GradientPanel, PerturbationPanel

NAMES = ["cat", "dog", "fox", "owl", "eel"]
TAB = "SHAP · LIME · Occlusion"


@pytest.fixture(scope="module")
def model():
    return small_cnn("dense", seed=3)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(11).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


@pytest.fixture(scope="module")
def demo():
    from interpret_widgets.demo import CLASS_NAMES, demo_images, load_demo_model

    return load_demo_model(), demo_images(3, seed=7)[0], CLASS_NAMES


def settled(panel):
    assert panel.wait(120), "the panel's background work did not finish"
    return panel


def click_bar(panel, position: int) -> None:
    """A bar click as bqplot's front end reports it."""
    bars = panel.class_bars.bars
    bars._handle_custom_msgs(bars, {"event": "element_click", "data": {"index": position}}, [])


def count_computes(panel) -> list:
    calls: list = []
    original = panel.compute

    def counting(target, method=None):
        calls.append(target)
        return original(target, method)

    panel.compute = counting
    return calls


def shap_reference(model, x, target, panel):
    segments = methods.superpixels(x, panel.n_segments, panel.compactness)
    return methods.kernel_shap(
        model, x, target, segments, panel.samples, 0.0, batch_size=panel.batch_size
    )[0]


def shown_png(panel, raw) -> bytes:
    image = panel.images[panel.image_index]
    return to_png(overlay(image, raw, panel.cmap, panel.opacity, panel.normalization))


def test_kernel_shap_progress_map_class_click_and_cache(demo):
    model, x, names = demo
    with untouched(model):
        panel = PerturbationPanel(
            model, x, names, active=False, samples=48, n_segments=12, batch_size=16
        )
        seen: list[int] = []
        panel.progress_bar.observe(lambda change: seen.append(change["new"]), "value")
        panel.method_dropdown.value = "kernel_shap"  # what a user picks
        panel.active = True
        settled(panel)
        assert panel.status.state == "ok", panel.status.message
        # The bar advanced batch by batch up to the total (samples + the two end coalitions).
        total = panel.progress_bar.max
        assert total == 48 + 2 and seen[-1] == total
        assert len(seen) >= 3 and seen == sorted(seen)
        first_target = panel.target
        reference = shap_reference(model, x[:1], first_target, panel)
        raw = panel.cache[("kernel_shap", first_target)]
        assert np.array_equal(raw.values, reference)  # exactly: same seed, same batches
        assert panel.main.heatmap.value == shown_png(panel, reference)
        assert panel.boundaries.value == to_png(segment_boundaries(x[0], raw.segments))
        best = top_segments(reference, raw.segments, 5)[0]
        assert f"{best[1]:+.4g}" in panel.top_list.value

        calls = count_computes(panel)
        click_bar(panel, 2)
        settled(panel)
        clicked = panel.target
        assert clicked != first_target and calls == [clicked]
        other = shap_reference(model, x[:1], clicked, panel)
        assert np.array_equal(panel.cache[("kernel_shap", clicked)].values, other)
        assert panel.main.heatmap.value == shown_png(panel, other) != shown_png(panel, reference)

        click_bar(panel, panel.class_bars.classes.index(first_target))
        settled(panel)  # a cache hit: nothing recomputed
        assert calls == [clicked] and panel.target == first_target
        assert panel.main.heatmap.value == shown_png(panel, reference)
        # Cached by parameters too: setting samples back finds the map again.
        panel.samples = 24
        settled(panel)
        panel.samples = 48
        settled(panel)
        assert calls == [clicked, first_target]
        assert panel.main.heatmap.value == shown_png(panel, reference)


def test_stop_halts_within_one_batch(model, images):
    with untouched(model):
        panel = PerturbationPanel(
            model,
            images,
            NAMES,
            active=False,
            samples=400,
            n_segments=40,
            compactness=100.0,  # noise images: a low compactness gives one segment
            batch_size=16,
        )
        pressed: list[int] = []

        def press_stop(change):  # runs in the worker, from the progress callback
            if change["new"] >= 16 and not pressed:
                pressed.append(change["new"])
                panel.stop_button.click()

        panel.progress_bar.observe(press_stop, "value")
        panel.active = True
        settled(panel)
        assert pressed, "the run ended before its first batch was reported"
        # The batch being scored when Stop was pressed is the last one.
        assert pressed[0] <= panel.evaluated <= pressed[0] + 16 < panel.progress_bar.max
        assert panel.status.state == "error" and "stopped after" in panel.status.message
        assert panel.main.heatmap.value == b""  # no map of a run that did not finish
        assert panel.main.note.value == "" and panel.top_list.value == ""
        assert panel.progress_box.layout.display == "none"
        panel.samples = 16  # a new run goes to the end
        settled(panel)
        assert panel.status.state == "ok" and panel.evaluated == panel.progress_bar.max


@pytest.mark.parametrize(
    ("name", "value"),
    [("samples", 0), ("n_segments", 0), ("compactness", 0.0), ("baseline", "grey")],
)
def test_invalid_parameter_is_shown_in_the_status_line(model, images, name, value):
    panel = settled(PerturbationPanel(model, images, NAMES, samples=16, n_segments=4))
    before = getattr(panel, name)
    with pytest.raises(traitlets.TraitError):
        setattr(panel, name, value)
    assert panel.status.state == "error"
    assert name in panel.status.message and str(value) in panel.status.message
    assert getattr(panel, name) == before  # refused, not clamped


def test_other_methods_equal_the_functions(model, images):
    with untouched(model):
        panel = settled(
            PerturbationPanel(
                model,
                images,
                NAMES,
                image_index=1,
                samples=32,
                n_segments=6,
                compactness=100.0,
                baseline="mean",
            )
        )
        x, target = images[1:2], panel.target
        mean = x.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
        segments = methods.superpixels(x, 6, 100.0)
        assert len(np.unique(segments)) > 2
        expected = {
            "kernel_shap": methods.kernel_shap(model, x, target, segments, 32, mean)[0],
            "lime": methods.lime(model, x, target, segments, 32, baseline=mean)[0],
            "occlusion": methods.occlusion(model, x, target, 8, 4, mean)[0],
            # DeepSHAP's references: the other loaded images.
            "deep_shap": to_map(methods.deep_shap(model, x, images[[0, 2]], target)[0]),
        }
        for method, reference in expected.items():
            panel.method = method
            settled(panel)
            assert panel.status.state == "ok", panel.status.message
            np.testing.assert_array_equal(panel.cache[(method, target)].values, reference)
            shows_segments = method in ("kernel_shap", "lime")
            assert (panel.segments_box.layout.display is None) == shows_segments
        fig = panel.figure()
        assert isinstance(fig, Figure) and "DeepSHAP" in fig.get_suptitle()
        panel.method = "lime"  # cached: the figure's first picture shows the superpixels
        fig = panel.figure()
        first = fig.axes[0]
        assert "superpixels" in first.get_title() and "LIME" in fig.get_suptitle()
        shown = first.get_images()[0].get_array()
        np.testing.assert_array_equal(shown, segment_boundaries(x[0], segments[0]))


def test_baselines_and_segment_helpers():
    x = np.random.default_rng(0).uniform(0, 1, (2, 12, 12, 3)).astype("float32")
    assert perturbation_baseline(x, "zeros") == 0.0
    np.testing.assert_allclose(
        perturbation_baseline(x, "mean")[:, 0, 0], x.reshape(2, -1, 3).mean(axis=1), rtol=1e-6
    )
    # A blur keeps a constant image and keeps the mean of any image (mirror borders):
    # float32 sums over 144 pixels, so 1e-5.
    flat = np.full((1, 12, 12, 3), 0.3, "float32")
    np.testing.assert_allclose(perturbation_baseline(flat, "blur"), flat, atol=1e-6)
    blurred = perturbation_baseline(x, "blur")
    assert blurred.std() < x.std()
    with pytest.raises(ValueError, match="baseline must be one of"):
        perturbation_baseline(x, "grey")
    segments = np.repeat(np.arange(3), 4)[None, :].repeat(12, 0)  # three vertical bands
    values = np.where(segments == 1, -2.0, segments * 0.5)
    assert top_segments(values, segments, 2) == [(1, -2.0, 48), (2, 1.0, 48)]
    marked = segment_boundaries(np.zeros((12, 12, 3)), segments)
    # "inner" boundaries: the pixels of a band next to another band are yellow.
    assert (marked[:, 3] == [255, 255, 0]).all() and (marked[:, 1] == 0).all()


@pytest.mark.parametrize(
    ("variant", "function"),
    [("scorecam", methods.score_cam), ("layercam", methods.layer_cam)],
)
def test_score_cam_and_layer_cam_in_the_cam_panel(model, images, variant, function):
    with untouched(model):
        panel = settled(GradCAMPanel(model, images, NAMES))
        panel.variant_buttons.value = variant
        settled(panel)
        assert panel.status.state == "ok", panel.status.message
        expected = function(model, images[:1], panel.target, panel.layer)[0]
        np.testing.assert_array_equal(panel.cache[(variant, panel.target)].values, expected)


def test_guided_backprop_in_the_gradient_panel(model, images):
    with untouched(model):
        panel = settled(GradientPanel(model, images, NAMES))
        panel.method_dropdown.value = "guided_backprop"
        settled(panel)
        assert panel.status.state == "ok", panel.status.message
        expected = to_map(methods.guided_backprop(model, images[:1], panel.target)[0])
        np.testing.assert_array_equal(
            panel.cache[("guided_backprop", panel.target)].values, expected
        )


def test_dashboard_tab(model, images):
    dashboard = Dashboard(model, images, NAMES)
    panel = dashboard.show(TAB)
    assert isinstance(panel, PerturbationPanel) and panel.selection is dashboard.selection
    panel.samples, panel.n_segments = 16, 4
    assert dashboard.wait(120)
    assert panel.status.state == "ok", panel.status.message
    dashboard.target = 3  # the shared selection drives the panel
    assert dashboard.wait(120)
    assert panel.target == 3 and (panel.method, 3) in panel.cache


def test_sliders_grow_instead_of_clamping(model, images):
    panel = PerturbationPanel(model, images, NAMES, active=False)
    panel.samples = 20_000  # beyond the slider's range: the slider grows, nothing clamps
    assert panel.samples == panel.parameter_widgets["samples"].value == 20_000
    panel.compactness = 500.0  # a log slider: its exponent range grows
    assert panel.compactness == panel.parameter_widgets["compactness"].value == 500.0
