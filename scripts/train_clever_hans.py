"""Train the Clever Hans demo CNN on :func:`clever_hans_images` and write its .keras file.

Usage: ``python scripts/train_clever_hans.py [--out PATH] [--epochs N] [--train-size N]``
(about 5 minutes on 2 cores). Training images use seeds ``3000 + i`` so that the small seeds
of tests and notebooks are held out. Prints the held-out accuracy of the Clever Hans class
with and without the tag, which the README reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np

from interpret_widgets.demo.clever_hans import CLEVER_HANS_CLASS, clever_hans_images
from interpret_widgets.demo.model import CLEVER_HANS_MODEL_PATH, build_clever_hans_model

TRAIN_SEED = 3000


def evaluate(model: keras.Model, seed: int = 7, n: int = 2000) -> dict[str, float]:
    """Held-out accuracies: overall as trained, and of the Clever Hans class tagged / clean."""
    images, labels, _, tagged = clever_hans_images(n, seed)
    clean, _, _, _ = clever_hans_images(n, seed, tag_rate=0.0, other_rate=0.0)
    hans = labels == CLEVER_HANS_CLASS
    as_trained = np.argmax(model.predict(images, verbose=0), axis=-1) == labels
    on_clean = np.argmax(model.predict(clean, verbose=0), axis=-1) == labels
    return {
        "accuracy": float(as_trained.mean()),
        "hans_tagged": float(as_trained[hans & tagged].mean()),
        "hans_clean": float(on_clean[hans].mean()),
        "others_clean": float(on_clean[~hans].mean()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=CLEVER_HANS_MODEL_PATH)
    parser.add_argument("--epochs", type=int, default=18)
    parser.add_argument("--train-size", type=int, default=8000)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    images, labels, _, _ = clever_hans_images(args.train_size, TRAIN_SEED)
    model = build_clever_hans_model()
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(images, labels, batch_size=32, epochs=args.epochs, validation_split=0.1, verbose=2)
    print(evaluate(model))
    model.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
