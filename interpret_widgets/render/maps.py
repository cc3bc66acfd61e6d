"""Turning raw attribution and activation maps into displayable arrays.

Pure numpy, Pillow and matplotlib: normalize, resize, colour, overlay and tile. The methods
return raw maps; only these helpers change their scale or size, and only for display.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from PIL import Image

NORMALIZATIONS = ("minmax", "abs", "positive", "symmetric")


def to_map(attribution: np.ndarray) -> np.ndarray:
    """Collapse an ``(H, W, C)`` attribution to ``(H, W)`` by summing channels."""
    array = np.asarray(attribution, dtype=np.float32)
    if array.ndim == 3:
        return array.sum(axis=-1)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D map or an (H, W, C) array, got shape {array.shape}")
    return array


def normalize(values: np.ndarray, mode: str = "minmax") -> np.ndarray:
    """Scale ``values`` into [0, 1] for display.

    ``minmax``: (v − min)/(max − min); ``abs``: |v|/max|v|; ``positive``: max(v, 0)/max v;
    ``symmetric``: ½ + v/(2 max|v|), so that 0 maps to the middle of a diverging colormap.
    A constant input gives zeros (``symmetric``: ½) instead of dividing by zero.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`NORMALIZATIONS`.
    """
    v = np.asarray(values, dtype=np.float32)
    if mode == "minmax":
        low, span = float(v.min()), float(v.max() - v.min())
        return (v - low) / span if span > 0 else np.zeros_like(v)
    if mode == "abs":
        top = float(np.abs(v).max())
        return np.abs(v) / top if top > 0 else np.zeros_like(v)
    if mode == "positive":
        top = float(v.max())
        return np.maximum(v, 0) / top if top > 0 else np.zeros_like(v)
    if mode == "symmetric":
        top = float(np.abs(v).max())
        return 0.5 + v / (2 * top) if top > 0 else np.full_like(v, 0.5)
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {mode!r}")


def resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``size = (H, W)`` (Pillow, float precision)."""
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"resize expects a 2-D map, got shape {array.shape}")
    height, width = int(size[0]), int(size[1])
    if array.shape == (height, width):
        return array.copy()
    image = Image.fromarray(array, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def colorize(values01: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """RGB uint8 image of a [0, 1] map through a matplotlib colormap.

    Raises
    ------
    ValueError
        If ``cmap`` is not a matplotlib colormap name.
    """
    values = np.clip(np.asarray(values01, dtype=np.float32), 0.0, 1.0)
    if np.isnan(values).any():  # matplotlib's "bad" colour for NaN
        rgba = _colormap(cmap)(values)
        return (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)
    lut = _lookup_table(cmap)
    # matplotlib's own float → index rule: floor(x·N), with x = 1 on the last entry.
    index = np.minimum((values * np.float32(len(lut))).astype(np.intp), len(lut) - 1)
    return lut[index]


def _colormap(name: str) -> Any:
    try:
        return colormaps[name]
    except KeyError as error:
        raise ValueError(f"unknown matplotlib colormap {name!r}") from error


@functools.lru_cache(maxsize=64)
def _lookup_table(name: str) -> np.ndarray:
    """The colormap's N colours as RGB uint8, built once per name.

    ``matplotlib.colormaps[name]`` hands out a fresh copy that builds its table on first use;
    caching the table makes colouring a single indexing operation.
    """
    colormap = _colormap(name)
    rgba = colormap(np.arange(colormap.N))
    table = (rgba[:, :3] * 255.0 + 0.5).astype(np.uint8)
    table.setflags(write=False)
    return table


def to_uint8_image(image: np.ndarray) -> np.ndarray:
    """An image as RGB uint8: floats in [0, 1] (or any range, min-max scaled), gray → RGB."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        if array.min() < 0.0 or array.max() > 1.0:
            array = normalize(array, "minmax")
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got {array.shape}")
    return array[..., :3]


def overlay(
    image: np.ndarray,
    heatmap: np.ndarray,
    cmap: str = "jet",
    opacity: float = 0.5,
    normalization: str = "minmax",
) -> np.ndarray:
    """Blend a colour-mapped heatmap over an image; RGB uint8 at the image's size.

    The heatmap is normalized, resized bilinearly to the image, coloured, and mixed as
    ``(1 − opacity)·image + opacity·colour``.

    Raises
    ------
    ValueError
        If ``opacity`` is outside [0, 1].
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be within [0, 1], got {opacity}")
    base = to_uint8_image(image).astype(np.float32)
    heat = resize(normalize(to_map(heatmap), normalization), base.shape[:2])
    colour = colorize(heat, cmap).astype(np.float32)
    return ((1.0 - opacity) * base + opacity * colour + 0.5).astype(np.uint8)


def tile(
    maps: Sequence[np.ndarray] | np.ndarray,
    columns: int | None = None,
    padding: int = 2,
    fill: int = 255,
) -> np.ndarray:
    """Tile K equally sized uint8 images (2-D or RGB) into a grid, row by row.

    Raises
    ------
    ValueError
        If there are no maps or their shapes differ.
    """
    images = [np.asarray(m) for m in maps]
    if not images:
        raise ValueError("tile needs at least one map")
    shape = images[0].shape
    if any(m.shape != shape for m in images):
        raise ValueError("tile needs maps of one shape")
    images = [to_uint8_image(m) if m.dtype != np.uint8 or m.ndim == 2 else m for m in images]
    height, width = images[0].shape[:2]
    count = len(images)
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    grid = np.full(
        (rows * height + (rows - 1) * padding, columns * width + (columns - 1) * padding, 3),
        fill,
        dtype=np.uint8,
    )
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        top, left = r * (height + padding), c * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def grid_position(
    index: int, columns: int, tile_size: tuple[int, int], padding: int = 2
) -> tuple[int, int]:
    """Top-left pixel of tile ``index`` in a :func:`tile` grid (for click hit-testing)."""
    r, c = divmod(index, columns)
    return r * (tile_size[0] + padding), c * (tile_size[1] + padding)
