"""Class activation maps: one routine, variants differ only in the weights.

Grad-CAM, Grad-CAM++ and LayerCAM all form ReLU(Σ_k w_k A^k) from a convolutional layer's
activations A and the gradients of the target score with respect to them; only the weight
function w(A, ∂score/∂A) differs: one weight per channel (Grad-CAM, Grad-CAM++) or one per
position and channel (LayerCAM). The backward pass stops at the layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from ..model import get_adapter
from .gradients import Target

#: (activations, gradients), both ``(N, h, w, k)`` → weights ``(N, k)`` per channel or
#: ``(N, h, w, k)`` per position.
ChannelWeights = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gradcam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """α_k: the spatial mean of ∂score/∂A^k, shape ``(N, k)``."""
    return gradients.mean(axis=(1, 2))


def gradcam_plus_plus_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ weights w_k = Σ_ij α_ij^k ReLU(∂score/∂A_ij^k).

    With the exponential-score form of the paper, the higher derivatives are powers of the
    first, so α_ij^k = g² / (2 g² + Σ_ab A_ab^k g³), with α = 0 where the denominator is 0.
    """
    g = gradients.astype(np.float64)
    a = activations.astype(np.float64)
    g2 = g * g
    denominator = 2.0 * g2 + a.sum(axis=(1, 2), keepdims=True) * g2 * g
    safe = np.where(denominator != 0.0, denominator, 1.0)
    alpha = np.where(denominator != 0.0, g2 / safe, 0.0)
    return (alpha * np.maximum(g, 0.0)).sum(axis=(1, 2))


def layercam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """LayerCAM's pixel-wise weights ReLU(∂score/∂A_ij^k), shape ``(N, h, w, k)``."""
    return np.maximum(gradients, 0.0)


def class_activation_map(
    model: keras.Model,
    x: np.ndarray,
    target: Target,
    layer: str | Any | None,
    weights: ChannelWeights,
) -> np.ndarray:
    """ReLU(Σ_k w_k A^k) at the layer's own resolution, shape ``(N, h, w)``, float32.

    ``weights`` gives one weight per channel ``(N, k)`` or per position ``(N, h, w, k)``.

    Raises
    ------
    ValueError
        If the layer has no spatial axes, or on bad ``x`` / ``target`` / ``layer``.
    """
    adapter = get_adapter(model)
    entry = adapter.cam_layer(layer)
    batch = adapter.check_input(x)
    targets = adapter.check_targets(target, len(batch))
    _, acts, grads, _ = adapter.layer_gradients(batch, targets, entry)
    w = weights(acts, grads)
    pattern = "nhwk,nk->nhw" if w.ndim == 2 else "nhwk,nhwk->nhw"
    cam = np.einsum(pattern, acts.astype(np.float64), w.astype(np.float64))
    return np.maximum(cam, 0.0).astype(np.float32)


def grad_cam(
    model: keras.Model, x: np.ndarray, target: Target = None, layer: str | Any | None = None
) -> np.ndarray:
    """Grad-CAM: ReLU(Σ_k α_k A^k), α_k the spatial mean of ∂score/∂A^k.

    ``layer=None`` picks the last layer with a 4-D output. Not normalized, not resized.

    References
    ----------
    Selvaraju et al. (2017), "Grad-CAM: Visual Explanations from Deep Networks".
    """
    return class_activation_map(model, x, target, layer, gradcam_weights)


def grad_cam_plus_plus(
    model: keras.Model, x: np.ndarray, target: Target = None, layer: str | Any | None = None
) -> np.ndarray:
    """Grad-CAM++: CAM with pixel-wise weighted positive gradients as channel weights.

    References
    ----------
    Chattopadhyay et al. (2018), "Grad-CAM++: Improved Visual Explanations for Deep
    Convolutional Networks".
    """
    return class_activation_map(model, x, target, layer, gradcam_plus_plus_weights)


def layer_cam(
    model: keras.Model, x: np.ndarray, target: Target = None, layer: str | Any | None = None
) -> np.ndarray:
    """LayerCAM: ReLU(Σ_k ReLU(∂score/∂A_ij^k) · A_ij^k), each position weighted by its own
    positive gradient.

    Finer than Grad-CAM's one weight per channel, so it also works on shallow layers.
    ``layer=None`` picks the last layer with a 4-D output. Not normalized, not resized.

    Raises
    ------
    ValueError
        If the layer has no spatial axes, or on bad ``x`` / ``target`` / ``layer``.

    References
    ----------
    Jiang et al. (2021), "LayerCAM: Exploring Hierarchical Class Activation Maps for
    Localization".
    """
    return class_activation_map(model, x, target, layer, layercam_weights)
