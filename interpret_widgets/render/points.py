"""Colours for scatter plots of many points: categories and continuous values."""

from __future__ import annotations

import numpy as np

from .maps import _lookup_table, normalize

#: Colour of points outside the group being shown (other classes, hidden clusters).
MUTED = (0.78, 0.78, 0.78)


def category_colors(values: np.ndarray, cmap: str = "tab10") -> np.ndarray:
    """RGB floats ``(N, 3)`` in [0, 1], one colour per integer category (cycling through
    the qualitative colormap); negative values (no category) get :data:`MUTED`."""
    values = np.asarray(values, dtype=np.int64)
    table = _lookup_table(cmap)
    palette = table[np.linspace(0, len(table) - 1, min(len(table), 10)).astype(int)]
    colours = palette[np.mod(values, len(palette))].astype(np.float32) / 255.0
    colours[values < 0] = MUTED
    return colours


def value_colors(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """RGB floats ``(N, 3)`` of continuous values, min-max scaled through ``cmap``;
    NaN values get :data:`MUTED`."""
    values = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(values)
    colours = np.tile(np.asarray(MUTED, np.float32), (len(values), 1))
    if finite.any():
        table = _lookup_table(cmap)
        scaled = normalize(values[finite], "minmax")
        index = np.minimum((scaled * len(table)).astype(np.intp), len(table) - 1)
        colours[finite] = table[index].astype(np.float32) / 255.0
    return colours


def hex_colors(colours: np.ndarray) -> list[str]:
    """``(N, 3)`` RGB floats as CSS ``#rrggbb`` strings (for SVG charts)."""
    rgb = (np.clip(colours, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]
