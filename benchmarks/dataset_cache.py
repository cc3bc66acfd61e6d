"""The 10,000-image data set of ``bench_dataset_explorer.py``, built once and kept on disk.

``demo_images(n, seed=7)`` and ``explain_dataset(demo model, images, "grad_cam",
labels=labels)`` through the public API, exactly as a user would build a DatasetExplorer's
input; the images go to ``images.npy`` (float32, as generated), the labels to
``labels.npy``, the result's shards to ``result/``. A folder that already holds all three
for the same ``n`` is reused (building 10,000 images and their Grad-CAM maps takes minutes
on two cores).

Run alone to build it: ``python benchmarks/dataset_cache.py [--n 10000] [--folder …]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_FOLDER = REPO / "benchmarks" / "results" / "dataset_explorer"
SEED = 7


def folder_for(n: int, root: Path = DEFAULT_FOLDER) -> Path:
    """Where the data set of ``n`` images lives."""
    return root / f"n{n}"


def build(n: int, root: Path = DEFAULT_FOLDER, log: bool = True) -> Path:
    """Build (or reuse) the data set of ``n`` demo images and their Grad-CAM maps; its folder."""
    import numpy as np

    folder = folder_for(n, root)
    images_path, labels_path = folder / "images.npy", folder / "labels.npy"
    result_path = folder / "result"
    if images_path.exists() and labels_path.exists() and (result_path / "manifest.json").exists():
        from interpret_widgets.dataset import DatasetResult

        try:
            if len(DatasetResult(result_path)) == n:
                return folder
        except ValueError:  # incomplete: explain_dataset below resumes it
            pass
    from interpret_widgets.dataset import explain_dataset
    from interpret_widgets.demo import demo_images, load_demo_model

    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if images_path.exists() and labels_path.exists():
        images, labels = np.load(images_path), np.load(labels_path)
    else:
        images, labels, _ = demo_images(n, seed=SEED)
        np.save(images_path, images)
        np.save(labels_path, labels)
    if log:
        print(f"{n} demo images in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    explain_dataset(load_demo_model(), images, "grad_cam", labels=labels, out=result_path)
    if log:
        print(f"Grad-CAM of {n} images in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    args = parser.parse_args()
    print(build(args.n, args.folder))


if __name__ == "__main__":
    main()
