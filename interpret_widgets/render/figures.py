"""Static matplotlib figures for scripts and documentation (no TensorFlow, no widgets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .maps import to_uint8_image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: One figure row: a label, K images ``(K, H, W, C)`` and K captions.
FigureRow = tuple[str, np.ndarray, Sequence[str]]


def feature_grid_figure(
    rows: Sequence[FigureRow], tile_inches: float = 1.1, title: str | None = None
) -> Figure:
    """A matplotlib figure with one row of images per entry, each image captioned.

    Meant for feature visualizations (one row per layer, one image per channel), but any
    images work: floats in [0, 1] are shown as they are, other ranges are min-max scaled
    per image (see :func:`~interpret_widgets.render.maps.to_uint8_image`).

    Raises
    ------
    ValueError
        If there are no rows, or a row's captions do not match its images.
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("feature_grid_figure needs at least one row")
    for label, images, captions in rows:
        if len(images) != len(captions):
            raise ValueError(f"row {label!r} has {len(images)} images but {len(captions)} captions")
    columns = max(len(images) for _, images, _ in rows)
    # A bare Figure (not pyplot): no global backend or figure-manager state is touched.
    figure = Figure(figsize=(tile_inches * columns + 0.9, (tile_inches + 0.25) * len(rows) + 0.4))
    axes = figure.subplots(len(rows), columns, squeeze=False)
    for r, (label, images, captions) in enumerate(rows):
        for c in range(columns):
            axis = axes[r, c]
            axis.set_xticks([])
            axis.set_yticks([])
            if c >= len(images):
                axis.axis("off")
                continue
            axis.imshow(to_uint8_image(np.asarray(images[c])), interpolation="nearest")
            axis.set_title(captions[c], fontsize=7, pad=2)
            for spine in axis.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(label, fontsize=9, rotation=90, labelpad=4)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    return figure


#: One attribution row: a title, the overlay (uint8 RGB), the normalized raw map (2-D).
AttributionRow = tuple[str, np.ndarray, np.ndarray]


def attribution_figure(
    image: np.ndarray,
    rows: Sequence[AttributionRow],
    cmap: str,
    image_title: str,
    title: str,
) -> Figure:
    """A figure with, per row, the image, the map over it and the raw map with a colour bar.

    What an attribution panel shows, for scripts and papers: one row per map (the panel's,
    and the compared class or method).

    Raises
    ------
    ValueError
        If there are no rows.
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("attribution_figure needs at least one row")
    figure = Figure(figsize=(10, 3.3 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), 3, squeeze=False)
    for row, (row_title, heatmap, raw) in enumerate(rows):
        axes[row, 0].imshow(to_uint8_image(image))
        axes[row, 0].set_title(image_title)
        axes[row, 1].imshow(heatmap)
        axes[row, 1].set_title(row_title)
        shown = axes[row, 2].imshow(raw, cmap=cmap)
        axes[row, 2].set_title(f"raw map {raw.shape[0]}×{raw.shape[1]}")
        figure.colorbar(shown, ax=axes[row, 2], shrink=0.8)
        for ax in axes[row]:
            ax.set_axis_off()
    figure.suptitle(title)
    return figure
