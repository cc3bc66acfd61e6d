"""Score-CAM: channel weights from the score of the image masked by each channel.

A CAM method without gradients: each channel of the layer, upsampled to the input and
scaled to [0, 1], masks the image, and the softmax probability of the target on that masked
image is the channel's weight. The K masked copies per image go through the model in
batches (the perturbation evaluator); the masks are made batch by batch.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from ..model import get_adapter
from .gradients import Target, _prepare
from .perturbation.evaluate import (
    DEFAULT_BATCH_SIZE,
    Progress,
    check_progress,
    score_perturbations,
)


def score_cam(
    model: keras.Model,
    x: np.ndarray,
    target: Target = None,
    layer: str | Any | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    *,
    progress: Progress | None = None,
) -> np.ndarray:
    """Score-CAM: ReLU(Σ_k α_k A^k), α_k = softmax(logits(x · H_k))[target].

    H_k is channel k of the layer's output A resized bilinearly to the input size (half-pixel
    centres, as ``tf.image.resize``) and min-max normalized to [0, 1] per image and channel
    (a constant channel gives 0). ``target=None`` is the top class of x itself;
    ``layer=None`` the last layer with a 4-D output. Not normalized, not resized:
    ``(N, h, w)`` float32.

    Raises
    ------
    ValueError
        If the layer has no spatial axes, or on bad ``x`` / ``target`` / ``layer`` /
        ``batch_size``.
    Stopped
        When ``progress`` returns ``False`` (see
        :mod:`~interpret_widgets.methods.perturbation.evaluate`).

    References
    ----------
    Wang et al. (2020), "Score-CAM: Score-Weighted Visual Explanations for Convolutional
    Neural Networks".
    """
    check_progress(progress)
    entry = get_adapter(model).cam_layer(layer)
    adapter, batch, targets = _prepare(model, x, target)
    acts = adapter.activations(batch, [entry])[adapter.name_of(entry)]
    k = acts.shape[-1]
    size = batch.shape[1:3]

    def build(start: int, stop: int) -> np.ndarray:
        rows = np.arange(start, stop)
        images, channels = np.divmod(rows, k)
        out = np.empty((stop - start, *batch.shape[1:]), dtype=np.float32)
        for n in np.unique(images):
            here = images == n
            masks = upsampled_masks(acts[n][..., channels[here]], size)
            out[here] = batch[n][None] * np.moveaxis(masks, -1, 0)[..., None]
        return out

    weights = score_perturbations(
        adapter,
        build,
        len(batch) * k,
        np.repeat(targets, k),
        batch_size=batch_size,
        progress=progress,
        probabilities=True,
    ).reshape(len(batch), k)
    cam = np.einsum("nhwk,nk->nhw", acts.astype(np.float64), weights)
    return np.maximum(cam, 0.0).astype(np.float32)


def upsampled_masks(channels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Channels ``(h, w, K)`` resized bilinearly to ``size``, each scaled to [0, 1].

    A constant channel becomes all zeros.
    """
    resized = keras.ops.convert_to_numpy(
        keras.ops.image.resize(
            channels.astype(np.float32), size, interpolation="bilinear", antialias=False
        )
    ).astype(np.float32)
    low = resized.min(axis=(0, 1), keepdims=True)
    span = resized.max(axis=(0, 1), keepdims=True) - low
    return np.where(span > 0, (resized - low) / np.where(span > 0, span, 1.0), 0.0).astype(
        np.float32
    )
