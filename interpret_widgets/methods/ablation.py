"""Channel ablation: the scores with channels knocked out, and how much each channel matters.

``ablate`` replaces channels of a layer's output by a constant and reports the pre-softmax
scores; the model is never changed: the model's flat graph is cut at the layer
(:class:`~interpret_widgets.model.ablation.GraphSplit`) and the channel mask is a tensor
argument of the compiled suffix, so toggling channels costs one pass and no retrace.
``channel_importance`` ranks channels three ways: the drop in the target score when each
channel is ablated alone (every single-channel mask through the same probe, in batches),
the channel's LRP relevance, and gradient × activation.

References
----------
Zhou et al. (2018), "Revisiting the Importance of Individual Units in CNNs via Ablation";
Yeom et al. (2021), "Pruning by Explaining"; Molchanov et al. (2017), "Pruning
Convolutional Neural Networks for Resource Efficient Inference" (the Taylor criterion,
gradient × activation).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import keras
import numpy as np

from ..model import GraphSplit, get_adapter
from .cam import combine, gradcam_weights
from .featviz.arguments import positive_int
from .gradients import Target
from .lrp import layer_relevance
from .progress import Progress, check_progress, report

#: The ways :func:`channel_importance` can measure a channel.
IMPORTANCE_METHODS = ("ablation", "relevance", "gradient")
#: Masked copies per compiled call in :func:`channel_importance`.
DEFAULT_BATCH_SIZE = 64


def ablate(
    model: keras.Model,
    x: np.ndarray,
    layer: str | Any,
    channels: int | Sequence[int],
    value: float = 0.0,
) -> np.ndarray:
    """Pre-softmax scores ``(N, classes)`` with ``channels`` of ``layer`` set to ``value``.

    Every position of the given channels of the layer's output takes ``value``; the rest of
    the model runs as usual from there (residual branches and nested models included). An
    empty ``channels`` reproduces the model's scores. The model itself is not changed.

    Raises
    ------
    ValueError
        On a channel index out of range, a layer without a channel axis, a non-finite
        ``value``, and on bad ``x`` or ``layer``.
    TypeError
        If ``channels`` is not an int or a sequence of ints, or ``value`` not a number.

    References
    ----------
    Zhou et al. (2018), "Revisiting the Importance of Individual Units in CNNs via Ablation".
    """
    adapter = get_adapter(model)
    entry = adapter.resolve_layer(layer)
    split = GraphSplit(adapter, entry, adapter.name_of(entry))
    chosen = channel_indices(channels, split.channels, adapter.name_of(entry))
    fill = check_value(value)
    batch = adapter.check_input(x)
    keep = np.ones((len(batch), split.channels), dtype=np.float32)
    keep[:, chosen] = 0.0
    return split.scores(split.boundary(batch), np.arange(len(batch)), keep, fill)


def ablated_grad_cam(
    model: keras.Model,
    x: np.ndarray,
    layer: str | Any,
    channels: int | Sequence[int],
    target: Target = None,
    cam_layer: str | Any | None = None,
    value: float = 0.0,
) -> np.ndarray:
    """Grad-CAM ``(N, h, w)`` float32 of the model with ``channels`` of ``layer`` ablated.

    The same map as :func:`~.cam.grad_cam` at ``cam_layer`` (``None``: the last 4-D layer),
    computed on the model as :func:`ablate` runs it: the channels take ``value`` at every
    position, in the forward and the backward pass. ``target=None`` is each image's top
    class *after* the ablation. The model itself is not changed; a new channel selection
    does not retrace (the mask is a tensor argument of one compiled probe).

    Raises
    ------
    ValueError
        On a channel index out of range, a layer without a channel axis, a ``cam_layer``
        without spatial axes, a non-finite ``value``, bad ``x`` or ``target``.
    TypeError
        If ``channels`` is not an int or a sequence of ints, or ``value`` not a number.

    References
    ----------
    Selvaraju et al. (2017), "Grad-CAM"; Zhou et al. (2018), "Revisiting the Importance
    of Individual Units in CNNs via Ablation".
    """
    adapter = get_adapter(model)
    entry = adapter.resolve_layer(layer)
    split = GraphSplit(adapter, entry, adapter.name_of(entry))
    chosen = channel_indices(channels, split.channels, adapter.name_of(entry))
    fill = check_value(value)
    watched = adapter.cam_layer(cam_layer)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    keep = np.ones((len(batch), split.channels), dtype=np.float32)
    keep[:, chosen] = 0.0
    acts, grads, _ = split.masked_layer_gradients(batch, keep, fill, targets, watched)
    return combine(acts, grads, gradcam_weights)


def channel_importance(
    model: keras.Model,
    x: np.ndarray,
    layer: str | Any,
    target: Target = None,
    method: str = "ablation",
    *,
    value: float = 0.0,
    rule: str = "epsilon_plus",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> np.ndarray:
    """How much each channel of ``layer`` matters for the target score, ``(N, k)`` float32.

    One row per image of the batch, one column per channel (a single image is ``x[None]``
    and gives ``(1, k)``); sort a row, or the mean over rows, to rank channels.

    - ``"ablation"``: score(x) − score(x with the channel set to ``value``), each channel
      ablated alone. All N·k masked copies go through one compiled probe ``batch_size`` at
      a time, reporting to ``progress(done, total)`` (see :mod:`.progress`; returning
      ``False`` raises :class:`~.progress.Stopped`).
    - ``"relevance"``: the LRP relevance (``rule``, ε⁺ by default) of the channel's output,
      summed over positions (:func:`~.lrp.layer_relevance`).
    - ``"gradient"``: Σ over positions of activation × ∂score/∂activation (first-order
      Taylor estimate of the ablation drop for ``value = 0``).

    ``target=None`` is each image's top class in the unchanged model.

    Raises
    ------
    ValueError
        On an unknown ``method``, a layer without a channel axis, and on bad ``x``,
        ``target`` or ``layer``.

    References
    ----------
    Zhou et al. (2018); Yeom et al. (2021), "Pruning by Explaining"; Molchanov et al.
    (2017), "Pruning Convolutional Neural Networks for Resource Efficient Inference".
    """
    if method not in IMPORTANCE_METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, IMPORTANCE_METHODS))}, got {method!r}"
        )
    adapter = get_adapter(model)
    entry = adapter.resolve_layer(layer)
    split = GraphSplit(adapter, entry, adapter.name_of(entry))
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    progress = check_progress(progress)
    if method == "relevance":
        relevance = layer_relevance(
            model, batch, adapter.name_of(entry), _targets_or_none(targets), rule
        )
        return _per_channel(relevance)
    if method == "gradient":
        _, acts, grads, _ = adapter.layer_gradients(batch, targets, entry)
        return _per_channel(acts.astype(np.float64) * grads)
    fill = check_value(value)
    size = positive_int(batch_size, "batch_size")
    return _ablation_drops(split, batch, targets, fill, size, progress)


def _ablation_drops(
    split: GraphSplit,
    batch: np.ndarray,
    targets: np.ndarray,
    value: float,
    batch_size: int,
    progress: Progress | None,
) -> np.ndarray:
    """score − score with channel j ablated, for every image n and channel j."""
    n, k = len(batch), split.channels
    boundary = split.boundary(batch)
    base = split.scores(boundary, np.arange(n), np.ones((n, k), np.float32), value)
    targets = np.where(targets < 0, base.argmax(axis=1), targets)
    total = n * k
    drops = np.empty(total, dtype=np.float32)
    report(progress, 0, total)
    for start in range(0, total, batch_size):
        rows = np.arange(start, min(start + batch_size, total))
        images, channels = rows // k, rows % k
        keep = np.ones((len(rows), k), dtype=np.float32)
        keep[np.arange(len(rows)), channels] = 0.0
        scores = split.scores(boundary, images, keep, value)
        chosen = targets[images]
        drops[rows] = base[images, chosen] - scores[np.arange(len(rows)), chosen]
        report(progress, int(rows[-1]) + 1, total)
    return drops.reshape(n, k)


def _per_channel(values: np.ndarray) -> np.ndarray:
    """Sum over every axis but the batch and the channel axis, float32 ``(N, k)``."""
    axes = tuple(range(1, values.ndim - 1))
    return values.sum(axis=axes, dtype=np.float64).astype(np.float32)


def _targets_or_none(targets: np.ndarray) -> list[int] | None:
    """Checked targets back in the form the methods take (-1 everywhere is ``None``)."""
    if np.all(targets < 0):
        return None
    return [int(t) for t in targets]


def channel_indices(channels: object, count: int, name: str) -> list[int]:
    """``channels`` (an int or a sequence of ints) as a list of indices in ``0 … count−1``.

    Raises
    ------
    TypeError
        If ``channels`` is not an int or a sequence of ints.
    ValueError
        If an index is out of range.
    """
    if isinstance(channels, bool):
        raise TypeError("channels must be an int or a sequence of ints, got a bool")
    if isinstance(channels, Integral):
        channels = [channels]
    if not isinstance(channels, (Sequence, np.ndarray)) or isinstance(channels, str):
        raise TypeError(
            f"channels must be an int or a sequence of ints, got {type(channels).__name__}"
        )
    values = list(channels)
    if any(isinstance(c, bool) or not isinstance(c, Integral) for c in values):
        raise TypeError(f"channels must be ints, got {values!r}")
    bad = [int(c) for c in values if not 0 <= c < count]
    if bad:
        raise ValueError(
            f"channel {bad[0]} is out of range: layer {name!r} has {count} channels "
            f"(0..{count - 1})"
        )
    return [int(c) for c in values]


def check_value(value: object) -> float:
    """``value`` as a finite float.

    Raises
    ------
    TypeError
        If it is not a real number.
    ValueError
        If it is NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"value must be a number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    return float(value)
