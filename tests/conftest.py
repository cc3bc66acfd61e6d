"""Shared fixtures: small real Keras models for every test module, and the model guard."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def small_cnn(softmax: str = "dense", seed: int = 0) -> keras.Model:
    """conv-BN-relu-maxpool-conv-GAP-dense on 16×16×3, ending in a softmax as asked.

    ``softmax``: ``"dense"`` (Dense with softmax activation), ``"layer"`` (a Softmax layer),
    ``"activation"`` (an Activation("softmax") layer) or ``"none"`` (plain logits).
    """
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3), name="image")
    h = keras.layers.Conv2D(8, 3, padding="same", name="conv_a")(inp)
    h = keras.layers.BatchNormalization(name="bn_a")(h)
    h = keras.layers.ReLU(name="relu_a")(h)
    h = keras.layers.MaxPooling2D(name="pool_a")(h)
    h = keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv_b")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    activation = "softmax" if softmax == "dense" else None
    out = keras.layers.Dense(5, activation=activation, name="logits")(h)
    if softmax == "layer":
        out = keras.layers.Softmax(name="softmax")(out)
    elif softmax == "activation":
        out = keras.layers.Activation("softmax", name="softmax")(out)
    model = keras.Model(inp, out, name=f"small_cnn_{softmax}")
    # Give the BN layer non-trivial statistics so that inference mode matters.
    bn = model.get_layer("bn_a")
    rng = np.random.default_rng(seed)
    bn.moving_mean.assign(rng.normal(0, 0.1, 8).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.5, 1.5, 8).astype("float32"))
    return model


def nested_model(seed: int = 0) -> keras.Model:
    """A functional backbone nested inside a Sequential with a new softmax head."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="inner_conv1")(inp)
    skip = h
    h = keras.layers.Conv2D(6, 3, padding="same", name="inner_conv2")(h)
    h = keras.layers.Add(name="inner_add")([h, skip])
    h = keras.layers.ReLU(name="inner_relu")(h)
    backbone = keras.Model(inp, h, name="backbone")
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            backbone,
            keras.layers.GlobalAveragePooling2D(name="head_gap"),
            keras.layers.Dense(4, activation="softmax", name="head_dense"),
        ],
        name="nested",
    )


@pytest.fixture(scope="session")
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def images16() -> np.ndarray:
    return np.random.default_rng(7).uniform(0, 1, (3, 16, 16, 3)).astype("float32")


@pytest.fixture(scope="session", params=["dense", "layer", "activation", "none"])
def cnn(request: pytest.FixtureRequest) -> keras.Model:
    return small_cnn(request.param)


@pytest.fixture(scope="session")
def nested() -> keras.Model:
    return nested_model()


@pytest.fixture(scope="session")
def demo_model() -> keras.Model:
    from interpret_widgets.demo import load_demo_model

    return load_demo_model()


@pytest.fixture(scope="session")
def demo_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from interpret_widgets.demo import demo_images

    return demo_images(200, seed=7)
