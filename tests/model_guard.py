"""Checks that a method left the user's model exactly as it was.

A snapshot records every weight's bytes, every layer's config, trainable flag and
activation, and the layer list (nested models included); ``untouched(model)`` compares a
snapshot before and after the block it wraps.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import keras


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, keras.Model):
            layers.extend(_all_layers(layer))
    return layers


def snapshot(model: keras.Model) -> dict:
    """Everything a method must not change, in comparable form."""
    layers = _all_layers(model)
    return {
        "weights": [(v.path, v.numpy().tobytes()) for v in model.weights],
        "trainable": [(layer.name, layer.trainable) for layer in layers],
        "configs": [
            (layer.name, json.dumps(layer.get_config(), sort_keys=True, default=repr))
            for layer in layers
        ],
        "activations": [(layer.name, repr(getattr(layer, "activation", None))) for layer in layers],
        "layers": [(layer.name, type(layer).__name__, id(layer)) for layer in layers],
        "nodes": [(layer.name, len(layer._inbound_nodes)) for layer in layers],
    }


@contextlib.contextmanager
def untouched(model: keras.Model) -> Iterator[None]:
    """Assert that ``model`` is byte-for-byte the same after the block."""
    before = snapshot(model)
    yield
    after = snapshot(model)
    for key in before:
        assert before[key] == after[key], f"the model's {key} changed"
