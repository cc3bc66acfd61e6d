"""Synthetic "shapes on clutter" images with ground-truth object masks.

Every image contains exactly one object (a geometric shape or a textured
patch) drawn at a random position, scale, rotation and colour over a cluttered
background: a smooth random colour gradient, a few thin distractor strokes and
dots, and per-pixel Gaussian noise.  The mask marks exactly the pixels that
belong to the object (distractors are never part of it).

Image ``i`` of ``demo_images(n, seed)`` is generated from its own random
stream, seeded with ``(seed, i)``, so the first ``k`` images do not depend on
``n``.  The shipped demo model was trained on seeds ``>= 1000``; tests and
examples use small seeds such as 7, which therefore give held-out images.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["CLASS_NAMES", "IMAGE_SIZE", "demo_images", "render_image"]

IMAGE_SIZE = 64
"""Height and width of every demo image, in pixels."""

CLASS_NAMES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "cross",
    "ring",
    "star",
    "stripes",
    "checker",
    "ellipse",
    "diamond",
)
"""Class names, indexed by label."""

_MIN_RADIUS = 9.0  # object bounding radius range: ~18-36 px across
_MAX_RADIUS = 18.0
_NOISE_STD = 0.04
_Point = tuple[float, float]


def _rotate(points: np.ndarray, angle: float, cx: float, cy: float) -> list[_Point]:
    """Rotate ``(k, 2)`` offsets by ``angle`` and translate them to ``(cx, cy)``."""
    c, s = math.cos(angle), math.sin(angle)
    x = points[:, 0] * c - points[:, 1] * s + cx
    y = points[:, 0] * s + points[:, 1] * c + cy
    return list(zip(x.tolist(), y.tolist(), strict=True))


def _ellipse_pts(rx: float, ry: float, k: int = 48) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, k, endpoint=False)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)


def _regular_pts(r: float, k: int, phase: float = -math.pi / 2) -> np.ndarray:
    t = phase + np.arange(k) * 2.0 * math.pi / k
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross_pts(r: float) -> np.ndarray:
    w = max(2.5, 0.25 * r)  # arm half-width: arms are >= 5 px thick
    a = math.sqrt(r * r - w * w)  # arm tips stay within radius r
    return np.array(
        [(-w, -a), (w, -a), (w, -w), (a, -w), (a, w), (w, w),
         (w, a), (-w, a), (-w, w), (-a, w), (-a, -w), (-w, -w)],
        dtype=np.float64,
    )


def _star_pts(r: float) -> np.ndarray:
    t = -math.pi / 2 + np.arange(10) * math.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, r, 0.48 * r)
    return np.stack([radii * np.cos(t), radii * np.sin(t)], axis=1)


def _object_mask(label: int, r: float, cx: float, cy: float, angle: float) -> np.ndarray:
    """Rasterise the silhouette of class ``label`` as a boolean mask."""
    canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    draw = ImageDraw.Draw(canvas)
    name = CLASS_NAMES[label]
    square = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1)], dtype=np.float64)
    if name in ("circle", "stripes"):
        outline = _ellipse_pts(r, r)
    elif name in ("square", "checker"):
        outline = square * (r / math.sqrt(2.0))
    elif name == "triangle":
        outline = _regular_pts(r, 3)
    elif name == "cross":
        outline = _cross_pts(r)
    elif name == "ring":
        outline = _ellipse_pts(r, r)
    elif name == "star":
        outline = _star_pts(r)
    elif name == "ellipse":
        outline = _ellipse_pts(r, 0.5 * r)
    elif name == "diamond":
        outline = np.array([(0, -r), (0.6 * r, 0), (0, r), (-0.6 * r, 0)], dtype=np.float64)
    else:  # pragma: no cover - guarded by CLASS_NAMES
        raise AssertionError(name)
    draw.polygon(_rotate(outline, angle, cx, cy), fill=255)
    if name == "ring":
        inner = r - max(4.5, 0.38 * r)  # ring wall is >= 4.5 px thick
        draw.polygon(_rotate(_ellipse_pts(inner, inner), 0.0, cx, cy), fill=0)
    return np.asarray(canvas) > 0


def _colour_far_from(rng: np.random.Generator, refs: list[np.ndarray], gap: float) -> np.ndarray:
    """Random RGB colour whose max-channel distance to every reference is >= ``gap``."""
    colour = rng.uniform(0.0, 1.0, 3)
    for _ in range(200):
        if all(np.max(np.abs(colour - ref)) >= gap for ref in refs):
            break
        colour = rng.uniform(0.0, 1.0, 3)
    return colour


def _background(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """Smooth linear colour gradient in a random direction."""
    c0, c1 = rng.uniform(0.15, 0.85, (2, 3))
    theta = rng.uniform(0.0, 2.0 * math.pi)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] / (IMAGE_SIZE - 1) - 0.5
    t = np.clip(0.5 + xx * math.cos(theta) + yy * math.sin(theta), 0.0, 1.0)[..., None]
    return (1.0 - t) * c0 + t * c1, [c0, c1]


def _add_distractors(rng: np.random.Generator, image: np.ndarray) -> None:
    """Paint 2-5 thin short strokes and tiny dots onto ``image`` in place."""
    for _ in range(int(rng.integers(2, 6))):
        canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
        draw = ImageDraw.Draw(canvas)
        x0, y0 = rng.uniform(2, IMAGE_SIZE - 3, 2)
        if rng.random() < 0.6:
            length, theta = rng.uniform(5, 12), rng.uniform(0, 2 * math.pi)
            x1, y1 = x0 + length * math.cos(theta), y0 + length * math.sin(theta)
            draw.line([(x0, y0), (x1, y1)], fill=255, width=1)
        else:
            draw.point([(x0, y0), (x0 + 1, y0)], fill=255)
        image[np.asarray(canvas) > 0] = rng.uniform(0.0, 1.0, 3)


def _texture(label: int, rng: np.random.Generator, colours: list[np.ndarray],
             cx: float, cy: float) -> np.ndarray:
    """Two-colour stripe or checker texture filling the whole image."""
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    theta = rng.uniform(0.0, math.pi)
    u = (xx - cx) * math.cos(theta) + (yy - cy) * math.sin(theta)
    v = -(xx - cx) * math.sin(theta) + (yy - cy) * math.cos(theta)
    period = rng.uniform(5.0, 7.0)  # bands / cells ~2.5-3.5 px wide
    if CLASS_NAMES[label] == "stripes":
        parity = np.floor(u / period * 2.0).astype(int) % 2
    else:
        parity = (np.floor(u / period * 2.0) + np.floor(v / period * 2.0)).astype(int) % 2
    return np.where(parity[..., None] == 0, colours[0], colours[1])


def render_image(seed: int, index: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Render a single demo image.

    Parameters
    ----------
    seed : int
        Dataset seed.
    index : int
        Position of the image in the dataset; combined with ``seed`` to seed
        the image's own random stream.

    Returns
    -------
    image : np.ndarray
        ``float32`` array of shape ``(IMAGE_SIZE, IMAGE_SIZE, 3)`` in ``[0, 1]``.
    label : int
        Class index into :data:`CLASS_NAMES`.
    mask : np.ndarray
        ``bool`` array of shape ``(IMAGE_SIZE, IMAGE_SIZE)``, true on object pixels.
    """
    rng = np.random.default_rng([int(seed), int(index)])
    label = int(rng.integers(len(CLASS_NAMES)))
    image, bg_refs = _background(rng)
    _add_distractors(rng, image)

    r = rng.uniform(_MIN_RADIUS, _MAX_RADIUS)
    cx, cy = rng.uniform(r + 1.0, IMAGE_SIZE - 2.0 - r, 2)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    mask = _object_mask(label, r, cx, cy, angle)

    first = _colour_far_from(rng, bg_refs, 0.35)
    if CLASS_NAMES[label] in ("stripes", "checker"):
        second = _colour_far_from(rng, bg_refs + [first], 0.35)
        image[mask] = _texture(label, rng, [first, second], cx, cy)[mask]
    else:
        image[mask] = first

    image = image + rng.normal(0.0, _NOISE_STD, image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32), label, mask


def demo_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` labelled demo images with ground-truth object masks.

    Parameters
    ----------
    n : int
        Number of images, at least 1.
    seed : int, default 0
        Non-negative dataset seed.  The same ``(n, seed)`` always gives
        identical arrays, and image ``i`` does not depend on ``n``.  Seeds
        ``>= 1000`` were used to train the shipped demo model.

    Returns
    -------
    images : np.ndarray
        ``float32`` array of shape ``(n, 64, 64, 3)`` with values in ``[0, 1]``.
    labels : np.ndarray
        ``int64`` array of shape ``(n,)`` indexing :data:`CLASS_NAMES`.
    masks : np.ndarray
        ``bool`` array of shape ``(n, 64, 64)``, true on the object's pixels.

    Raises
    ------
    ValueError
        If ``n`` is not an integer >= 1 or ``seed`` is not a non-negative integer.
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    n = int(n)
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    labels = np.empty((n,), dtype=np.int64)
    masks = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    for i in range(n):
        images[i], labels[i], masks[i] = render_image(int(seed), i)
    return images, labels, masks
