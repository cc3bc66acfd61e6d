"""A copy of a random-weight model with batch-norm statistics taken from real inputs.

``keras.applications`` models built with ``weights=None`` keep every BatchNormalization at
its initial statistics (mean 0, variance 1). Each block then shrinks or grows the signal by
a constant factor, and after fifty blocks a class score can be ~1e-10 (MobileNetV2 at 96×96
is), too small for a meaningful test of LRP conservation or of a heatmap. ``calibrated``
returns a **copy** (``keras.models.clone_model`` + ``set_weights``; the user's model is never
touched) whose BN layers see statistics measured on a batch of images, layer by layer: each
BN's input is measured in one eager forward pass through the copy in which every earlier BN
already carries its new statistics, so the scale stays O(1) all the way to the scores.

By default the statistics are *uncentered* (moving mean 0, moving variance E[x²]): the
network then stays free of biases wherever ``weights=None`` left them at zero (every conv
and dense bias, every BN β), so LRP-ε must conserve relevance exactly up to ε and the
conservation law can be tested on real architectures. ``center=True`` sets the usual mean
and variance instead (what training would have left), which adds folded biases that absorb
relevance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from interpret_widgets.model import get_adapter


def calibrated(model: keras.Model, images: np.ndarray, center: bool = False) -> keras.Model:
    """A copy of ``model`` with its BN statistics measured on ``images``, layer by layer.

    Parameters
    ----------
    model : keras.Model
        Any functional or Sequential model, nested models included; it is not modified.
    images : ndarray (N, H, W, C)
        The batch whose statistics every BN of the copy takes.
    center : bool
        ``False``: moving mean 0 and moving variance E[x²] (bias-free, see the module).
        ``True``: the batch mean and variance of each BN's input.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    adapter = get_adapter(copy)
    replace = {
        e.output_key: _measuring(e.layer, center)
        for e in adapter.layers
        if isinstance(e.layer, keras.layers.BatchNormalization)
    }
    if replace:  # one eager pass: each BN measures its input, then normalizes with it
        adapter.run(keras.ops.convert_to_tensor(np.asarray(images, "float32")), replace=replace)
    return copy


def _measuring(bn: keras.layers.BatchNormalization, center: bool) -> Callable[..., Any]:
    """The BN step of the walk: set the layer's statistics from its input, then apply it."""

    def step(inputs: Any, *args: Any, **kwargs: Any) -> Any:
        x = keras.ops.convert_to_numpy(inputs).astype(np.float64)
        axis = bn.axis % x.ndim
        axes = tuple(a for a in range(x.ndim) if a != axis)
        if center:
            mean, variance = x.mean(axis=axes), x.var(axis=axes)
        else:
            mean, variance = np.zeros(x.shape[axis]), np.mean(x * x, axis=axes)
        bn.moving_mean.assign(mean.astype("float32"))
        bn.moving_variance.assign(variance.astype("float32"))
        return bn(inputs, *args, **kwargs)

    return step
