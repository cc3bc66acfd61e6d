"""ActivationExplorer in Python: real Keras models, real ipywidgets, no kernel.

Expected images are computed independently: the activations from ``methods.activations``
and the display through the render functions, compared byte for byte with the PNGs the
widget shows. Tests use the explorer's public surface only: its traits and methods, its
controls and components (``activation_map``, ``statistics``, ``grid``, ``volume``,
``kernels``) and the values a browser receives from them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
import traitlets
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


def shown(explorer: ActivationExplorer) -> bytes:
    """The PNG of the channel map the browser shows."""
    return explorer.activation_map.image.value


@pytest.fixture
def passes(monkeypatch) -> list[int]:
    """Counts forward passes through ``methods.activations`` (batch sizes, one per call)."""
    calls: list[int] = []
    original = methods.activations

    def counted(model, x, *args, **kwargs):
        calls.append(len(x))
        return original(model, x, *args, **kwargs)

    monkeypatch.setattr(methods, "activations", counted)
    return calls


def click_tile(explorer: ActivationExplorer, index: int) -> None:
    """Replay the bqplot Image click message the browser sends for tile ``index``."""
    top, left, _, _ = explorer.grid.tile_box(index)
    height = explorer.grid.size[0]
    data = {"click_x": left + 3.5, "click_y": height - top - 3.5}
    event = {"event": "element_click", "data": data}
    mark = explorer.grid.image_mark
    mark._handle_custom_msgs(mark, event, [])


def assert_frame_around(explorer: ActivationExplorer, index: int) -> None:
    """The selection frame is a closed rectangle inside tile ``index`` (1.5 px in)."""
    top, left, tile_h, tile_w = explorer.grid.tile_box(index)
    height = explorer.grid.size[0]
    xs, ys = np.asarray(explorer.grid.frame.x), np.asarray(explorer.grid.frame.y)
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
            assert shown(explorer) == expected_png(model, images[index], layer, channel, "viridis")
        explorer.cmap = "magma"
        assert shown(explorer) == expected_png(model, images[4], "pool_a", 7, "magma")
        assert explorer.status.message == "image 4 · layer pool_a (8×8×8) · channel 7"


def test_channel_and_layer_changes(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.layer = "relu_a"
    first = shown(explorer)
    explorer.channel = 3
    assert shown(explorer) != first
    assert explorer.channel_slider.value == 3
    assert explorer.channel_slider.max == 7
    explorer.layer = "conv_b"
    assert explorer.channel_slider.max == 11
    explorer.channel = 11
    explorer.layer = "pool_a"  # 8 channels: the last one is selected
    assert explorer.channel_slider.max == 7
    assert explorer.channel == 7
    assert explorer.channel_slider.value == 7
    # The dropdown lists the 4-D layers as "name · (h, w, k)" with names as values.
    labels = dict(explorer.layer_select.options)
    assert labels["conv_a · (16, 16, 8)"] == "conv_a"
    assert "gap" not in labels.values() and "logits" not in labels.values()
    # Moving the controls moves the traits.
    explorer.layer_select.value = "conv_a"
    assert explorer.layer == "conv_a"
    explorer.channel_slider.value = 2
    assert explorer.channel == 2
    explorer.picker.slider.value = 5
    assert explorer.image_index == 5


def test_warm_cache_runs_no_forward_pass(model, images, passes):
    explorer = ActivationExplorer(model, images)
    assert passes == [1]  # image 0
    explorer.image_index = 1
    assert passes == [1, 1]
    with untouched(model):
        for layer in ("conv_a", "bn_a", "relu_a", "pool_a", "conv_b"):
            explorer.layer = layer
            for channel in (0, 3, 7):
                explorer.channel = channel
        explorer.cmap = "gray"
        explorer.grid_mode = "all"
        explorer.image_index = 0
        explorer.image_index = 1
    assert passes == [1, 1], "only the cache misses of images 0 and 1 may run the model"


def test_lru_cache_bound(model, images, passes):
    explorer = ActivationExplorer(model, images, cache_size=2)
    assert explorer.cache_size == 2
    for index in (1, 2, 3):
        explorer.image_index = index
    assert explorer.cached_indices == [2, 3]
    explorer.image_index = 2
    assert len(passes) == 4  # images 0, 1, 2, 3
    explorer.image_index = 1
    assert len(passes) == 5
    assert explorer.cached_indices == [2, 1]


def test_grid_top_channels_and_click(model, images):
    explorer = ActivationExplorer(model, images)
    explorer.image_index = 2
    acts = methods.activations(model, images[2:3])["conv_b"][0]
    order = np.argsort(-acts.mean(axis=(0, 1)), kind="stable")[:TOP_K]
    np.testing.assert_array_equal(explorer.grid_channels(), order)
    assert list(explorer.grid.labels.text) == [str(c) for c in order]
    mark = explorer.grid.image_mark
    before, picture = mark.image.value, mark.image
    click_tile(explorer, 5)
    assert explorer.channel == order[5]
    assert explorer.channel_slider.value == order[5]
    assert shown(explorer) == expected_png(model, images[2], "conv_b", int(order[5]), "viridis")
    # The frame moves around the clicked tile; the grid image itself is not redrawn.
    assert_frame_around(explorer, 5)
    assert mark.image is picture and picture.value == before
    click_tile(explorer, 0)
    assert explorer.channel == order[0]
    assert_frame_around(explorer, 0)
    # A new colormap redraws the grid: bqplot redraws an Image mark only when its image
    # widget is replaced (the old one is closed).
    explorer.cmap = "magma"
    assert mark.image is not picture and picture.comm is None
    assert mark.image.value != before
    assert_frame_around(explorer, 0)
    # A click outside every tile changes nothing.
    event = {"event": "element_click", "data": {"click_x": 1e6, "click_y": -5.0}}
    mark._handle_custom_msgs(mark, event, [])
    assert explorer.channel == order[0]
    assert explorer.tile_at(-1.0, 2.0) is None


def test_grid_pages_all_channels(wide_model):
    x = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 3)).astype("float32")
    explorer = ActivationExplorer(wide_model, x)
    explorer.grid_mode = "all"
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(32))
    assert explorer.grid.page_slider.max == 1
    assert explorer.grid.page_slider.layout.visibility == "visible"
    explorer.grid_page = 1
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(32, 40))
    click_tile(explorer, 4)
    assert explorer.channel == 36
    explorer.grid_page_size = 16
    assert explorer.grid.page_slider.max == 2
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(16, 32))
    explorer.grid.page_slider.value = 2  # the control moves the trait
    assert explorer.grid_page == 2
    np.testing.assert_array_equal(explorer.grid_channels(), np.arange(32, 40))


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
    assert stats["std"] == pytest.approx(float(values.std()), rel=1e-5)
    assert stats["active"] == pytest.approx(float((values > 0).mean()))
    html = explorer.statistics.table.value
    assert f"{values.mean():.4g}" in html and f"{values.max():.4g}" in html
    assert f"{100 * (values > 0).mean():.1f}%" in html and "6 of 8" in html
    counts, edges = np.histogram(values, bins=HIST_BINS)
    np.testing.assert_array_equal(explorer.statistics.bars.y, counts)
    np.testing.assert_allclose(
        explorer.statistics.bars.x, (edges[:-1] + edges[1:]) / 2, rtol=1e-6
    )
    assert explorer.statistics.histogram.title == "conv_a · channel 6"


def test_volume_on_demand(model, images):
    import ipyvolume as ipv

    explorer = ActivationExplorer(model, images)
    assert explorer.volume_figure is None and explorer.volume.box.children == ()
    with untouched(model):
        explorer.volume.toggle.value = True
    figure = explorer.volume_figure
    assert isinstance(figure, ipv.Figure)
    assert explorer.volume.box.children == (figure,)
    data = figure.volumes[0].data
    assert data.shape == (12, 8, 8)  # conv_b: (channels, h, w)
    assert data.min() >= 0.0 and data.max() <= 1.0
    np.testing.assert_array_equal(data, explorer.volume_data())
    explorer.layer = "relu_a"
    assert explorer.volume_figure is figure  # the same figure: the camera stays
    assert figure.volumes[0].data.shape == (8, 16, 16)
    np.testing.assert_array_equal(figure.volumes[0].data, explorer.volume_data())
    explorer.volume.toggle.value = False
    assert explorer.volume.box.children == ()


def test_ipyvolume_is_imported_lazily():
    """No module-level import of ipyvolume (a fresh interpreter costs ~15 s of TensorFlow)."""
    import interpret_widgets.widgets.activation_explorer as explorer_module
    import interpret_widgets.widgets.components.volume_view as volume_module

    for module in (explorer_module, volume_module):
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
    kernels = explorer.kernels
    explorer.layer = "relu_a"
    assert kernels.image.value == b""  # closed: nothing rendered
    kernels.selected_index = 0  # the user opens the accordion
    assert kernels.expanded
    assert explorer.kernel_layer() == "conv_a"
    assert "conv_a" in kernels.info.value
    assert "8 filters of 3×3×3" in kernels.info.value
    assert kernels.input_select.value == kernels.mode == "rgb"
    rgb = kernels.image.value
    assert rgb
    kernels.input_select.value = "mean"
    assert kernels.image.value not in (b"", rgb)
    explorer.layer = "conv_b"
    assert "conv_b" in kernels.info.value and "3×3×8" in kernels.info.value
    assert [v for _, v in kernels.input_select.options][:2] == ["mean", "0"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((2, 16, 16, 1), "float32"), "1 channels"),
        (np.zeros((2, 16, 16, 3, 1), "float32"), "rank 4"),
        (np.zeros((2, 12, 12, 3), "float32"), "expects"),
        ("not an image", "numeric"),
    ],
)
def test_bad_images_reported(model, images, bad, message):
    explorer = ActivationExplorer(model, bad)
    assert explorer.status.state == "error"
    assert message in explorer.status.message
    assert explorer.images is None
    assert explorer.picker.slider.disabled and explorer.volume.toggle.disabled
    explorer.images = images
    assert explorer.status.state == "ok"
    assert not explorer.picker.slider.disabled
    assert shown(explorer) == expected_png(model, images[0], "conv_b", 0, "viridis")


def test_single_image_gets_a_batch_axis(model, images):
    explorer = ActivationExplorer(model, images[3])
    assert explorer.status.state == "ok", explorer.status.message
    assert explorer.images.shape == (1, 16, 16, 3)
    assert shown(explorer) == expected_png(model, images[3], "conv_b", 0, "viridis")


def test_model_without_spatial_layers():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="flat")
    explorer = ActivationExplorer(dense, np.zeros((2, 4), "float32"))
    assert explorer.status.state == "error"
    assert "no layer with a 4-D" in explorer.status.message
    assert explorer.layer_select.options == ()
    assert explorer.picker.slider.disabled


def test_invalid_values_raise_and_show_in_the_status_line(model, images):
    explorer = ActivationExplorer(model, images)
    png = shown(explorer)
    cases = [
        ("image_index", 99, "out of range"),
        ("channel", 40, "channel 40 is out of range 0..11"),
        ("channel", -1, "channel -1 is out of range"),
        ("layer", "gap", "'gap' has no 4-D output"),
        ("cmap", "no-such-map", "colormap"),
        ("grid_mode", "some", "grid mode"),
        ("grid_page_size", 99, "16..64"),
        ("grid_page", 3, "grid page 3"),
    ]
    for name, value, message in cases:
        before = getattr(explorer, name)
        with pytest.raises(traitlets.TraitError, match="out of range|no 4-D|colormap|grid"):
            setattr(explorer, name, value)
        assert getattr(explorer, name) == before, name  # nothing clamps
        assert explorer.status.state == "error", name
        assert message in explorer.status.message, (name, explorer.status.message)
    assert shown(explorer) == png and explorer.grid.page_size == 32
    explorer.channel = 4  # a valid change shows the summary again
    assert explorer.status.state == "ok"
    explorer.cmap = "Blues"  # a colormap the dropdown does not list is added to it
    assert explorer.cmap_select.value == "Blues" and "Blues" in explorer.cmap_select.options


def test_layer_argument(model, images):
    other = ActivationExplorer(model, images, layer="logits")
    assert other.layer == "conv_b" and "'logits' has no 4-D output" in other.status.message
    assert other.status.state == "error"
    chosen = ActivationExplorer(model, images, layer="relu_a")
    assert chosen.layer == "relu_a" and chosen.status.state == "ok"
    assert shown(chosen) == expected_png(model, images[0], "relu_a", 0, "viridis")


def test_nested_model_and_prediction(images):
    model = nested_model()
    explorer = ActivationExplorer(model, images, class_names=["a", "b", "c", "d"])
    names = [v for _, v in explorer.layer_select.options]
    assert names == ["inner_conv1", "inner_conv2", "inner_add", "inner_relu"]
    explorer.layer = "inner_add"
    explorer.channel = 4
    assert shown(explorer) == expected_png(model, images[0], "inner_add", 4, "viridis")
    top = int(np.argmax(model(images[:1]).numpy()[0]))
    assert f"<b>{'abcd'[top]}</b>" in explorer.picker.caption.value


def test_css_classes(model, images):
    explorer = ActivationExplorer(model, images)
    classes = {
        "iw-activation-explorer": explorer,
        "iw-activation-image": explorer.activation_map.image,
        "iw-channel-slider": explorer.channel_slider,
        "iw-layer-select": explorer.layer_select,
        "iw-image-slider": explorer.picker.slider,
        "iw-activation-grid": explorer.grid.figure,
        "iw-volume": explorer.volume.box,
        "iw-volume-toggle": explorer.volume.toggle,
        "iw-status": explorer.status,
        "iw-stats": explorer.statistics.table,
        "iw-histogram": explorer.statistics.histogram,
        "iw-weights": explorer.kernels,
    }
    for name, widget in classes.items():
        assert name in widget._dom_classes, name
    assert explorer.activation_map.image.layout.width == f"{MAP_SIZE}px"


def test_demo_model(images):
    from interpret_widgets.demo import DEMO_MODEL_PATH, demo_images, load_demo_model

    if not DEMO_MODEL_PATH.is_file():
        pytest.skip("the demo model has not been trained yet")
    model = load_demo_model()
    x = demo_images(4, seed=7)[0]
    with untouched(model):
        explorer = ActivationExplorer(model, x)
        assert explorer.layer == "relu3"
        assert explorer.channel_slider.max == 127
        explorer.image_index = 2
        explorer.layer = "relu1"
        explorer.channel = 9
        assert shown(explorer) == expected_png(model, x[2], "relu1", 9, "viridis")
        explorer.grid_mode = "all"
        explorer.layer = "relu3"
        assert explorer.grid.page_slider.max == 3
