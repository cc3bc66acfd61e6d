"""Attribution maps of any shape as one value per input pixel, for the evaluation metrics.

The methods return ``(N, H, W, C)`` (gradients, LRP), ``(N, H, W)`` (perturbation methods)
or ``(N, h, w)`` at a layer's resolution (CAMs). Deletion and insertion curves, the pointing
game and relevance mass rank or sum pixels, so they first bring every map to ``(N, H, W)``:
channels are summed, a smaller map is resized bilinearly with half-pixel centres, the rule
of ``tf.image.resize`` (without antialiasing), here in numpy so that the result does not
depend on a display library.
"""

from __future__ import annotations

import numpy as np


def bilinear_resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize ``(N, h, w)`` maps to ``(N, H, W)`` bilinearly with half-pixel centres.

    Output pixel i reads the source at (i + ½)·h/H − ½, clamped to [0, h − 1], and
    interpolates linearly between its two neighbours (the same for columns); this is
    ``tf.image.resize(method="bilinear", antialias=False)``. Computed in float64.

    Raises
    ------
    ValueError
        If ``maps`` is not 3-D or ``size`` is not two positive ints.
    """
    array = np.asarray(maps, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"bilinear_resize expects (N, h, w) maps, got shape {array.shape}")
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be two positive ints (H, W), got {size}")
    if array.shape[1:] == (height, width):
        return array.astype(np.float32)
    low_r, high_r, frac_r = _axis_weights(array.shape[1], height)
    low_c, high_c, frac_c = _axis_weights(array.shape[2], width)
    rows = array[:, low_r] * (1.0 - frac_r)[:, None] + array[:, high_r] * frac_r[:, None]
    out = rows[:, :, low_c] * (1.0 - frac_c) + rows[:, :, high_c] * frac_c
    return out.astype(np.float32)


def _axis_weights(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper source index and the weight of the upper, per target index."""
    position = (np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5
    position = np.clip(position, 0.0, source - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, source - 1)
    return low, high, position - low


def pixel_maps(attribution: object, n: int, size: tuple[int, int], channels: int | None = None,
               name: str = "attribution") -> np.ndarray:
    """``attribution`` as one float32 value per pixel, ``(n, H, W)``.

    An ``(n, H, W, C)`` map is summed over channels (``C`` must equal ``channels`` where
    given), an ``(n, H, W)`` map is kept, an ``(n, h, w)`` map is resized with
    :func:`bilinear_resize`.

    Raises
    ------
    TypeError
        If ``attribution`` is not numeric.
    ValueError
        On a wrong rank, batch size or size, or NaN / infinite values.
    """
    try:
        array = np.asarray(attribution, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a numeric array, got {type(attribution).__name__}"
        ) from error
    height, width = size
    expected = f"(N, {height}, {width}, C), (N, {height}, {width}) or (N, h, w) with N = {n}"
    if array.ndim not in (3, 4) or array.shape[0] != n:
        raise ValueError(f"{name} must be shaped {expected}; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if array.ndim == 4:
        if array.shape[1:3] != (height, width) or (
            channels is not None and array.shape[3] != channels
        ):
            want = f"(N, {height}, {width}, {channels if channels is not None else 'C'})"
            raise ValueError(
                f"{name} of rank 4 must be shaped {want}; got shape {array.shape}"
            )
        return array.sum(axis=-1, dtype=np.float64).astype(np.float32)
    if min(array.shape[1:]) < 1:
        raise ValueError(f"{name} has an empty spatial axis: shape {array.shape}")
    return bilinear_resize(array, (height, width))
