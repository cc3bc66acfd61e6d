"""The small widget components on their own: ChannelGrid, VolumeView, KernelView, the maps.

Each is checked through its public surface against an independent construction from the
render functions (byte-identical PNGs, equal arrays), and clicks are replayed as the
browser sends them (bqplot's ``element_click`` message).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import traitlets
from conftest import small_cnn
from model_guard import untouched

from interpret_widgets.model import get_adapter
from interpret_widgets.render import (
    activation_volume,
    colorize,
    grid_position,
    normalize,
    tile,
    to_png,
    to_uint8_image,
    upscale,
)
from interpret_widgets.widgets.cache import LRUCache
from interpret_widgets.widgets.components import (
    ActivationMap,
    ChannelGrid,
    ChannelStatistics,
    KernelView,
    VolumeView,
)


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return small_cnn("dense")


@pytest.fixture(scope="module")
def activation() -> np.ndarray:
    """An (h, w, k) = (8, 6, 20) activation with distinct channel means."""
    rng = np.random.default_rng(5)
    return (rng.normal(size=(8, 6, 20)) + np.arange(20)[::-1] * 0.1).astype("float32")


def click(grid: ChannelGrid, x: float, y: float) -> None:
    """The message bqplot's Image mark sends for a click at data point (x, y)."""
    event = {"event": "element_click", "data": {"click_x": x, "click_y": y}}
    grid.image_mark._handle_custom_msgs(grid.image_mark, event, [])


def test_channel_grid_image_positions_and_click(activation):
    grid = ChannelGrid(top_k=16, tile_size=24, padding=2)
    grid.show(activation)
    order = np.argsort(-activation.mean(axis=(0, 1)), kind="stable")[:16]
    assert grid.channels == tuple(int(c) for c in order)
    # The grid image is render.tile of the min-max scaled, coloured, upscaled channels.
    scaled = normalize(activation, "minmax")
    tiles = [upscale(colorize(scaled[:, :, c], "viridis"), 3) for c in order]
    assert grid.image_mark.image.value == to_png(tile(tiles, columns=4, padding=2))
    assert grid.size == (4 * 24 + 3 * 2, 4 * 18 + 3 * 2) and grid.tile_shape == (24, 18)
    for index in (0, 5, 15):
        assert grid.tile_box(index)[:2] == grid_position(index, 4, (24, 18), 2)
    # A click in tile 6 (row 1, column 2), given in data coordinates with y up.
    top, left = grid_position(6, 4, (24, 18), 2)
    click(grid, left + 4.0, grid.size[0] - top - 4.0)
    assert grid.channel == order[6]
    xs, ys = np.asarray(grid.frame.x), np.asarray(grid.frame.y)
    assert (xs.min(), xs.max()) == (left + 1.5, left + 18 - 1.5)
    assert (ys.min(), ys.max()) == (grid.size[0] - top - 24 + 1.5, grid.size[0] - top - 1.5)
    click(grid, -3.0, 2.0)  # outside every tile: nothing changes
    assert grid.channel == order[6]
    grid.channel = int(np.setdiff1d(np.arange(20), order)[0])  # not shown: no frame
    assert len(grid.frame.x) == 0


def test_channel_grid_pages_and_validation(activation):
    grid = ChannelGrid(top_k=16)
    grid.mode = "all"
    grid.show(activation)
    assert grid.pages == 1 and grid.channels == tuple(range(20))
    grid.page_size = 16
    assert grid.pages == 2 and grid.channels == tuple(range(16))
    grid.page = 1
    assert grid.channels == (16, 17, 18, 19)
    for name, value in (("mode", "best"), ("page_size", 8), ("page", 2)):
        with pytest.raises(traitlets.TraitError):
            setattr(grid, name, value)
    assert (grid.mode, grid.page_size, grid.page) == ("all", 16, 1)
    grid.show(activation[:, :, :10], first_page=True)  # a smaller layer: back to page 0
    assert grid.page == 0 and grid.channels == tuple(range(10))


def test_volume_view_data_is_the_render_function(activation):
    view = VolumeView()
    view.show(activation)
    assert view.figure is None and view.data is None  # nothing built while closed
    view.shown = True
    np.testing.assert_array_equal(view.data, activation_volume(activation))
    figure = view.figure
    assert (figure.xlabel, figure.ylabel, figure.zlabel) == ("x", "y", "ch")
    other = activation[:, :, :5] * 2.0
    view.show(other)
    assert view.figure is figure
    np.testing.assert_array_equal(view.data, activation_volume(other))
    view.toggle.value = False
    assert view.box.children == () and not view.shown


def test_activation_volume_layout():
    """Channels become depth, rows are flipped (y up), values are min-max scaled."""
    values = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)  # (h, w, k)
    volume = activation_volume(values)
    assert volume.shape == (4, 2, 3) and volume.dtype == np.float32
    expected = normalize(np.transpose(values[::-1], (2, 0, 1)), "minmax")
    # The shading ramp moves values by at most 1e-4 (its documented weight).
    np.testing.assert_allclose(volume, expected, atol=1e-4)
    flat = activation_volume(np.zeros((2, 3, 4), "float32"))
    assert flat.min() >= 0.0 and flat.max() <= 1e-4 and np.ptp(flat) > 0
    with pytest.raises(ValueError, match=r"\(h, w, k\)"):
        activation_volume(np.zeros((2, 3)))


def test_kernel_view_shows_the_kernels_exactly(model):
    adapter = get_adapter(model)
    with untouched(model):
        view = KernelView(adapter)
        view.layer, view.channel = "pool_a", 2  # behind pool_a: conv_a (3 inputs, 8 filters)
        assert view.image.value == b""
        view.expanded = True
        assert view.selected_index == 0 and view.kernel_name == "conv_a"
        kernel = model.get_layer("conv_a").get_weights()[0]
        np.testing.assert_array_equal(adapter.kernels("conv_a"), kernel)
        tiles = [upscale(to_uint8_image(normalize(kernel[..., k])), 9) for k in range(8)]
        red = np.array([255, 48, 48], np.uint8)
        framed = tiles[2].copy()
        framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = red, red, red, red
        tiles[2] = framed
        assert view.image.value == to_png(tile(tiles, columns=8, padding=2))
        view.mode = "1"  # input channel 1 on a diverging map around zero
        planes = normalize(kernel[:, :, 1, :], "symmetric")
        tiles = [upscale(colorize(planes[..., k], "RdBu_r"), 9) for k in range(8)]
        tiles[2] = view_frame = tiles[2].copy()
        view_frame[:2], view_frame[-2:], view_frame[:, :2], view_frame[:, -2:] = red, red, red, red
        assert view.image.value == to_png(tile(tiles, columns=8, padding=2))
        with pytest.raises(traitlets.TraitError, match="kernel input"):
            view.mode = "9"
        copy = adapter.kernels("conv_a")
        copy[...] = 0.0  # a copy: the model's weights stay as they are
    with pytest.raises(ValueError, match="2-D convolution"):
        adapter.kernels("relu_a")
    assert adapter.kernel_layer("bn_a") == "conv_a" and adapter.kernel_layer("conv_b") == "conv_b"


def test_activation_map_and_statistics():
    values = np.linspace(-1.0, 2.0, 12, dtype="float32").reshape(3, 4)
    view = ActivationMap(size=40)
    view.show(values)
    assert view.image.value == to_png(upscale(colorize(normalize(values), "viridis"), 10))
    view.cmap = "gray"
    assert view.image.value == to_png(upscale(colorize(normalize(values), "gray"), 10))
    with pytest.raises(traitlets.TraitError, match="colormap"):
        view.cmap = "nope"
    stats = ChannelStatistics(bins=4)
    stats.show(values, "a title", ("channel", "1 of 2"))
    assert stats.stats["active"] == pytest.approx(8 / 12)
    np.testing.assert_array_equal(stats.bars.y, np.histogram(values, bins=4)[0])
    assert stats.histogram.title == "a title" and "1 of 2" in stats.table.value


def test_lru_cache():
    cache: LRUCache[int] = LRUCache(2)
    computed: list[str] = []

    def value(key: str) -> int:
        return cache.get(key, lambda: computed.append(key) or len(computed))

    assert [value("a"), value("b"), value("a"), value("c")] == [1, 2, 1, 3]
    assert cache.keys() == ["a", "c"] and "b" not in cache and len(cache) == 2
    assert value("b") == 4 and computed == ["a", "b", "c", "b"]
    with pytest.raises(ValueError, match="at least 1"):
        LRUCache(0)
