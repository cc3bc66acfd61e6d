"""Train the demo CNN and write ``demo_model.keras``.

Usage (from the repository root; TensorFlow training is a development tool, so it lives
in ``scripts/`` and not in the installed package)::

    python scripts/train_demo.py [--out PATH] [--epochs N] [--train-size N] [--seed S]
                                 [--cam-weight W]

Training images come from :func:`~interpret_widgets.demo.shapes.demo_images`
with seed ``1000 + seed`` (validation: ``2000 + seed``); tests and examples use
small seeds (e.g. 7), so their images are held out.  Seeds are fixed with
:func:`keras.utils.set_random_seed` and TensorFlow op determinism is enabled,
so reruns on the same machine and library versions reproduce the file as far
as TensorFlow allows.

The shipped ``demo_model.keras`` was made in two stages (about 20 minutes on 2 cores);
``bash scripts/train_demo.sh`` runs both::

    python scripts/train_demo.py --cam-weight 0 --epochs 8 --out /tmp/stage1.keras
    python scripts/train_demo.py --init /tmp/stage1.keras --epochs 3 \
        --learning-rate 5e-4 --cam-weight 1.0

(held-out accuracy 100 % on ``demo_images(1000, seed=7)``, Grad-CAM pointing game 99.5 %
on ``demo_images(200, seed=7)``).

The loss is sparse categorical cross-entropy plus ``cam_weight`` times a
localisation term: the fraction of the true class's positive class-activation
map (``relu(relu3 @ W[:, y])``, which is Grad-CAM for this GAP architecture)
that lies outside the object's ground-truth mask (phased in over the first
two epochs).  Without it the network
puts most of its evidence on a halo just *outside* object boundaries, which
makes Grad-CAM demos misleading; ``--cam-weight 0`` gives plain training.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's package

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from interpret_widgets.demo.model import DEMO_MODEL_PATH, build_demo_model  # noqa: E402
from interpret_widgets.demo.shapes import IMAGE_SIZE, demo_images  # noqa: E402

TRAIN_SEED_OFFSET = 1000
VAL_SEED_OFFSET = 2000
EVAL_SEED = 7
_CAM_SIZE = 16  # spatial size of relu3
_CELL = IMAGE_SIZE // _CAM_SIZE
_CAM_WARMUP_EPOCHS = 2


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_MODEL_PATH,
                        help="where to write the .keras file (default: the packaged model)")
    parser.add_argument("--epochs", type=_positive_int, default=6)
    parser.add_argument("--train-size", type=_positive_int, default=16000)
    parser.add_argument("--seed", type=int, default=0,
                        help="training data uses seed 1000+SEED, validation 2000+SEED")
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--cam-weight", type=float, default=0.5,
                        help="weight of the CAM-outside-the-mask loss term (0 disables)")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from the weights of this .keras file (fine-tuning)")
    return parser.parse_args(argv)


def cell_masks(masks: np.ndarray) -> np.ndarray:
    """Downsample pixel masks to the 16x16 CAM grid.

    Each cell gets the fraction of its 2x2 central pixels inside the mask:
    bilinearly upsampled CAM maxima land on those pixels.

    Parameters
    ----------
    masks : np.ndarray
        ``bool`` array ``(n, 64, 64)``.

    Returns
    -------
    np.ndarray
        ``float32`` array ``(n, 16, 16)`` with values in ``[0, 1]``.
    """
    lo, hi = _CELL // 2 - 1, _CELL // 2
    parts = [masks[:, a::_CELL, b::_CELL] for a in (lo, hi) for b in (lo, hi)]
    return np.mean(parts, axis=0, dtype=np.float32)


def _accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    probs = model.predict(images, batch_size=250, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def train(out: Path, epochs: int = 6, train_size: int = 16000, seed: int = 0,
          batch_size: int = 32, learning_rate: float = 2e-3,
          cam_weight: float = 0.5, init: Path | None = None) -> float:
    """Train the demo model, save it to ``out`` and return held-out accuracy.

    Parameters
    ----------
    out : Path
        Destination ``.keras`` file.
    epochs : int, default 6
        Number of training epochs.
    train_size : int, default 16000
        Number of training images (seed ``1000 + seed``).
    seed : int, default 0
        Seed for data, shuffling and weight initialisation.
    batch_size : int, default 32
        Mini-batch size.
    learning_rate : float, default 2e-3
        Peak Adam learning rate (cosine decay to 2 % of it).
    cam_weight : float, default 0.5
        Weight of the localisation loss term (see module docstring).
    init : Path, optional
        A ``.keras`` file of the same architecture whose weights training starts from.

    Returns
    -------
    float
        Accuracy on 1000 fresh images from ``demo_images(1000, seed=7)``.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    t0 = time.perf_counter()
    x_train, y_train, m_train = demo_images(train_size, seed=TRAIN_SEED_OFFSET + seed)
    c_train = cell_masks(m_train)
    del m_train
    x_val, y_val, _ = demo_images(1000, seed=VAL_SEED_OFFSET + seed)
    print(f"generated data in {time.perf_counter() - t0:.1f}s", flush=True)

    model = build_demo_model()
    if init is not None:
        model.set_weights(keras.models.load_model(init, compile=False).get_weights())
    features = keras.Model(model.inputs, [model.get_layer("relu3").output, model.output])
    dense = model.get_layer("predictions")
    steps_per_epoch = int(np.ceil(train_size / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.02)
    optimizer = keras.optimizers.Adam(schedule)
    optimizer.build(model.trainable_variables)
    cce = keras.losses.SparseCategoricalCrossentropy()

    cam_scale = tf.Variable(0.0, trainable=False, dtype="float32")

    @tf.function
    def step(x: tf.Tensor, y: tf.Tensor, cells: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            acts, probs = features(x, training=True)
            ce = cce(y, probs)
            weights = tf.transpose(tf.gather(dense.kernel, y, axis=1))  # (batch, channels)
            cam = tf.nn.relu(tf.einsum("bhwk,bk->bhw", acts, weights))
            total = tf.reduce_sum(cam, axis=(1, 2)) + 1e-6
            outside = tf.reduce_sum(cam * (1.0 - cells), axis=(1, 2)) / total
            loss = ce + cam_scale * tf.reduce_mean(outside)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return ce, tf.reduce_mean(outside)

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(train_size)
        # the localisation term is phased in over the first epochs: learn classes first
        cam_scale.assign(cam_weight * min(1.0, epoch / _CAM_WARMUP_EPOCHS))
        ce_sum = out_sum = 0.0
        for b in range(steps_per_epoch):
            idx = np.sort(order[b * batch_size:(b + 1) * batch_size])
            ce, outside = step(tf.constant(x_train[idx]), tf.constant(y_train[idx]),
                               tf.constant(c_train[idx]))
            ce_sum += float(ce)
            out_sum += float(outside)
        val_acc = _accuracy(model, x_val, y_val)
        print(f"epoch {epoch + 1}/{epochs}: ce={ce_sum / steps_per_epoch:.4f} "
              f"cam_outside={out_sum / steps_per_epoch:.3f} val_acc={val_acc:.4f} "
              f"({time.perf_counter() - t0:.0f}s)", flush=True)
    print(f"trained in {time.perf_counter() - t0:.1f}s", flush=True)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)  # never compiled, so no optimizer state is stored
    print(f"saved {out} ({out.stat().st_size / 1e6:.2f} MB)")

    reloaded = keras.models.load_model(out, compile=False)
    x_test, y_test, _ = demo_images(1000, seed=EVAL_SEED)
    accuracy = _accuracy(reloaded, x_test, y_test)
    print(f"held-out accuracy (demo_images(1000, seed={EVAL_SEED})): {accuracy:.4f}")
    return accuracy


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = _parse_args(argv)
    train(args.out, args.epochs, args.train_size, args.seed, args.batch_size,
          args.learning_rate, args.cam_weight, args.init)


if __name__ == "__main__":
    main()
