"""Seeded random transformations (pad, jitter, scale, rotate) as one affine warp per image.

Transformation robustness is what turns an adversarial pattern into a recognizable feature:
at every step the image is padded, shifted, rescaled and rotated a little before the model
sees it. Lucid applies the chain as a sequence of image operations whose output grows and
shrinks; here each transform only updates a 3×3 matrix (output pixel → source pixel) and a
canvas size, so the whole chain becomes one bilinear warp that lands exactly on the model's
input size. That costs one resampling per step (instead of four), and lets models whose
input size is fixed (a Flatten before a Dense) be visualized with the same transforms. The
padding shows up as a slight zoom-out with :data:`FILL_VALUE` around the image (by 64/67 in
the standard chain at 64 pixels), on top of which :class:`RandomScale` zooms each item by its
own factor.

The random parameters are drawn in numpy, ahead of time, per batch item and per transform
from generators seeded with the item's own entropy. An item's transforms therefore depend
neither on the other items of the batch nor on the number of steps asked for.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill (section
"Transformation robustness").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...model import backend

#: Value (in [0, 1] image space) seen wherever a transform samples outside the image.
FILL_VALUE = 0.5


def _translation(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    m = np.tile(np.eye(3), (len(dx), 1, 1))
    m[:, 0, 2], m[:, 1, 2] = dx, dy
    return m


class Transform:
    """One random transform: maps new-canvas pixels to old-canvas pixels.

    ``sample(rng, size)`` gets the canvas sizes ``(steps, 2)`` (height, width, as
    floats) before the transform and returns ``(matrices (steps, 3, 3), new sizes)``; the
    matrices act on ``(x, y, 1)`` column vectors, x along the width, pixel centres at
    integers.
    """

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class Pad(Transform):
    """Add ``pixels`` of :data:`FILL_VALUE` on every side (the canvas grows by 2·pixels)."""

    def __init__(self, pixels: int) -> None:
        if pixels < 0:
            raise ValueError(f"pad needs pixels >= 0, got {pixels}")
        self.pixels = int(pixels)

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shift = np.full(len(size), -float(self.pixels))
        return _translation(shift, shift), size + 2 * self.pixels

    def __repr__(self) -> str:
        return f"Pad({self.pixels})"


class Jitter(Transform):
    """Random crop ``pixels`` smaller: an integer shift in ``0..pixels`` along each axis."""

    def __init__(self, pixels: int) -> None:
        if pixels < 0:
            raise ValueError(f"jitter needs pixels >= 0, got {pixels}")
        self.pixels = int(pixels)

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets = rng.integers(0, self.pixels + 1, size=(len(size), 2)).astype(np.float64)
        return _translation(offsets[:, 0], offsets[:, 1]), size - self.pixels

    def __repr__(self) -> str:
        return f"Jitter({self.pixels})"


class RandomScale(Transform):
    """Zoom about the canvas centre by a factor drawn uniformly from ``[low, high]``.

    A factor above 1 enlarges the image. The canvas keeps its size: this is Lucid's resize
    followed by a centre crop (or pad) back to the size before it. Lucid instead hands the
    model the resized canvas, whatever its size; with a fixed model input, letting the canvas
    grow here would make the final fit of :meth:`Compose.matrices` shrink it back and undo
    the zoom. The later transforms act the same either way: they are centred (rotation) or
    shifts counted in pixels (jitter, pad).
    """

    def __init__(self, low: float = 0.9, high: float = 1.1) -> None:
        if not 0 < low <= high:
            raise ValueError(f"scale needs 0 < low <= high, got ({low}, {high})")
        self.low, self.high = float(low), float(high)

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = rng.uniform(self.low, self.high, size=len(size))
        cy, cx = (size[:, 0] - 1) / 2, (size[:, 1] - 1) / 2
        m = np.tile(np.eye(3), (len(size), 1, 1))
        m[:, 0, 0] = m[:, 1, 1] = 1.0 / s
        m[:, 0, 2], m[:, 1, 2] = cx * (1 - 1 / s), cy * (1 - 1 / s)
        return m, size

    def __repr__(self) -> str:
        return f"RandomScale({self.low}, {self.high})"


class RandomRotate(Transform):
    """Rotate about the canvas centre by an angle drawn uniformly from ±``degrees``."""

    def __init__(self, degrees: float = 10.0) -> None:
        if degrees < 0:
            raise ValueError(f"rotate needs degrees >= 0, got {degrees}")
        self.degrees = float(degrees)

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.deg2rad(rng.uniform(-self.degrees, self.degrees, size=len(size)))
        c, s = np.cos(theta), np.sin(theta)
        cy, cx = (size[:, 0] - 1) / 2, (size[:, 1] - 1) / 2
        m = np.tile(np.eye(3), (len(size), 1, 1))
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
        m[:, 0, 2] = cx - c * cx + s * cy
        m[:, 1, 2] = cy - s * cx - c * cy
        return m, size

    def __repr__(self) -> str:
        return f"RandomRotate({self.degrees})"


class Compose(Transform):
    """A chain of transforms, applied first to last; each draws from its own generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"transforms must be Transform objects, got {type(t).__name__}")
        self.transforms = transforms

    def matrices(
        self,
        entropy: Sequence[int],
        steps: int,
        image_size: tuple[int, int],
        output_size: tuple[int, int],
    ) -> np.ndarray:
        """``(steps, 6)`` affine rows mapping output pixels to image pixels, one per step.

        After the chain, the output grid is fitted onto the final canvas. Of the built-in
        transforms only pads and jitters change the canvas size (:class:`RandomScale` zooms
        within it), so the fit is the same zoom for every step and item, and an item's zoom
        relative to it is exactly its drawn scale factor (0.9–1.1 in the standard chain).

        ``entropy`` seeds one generator per transform (``entropy + (index,)``), so the first
        ``n`` steps do not depend on ``steps``.
        """
        size = np.tile(np.asarray(image_size, dtype=np.float64), (steps, 1))
        total = np.tile(np.eye(3), (steps, 1, 1))
        for index, transform in enumerate(self.transforms):
            rng = np.random.default_rng([*entropy, index])
            m, size = transform.sample(rng, size)
            total = total @ m
        # Map the output grid onto the final canvas (a zoom when their sizes differ, e.g.
        # a zoom-out by the net padding).
        sy, sx = size[:, 0] / output_size[0], size[:, 1] / output_size[1]
        fit = np.tile(np.eye(3), (steps, 1, 1))
        fit[:, 0, 0], fit[:, 1, 1] = sx, sy
        fit[:, 0, 2], fit[:, 1, 2] = 0.5 * sx - 0.5, 0.5 * sy - 0.5
        total = total @ fit
        return total[:, :2, :].reshape(steps, 6).astype(np.float32)

    def sample(self, rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.tile(np.eye(3), (len(size), 1, 1))
        for transform in self.transforms:
            m, size = transform.sample(rng, size)
            total = total @ m
        return total, size

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def standard_transforms(size: int) -> Compose:
    """Lucid's standard chain, with pixel amounts scaled by ``size / 224`` (at least 1).

    At 224 pixels: pad 12, jitter 8, scale 0.9–1.1, rotate ±10°, jitter 4; at 64 pixels:
    pad 3, jitter 2, the same scale and rotation, jitter 1.
    """

    def scaled(pixels: int) -> int:
        return max(1, round(pixels * size / 224))

    return Compose(
        [
            Pad(scaled(12)),
            Jitter(scaled(8)),
            RandomScale(0.9, 1.1),
            RandomRotate(10.0),
            Jitter(scaled(4)),
        ]
    )


def make_transforms(spec: str | Sequence[Transform] | Compose | None, size: int) -> Compose:
    """The transform chain for ``spec``: ``"standard"``, ``None`` (none), or transforms.

    Raises
    ------
    ValueError
        On an unknown name.
    TypeError
        On anything else that is not a sequence of :class:`Transform`.
    """
    if spec is None:
        return Compose([])
    if isinstance(spec, Compose):
        return spec
    if isinstance(spec, Transform):
        return Compose([spec])
    if isinstance(spec, str):
        if spec != "standard":
            raise ValueError(f"unknown transforms {spec!r}; expected 'standard', None or a list")
        return standard_transforms(size)
    if isinstance(spec, Sequence):
        return Compose(spec)
    raise TypeError(
        f"transforms must be 'standard', None or a list of Transform, got {type(spec).__name__}"
    )


def identity_matrix(image_size: tuple[int, int], output_size: tuple[int, int]) -> np.ndarray:
    """The ``(6,)`` warp that only resizes an image to ``output_size`` (no randomness)."""
    return Compose([]).matrices((0,), 1, image_size, output_size)[0]


def warp(images: Any, matrices: Any, output_size: tuple[int, int], fill: float = FILL_VALUE) -> Any:
    """Bilinear warp of ``images`` ``(K, H, W, C)`` by per-image affine rows ``(K, 6)``.

    Output pixel ``(x, y)`` of the ``output_size`` result reads the source at
    ``(m0 x + m1 y + m2, m3 x + m4 y + m5)``; neighbours outside the image count as
    ``fill``. Its gradient warps the output gradient back by the inverse transform, which
    for the near-identity transforms used here is close to (not exactly) the adjoint of the
    interpolation, as with the image ops Lucid used; an exact adjoint needs a scatter that
    cost four times as much on CPU.
    """
    return backend.affine_warp(images, matrices, tuple(output_size), float(fill))
