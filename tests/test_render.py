"""Display helpers: normalization, bilinear resize, colormaps, overlay, tiling, PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from interpret_widgets import render


def test_normalize_modes():
    v = np.array([[-2.0, 0.0], [1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(render.normalize(v, "minmax"), [[0, 0.5], [0.75, 1]])
    np.testing.assert_allclose(render.normalize(v, "abs"), [[1, 0], [0.5, 1]])
    np.testing.assert_allclose(render.normalize(v, "positive"), [[0, 0], [0.5, 1]])
    np.testing.assert_allclose(render.normalize(v, "symmetric"), [[0, 0.5], [0.75, 1]])
    np.testing.assert_array_equal(render.normalize(np.ones((2, 2)), "minmax"), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="normalization must be one of"):
        render.normalize(v, "log")


def test_resize_is_bilinear_and_preserves_constants():
    ramp = np.tile(np.arange(4, dtype=np.float32), (4, 1))
    big = render.resize(ramp, (8, 8))
    assert big.shape == (8, 8)
    # Bilinear: monotone along the ramp, bounded by the input range, rows identical.
    assert np.all(np.diff(big[0]) >= -1e-6)
    assert big.min() >= 0 and big.max() <= 3
    np.testing.assert_allclose(big, big[:1].repeat(8, axis=0))
    np.testing.assert_allclose(render.resize(np.full((3, 5), 2.5), (7, 9)), 2.5, rtol=1e-6)


def test_colorize_uses_matplotlib():
    values = np.linspace(0, 1, 5, dtype=np.float32)[None]
    rgb = render.colorize(values, "viridis")
    expected = (colormaps["viridis"](values)[..., :3] * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(rgb, expected)
    with pytest.raises(ValueError, match="unknown matplotlib colormap"):
        render.colorize(values, "nope")


def test_overlay_opacity_extremes():
    image = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    heat = np.random.default_rng(1).uniform(0, 1, (4, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        render.overlay(image, heat, opacity=0.0), render.to_uint8_image(image)
    )
    full = render.overlay(image, heat, cmap="jet", opacity=1.0)
    expected = render.colorize(render.resize(render.normalize(heat), (16, 16)), "jet")
    assert np.abs(full.astype(int) - expected.astype(int)).max() <= 1
    with pytest.raises(ValueError, match="opacity"):
        render.overlay(image, heat, opacity=1.5)


def test_tile_and_grid_position():
    maps = [np.full((3, 4), k, dtype=np.uint8) for k in range(5)]
    grid = render.tile(maps, columns=3, padding=1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 2, 3)
    top, left = render.grid_position(4, 3, (3, 4), padding=1)
    assert (top, left) == (4, 5)
    assert np.all(grid[top : top + 3, left : left + 4] == 4)


def test_png_roundtrip():
    image = (np.random.default_rng(2).uniform(0, 1, (5, 7, 3)) * 255).astype(np.uint8)
    data = render.to_png(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), image)
    assert render.upscale(image, 3).shape == (15, 21, 3)


def test_upscale_factor_brings_a_map_close_to_the_target_size():
    from interpret_widgets.render import upscale_factor

    assert upscale_factor((16, 16), 224) == 14  # 16 × 14 = 224 exactly
    assert upscale_factor((7, 10, 3), 224) == 22  # the longer side decides: 10 × 22 = 220
    assert upscale_factor((300, 10), 224) == 1  # never shrinks
