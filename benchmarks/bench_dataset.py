"""Data-set throughput: images per second of explain_dataset, local engine and Ray.

    python benchmarks/bench_dataset.py [--images 1024] [--quick]

Grad-CAM and LRP (ε-z⁺) on the demo model over demo images, with the local engine and
with Ray at 1 and 2 actors (a local Ray cluster started here), each beside the raw compiled
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--quick", action="store_true", help="no Ray, no ResNet50")
    args = parser.parse_args()
    model = load_demo_model()
    images = demo_images(args.images, seed=21)[0]
    raw = raw_forward_backward(model)
    raw_rate = 64 / median_time(lambda: raw(images[:64]), repeats=5)
    print(f"raw forward+backward, batch 64: {raw_rate:.0f} images/s")
    print("| method | local | Ray, 1 actor | Ray, 2 actors |")
    print("| --- | --- | --- | --- |")
    ray_rates = {}
    for name, kwargs in JOBS.items():
        explain_dataset(model, images[:64], name, out=tempfile.mkdtemp(), **kwargs)  # trace
        local = throughput(model, images, name, kwargs, "local")
        row = [f"{local:.0f}"]
        if not args.quick:
            for workers in (1, 2):
                import ray

                ray.shutdown()
                ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
                rate = throughput(model, images, name, kwargs, "ray", workers)
                ray_rates[(name, workers)] = rate
                row.append(f"{rate:.0f}")
        print(f"| {name} | " + " | ".join(row + ["–"] * (3 - len(row))) + " |")
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
