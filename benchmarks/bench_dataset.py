"""Data-set throughput: images per second of explain_dataset, local engine and Ray.

    python benchmarks/bench_dataset.py [--images 2048] [--quick]

Grad-CAM and LRP (ε-z⁺) on the demo model over demo images, with the local engine and
with Ray at 1 and 2 actors (a local Ray cluster started here; Ray's rate is its steady rate
after the actor pool's start-up, which is reported beside it), each beside the raw compiled
forward+backward pass of the same images (images/s of that pass is the ceiling a method
with one backward pass can reach). Then the per-image cost of ResNet50 at 224×224 (random
weights), the basis of the ImageNet-validation estimate in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import common  # noqa: F401  (sets the TensorFlow log level first)
import keras
import numpy as np
from common import median_time, raw_forward_backward

from interpret_widgets import methods
from interpret_widgets.dataset import explain_dataset
from interpret_widgets.demo import demo_images, load_demo_model

JOBS = {"grad_cam": {}, "lrp": {"rule": "epsilon_plus"}}


def throughput(model, images, method, kwargs, engine, workers=None) -> float:
    start = time.perf_counter()
    explain_dataset(model, images, method, batch_size=64, shard_size=256, engine=engine,
                    workers=workers, out=tempfile.mkdtemp(), **kwargs)
    return len(images) / (time.perf_counter() - start)


def ray_throughput(model, images, name, kwargs, workers: int) -> str:
    """Ray's steady rate (first written shard to last) and the time to its first shard.

    Every ``explain_dataset`` call starts its own actor pool (each actor imports TensorFlow,
    loads the model and traces the method): that start-up is reported apart, the rate is
    read from the progress reports between the first and the last shard.
    """
    import ray

    ray.shutdown()
    ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    explain_dataset(model, images, name, batch_size=64, shard_size=256, engine="ray",
                    workers=workers, out=tempfile.mkdtemp(),
                    progress=lambda done, total: marks.append((time.perf_counter(), done)),
                    **kwargs)  # fmt: skip
    shards = [(t, done) for t, done in marks if done > 0]
    (t0, d0), (t1, d1) = shards[0], shards[-1]
    return f"{(d1 - d0) / (t1 - t0):.0f} (first shard after {t0 - start:.0f} s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--quick", action="store_true", help="no Ray, no ResNet50")
    args = parser.parse_args()
    model = load_demo_model()
    images = demo_images(args.images, seed=21)[0]
    raw = raw_forward_backward(model)
    raw_rate = 64 / median_time(lambda: raw(images[:64]), repeats=5)
    print(f"raw forward+backward, batch 64: {raw_rate:.0f} images/s")
    print("| method | local | Ray, 1 actor | Ray, 2 actors |")
    print("| --- | --- | --- | --- |")
    for name, kwargs in JOBS.items():
        explain_dataset(model, images[:64], name, out=tempfile.mkdtemp(), **kwargs)  # trace
        local = throughput(model, images, name, kwargs, "local")
        row = [f"{local:.0f}"]
        if not args.quick:
            for workers in (1, 2):
                row.append(ray_throughput(model, images, name, kwargs, workers))
        print(f"| {name} | " + " | ".join(row + ["–"] * (3 - len(row))) + " |", flush=True)
    if args.quick:
        return
    keras.utils.set_random_seed(0)
    resnet = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))
    x = np.random.default_rng(0).random((8, 224, 224, 3), dtype=np.float32)
    for name, kwargs in JOBS.items():
        function = getattr(methods, name)
        per_image = median_time(lambda f=function, k=kwargs: f(resnet, x, **k), repeats=3) / 8
        print(f"ResNet50 224×224, {name}: {per_image * 1000:.0f} ms per image on this machine")


if __name__ == "__main__":
    main()
