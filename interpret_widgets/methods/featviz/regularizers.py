"""Regularizers: penalties that keep a visualization from drifting into noise.

A regularizer is an :class:`~.objectives.Objective` whose value is a weighted penalty, one per
batch item. The optimizer maximizes ``objective - Σ regularizers``, so passing
``regularizers=(total_variation(0.05),)`` is the same as optimizing
``objective - total_variation(0.05)``. By default a regularizer reads the optimized image
itself (:data:`~.objectives.IMAGE`, in [0, 1], before transforms); give ``layer`` to
penalize a layer's activations instead.

Penalties are means, not sums, so that a weight means the same thing at every image size.

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill (section
"The Enemy of Feature Visualization"); Mahendran & Vedaldi (2015), "Understanding Deep
Image Representations by Inverting Them" (total variation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from .objectives import IMAGE, Objective


def _batch_mean(values: Any) -> Any:
    return keras.ops.mean(values, axis=tuple(range(1, len(values.shape))))


@dataclass(frozen=True)
class Regularizer(Objective):
    """Base class: ``weight × penalty(activations[layer])`` per batch item."""

    weight: float = 1.0
    layer: Any = IMAGE

    @property
    def requires(self) -> frozenset:
        return frozenset({self.layer})

    def penalty(self, values: Any) -> Any:
        raise NotImplementedError

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        return self.weight * self.penalty(activations[self.layer])


@dataclass(frozen=True)
class TotalVariation(Regularizer):
    """Mean absolute difference between vertically and horizontally adjacent pixels."""

    def penalty(self, values: Any) -> Any:
        if len(values.shape) != 4:
            raise ValueError(f"total variation needs (N, H, W, C) values, got {values.shape}")
        dy = keras.ops.abs(values[:, 1:, :, :] - values[:, :-1, :, :])
        dx = keras.ops.abs(values[:, :, 1:, :] - values[:, :, :-1, :])
        return _batch_mean(dy) + _batch_mean(dx)


@dataclass(frozen=True)
class L1(Regularizer):
    """Mean absolute deviation from ``center`` (mid-grey 0.5 for the image)."""

    center: float = 0.5

    def penalty(self, values: Any) -> Any:
        return _batch_mean(keras.ops.abs(values - self.center))


@dataclass(frozen=True)
class L2(Regularizer):
    """Mean squared deviation from ``center`` (mid-grey 0.5 for the image)."""

    center: float = 0.5

    def penalty(self, values: Any) -> Any:
        return _batch_mean(keras.ops.square(values - self.center))


def total_variation(weight: float = 1.0, layer: Any = IMAGE) -> TotalVariation:
    """Total-variation penalty with ``weight`` (on the image unless ``layer`` is given)."""
    return TotalVariation(float(weight), layer)


def l1(weight: float = 1.0, layer: Any = IMAGE, center: float = 0.5) -> L1:
    """L1 penalty towards ``center`` with ``weight``."""
    return L1(float(weight), layer, float(center))


def l2(weight: float = 1.0, layer: Any = IMAGE, center: float = 0.5) -> L2:
    """L2 penalty towards ``center`` with ``weight``."""
    return L2(float(weight), layer, float(center))
