"""Copies of a user's model whose weights may change, and re-initialization of their layers.

Checks such as the model-parameter randomization test need the same network with other
weights. The user's model is never touched: :func:`copy_model` builds a new model of the
same architecture (``keras.models.clone_model``) and gives it a copy of every weight;
:func:`reinitialize` then draws a layer's weights of the copy afresh from the layer's own
initializers.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

#: Variable names whose initializer attribute is not ``<name>_initializer``.
_INITIALIZER_ATTRIBUTES = {
    "kernel": ("kernel_initializer", "depthwise_initializer"),
    "depthwise_kernel": ("depthwise_initializer",),
    "pointwise_kernel": ("pointwise_initializer",),
    "recurrent_kernel": ("recurrent_initializer",),
}


def copy_model(model: keras.Model) -> keras.Model:
    """A new model with the same architecture and a copy of ``model``'s weights.

    Nested models are copied too; layer names are kept, so names that address layers of
    ``model`` address the same layers of the copy.

    Raises
    ------
    ValueError
        If Keras cannot clone the model (e.g. a custom layer without ``get_config``).
    """
    try:
        clone = keras.models.clone_model(model)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds here
        raise ValueError(
            f"model {model.name!r} cannot be copied with keras.models.clone_model "
            f"({type(error).__name__}: {error}); custom layers need get_config/from_config"
        ) from error
    clone.set_weights(model.get_weights())
    return clone


def initializer_of(layer: Any, variable: Any) -> Any:
    """The initializer ``layer`` declares for its weight ``variable``.

    Raises
    ------
    ValueError
        If the layer has no initializer attribute for that weight.
    """
    name = variable.name.split("/")[-1].split(":")[0]
    for attribute in _INITIALIZER_ATTRIBUTES.get(name, (f"{name}_initializer",)):
        initializer = getattr(layer, attribute, None)
        if initializer is not None:
            return keras.initializers.get(initializer)
    raise ValueError(
        f"layer {layer.name!r} ({type(layer).__name__}) has a weight {name!r} without a "
        f"known initializer (looked for {name}_initializer); it cannot be re-initialized"
    )


def reinitialize(layer: Any, seed: int | tuple[int, ...]) -> None:
    """Draw every weight of ``layer`` afresh from its own initializer, seeded.

    Weight j gets a seed derived from ``(*seed, j)`` (``seed``: an int or a tuple of
    ints); initializers without randomness (zeros, ones, constants) give their constant.
    Meant for layers of a copy from :func:`copy_model`, never for a user's model.

    Raises
    ------
    ValueError
        If a weight has no known initializer.
    """
    for j, variable in enumerate(layer.weights):
        initializer = initializer_of(layer, variable)
        config = initializer.get_config()
        if "seed" in config:
            entropy = [*np.atleast_1d(seed).tolist(), j]
            derived = int(np.random.SeedSequence(entropy).generate_state(1)[0] % 2**31)
            initializer = type(initializer).from_config({**config, "seed": derived})
        values = initializer(tuple(variable.shape), dtype=variable.dtype)
        variable.assign(keras.ops.convert_to_numpy(values))
