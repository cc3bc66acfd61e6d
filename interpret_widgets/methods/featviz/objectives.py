"""Objectives: what feature visualization maximizes, one value per batch item.

An objective reads a dict of activations (layer → tensor with the batch axis first) and
returns a ``(K,)`` tensor, one value per batch item, so that K visualizations are optimized
as one batch without interacting (the diversity term is the deliberate exception). Objectives
are immutable values: ``a + b``, ``a - b``, ``2.0 * a`` and ``-a`` build NEW objectives and
never change their operands, so a user may combine the same channel objective into several
experiments.

Where an objective takes a channel (or class) it accepts an int, used for every item, or a
sequence of K ints, one per item: ``channel("relu2", [3, 7, 9])`` drives item 0 towards
channel 3, item 1 towards channel 7, and so on.

The activations dict is keyed by the layer specs the objectives were given (a name or a
layer object) plus two special keys: :data:`IMAGE` (the un-transformed image in [0, 1]) and
:data:`LOGITS` (the model's pre-softmax scores).

References
----------
Olah, Mordvintsev & Schubert (2017), "Feature Visualization", Distill.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import keras
import numpy as np

#: Activations key of the optimized image itself, in [0, 1], before any transform.
IMAGE = "<image>"
#: Activations key of the model's pre-softmax class scores.
LOGITS = "<logits>"

Index = int | tuple[int, ...]


def _as_index(value: int | Sequence[int] | np.ndarray, what: str) -> Index:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a sequence of ints, got a bool")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        values = tuple(value)
        if values and all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
            return tuple(int(v) for v in values)
    raise TypeError(f"{what} must be an int or a non-empty sequence of ints, got {value!r}")


def _pick(values: Any, index: Index) -> Any:
    """``values[:, index]`` for an int, ``values[k, index[k]]`` per item for a tuple."""
    if isinstance(index, int):
        return values[:, index]
    picks = np.asarray(index, dtype=np.int32)[:, None]
    return keras.ops.take_along_axis(values, picks, axis=1)[:, 0]


def _sizes(index: Index) -> frozenset[int]:
    return frozenset() if isinstance(index, int) else frozenset({len(index)})


def _spatial_mean(values: Any) -> Any:
    """Mean over every axis between the batch axis and the channel axis."""
    if len(values.shape) <= 2:
        return values
    return keras.ops.mean(values, axis=tuple(range(1, len(values.shape) - 1)))


class Objective:
    """Base class: ``objective(activations) -> (K,)``; combine with ``+``, ``-``, ``*``.

    Subclasses are frozen dataclasses that implement :meth:`__call__` and
    :attr:`requires` (the activation keys they read).
    """

    @property
    def requires(self) -> frozenset:
        raise NotImplementedError

    def batch_sizes(self) -> frozenset[int]:
        """The batch sizes K that per-item indices fix (empty where any K works)."""
        return frozenset()

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        raise NotImplementedError

    # -- algebra (always new objects) ------------------------------------------------------
    def _terms(self) -> tuple[tuple[float, Objective], ...]:
        return ((1.0, self),)

    def __add__(self, other: object) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Sum(self._terms() + other._terms())

    def __radd__(self, other: object) -> Objective:
        if isinstance(other, Real) and other == 0:  # sum([a, b, c]) starts from 0
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + (-1.0) * other

    def __mul__(self, factor: object) -> Objective:
        if not isinstance(factor, Real) or isinstance(factor, bool):
            return NotImplemented
        return Sum(tuple((float(factor) * w, term) for w, term in self._terms()))

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> Objective:
        if not isinstance(divisor, Real) or isinstance(divisor, bool):
            return NotImplemented
        return self * (1.0 / float(divisor))

    def __neg__(self) -> Objective:
        return self * -1.0


@dataclass(frozen=True)
class Sum(Objective):
    """A weighted sum of objectives: Σ weight · term."""

    terms: tuple[tuple[float, Objective], ...]

    @property
    def requires(self) -> frozenset:
        return frozenset().union(*(term.requires for _, term in self.terms))

    def batch_sizes(self) -> frozenset[int]:
        return frozenset().union(*(term.batch_sizes() for _, term in self.terms))

    def _terms(self) -> tuple[tuple[float, Objective], ...]:
        return self.terms

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        total = None
        for weight, term in self.terms:
            value = weight * term(activations)
            total = value if total is None else total + value
        return total

    def __repr__(self) -> str:
        parts = [f"{w:g}·{term!r}" for w, term in self.terms]
        return " + ".join(parts) if parts else "Sum()"


@dataclass(frozen=True)
class Channel(Objective):
    """Mean activation of a channel over all spatial positions (the unit of a dense layer)."""

    layer: Any
    channel: Index

    @property
    def requires(self) -> frozenset:
        return frozenset({self.layer})

    def batch_sizes(self) -> frozenset[int]:
        return _sizes(self.channel)

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        return _pick(_spatial_mean(activations[self.layer]), self.channel)


@dataclass(frozen=True)
class Neuron(Objective):
    """Activation of a channel at one spatial position (the centre unless given)."""

    layer: Any
    channel: Index
    x: int | None = None
    y: int | None = None

    @property
    def requires(self) -> frozenset:
        return frozenset({self.layer})

    def batch_sizes(self) -> frozenset[int]:
        return _sizes(self.channel)

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        values = activations[self.layer]
        if len(values.shape) != 4:
            raise ValueError(f"neuron needs a 4-D (N, h, w, k) layer, got shape {values.shape}")
        h, w = values.shape[1], values.shape[2]
        y = h // 2 if self.y is None else self.y
        x = w // 2 if self.x is None else self.x
        return _pick(values[:, y, x, :], self.channel)


@dataclass(frozen=True)
class LayerObjective(Objective):
    """DeepDream: the mean of the whole layer's activations, squared (default) or plain."""

    layer: Any
    mode: str = "squared"

    def __post_init__(self) -> None:
        if self.mode not in ("squared", "mean"):
            raise ValueError(f"layer objective mode must be 'squared' or 'mean', got {self.mode!r}")

    @property
    def requires(self) -> frozenset:
        return frozenset({self.layer})

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        values = activations[self.layer]
        if self.mode == "squared":
            values = values * values
        return keras.ops.mean(values, axis=tuple(range(1, len(values.shape))))


@dataclass(frozen=True)
class ClassLogit(Objective):
    """The pre-softmax score of a class (the model's output where it has no softmax)."""

    label: Index

    @property
    def requires(self) -> frozenset:
        return frozenset({LOGITS})

    def batch_sizes(self) -> frozenset[int]:
        return _sizes(self.label)

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        return _pick(activations[LOGITS], self.label)


@dataclass(frozen=True)
class Diversity(Objective):
    """Minus the mean cosine similarity of an item's Gram matrix to the other items'.

    The only objective whose items interact: adding it (with a positive weight) pushes the
    batch items of the same objective apart in style. Zero for a batch of one.

    References
    ----------
    Olah et al. (2017), "Feature Visualization", Distill (section "Diversity").
    """

    layer: Any

    @property
    def requires(self) -> frozenset:
        return frozenset({self.layer})

    def __call__(self, activations: Mapping[Any, Any]) -> Any:
        ops = keras.ops
        values = activations[self.layer]
        k, channels = values.shape[0], values.shape[-1]
        if k is None or k < 2:
            return ops.mean(values * 0.0, axis=tuple(range(1, len(values.shape))))
        flat = ops.reshape(values, (k, -1, channels))
        grams = ops.reshape(ops.matmul(ops.transpose(flat, (0, 2, 1)), flat), (k, -1))
        grams = grams / (ops.sqrt(ops.sum(grams * grams, axis=1, keepdims=True)) + 1e-10)
        similarity = ops.matmul(grams, ops.transpose(grams))
        off_diagonal = ops.sum(similarity, axis=1) - ops.diagonal(similarity)
        return -off_diagonal / (k - 1)


def channel(layer: Any, n: int | Sequence[int]) -> Channel:
    """Mean activation of channel ``n`` of ``layer`` (per item when ``n`` is a sequence)."""
    return Channel(layer, _as_index(n, "channel"))


def neuron(
    layer: Any, n: int | Sequence[int], x: int | None = None, y: int | None = None
) -> Neuron:
    """Activation of channel ``n`` at position ``(x, y)`` of ``layer`` (default: centre)."""
    return Neuron(layer, _as_index(n, "channel"), x, y)


def layer_objective(layer: Any, mode: str = "squared") -> LayerObjective:
    """DeepDream objective: mean of ``layer``'s activations squared (or plain mean)."""
    return LayerObjective(layer, mode)


deepdream = layer_objective


def class_logit(label: int | Sequence[int]) -> ClassLogit:
    """Pre-softmax score of class ``label`` (per item when a sequence)."""
    return ClassLogit(_as_index(label, "label"))


def diversity(layer: Any) -> Diversity:
    """Style diversity between batch items at ``layer`` (see :class:`Diversity`)."""
    return Diversity(layer)
