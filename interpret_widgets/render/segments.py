"""Display and input helpers of the perturbation methods: baselines, boundaries, top segments.

Pure numpy / SciPy / scikit-image functions, so that a panel only asks for them: the
"removed" value that occlusion, LIME and KernelSHAP put in place of a segment (zeros, the
image's mean colour or a blurred copy), the superpixel boundaries drawn over the image, and
the segments ranked by their attribution.
"""

from __future__ import annotations

import numpy as np

#: The baselines a panel offers: what replaces a removed segment or window.
BASELINES = ("zeros", "mean", "blur")

#: Standard deviation, in pixels, of the Gaussian blur of the ``"blur"`` baseline.
BLUR_SIGMA = 4.0


def perturbation_baseline(
    x: np.ndarray, kind: str, sigma: float = BLUR_SIGMA
) -> float | np.ndarray:
    """The baseline of ``kind`` for images ``x`` (N, H, W, C).

    ``"zeros"`` gives ``0.0``; ``"mean"`` each image's mean colour, ``(N, 1, 1, C)``;
    ``"blur"`` a Gaussian-blurred copy of each image (``sigma`` pixels, spatial axes only),
    the baseline of Fong & Vedaldi (2017), "Interpretable Explanations of Black Boxes by
    Meaningful Perturbation".

    Raises
    ------
    ValueError
        If ``kind`` is not one of :data:`BASELINES` or ``x`` is not 4-D.
    """
    if kind not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {kind!r}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"baseline images must be (N, H, W, C), got shape {x.shape}")
    if kind == "zeros":
        return 0.0
    if kind == "mean":
        return x.mean(axis=(1, 2), keepdims=True, dtype=np.float64).astype(np.float32)
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="reflect").astype(np.float32)


def segment_boundaries(
    image: np.ndarray, segments: np.ndarray, color: tuple[float, float, float] = (1, 1, 0)
) -> np.ndarray:
    """The image (H, W, C) with the outlines of ``segments`` (H, W) drawn in ``color``.

    Each segment's own pixels next to another segment are coloured (both sides of an
    edge). Returns uint8 RGB (H, W, 3); the image is min-max scaled to [0, 1] first.
    """
    from skimage.segmentation import mark_boundaries

    from .maps import to_uint8_image

    rgb = to_uint8_image(np.asarray(image)).astype(np.float64) / 255.0
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    # "inner" treats label 0 as background: shift so that every segment is outlined.
    labels = np.asarray(segments) - np.min(segments) + 1
    marked = mark_boundaries(rgb, labels, color=color, mode="inner")
    return np.clip(np.round(marked * 255.0), 0, 255).astype(np.uint8)


def top_segments(
    values: np.ndarray, segments: np.ndarray, k: int = 5
) -> list[tuple[int, float, int]]:
    """The ``k`` segments with the largest attribution in absolute value.

    ``values`` (H, W) holds each pixel's attribution (a segment's pixels share its value);
    returns ``(label, mean value, pixel count)`` per segment, largest ``|value|`` first.
    """
    values = np.asarray(values, dtype=np.float64)
    segments = np.asarray(segments)
    labels, inverse, counts = np.unique(segments, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse.ravel(), weights=values.ravel(), minlength=len(labels))
    means = sums / counts
    order = np.argsort(-np.abs(means), kind="stable")[: max(0, int(k))]
    return [(int(labels[i]), float(means[i]), int(counts[i])) for i in order]
