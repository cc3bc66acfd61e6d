"""Superpixels, and the checks of user-given segment maps, for LIME and KernelSHAP.

Both methods explain an image through its segments: a segment is kept (shows the image) or
removed (takes the baseline). Each image's labels are brought to 0 … M − 1 here, so that
every method can index its segments densely.
"""

from __future__ import annotations

import numpy as np

from .evaluate import positive_int


def superpixels(x: np.ndarray, n_segments: int = 64, compactness: float = 10.0) -> np.ndarray:
    """SLIC superpixels of every image, labels 0 … M − 1 per image, int32 ``(N, H, W)``.

    Each image is scaled to [0, 1] by its own minimum and maximum first, so that
    ``compactness`` means the same for images in [0, 1] and in [0, 255]; a three-channel
    image is clustered in CIELAB, as scikit-image does by default. The result is
    deterministic (SLIC starts from a regular grid). M is near ``n_segments``, not equal.

    Raises
    ------
    ValueError
        If ``x`` is not an ``(N, H, W, C)`` batch, ``n_segments < 1`` or
        ``compactness <= 0``.

    References
    ----------
    Achanta et al. (2012), "SLIC Superpixels Compared to State-of-the-Art Superpixel
    Methods".
    """
    from skimage.segmentation import slic

    n_segments = positive_int(n_segments, "n_segments")
    if not float(compactness) > 0:
        raise ValueError(f"compactness must be > 0, got {compactness!r}")
    batch = np.asarray(x, dtype=np.float32)
    if batch.ndim != 4:
        raise ValueError(
            f"superpixels expects images (N, H, W, C) with a batch axis, got shape {batch.shape}"
        )
    out = np.empty(batch.shape[:3], dtype=np.int32)
    for n, image in enumerate(batch):
        low, high = float(image.min()), float(image.max())
        scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
        labels = slic(
            scaled.astype(np.float64),
            n_segments=n_segments,
            compactness=float(compactness),
            start_label=0,
            channel_axis=-1,
            convert2lab=image.shape[-1] == 3,
        )
        out[n] = dense_labels(labels)
    return out


def dense_labels(labels: np.ndarray) -> np.ndarray:
    """The same partition with labels 0 … M − 1 in order of the original labels, int32."""
    _, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32)


def check_segments(segments: object, batch: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Segment maps for every image (``superpixels(batch)`` when ``None``) and their counts.

    ``segments`` is an int array ``(N, H, W)`` or one ``(H, W)`` map for every image. The
    labels of each image are made dense (0 … M − 1); the partition is unchanged.

    Raises
    ------
    ValueError
        If the shape fits neither form.
    TypeError
        If the labels are not integers.
    """
    if segments is None:
        maps = superpixels(batch)
    else:
        maps = np.asarray(segments)
        if not np.issubdtype(maps.dtype, np.integer):
            raise TypeError(f"segments must be an integer label array, got dtype {maps.dtype}")
        size = batch.shape[1:3]
        if maps.shape == size:
            maps = np.broadcast_to(maps, (len(batch), *size))
        elif maps.shape != (len(batch), *size):
            raise ValueError(
                f"segments must have shape {(len(batch), *size)} (N, H, W) or {size} (H, W) "
                f"for x of shape {batch.shape}, got {maps.shape}"
            )
        maps = np.stack([dense_labels(m) for m in maps])
    return maps, [int(m.max()) + 1 for m in maps]
