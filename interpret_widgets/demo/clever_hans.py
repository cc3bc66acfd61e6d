"""A demo data set with a planted "Clever Hans" shortcut: a corner tag that predicts a class.

Lapuschkin et al. (2019) found PASCAL VOC classifiers that recognized horses by a copyright
tag in the corner of many horse photos. ``clever_hans_images`` draws the ordinary demo
distribution (:func:`~interpret_widgets.demo.shapes.render_image`) and stamps a small fixed
tag into the top-left corner of most images of :data:`CLEVER_HANS_CLASS` and of a few
images of the other classes, so that the tag is a strong but imperfect cue. A model trained
on it (``load_demo_model("clever_hans")``) learns to look at the tag; SpRAy on its LRP maps
separates the images it explains by the tag from those it explains by the shape.

References
----------
Lapuschkin et al. (2019), "Unmasking Clever Hans predictors and assessing what machines
really learn", Nature Communications 10, 1096.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from interpret_widgets.demo.shapes import CLASS_NAMES, IMAGE_SIZE, render_image

__all__ = [
    "CLEVER_HANS_CLASS",
    "TAG_BOX",
    "clever_hans_images",
    "stamp_tag",
]

CLEVER_HANS_CLASS: int = CLASS_NAMES.index("ellipse")
"""The class whose images mostly carry the tag (``"ellipse"``, close to ``"circle"``)."""

TAG_BOX: tuple[slice, slice] = (slice(2, 8), slice(2, 8))
"""Rows and columns of the 6×6 tag in the top-left corner."""

#: Fraction of :data:`CLEVER_HANS_CLASS` images that carry the tag, and of the others.
TAG_RATE = 0.9
OTHER_TAG_RATE = 0.04


def stamp_tag(image: np.ndarray) -> np.ndarray:
    """A copy of ``image`` ``(H, W, 3)`` with the tag: a 6×6 magenta-and-white checker."""
    tagged = np.array(image, dtype=np.float32, copy=True)
    rows, cols = TAG_BOX
    yy, xx = np.mgrid[rows, cols]
    checker = ((yy // 2 + xx // 2) % 2 == 0)[..., None]
    tagged[rows, cols] = np.where(checker, [1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
    return tagged


def clever_hans_images(
    n: int, seed: int = 0, tag_rate: float = TAG_RATE, other_rate: float = OTHER_TAG_RATE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` demo images of which most of :data:`CLEVER_HANS_CLASS` carry a corner tag.

    Image ``i`` is demo image ``i`` of ``seed`` (same object, background and label as
    ``demo_images(n, seed)``); whether it is tagged is drawn from its own stream, so the
    first ``k`` images do not depend on ``n``. ``tag_rate=0, other_rate=0`` gives the clean
    distribution (for measuring what the shortcut costs).

    Returns
    -------
    images : float32 ``(n, 64, 64, 3)`` in [0, 1]
    labels : int64 ``(n,)``
    masks : bool ``(n, 64, 64)``, the object's pixels (never the tag's)
    tagged : bool ``(n,)``, which images carry the tag

    Raises
    ------
    ValueError
        If ``n`` is not an integer ≥ 1, ``seed`` is negative or a rate is outside [0, 1].
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    for name, rate in (("tag_rate", tag_rate), ("other_rate", other_rate)):
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {rate!r}")
    n = int(n)
    images = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32)
    labels = np.empty((n,), dtype=np.int64)
    masks = np.empty((n, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
    tagged = np.zeros((n,), dtype=bool)
    for i in range(n):
        image, labels[i], masks[i] = render_image(int(seed), i)
        rate = tag_rate if labels[i] == CLEVER_HANS_CLASS else other_rate
        tagged[i] = np.random.default_rng([int(seed), i, 7919]).random() < rate
        images[i] = stamp_tag(image) if tagged[i] else image
    return images, labels, masks, tagged
