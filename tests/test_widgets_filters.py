"""FilterVisualizer in Python: the real feature-visualization engine in a worker thread.

Runs are short (tens of steps on a 16×16 model). Where a test needs to act at an exact
step, it wraps the optimizer's own public ``steps()`` generator (a real FilterOptimizer) to
press Stop from inside the worker right after that step. Tests use the public surface: the
traits, ``start``/``stop``/``wait``, the controls and the components (``progress``,
``pictures``, ``chart``) with the values a browser receives.
"""

from __future__ import annotations

import threading
import time

import keras
import numpy as np
import pytest
import traitlets
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets.methods.featviz import FilterOptimizer, FilterVisualization
from interpret_widgets.widgets.filter_visualizer import (
    FilterVisualizer,
    format_channels,
    parse_channels,
)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense")


@pytest.fixture
def stop_at(monkeypatch):
    """``stop_at(viz, step)``: the next runs press Stop while ``step`` computes.

    Wraps the optimizer's own public ``steps()`` generator; returns the steps it saw.
    """

    def install(viz: FilterVisualizer, step: int) -> list[int]:
        seen: list[int] = []
        steps = FilterOptimizer.steps

        def watched(self, *args, **kwargs):
            for progress in steps(self, *args, **kwargs):
                seen.append(progress.step)
                if progress.step == step:  # Stop arrives while this step computes
                    viz.stop_button.click()
                yield progress

        monkeypatch.setattr(FilterOptimizer, "steps", watched)
        return seen

    return install


def workers() -> list[threading.Thread]:
    """The visualizers' worker threads still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("iw-filter-visualizer-")]


def test_short_run_completes(model):
    with untouched(model):
        viz = FilterVisualizer(model, layer="conv_b", channels=[0, 3, 5])
        viz.steps = 20
        viz.image_every = 5
        assert viz.result is None and not viz.running
        viz.start_button.click()
        assert viz.wait(60)
    assert not viz.running
    assert viz.status.state == "ok", viz.status.message
    assert viz.status.message.startswith("done: 20 steps")
    assert viz.progress.total == 20 and viz.progress.step == 20
    assert viz.progress.label.value.startswith("step 20 / 20 · ")
    assert "steps/s" in viz.progress.label.value
    result = viz.result
    assert isinstance(result, FilterVisualization)
    assert result.images.shape == (3, 16, 16, 3)
    assert result.channels == (0, 3, 5) and result.layer == "conv_b"
    assert viz.pictures.image.value[:4] == b"\x89PNG"
    assert viz.chart.lines.y.shape == (3, 20)
    np.testing.assert_allclose(viz.chart.lines.y, result.objectives_history.T, rtol=1e-6)
    assert list(viz.chart.lines.labels) == ["ch 0", "ch 3", "ch 5"]
    assert viz.stop_button.disabled


def test_stop_halts_within_one_step_and_keeps_images(model, stop_at):
    viz = FilterVisualizer(model, layer="relu_a", channels=[1, 2])
    viz.steps = 400
    seen = stop_at(viz, 7)
    viz.start()
    assert viz.wait(60)
    assert seen[-1] == 7, "no step may run after the one during which Stop was pressed"
    assert viz.progress.step == 7 < viz.progress.total == 400
    assert viz.status.message == "stopped at step 7 / 400; images kept"
    assert viz.result.images.shape == (2, 16, 16, 3)
    assert viz.result.objectives_history.shape == (7, 2)
    assert viz.pictures.image.value
    time.sleep(0.2)
    assert viz.progress.step == 7


def test_stop_button_from_the_kernel(model):
    viz = FilterVisualizer(model, channels=[0])
    viz.steps = 100_000
    viz.start()
    deadline = time.monotonic() + 30
    while viz.progress.step < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    viz.stop_button.click()
    assert viz.wait(10)
    final = viz.progress.step
    assert 3 <= final < 100_000
    time.sleep(0.2)
    assert viz.progress.step == final
    assert viz.result is not None and viz.result.objectives_history.shape[0] == final


def test_double_start_runs_one_optimizer(model, monkeypatch):
    viz = FilterVisualizer(model, channels=[0, 1])
    viz.steps = 30
    active, peak, runs = [0], [0], []
    lock = threading.Lock()
    steps = FilterOptimizer.steps

    def counted(self, *args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            runs.append(self)
        try:
            yield from steps(self, *args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(FilterOptimizer, "steps", counted)
    viz.start_button.click()
    viz.start_button.click()
    viz.start_button.click()
    assert viz.wait(60)
    assert workers() == []  # the first runs have ended too
    assert peak[0] == 1  # never two optimizers at once
    assert 1 <= len(runs) <= 3
    assert viz.progress.step == 30
    assert viz.status.message.startswith("done: 30 steps")


def test_parameter_change_restarts(model):
    viz = FilterVisualizer(model, channels=[0])
    viz.steps = 100_000
    viz.start()
    deadline = time.monotonic() + 30
    while viz.progress.step < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    old = workers()
    viz.steps_input.value = 15  # a control moved during the run
    assert viz.running and workers() != old
    assert viz.wait(60)
    assert workers() == []
    assert viz.progress.total == 15 and viz.progress.step == 15
    assert viz.result.objectives_history.shape == (15, 1)
    # Without a run, a change starts nothing.
    viz.seed = 3
    assert not viz.running


def test_worker_error_in_status_line(model):
    viz = FilterVisualizer(model, layer="conv_b", channels=[0, 99])
    viz.steps = 5
    viz.start_button.click()
    assert viz.wait(30)
    assert viz.status.state == "error"
    assert "channel 99 is out of range" in viz.status.message
    assert "Traceback" in viz.last_traceback
    assert not viz.running and viz.result is None
    # The widget stays usable.
    viz.channels = [0]
    viz.start()
    assert viz.wait(60)
    assert viz.status.state == "ok" and viz.result is not None


def test_controls_and_channel_text(model):
    viz = FilterVisualizer(model)
    assert viz.layer == "conv_b"
    assert viz.channels == list(range(8))
    assert viz.channels_text.value == "0-7"
    assert viz.size == 16
    viz.channels_text.value = "1-3, 9 11"
    assert viz.channels == [1, 2, 3, 9, 11]
    viz.channels_text.value = "5-2"
    assert viz.channels == [1, 2, 3, 9, 11]
    assert viz.status.state == "error" and "backwards" in viz.status.message
    assert viz.channels_text.value == "1-3, 9, 11"
    viz.channels = [4, 5, 6]
    assert viz.channels_text.value == "4-6"
    viz.layer_select.value = "conv_a"
    viz.param_select.value = "pixel"
    viz.lr_input.value = 0.1
    viz.size_input.value = 24
    viz.seed_input.value = 4
    assert viz.parameters() == {
        "layer": "conv_a",
        "channels": [4, 5, 6],
        "steps": 256,
        "learning_rate": 0.1,
        "size": 24,
        "parametrization": "pixel",
        "seed": 4,
    }
    labels = dict(viz.layer_select.options)
    assert labels["pool_a · (8, 8, 8)"] == "pool_a"
    with pytest.raises(traitlets.TraitError, match="no 4-D output"):
        viz.layer = "gap"
    assert viz.layer == "conv_a" and viz.layer_select.value == "conv_a"
    assert viz.status.state == "error" and "'gap' has no 4-D output" in viz.status.message
    fallback = FilterVisualizer(model, layer="logits")
    assert fallback.layer == "conv_b" and "'logits' has no 4-D output" in fallback.status.message
    classes = {
        "iw-progress": viz.progress.bar,
        "iw-progress-label": viz.progress.label,
        "iw-start": viz.start_button,
        "iw-stop": viz.stop_button,
        "iw-filter-grid": viz.pictures.image,
        "iw-objective-chart": viz.chart.figure,
        "iw-filter-layer": viz.layer_select,
        "iw-status": viz.status,
    }
    for name, widget in classes.items():
        assert name in widget._dom_classes, name


def test_pixel_parametrization_and_size(model):
    viz = FilterVisualizer(model, layer="conv_a", channels=[2])
    viz.parametrization = "pixel"
    viz.size = 24
    viz.steps = 4
    viz.start()
    assert viz.wait(60)
    assert viz.status.state == "ok", viz.status.message
    assert viz.result.images.shape == (1, 24, 24, 3)


def test_parse_and_format_channels():
    assert parse_channels("0-3,7") == [0, 1, 2, 3, 7]
    assert parse_channels(" 5 ") == [5]
    assert format_channels([0, 1, 2, 3, 7, 9, 10]) == "0-3, 7, 9-10"
    for bad in ("", "a", "-1", "3-1", "1.5"):
        with pytest.raises(ValueError):
            parse_channels(bad)


def test_model_without_spatial_layers():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="flat")
    viz = FilterVisualizer(dense)
    assert viz.status.state == "error" and "no layer with a 4-D" in viz.status.message
    assert viz.start_button.disabled


def test_demo_model():
    from interpret_widgets.demo import DEMO_MODEL_PATH, load_demo_model

    if not DEMO_MODEL_PATH.is_file():
        pytest.skip("the demo model has not been trained yet")
    model = load_demo_model()
    with untouched(model):
        viz = FilterVisualizer(model, channels=[0, 1])
        assert viz.layer == "relu3" and viz.size == 64
        viz.steps = 10
        viz.start()
        assert viz.wait(60)
    assert viz.status.state == "ok", viz.status.message
    assert viz.result.images.shape == (2, 64, 64, 3)


def test_layer_change_keeps_the_channels_the_new_layer_has(model):
    """conv_b has 12 channels, conv_a 8: channels beyond the new layer's are dropped."""
    viz = FilterVisualizer(model, layer="conv_b", channels=[1, 9, 11])
    viz.layer_select.value = "conv_a"
    assert viz.layer == "conv_a" and viz.channels == [1]
    assert viz.channels_text.value == "1"
    assert viz.status.state == "ok" and "8 channels" in viz.status.message
    viz.layer = "conv_b"
    viz.channels = [9, 11]
    viz.layer = "conv_a"
    assert viz.channels == list(range(8))
    viz.layer = "conv_b"  # every channel of conv_a exists in conv_b: nothing changes
    assert viz.channels == list(range(8))


def test_invalid_values_raise_and_show_in_the_status_line(model):
    viz = FilterVisualizer(model, layer="conv_b", channels=[0, 1])
    cases = [
        ("parametrization", "wavelet", "'fourier' or 'pixel'"),
        ("steps", 0, "steps must be within 1..100000"),
        ("learning_rate", 0.0, "learning_rate must be within"),
        ("size", 4, "size must be within 8..1024"),
        ("seed", -1, "seed must be within"),
        ("image_every", 0, "image_every must be within"),
        ("channels", [], "non-negative"),
        ("channels", [2, -1], "non-negative"),
    ]
    for name, value, message in cases:
        before = getattr(viz, name)
        with pytest.raises(traitlets.TraitError):
            setattr(viz, name, value)
        assert getattr(viz, name) == before, name  # nothing clamps
        assert viz.status.state == "error" and message in viz.status.message, name
    assert viz.parameters()["steps"] == 256 and not viz.running
