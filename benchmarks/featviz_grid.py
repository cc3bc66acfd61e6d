"""Write ``docs/featviz_demo.png``: feature visualizations of the demo model's layers.

Run ``python benchmarks/featviz_grid.py``. One row per layer: the first ten channels of
``relu1``, ``relu2`` and ``relu3`` (each channel's spatial mean maximized), then the ten
classes' pre-softmax scores. All channels of a row are optimized together as one batch
(Fourier parametrization, standard transforms, 256 steps, seed 0).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from interpret_widgets.demo import CLASS_NAMES, load_demo_model  # noqa: E402
from interpret_widgets.methods.featviz import visualize_filters  # noqa: E402
from interpret_widgets.render.figures import feature_grid_figure  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "featviz_demo.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--channels", type=int, default=10)
    args = parser.parse_args()

    model = load_demo_model()
    rows = []
    for layer in ("relu1", "relu2", "relu3"):
        start = time.perf_counter()
        result = visualize_filters(model, layer, range(args.channels), steps=args.steps)
        captions = [
            f"{c}: {a:.2f}" for c, a in zip(result.channels, result.activations, strict=True)
        ]
        rows.append((layer, result.unit_images, captions))
        print(f"{layer}: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    classes = visualize_filters(model, "predictions", range(len(CLASS_NAMES)), steps=args.steps)
    rows.append(("class logit", classes.unit_images, list(CLASS_NAMES)))
    print(f"classes: {time.perf_counter() - start:.1f} s")

    figure = feature_grid_figure(
        rows,
        title=f"Demo CNN feature visualization ({args.steps} steps; captions: channel: "
        "spatial-mean activation)",
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
