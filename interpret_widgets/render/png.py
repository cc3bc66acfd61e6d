"""PNG encoding of uint8 images with Pillow, and nearest-neighbour upscaling for display."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .maps import to_uint8_image


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Repeat pixels ``factor`` times along both axes (crisp small maps in the browser)."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def upscale_factor(shape: tuple, target: int) -> int:
    """The integer factor that brings a map of ``shape`` (h, w, …) close to ``target`` pixels.

    Small maps are shown upscaled by whole pixels (crisp, no blur); a map already larger
    than ``target`` keeps its size (factor 1).
    """
    return max(1, int(target) // max(int(shape[0]), int(shape[1])))


#: zlib level of our PNGs: level 1 encodes several times faster than Pillow's default 6,
#: for files a little larger, which costs nothing between a kernel and its browser.
COMPRESS_LEVEL = 1


def to_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB/gray uint8 image (floats are scaled like :func:`to_uint8_image`)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8_image(image)).save(
        buffer, format="PNG", compress_level=COMPRESS_LEVEL
    )
    return buffer.getvalue()
