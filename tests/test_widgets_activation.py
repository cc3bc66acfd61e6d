"""ActivationExplorer in Python: real Keras models, real ipywidgets, no kernel.

Expected images are computed independently: the activations from ``methods.activations``
and the display through the render functions, compared byte for byte with the PNGs the
widget shows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import nested_model, small_cnn
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.render import colorize, normalize, to_png, upscale
from interpret_widgets.widgets.activation_explorer import (
    HIST_BINS,
    MAP_SIZE,
    TOP_K,
    ActivationExplorer,
)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense")


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(3).uniform(0, 1, (6, 16, 16, 3)).astype("float32")


@pytest.fixture(scope="module")
def wide_model() -> keras.Model:
    """A layer with 40 channels, for the paged grid."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(40, 3, padding="same", activation="relu", name="wide")(inp)
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h))
    return keras.Model(inp, out, name="wide_model")


def expected_png(model: keras.Model, x: np.ndarray, layer: str, channel: int, cmap: str) -> bytes:
    values = methods.activations(model, x[None])[layer][0, :, :, channel]
    factor = max(1, MAP_SIZE // max(values.shape))
    return to_png(upscale(colorize(normalize(values, "minmax"), cmap), factor))


def count_passes(explorer: ActivationExplorer) -> list[int]:
    """Wrap the explorer's own cache-miss method; the list grows by one per forward pass."""
    calls: list[int] = []
    original = explorer._compute_activations

    def counted(index: int) -> dict:
        calls.append(index)
        return original(index)

    explorer._compute_activations = counted
    return calls


def click_tile(explorer: ActivationExplorer, index: int) -> None:
    """Replay the bqplot Image click message the browser sends for tile ``index``."""
    top, left = explorer._tile_origin(index)
    height = explorer._grid_size[0]
    event = {
        "event": "element_click",
        "data": {"click_x": left + 3.5, "click_y": height - top - 3.5},
    }
    explorer._grid_mark._handle_custom_msgs(explorer._grid_mark, event, [])


def assert_frame_around(explorer: ActivationExplorer, index: int) -> None:
    """The selection frame is a closed rectangle inside tile ``index`` (1.5 px in)."""
    top, left = explorer._tile_origin(index)
    tile_h, tile_w = explorer._tile_shape
    height = explorer._grid_size[0]
    xs, ys = np.asarray(explorer._grid_frame.x), np.asarray(explorer._grid_frame.y)
    assert xs.shape == ys.shape == (5,) and xs[0] == xs[-1] and ys[0] == ys[-1]
    np.testing.assert_allclose([xs.min(), xs.max()], [left + 1.5, left + tile_w - 1.5])
    np.testing.assert_allclose(
        [ys.min(), ys.max()], [height - top - tile_h + 1.5, height - top - 1.5]
    )


def test_shows_the_selected_channel_exactly(model, images):
    with untouched(model):
        explorer = ActivationExplorer(model, images)
        assert explorer.layer == "conv_b"
        assert explorer.status.state == "ok", explorer.status.message
        for index, layer, channel in [(0, "conv_b", 0), (2, "relu_a", 5), (4, "pool_a", 7)]:
            explorer.image_index = index
            explorer.layer = layer
            explorer.channel = channel
            want = expected_png(model, images[index], layer, channel, "viridis")
            assert explorer._map.value == want
        explorer.cmap = "magma"
        assert explorer._map.value == expected_png(model, images[4], "pool_a", 7, "magma")


def test_channel_and_layer_changes(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.layer = "relu_a"
    first = explorer._map.value
    explorer.channel = 3
    assert explorer._map.value != first
    assert explorer._channel_slider.value == 3
    assert explorer._channel_slider.max == 7
    explorer.layer = "conv_b"
    assert explorer._channel_slider.max == 11
    explorer.channel = 11
    explorer.layer = "pool_a"
    assert explorer._channel_slider.max == 7
    assert explorer.channel == 7
    assert explorer._channel_slider.value == 7
    # The dropdown lists the 4-D layers as "name · (h, w, k)" with names as values.
    labels = dict(explorer._layer_select.options)
    assert labels["conv_a · (16, 16, 8)"] == "conv_a"
    assert "gap" not in labels.values() and "logits" not in labels.values()
    # Moving the controls moves the traits.
    explorer._layer_select.value = "conv_a"
    assert explorer.layer == "conv_a"
    explorer._channel_slider.value = 2
    assert explorer.channel == 2
    explorer._image_slider.value = 5
    assert explorer.image_index == 5


def test_warm_cache_runs_no_forward_pass(model, images):
    explorer = ActivationExplorer(model, images)
    calls = count_passes(explorer)
    explorer.image_index = 1
    assert calls == [1]
    with untouched(model):
        for layer in ("conv_a", "bn_a", "relu_a", "pool_a", "conv_b"):
            explorer.layer = layer
            for channel in (0, 3, 7):
                explorer.channel = channel
        explorer.cmap = "gray"
        explorer.grid_mode = "all"
        explorer.image_index = 0
        explorer.image_index = 1
    assert calls == [1], "only the cache miss of image 1 may run the model"


def test_lru_cache_bound(model, images):
    explorer = ActivationExplorer(model, images, cache_size=2)
    calls = count_passes(explorer)
    for index in (1, 2, 3):
        explorer.image_index = index
    assert explorer.cached_indices == [2, 3]
    explorer.image_index = 2
    assert calls == [1, 2, 3]
    explorer.image_index = 1
    assert calls == [1, 2, 3, 1]
    assert explorer.cached_indices == [2, 1]


def test_grid_top_channels_and_click(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.image_index = 2
    acts = methods.activations(model, images[2:3])["conv_b"][0]
    order = np.argsort(-acts.mean(axis=(0, 1)), kind="stable")[:TOP_K]
    np.testing.assert_array_equal(explorer.grid_channels(), order)
    assert list(explorer._grid_labels.text) == [str(c) for c in order]
    before, shown = explorer._grid_png.value, explorer._grid_mark.image
    click_tile(explorer, 5)
    assert explorer.channel == order[5]
    # The frame moves around the clicked tile; the grid image itself is not redrawn.
    assert_frame_around(explorer, 5)
    assert explorer._grid_mark.image is shown and shown.value == before
    click_tile(explorer, 0)
    assert explorer.channel == order[0]
    assert_frame_around(explorer, 0)
    # A new colormap redraws the grid: bqplot redraws an Image mark only when its image
    # widget is replaced.
    explorer.cmap = "magma"
    assert explorer._grid_mark.image is explorer._grid_png is not shown
    assert explorer._grid_png.value != before
    assert_frame_around(explorer, 0)
    # A click outside every tile changes nothing.
    event = {"event": "element_click", "data": {"click_x": 1e6, "click_y": -5.0}}
    explorer._grid_mark._handle_custom_msgs(explorer._grid_mark, event, [])
    assert explorer.channel == order[0]


def test_grid_pages_all_channels(wide_model):
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    explorer = ActivationExplorer(wide_model, x)
    explorer.grid_mode = "all"
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(32))
    assert explorer._grid_page_slider.max == 1
    explorer.grid_page = 1
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(32, 40))
    click_tile(explorer, 4)
    assert explorer.channel == 36
    explorer.grid_page_size = 16
    assert explorer._grid_page_slider.max == 2
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(16, 32))


def test_stats_and_histogram_match_numpy(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.image_index = 3
    explorer.layer = "conv_a"
    explorer.channel = 6
    values = methods.activations(model, images[3:4])["conv_a"][0, :, :, 6]
    stats = explorer.stats
    assert stats["mean"] == pytest.approx(float(values.mean()), rel=1e-6)
    assert stats["max"] == float(values.max())
    assert stats["min"] == float(values.min())
    assert stats["active"] == pytest.approx(float((values > 0).mean()))
    html = explorer._stats_html.value
    assert f"{values.mean():.4g}" in html and f"{values.max():.4g}" in html
    assert f"{100 * (values > 0).mean():.1f}%" in html
    counts, edges = np.histogram(values, bins=HIST_BINS)
    np.testing.assert_array_equal(explorer._hist_bars.y, counts)
    np.testing.assert_allclose(explorer._hist_bars.x, (edges[:-1] + edges[1:]) / 2, rtol=1e-6)


def test_volume_on_demand(model, images):
    import ipyvolume as ipv

    explorer = ActivationExplorer(model, images)
    assert explorer.volume_figure is None and explorer._volume_box.children == ()
    with untouched(model):
        explorer._volume_toggle.value = True
    figure = explorer.volume_figure
    assert isinstance(figure, ipv.Figure)
    assert explorer._volume_box.children == (figure,)
    data = figure.volumes[0].data
    assert data.shape == (12, 8, 8)  # conv_b: (channels, h, w)
    assert data.min() >= 0.0 and data.max() <= 1.0
    explorer.layer = "relu_a"
    assert figure.volumes[0].data.shape == (8, 16, 16)
    explorer._volume_toggle.value = False
    assert explorer._volume_box.children == ()


def test_ipyvolume_is_imported_lazily():
    """No module-level import of ipyvolume (a fresh interpreter costs ~15 s of TensorFlow)."""
    import interpret_widgets.widgets.activation_explorer as module

    tree = ast.parse(Path(module.__file__).read_text())
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    modules = [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert not any("ipyvolume" in str(name) for name in top_level + modules)


def test_kernels_view(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.layer = "relu_a"
    assert explorer._weights_image.value == b""
    explorer._weights.selected_index = 0
    assert "conv_a" in explorer._weights_info.value
    assert "8 filters of 3×3×3" in explorer._weights_info.value
    assert explorer._weights_input.value == "rgb"
    rgb = explorer._weights_image.value
    assert rgb
    explorer._weights_input.value = "mean"
    assert explorer._weights_image.value not in (b"", rgb)
    explorer.layer = "conv_b"
    assert "conv_b" in explorer._weights_info.value and "3×3×8" in explorer._weights_info.value
    assert [v for _, v in explorer._weights_input.options][:2] == ["mean", "0"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((2, 16, 16, 1), "float32"), "1 channels"),
        (np.zeros((16, 16, 3), "float32"), "batch axis"),
        (np.zeros((2, 12, 12, 3), "float32"), "expects"),
        ("not an image", "numeric"),
    ],
)
def test_bad_images_reported(model, images, bad, message):
    explorer = ActivationExplorer(model, bad)
    assert explorer.status.state == "error"
    assert message in explorer.status.message
    assert explorer._image_slider.disabled
    explorer.images = images
    assert explorer.status.state == "ok"
    assert not explorer._image_slider.disabled
    assert explorer._map.value


def test_model_without_spatial_layers():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="flat")
    explorer = ActivationExplorer(dense, np.zeros((2, 4), "float32"))
    assert explorer.status.state == "error"
    assert "no layer with a 4-D" in explorer.status.message
    assert explorer._layer_select.options == ()


def test_invalid_selection_is_clamped_or_rejected(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.image_index = 99
    assert explorer.image_index == 5
    assert "out of range" in explorer.status.message and explorer.status.state == "error"
    explorer.channel = 40
    assert explorer.channel == 11
    assert "channel 40 is out of range" in explorer.status.message
    explorer.channel = -1
    assert explorer.channel == 0
    explorer.layer = "gap"
    assert explorer.layer == "conv_b"
    assert "'gap'" in explorer.status.message
    explorer.cmap = "no-such-map"
    assert explorer.cmap == "viridis" and "colormap" in explorer.status.message
    explorer.channel = 4
    assert explorer.status.state == "ok"
    other = ActivationExplorer(model, images, layer="logits")
    assert other.layer == "conv_b" and "'logits' has no 4-D output" in other.status.message
    assert ActivationExplorer(model, images, layer="relu_a").layer == "relu_a"


def test_nested_model_and_prediction(images):
    model = nested_model()
    explorer = ActivationExplorer(model, images, class_names=["a", "b", "c", "d"])
    names = [v for _, v in explorer._layer_select.options]
    assert names == ["inner_conv1", "inner_conv2", "inner_add", "inner_relu"]
    explorer.layer = "inner_add"
    explorer.channel = 4
    assert explorer._map.value == expected_png(model, images[0], "inner_add", 4, "viridis")
    top = int(np.argmax(model(images[:1]).numpy()[0]))
    assert f"<b>{'abcd'[top]}</b>" in explorer._prediction.value


def test_css_classes(model, images):
    explorer = ActivationExplorer(model, images)
    classes = {
        "iw-activation-image": explorer._map,
        "iw-channel-slider": explorer._channel_slider,
        "iw-layer-select": explorer._layer_select,
        "iw-image-slider": explorer._image_slider,
        "iw-activation-grid": explorer._grid,
        "iw-volume": explorer._volume_box,
        "iw-status": explorer.status,
        "iw-stats": explorer._stats_html,
        "iw-histogram": explorer._histogram,
    }
    for name, widget in classes.items():
        assert name in widget._dom_classes, name
    assert explorer._map.layout.width == f"{MAP_SIZE}px"


def test_demo_model(images):
    from interpret_widgets.demo import DEMO_MODEL_PATH, demo_images, load_demo_model

    if not DEMO_MODEL_PATH.is_file():
        pytest.skip("the demo model has not been trained yet")
    model = load_demo_model()
    x = demo_images(4, seed=7)[0]
    with untouched(model):
        explorer = ActivationExplorer(model, x)
        assert explorer.layer == "relu3"
        assert explorer._channel_slider.max == 127
        explorer.image_index = 2
        explorer.layer = "relu1"
        explorer.channel = 9
        assert explorer._map.value == expected_png(model, x[2], "relu1", 9, "viridis")
        explorer.grid_mode = "all"
        explorer.layer = "relu3"
        assert explorer._grid_page_slider.max == 3
