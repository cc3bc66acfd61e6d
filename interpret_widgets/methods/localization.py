"""Localization metrics against ground-truth object masks: pointing game, relevance mass.

Where a data set marks the object of every image (the demo set does), a map can be scored
by whether its evidence lies on the object. Both metrics read one value per pixel, so maps of
any shape the methods return are first brought to the mask's size as for the deletion
curves (:func:`~interpret_widgets.methods.pixelmaps.pixel_maps`: channels summed, smaller
maps resized bilinearly with half-pixel centres).
"""

from __future__ import annotations

import numpy as np

from .pixelmaps import pixel_maps


def _masks(masks: object) -> np.ndarray:
    array = np.asarray(masks)
    if array.ndim != 3 or array.dtype != np.bool_:
        raise ValueError(
            f"masks must be a bool array (N, H, W), got {array.dtype} of shape {array.shape}"
        )
    empty = np.flatnonzero(~array.reshape(len(array), -1).any(axis=1))
    if empty.size:
        raise ValueError(f"the mask of image {int(empty[0])} is empty; every image needs one")
    return array


def _pixels(maps: object, masks: np.ndarray) -> np.ndarray:
    return pixel_maps(maps, len(masks), masks.shape[1:], name="maps")


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Whether each map's maximum falls inside the object mask: ``(N,)`` float32, 1 or 0.

    ``maps``: ``(N, H, W, C)`` (summed over channels), ``(N, H, W)`` or ``(N, h, w)``
    (resized bilinearly to ``(H, W)``); ``masks``: bool ``(N, H, W)``, true on the object.
    The pointed pixel is the maximum of the map; among tied maxima the first in row-major
    order (``argmax``), which is the first pixel a deletion curve removes. So a constant map
    points at the top-left pixel rather than scoring a hit anywhere. The mean over images is
    the pointing-game accuracy.

    Raises
    ------
    ValueError, TypeError
        On masks that are not bool ``(N, H, W)`` or are empty for an image, and on maps
        of another batch size, rank or size, or with NaN.

    References
    ----------
    Zhang et al. (2018), "Top-down Neural Attention by Excitation Backprop".
    """
    mask = _masks(masks)
    pixels = _pixels(maps, mask).reshape(len(mask), -1)
    pointed = np.argmax(pixels, axis=1)
    hits = mask.reshape(len(mask), -1)[np.arange(len(mask)), pointed]
    return hits.astype(np.float32)


def relevance_mass(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Share of each map's positive attribution inside the mask: ``(N,)`` float32 in [0, 1].

    Σ_{p ∈ mask} max(R_p, 0) / Σ_p max(R_p, 0) with R the per-pixel map (shapes as in
    :func:`pointing_game`; channels are summed before the positive part is taken). A map
    with no positive value gets 0. Compare it with the mask's share of the image, which a
    uniform map would get.

    Raises
    ------
    ValueError, TypeError
        As :func:`pointing_game`.

    References
    ----------
    Arras, Osman & Samek (2022), "CLEVR-XAI: A benchmark dataset for the ground truth
    evaluation of neural network explanations" (relevance mass accuracy).
    """
    mask = _masks(masks)
    positive = np.maximum(_pixels(maps, mask).astype(np.float64), 0.0).reshape(len(mask), -1)
    total = positive.sum(axis=1)
    inside = np.where(mask.reshape(len(mask), -1), positive, 0.0).sum(axis=1)
    share = np.divide(inside, total, out=np.zeros_like(total), where=total > 0)
    return share.astype(np.float32)
