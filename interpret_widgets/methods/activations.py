"""Intermediate activations of any layers, nested models included, in one forward pass."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from ..model import get_adapter


def activations(
    model: keras.Model, x: np.ndarray, layers: Iterable[str | Any] | str | None = None
) -> dict[str, np.ndarray]:
    """Outputs of the named layers (every layer when ``None``) for the batch ``x``.

    Keys are layer names (qualified as ``outer/inner`` only where two layers share a name),
    values float32 arrays with the batch axis first. One compiled forward pass serves all
    the layers asked for together.

    Raises
    ------
    ValueError
        On an unknown layer name (the message lists close matches) or a badly shaped ``x``.
    """
    adapter = get_adapter(model)
    batch = adapter.check_input(x)
    if layers is None:
        entries = adapter.layers
    else:
        if isinstance(layers, (str, keras.layers.Layer)):
            layers = [layers]
        entries = [adapter.resolve_layer(layer) for layer in layers]
    return adapter.activations(batch, entries)
