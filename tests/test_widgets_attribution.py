"""The attribution panels in Python: real TensorFlow, real ipywidgets and bqplot, no browser.

Each test plays what a user's action sets (a bar click replayed as the front end sends it, a
dropdown value, a slider value) and compares the PNG the panel shows with one computed
independently from the methods and render helpers. PNG bytes are compared exactly: the
methods are deterministic on CPU and the panel must show exactly what they return.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from matplotlib.figure import Figure
from model_guard import untouched

from interpret_widgets.methods import (
    grad_cam,
    grad_cam_plus_plus,
    integrated_gradients,
    saliency,
    smoothgrad,
)
from interpret_widgets.model import get_adapter
from interpret_widgets.render import overlay, to_png
from interpret_widgets.widgets import GradCAMPanel, GradientPanel, LRPPanel
from interpret_widgets.widgets.panels import conservation_text

NAMES = ["cat", "dog", "fox", "owl", "eel"]


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense", seed=3)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(11).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


def softmax(z: np.ndarray) -> np.ndarray:
    """Class probabilities from logits, written out in numpy (independent of the widgets)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def css(widget) -> list[str]:
    """The CSS classes a browser gets for ``widget`` (from its synced state)."""
    return list(widget.get_state()["_dom_classes"])


def build(cls, *args, **traits):
    """A panel whose first computation (run in a worker thread) has finished."""
    panel = cls(*args, **traits)
    assert panel.wait(60), "the panel's background work did not finish"
    return panel


def settle(panel) -> None:
    """Wait for the background work an action may have started (a method's first use)."""
    assert panel.wait(60), "the panel's background work did not finish"


def expected_png(panel, raw: np.ndarray) -> bytes:
    """The overlay the panel should show for ``raw``, built from the render helpers alone."""
    image = panel.images[panel.image_index]
    return to_png(overlay(image, raw, panel.cmap, panel.opacity, panel.normalization))


def count_computes(panel) -> list:
    """Spy on the panel's public ``compute``: the list collects the classes computed with
    the panel's own method, and ``(class, method)`` for those computed with another."""
    calls: list = []
    original = panel.compute

    def counting(target: int, method: str | None = None):
        own = method is None or method == panel.current_method
        calls.append(target if own else (target, method))
        return original(target, method)

    panel.compute = counting
    return calls


def click_bar(panel, position: int, how: str) -> None:
    """A bar click as the browser reports it: the synced ``selected``, or the custom
    message that bqplot's front end sends (handed to the widget as its comm would)."""
    bars = panel.class_bars.bars
    if how == "selected":
        bars.selected = [position]
    else:
        bars._handle_custom_msgs(bars, {"event": "element_click", "data": {"index": position}}, [])


# -- references: what each panel should show, computed without the panel --------------------
# ``method`` names another of the panel's methods (the method comparison shows it).
def cam_reference(model, x, target, panel, method=None):
    variant = method or panel.variant
    cam = grad_cam if variant == "gradcam" else grad_cam_plus_plus
    return cam(model, x, target, panel.layer)[0]


def lrp_reference(model, x, target, panel, method=None):
    from interpret_widgets.methods.lrp import lrp

    rule = method or panel.rule
    return lrp(model, x, target, rule, **panel.rule_parameters(rule))[0]


def gradient_reference(model, x, target, panel, method=None):
    method = method or panel.method
    if method == "smoothgrad":
        return smoothgrad(model, x, target, samples=panel.samples, noise=panel.noise)[0]
    if method == "integrated_gradients":
        return integrated_gradients(model, x, target, steps=panel.steps)[0]
    return saliency(model, x, target)[0]


PANELS = [
    pytest.param(GradCAMPanel, cam_reference, {}, id="gradcam"),
    pytest.param(GradCAMPanel, cam_reference, {"variant": "gradcam++"}, id="gradcam++"),
    pytest.param(LRPPanel, lrp_reference, {}, id="lrp"),
    pytest.param(LRPPanel, lrp_reference, {"rule": "epsilon", "epsilon": 0.01}, id="lrp-eps"),
    pytest.param(GradientPanel, gradient_reference, {}, id="saliency"),
    pytest.param(
        GradientPanel, gradient_reference, {"method": "smoothgrad", "samples": 4}, id="smoothgrad"
    ),
    pytest.param(
        GradientPanel,
        gradient_reference,
        {"method": "integrated_gradients", "steps": 8},
        id="ig",
    ),
]


@pytest.mark.parametrize(("cls", "reference", "traits"), PANELS)
@pytest.mark.parametrize("how", ["selected", "custom_msg"])
def test_bar_click_shows_that_class(model, images, cls, reference, traits, how):
    with untouched(model):
        panel = build(cls, model, images, NAMES, image_index=1, **traits)
        x = images[1:2]
        probs = softmax(get_adapter(model).logits(x)[0])
        predicted = int(np.argmax(probs))
        assert panel.status.state == "ok", panel.status.message
        assert panel.target == predicted
        assert panel.class_bars.classes[0] == predicted
        assert list(panel.class_bars.bars.selected) == [0]
        first = panel.main.heatmap.value
        assert first == expected_png(panel, reference(model, x, predicted, panel))

        click_bar(panel, 2, how)
        clicked = panel.class_bars.classes[2]
        assert panel.target == clicked != predicted
        assert list(panel.class_bars.bars.selected) == [2]
        assert panel.main.heatmap.value == expected_png(panel, reference(model, x, clicked, panel))
        assert panel.main.heatmap.value != first
        assert f"<b>{NAMES[clicked]}</b>" in panel.main.label.value
        assert panel.status.state == "ok", panel.status.message


def test_bars_show_top_k_softmax_probabilities(model, images):
    panel = build(GradCAMPanel, model, images, NAMES, top_k=3)
    probs = softmax(get_adapter(model).logits(images[:1])[0])
    order = np.argsort(-probs)[:3]
    bars = panel.class_bars.bars
    assert panel.class_bars.classes == [int(i) for i in order]
    assert list(bars.x) == [f"{NAMES[i]} {probs[i]:.2f}" for i in order]
    np.testing.assert_allclose(bars.y, probs[order], rtol=0, atol=1e-7)
    assert "iw-class-bars" in css(panel.class_bars.figure)
    # A class outside the top k gets its own bar, selected.
    outside = int(np.argsort(-probs)[-1])
    panel.target = outside
    assert panel.class_bars.classes[-1] == outside
    assert list(bars.selected) == [3]
    # A click on the background clears bqplot's selection; the target stays highlighted.
    bars.selected = None
    assert list(bars.selected) == [3] and panel.target == outside


def test_presentation_rerenders_without_recomputing(model, images):
    with untouched(model):
        panel = build(GradCAMPanel, model, images, NAMES)
        calls = count_computes(panel)
        raw = grad_cam(model, images[:1], panel.target, panel.layer)[0]
        before = panel.main.heatmap.value, panel.main.rawmap.value
        panel.cmap = "viridis"
        panel.opacity = 0.8
        panel.normalization = "abs"
        assert calls == []
        assert panel.main.heatmap.value == expected_png(panel, raw)
        assert panel.main.heatmap.value != before[0] and panel.main.rawmap.value != before[1]
        # Through the controls, as the browser sets them.
        panel.controls.cmap_dropdown.value = "gray"
        panel.controls.opacity_slider.value = 0.25
        assert calls == [] and panel.cmap == "gray" and panel.opacity == 0.25
        assert panel.main.heatmap.value == expected_png(panel, raw)
        # Inputs recompute, once each.
        panel.layer_dropdown.value = "relu_a"
        settle(panel)  # a new layer is a first use: computed in the background
        assert calls == [panel.target]
        raw = grad_cam(model, images[:1], panel.target, "relu_a")[0]
        assert panel.main.heatmap.value == expected_png(panel, raw)
        panel.variant_buttons.value = "gradcam++"
        settle(panel)
        assert len(calls) == 2


def test_new_image_follows_prediction_with_one_computation(model, images):
    panel = build(GradCAMPanel, model, images, NAMES)
    calls = count_computes(panel)
    probs = softmax(get_adapter(model).logits(images)).argmax(axis=-1)
    panel.controls.image_slider.value = 2
    assert panel.image_index == 2 and panel.target == probs[2]
    assert calls == [probs[2]]
    raw = grad_cam(model, images[2:3], int(probs[2]), panel.layer)[0]
    assert panel.main.heatmap.value == expected_png(panel, raw)


def test_side_by_side_second_class(model, images):
    panel = build(GradCAMPanel, model, images, NAMES)
    probs = softmax(get_adapter(model).logits(images[:1])[0])
    runner_up = int(np.argsort(-probs)[1])
    panel.controls.compare_toggle.value = True
    assert panel.compare_target == runner_up
    assert panel.compare_row.layout.display is None
    raw = grad_cam(model, images[:1], runner_up, panel.layer)[0]
    assert panel.second.heatmap.value == expected_png(panel, raw)
    assert f"<b>{NAMES[runner_up]}</b>" in panel.second.label.value
    panel.controls.compare_dropdown.value = 4
    raw = grad_cam(model, images[:1], 4, panel.layer)[0]
    assert panel.second.heatmap.value == expected_png(panel, raw)
    fig = panel.figure()
    assert isinstance(fig, Figure) and len(fig.axes) >= 6


COMPARED_METHODS = [
    pytest.param(GradCAMPanel, cam_reference, {}, "gradcam", "gradcam++", id="gradcam"),
    pytest.param(LRPPanel, lrp_reference, {}, "epsilon_plus", "zplus", id="lrp"),
    pytest.param(
        GradientPanel, gradient_reference, {"samples": 4}, "saliency", "smoothgrad", id="gradients"
    ),
]


@pytest.mark.parametrize(("cls", "reference", "traits", "own", "other"), COMPARED_METHODS)
def test_side_by_side_second_method(model, images, cls, reference, traits, own, other):
    with untouched(model):
        panel = build(cls, model, images, NAMES, **traits)
        calls = count_computes(panel)
        # Chosen while the comparison is off: nothing shown changes, nothing is computed.
        panel.controls.compare_mode_buttons.value = "method"
        assert panel.compare_mode == "method"
        assert panel.controls.compare_dropdown.layout.display == "none"
        assert panel.controls.compare_method_dropdown.layout.display is None
        offered = [value for _, value in panel.controls.compare_method_dropdown.options]
        assert own not in offered and other in offered
        panel.controls.compare_method_dropdown.value = other
        assert panel.compare_method == other and calls == []
        panel.controls.compare_toggle.value = True
        settle(panel)
        target = panel.target
        assert calls == [(target, other)]  # the panel's own map is cached
        assert panel.compare_row.layout.display is None
        x = images[:1]
        expected = reference(model, x, target, panel, other)
        assert panel.second.heatmap.value == expected_png(panel, expected)
        assert panel.main.heatmap.value == expected_png(panel, reference(model, x, target, panel))
        assert panel.second.heatmap.value != panel.main.heatmap.value
        assert panel.describe(other) in panel.second.label.value
        assert panel.describe() in panel.main.label.value
        assert f"<b>{NAMES[target]}</b>" in panel.second.label.value
        assert panel.status.state == "ok", panel.status.message

        # Presentation: both re-render from the cache.
        before = panel.second.heatmap.value, panel.second.rawmap.value
        panel.controls.cmap_dropdown.value = "gray"
        panel.controls.opacity_slider.value = 0.8
        assert len(calls) == 1
        assert panel.second.heatmap.value == expected_png(panel, expected)
        assert panel.main.heatmap.value == expected_png(panel, reference(model, x, target, panel))
        assert (panel.second.heatmap.value, panel.second.rawmap.value) != before

        # Another class: both maps follow it.
        click_bar(panel, 2, "selected")
        clicked = panel.class_bars.classes[2]
        assert calls[1:] == [clicked, (clicked, other)]
        assert panel.main.heatmap.value == expected_png(panel, reference(model, x, clicked, panel))
        expected = reference(model, x, clicked, panel, other)
        assert panel.second.heatmap.value == expected_png(panel, expected)
        assert f"<b>{NAMES[clicked]}</b>" in panel.second.label.value

        # Another image: both recomputed, for its predicted class.
        panel.controls.image_slider.value = 2
        x, target = images[2:3], panel.target
        assert calls[3:] == [target, (target, other)]
        assert panel.main.heatmap.value == expected_png(panel, reference(model, x, target, panel))
        expected = reference(model, x, target, panel, other)
        assert panel.second.heatmap.value == expected_png(panel, expected)

        # The figure has a second row: the compared method's overlay, titled with it.
        fig = panel.figure()
        assert len(calls) == 5
        assert len(fig.axes) == 8  # 2 rows × (image, overlay, raw map) + 2 colour bars
        overlay_axes = fig.axes[4]
        assert panel.describe(other) in overlay_axes.get_title()
        assert panel.describe(other) in fig.get_suptitle()
        image = panel.images[2]
        np.testing.assert_array_equal(
            overlay_axes.images[0].get_array(),
            overlay(image, expected, panel.cmap, panel.opacity, panel.normalization),
        )
        panel.compare = False
        assert len(panel.figure().axes) == 4


def test_choosing_the_compared_method_swaps_without_recomputing(model, images):
    panel = build(GradCAMPanel, model, images, NAMES, compare=True, compare_mode="method")
    assert panel.compare_method == "gradcam++"
    probs = softmax(get_adapter(model).logits(images[:1])[0])
    assert panel.compare_target == int(np.argsort(-probs)[1])  # the runner-up, not the target
    calls = count_computes(panel)
    panel.variant_buttons.value = "gradcam++"
    assert panel.compare_method == "gradcam"
    assert panel.controls.compare_method_dropdown.value == "gradcam"
    options = [value for _, value in panel.controls.compare_method_dropdown.options]
    assert options == ["gradcam", "scorecam", "layercam"]
    assert calls == []  # both maps are cached per method
    raw = grad_cam(model, images[:1], panel.target, panel.layer)[0]
    assert panel.second.heatmap.value == expected_png(panel, raw)
    # Back to comparing classes: the compared class's map, with the panel's method.
    panel.compare_mode = "class"
    assert calls == [panel.compare_target]
    raw = grad_cam_plus_plus(model, images[:1], panel.compare_target, panel.layer)[0]
    assert panel.second.heatmap.value == expected_png(panel, raw)
    assert panel.controls.compare_method_dropdown.layout.display == "none"


@pytest.mark.parametrize(
    ("cls", "reference", "traits", "other", "name", "value", "control"),
    [
        pytest.param(
            GradientPanel,
            gradient_reference,
            {"steps": 8},
            "integrated_gradients",
            "steps",
            4,
            "steps_slider",
            id="gradients",
        ),
        pytest.param(
            LRPPanel,
            lrp_reference,
            {"rule": "zplus"},
            "epsilon",
            "epsilon",
            0.1,
            "epsilon_slider",
            id="lrp",
        ),
    ],
)
def test_compared_method_parameters(
    model, images, cls, reference, traits, other, name, value, control
):
    with untouched(model):
        panel = build(cls, model, images, NAMES, **traits)
        slider = panel.parameter_widgets[name]
        assert slider.layout.display == "none"  # the panel's own method does not use it
        panel.compare_method = other
        panel.compare_mode = "method"
        panel.compare = True
        settle(panel)
        assert slider.layout.display is None  # the compared one does
        calls = count_computes(panel)
        slider.value = value
        assert getattr(panel, name) == value
        assert calls == [(panel.target, other)]  # the panel's own map stays
        expected = reference(model, images[:1], panel.target, panel, other)
        assert panel.second.heatmap.value == expected_png(panel, expected)
        assert panel.main.heatmap.value == expected_png(
            panel, reference(model, images[:1], panel.target, panel)
        )
        note = "Σ IG" if cls is GradientPanel else "Σ R"
        assert note in panel.second.note.value
        panel.compare = False
        assert slider.layout.display == "none"
        setattr(panel, name, value * 2)  # used by no map shown: nothing computed
        assert len(calls) == 1
        panel.compare = True  # but the compared method's cached map was forgotten
        assert calls[1:] == [(panel.target, other)]
        expected = reference(model, images[:1], panel.target, panel, other)
        assert panel.second.heatmap.value == expected_png(panel, expected)


def test_method_comparison_errors(model, images):
    import traitlets

    with untouched(model):
        panel = build(GradCAMPanel, model, images, NAMES, compare=True, compare_mode="method")
        for trait, bad in [("compare_method", "lrp"), ("compare_mode", "both")]:
            with pytest.raises(traitlets.TraitError):
                setattr(panel, trait, bad)
            # One policy: refused, and the reason is in the status line.
            assert panel.status.state == "error" and repr(bad) in panel.status.message
        panel.layer = "gap"  # no spatial axes: both variants refuse
        settle(panel)
        assert panel.status.state == "error"
        assert "no spatial axes" in panel.status.message
        assert panel.main.heatmap.value == panel.second.heatmap.value == b""
        with pytest.raises(RuntimeError, match="failed"):
            panel.figure()
        panel.layer_dropdown.value = "conv_a"
        settle(panel)
        assert panel.status.state == "ok"
        raw = grad_cam_plus_plus(model, images[:1], panel.target, "conv_a")[0]
        assert panel.second.heatmap.value == expected_png(panel, raw)


@pytest.mark.parametrize("cls", [GradCAMPanel, LRPPanel, GradientPanel])
def test_figure_shows_what_the_panel_shows(model, images, cls):
    panel = build(cls, model, images, NAMES)
    fig = panel.figure()
    assert isinstance(fig, Figure)
    assert NAMES[panel.target] in fig.get_suptitle()
    assert panel.describe() in fig.get_suptitle()


def test_lrp_conservation_line(model, images):
    from interpret_widgets.methods.lrp import lrp_report

    panel = build(LRPPanel, model, images, NAMES, rule="epsilon")
    report = lrp_report(model, images[:1], panel.target, "epsilon", **panel.rule_parameters())
    text = conservation_text(float(report.scores[0]), float(report.input_sum[0]))
    assert panel.conservation.value == text
    assert text.startswith("Σ R = ") and "· score (score " in text
    assert "iw-conservation" in css(panel.conservation)
    # Parameters follow the rule: only ε is shown for the ε rule, α for α-β.
    assert panel.parameter_widgets["epsilon"].layout.display is None
    assert panel.parameter_widgets["alpha"].layout.display == "none"
    panel.rule_dropdown.value = "alpha_beta"
    settle(panel)
    assert panel.parameter_widgets["alpha"].layout.display is None
    assert panel.rule_parameters() == {"alpha": 1.0, "beta": 0.0}
    assert panel.status.state == "ok", panel.status.message


def test_unused_parameter_does_not_recompute(model, images):
    panel = build(GradientPanel, model, images, NAMES)
    calls = count_computes(panel)
    panel.steps = 4  # Integrated Gradients' parameter, saliency is shown
    assert calls == []
    panel.method_dropdown.value = "integrated_gradients"
    settle(panel)
    assert len(calls) == 1
    assert "Σ IG" in panel.main.note.value


def test_css_classes(model, images):
    panel = build(GradCAMPanel, model, images, NAMES)
    assert "iw-heatmap" in css(panel.main.heatmap)
    assert "iw-rawmap" in css(panel.main.rawmap)
    assert "iw-class-label" in css(panel.main.label)
    assert "iw-cam-layer" in css(panel.layer_dropdown)
    assert "iw-status" in css(panel.status)
    grads = build(GradientPanel, model, images, NAMES)
    assert "iw-gradient-method" in css(grads.method_dropdown)
    lrp_panel = build(LRPPanel, model, images, NAMES)
    assert "iw-lrp-rule" in css(lrp_panel.rule_dropdown)


# -- bad input: a message in the widget, never a traceback ----------------------------------
def _no_spatial_model() -> keras.Model:
    inp = keras.Input((16, 16, 3))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inp))
    return keras.Model(inp, out, name="flat_model")


def _tabular_model() -> keras.Model:
    inp = keras.Input((10,))
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(inp), name="tabular")


@pytest.mark.parametrize(
    ("make", "data", "message"),
    [
        (lambda: small_cnn("dense"), np.zeros((2, 16, 16, 1), "float32"), "expects 3"),
        (lambda: small_cnn("dense"), np.zeros((2, 20, 20, 3), "float32"), "expects"),
        (lambda: small_cnn("dense"), np.zeros((16, 16), "float32"), "rank 4"),
        (_no_spatial_model, np.zeros((2, 16, 16, 3), "float32"), "4-D"),
        (_tabular_model, np.zeros((2, 10), "float32"), "image models"),
        (lambda: "not a model", np.zeros((2, 16, 16, 3), "float32"), "keras.Model"),
    ],
    ids=["grayscale", "size", "rank", "no-4d-layer", "tabular", "not-a-model"],
)
def test_bad_input_becomes_a_status_message(make, data, message):
    panel = build(GradCAMPanel, make(), data)
    assert panel.status.state == "error"
    assert message in panel.status.message
    assert "iw-status-error" in css(panel.status)
    panel.opacity = 0.3  # still usable: no exception
    with pytest.raises(RuntimeError, match="not usable|failed"):
        panel.figure()


def test_wrong_class_names_count(model, images):
    panel = build(GradientPanel, model, images, ["a", "b"])
    assert panel.status.state == "error" and "2 names" in panel.status.message


def test_failed_computation_is_reported_and_recoverable(model, images):
    with untouched(model):
        panel = build(GradCAMPanel, model, images, NAMES)
        panel.layer = "gap"  # no spatial axes: the method refuses
        settle(panel)
        assert panel.status.state == "error"
        assert "no spatial axes" in panel.status.message
        assert panel.main.heatmap.value == b""
        panel.layer_dropdown.value = "conv_a"
        settle(panel)
        assert panel.status.state == "ok"
        raw = grad_cam(model, images[:1], panel.target, "conv_a")[0]
        assert panel.main.heatmap.value == expected_png(panel, raw)


def test_invalid_trait_values_are_refused(model, images):
    import traitlets

    panel = build(GradCAMPanel, model, images, NAMES)
    before = panel.main.heatmap.value
    for name, value in [("target", 5), ("image_index", 3), ("cmap", "nope"), ("opacity", 2.0)]:
        with pytest.raises(traitlets.TraitError):
            setattr(panel, name, value)
        # One policy: the value is refused (nothing clamped) and the reason is shown.
        assert panel.status.state == "error", name
        assert name in panel.status.message and str(value) in panel.status.message
    assert (panel.target, panel.image_index, panel.cmap, panel.opacity) == (
        panel.selection.predicted(0), 0, "jet", 0.5
    )
    assert panel.main.heatmap.value == before


def test_nested_model_and_single_image(images):
    nested = nested_model()
    with untouched(nested):
        panel = build(GradCAMPanel, nested, images[0])  # one image: the batch axis is added
        assert panel.status.state == "ok", panel.status.message
        assert panel.layer == "inner_relu"
        assert "inner_conv1" in panel.layer_dropdown.options
        assert panel.class_names == [f"class {i}" for i in range(4)]
        raw = grad_cam(nested, images[:1], panel.target, "inner_relu")[0]
        assert panel.main.heatmap.value == expected_png(panel, raw)
        click_bar(panel, 1, "custom_msg")
        raw = grad_cam(nested, images[:1], panel.target, "inner_relu")[0]
        assert panel.main.heatmap.value == expected_png(panel, raw)


def test_inactive_panel_waits(model, images):
    panel = build(GradCAMPanel, model, images, NAMES, active=False)
    assert panel.main.heatmap.value == b""
    calls = count_computes(panel)
    panel.target = 1
    panel.cmap = "gray"
    assert calls == []
    panel.active = True
    settle(panel)
    assert calls == [1]
    raw = grad_cam(model, images[:1], 1, panel.layer)[0]
    assert panel.main.heatmap.value == expected_png(panel, raw)


def test_lrp_selector_follows_the_registry(model, images):
    """A composite registered by a user appears in the LRP panel with no widget change."""
    from interpret_widgets.methods.lrp import COMPOSITES, Composite, lrp, register_composite
    from interpret_widgets.methods.lrp.composites import WEIGHT_KINDS

    register_composite(Composite("gamma_everywhere_test", ((WEIGHT_KINDS, "gamma"),)))
    try:
        panel = build(LRPPanel, model, images, NAMES)
        options = dict(panel.rule_dropdown.options)
        assert options["composite γ + everywhere + test"] == "gamma_everywhere_test"
        assert options["ε rule"] == "epsilon" and options["composite ε + z⁺"] == "epsilon_plus"
        panel.rule_dropdown.value = "gamma_everywhere_test"
        settle(panel)
        # Its parameters come from the registry too: γ is shown, ε and α are not.
        shown = {n for n, w in panel.parameter_widgets.items() if w.layout.display is None}
        assert shown == {"gamma"}
        panel.parameter_widgets["gamma"].value = 0.5
        assert panel.rule_parameters() == {"gamma": 0.5}
        raw = lrp(model, images[:1], panel.target, "gamma_everywhere_test", gamma=0.5)[0]
        assert panel.main.heatmap.value == expected_png(panel, raw)
        assert panel.status.state == "ok", panel.status.message
    finally:
        del COMPOSITES["gamma_everywhere_test"]


def test_first_use_runs_off_the_main_thread(images):
    """A method's first call on a model runs in a worker thread, with a preparing message;
    stale results (for a class no longer selected) are not shown."""
    import threading

    fresh = small_cnn("dense", seed=21)  # nothing traced for it yet
    panel = GradientPanel(fresh, images, NAMES, active=False)
    release, threads = threading.Event(), []
    original = panel.compute

    def slow(target, method=None):
        threads.append(threading.get_ident())
        release.wait(30)
        return original(target, method)

    panel.compute = slow
    panel.active = True  # returns at once
    assert panel.busy and "preparing Saliency for" in panel.status.message
    assert "(first use traces the model)" in panel.status.message
    other = (panel.target + 1) % len(NAMES)
    panel.target = other  # while busy: noted, computed after the first result
    release.set()
    settle(panel)
    assert threading.get_ident() not in threads
    assert not panel.busy and panel.status.state == "ok", panel.status.message
    raw = saliency(fresh, images[:1], other)[0]
    assert panel.main.heatmap.value == expected_png(panel, raw)
    assert f"<b>{NAMES[other]}</b>" in panel.main.label.value
