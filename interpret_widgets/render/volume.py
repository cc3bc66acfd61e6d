"""A layer's activations as a volume for 3-D display (ipyvolume's ``(z, y, x)`` order)."""

from __future__ import annotations

import numpy as np

from .maps import normalize

VOLUME_RAMP = 1e-4
"""Weight of the ramp blended into a volume (see :func:`activation_volume`)."""


def activation_volume(activation: np.ndarray) -> np.ndarray:
    """An ``(h, w, k)`` activation as a ``(k, h, w)`` float32 volume in [0, 1].

    Channels become the depth axis; values are min-max normalized over the whole layer.
    Rows are flipped so that the image stands upright in a y-up 3-D frame. A ramp of at most
    :data:`VOLUME_RAMP` is blended in so that flat regions (ReLU zeros, a constant layer)
    keep a finite gradient in a volume renderer's shading estimate instead of 0/0.

    Raises
    ------
    ValueError
        If ``activation`` is not 3-D.
    """
    values = np.asarray(activation, dtype=np.float32)
    if values.ndim != 3:
        raise ValueError(f"expected an (h, w, k) activation, got shape {values.shape}")
    volume = normalize(np.transpose(values[::-1, :, :], (2, 0, 1)), "minmax")
    depth, height, width = volume.shape
    ramp = np.add.outer(np.add.outer(np.arange(depth), np.arange(height)), np.arange(width))
    ramp = ramp / max(1, int(ramp.max()))
    volume = volume * (1.0 - VOLUME_RAMP) + VOLUME_RAMP * ramp
    return np.ascontiguousarray(volume, dtype=np.float32)
