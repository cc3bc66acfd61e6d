"""The small CNN used by the demo, and loading of its shipped weights.

The architecture is deliberately simple and explicitly named so that the
interpretability tools can address its layers:

``input`` -> ``conv1/bn1/relu1/pool1`` (32x32)
-> ``conv2a/bn2a/relu2a/conv2/bn2/relu2/pool2`` (16x16)
-> ``conv3a/bn3a/relu3a/conv3/bn3/relu3`` (16x16, the last convolutional map)
-> ``gap`` -> ``predictions`` (``Dense`` with the softmax inside it).

Blocks 2 and 3 have a second convolution (suffix ``a``) in front of the one
that carries the block's plain name, so ``relu{i}`` is always a block's output.
"""

from __future__ import annotations

from pathlib import Path

import keras

from interpret_widgets.demo.shapes import CLASS_NAMES, IMAGE_SIZE

__all__ = ["DEMO_MODEL_PATH", "build_demo_model", "load_demo_model"]

DEMO_MODEL_PATH: Path = Path(__file__).resolve().parent / "demo_model.keras"
"""Location of the trained demo model shipped as package data."""


def _conv_block(x: keras.KerasTensor, filters: int, index: int, pool: bool,
                double: bool) -> keras.KerasTensor:
    if double:
        x = keras.layers.Conv2D(filters, 3, padding="same", name=f"conv{index}a")(x)
        x = keras.layers.BatchNormalization(name=f"bn{index}a")(x)
        x = keras.layers.ReLU(name=f"relu{index}a")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", name=f"conv{index}")(x)
    x = keras.layers.BatchNormalization(name=f"bn{index}")(x)
    x = keras.layers.ReLU(name=f"relu{index}")(x)
    if pool:
        x = keras.layers.MaxPooling2D(name=f"pool{index}")(x)
    return x


def build_demo_model() -> keras.Model:
    """Build the untrained demo CNN.

    Returns
    -------
    keras.Model
        Functional model ``"demo_cnn"`` mapping ``(batch, 64, 64, 3)`` images
        with values in ``[0, 1]`` to class probabilities of shape
        ``(batch, len(CLASS_NAMES))``.  The last 4-D activation is ``relu3``
        (16x16x128) and the softmax is the activation of the final ``Dense``
        layer ``predictions``, so pre-softmax scores are
        ``gap_output @ kernel + bias``.
    """
    inputs = keras.Input(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), name="input")
    x = _conv_block(inputs, 32, 1, pool=True, double=False)
    x = _conv_block(x, 64, 2, pool=True, double=True)
    x = _conv_block(x, 128, 3, pool=False, double=True)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="demo_cnn")


def load_demo_model() -> keras.Model:
    """Load the trained demo model shipped with the package.

    Returns
    -------
    keras.Model
        A new, uncompiled model object on every call (its weights are
        independent of any previously loaded copy).

    Raises
    ------
    FileNotFoundError
        If the weights file is missing; regenerate it with
        ``python scripts/train_demo.py`` (in the repository).
    """
    if not DEMO_MODEL_PATH.is_file():
        raise FileNotFoundError(
            f"demo model not found at {DEMO_MODEL_PATH}; "
            "run `python scripts/train_demo.py` from the repository to create it"
        )
    return keras.models.load_model(DEMO_MODEL_PATH, compile=False)
