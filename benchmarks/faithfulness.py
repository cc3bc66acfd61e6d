"""Can I trust this map? Faithfulness and sanity checks of every method on the demo set.

Run: ``python benchmarks/faithfulness.py [--n 32] [--n-random 8] [--steps 32]`` from the
repository root. For every method that ``interpret_widgets.methods`` offers (methods built
on other branches are picked up when present) and a seeded random map as the floor:

- deletion and insertion AUC (``steps`` points, the explained class is the model's top
  class) on the first ``--n`` held-out demo images, with the contract's default baseline 0
  (black) and with a blurred copy of each image (Gaussian, σ = 5 px) as the baseline, as
  RISE's insertion metric does;
- pointing game and relevance mass on the demo masks, same images;
- the cascading randomization test (mean Spearman similarity per step) on ``--n-random``
  images;
- the cost of one curve point as a ratio to one raw compiled forward pass of the same
  images, in wall time (alternated, ``common.paired_times``) and in CPU time
  (``--no-timing`` skips it, ``--timing-only`` runs only it).

Prints markdown tables (README.md and benchmarks/README.md quote them) and writes
``docs/faithfulness.png``. CI does not run this script (several minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from common import paired_times, raw_forward  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from interpret_widgets import methods  # noqa: E402
from interpret_widgets.demo import demo_images, load_demo_model  # noqa: E402
from interpret_widgets.model import get_adapter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: (label, function name in interpret_widgets.methods, keyword arguments); rows whose
#: function is missing on this branch are skipped.
CANDIDATES = [
    ("saliency", "saliency", {}),
    ("SmoothGrad", "smoothgrad", {"samples": 16}),
    ("integrated gradients", "integrated_gradients", {"steps": 32}),
    ("Grad-CAM", "grad_cam", {}),
    ("Grad-CAM++", "grad_cam_plus_plus", {}),
    ("Score-CAM", "score_cam", {}),
    ("LayerCAM", "layer_cam", {}),
    ("LRP ε", "lrp", {"rule": "epsilon"}),
    ("LRP z⁺", "lrp", {"rule": "zplus"}),
    ("LRP ε-z⁺", "lrp", {"rule": "epsilon_plus"}),
    ("LRP ε-z⁺-flat", "lrp", {"rule": "epsilon_plus_flat"}),
    ("guided backprop", "guided_backprop", {}),
    ("DeepLIFT", "deep_lift", {}),
    ("occlusion", "occlusion", {"window": 8, "stride": 4}),
    ("KernelSHAP", "kernel_shap", {"samples": 256}),
    ("LIME", "lime", {"samples": 256}),
]


def random_map(model, x, target=None, seed=0):
    """The floor: a seeded uniform map that knows nothing of the model."""
    return np.random.default_rng(seed).uniform(size=x.shape[:3]).astype("float32")


def available() -> list[tuple[str, object, dict]]:
    rows = []
    for label, name, kwargs in CANDIDATES:
        if hasattr(methods, name):
            rows.append((label, getattr(methods, name), kwargs))
        else:
            print(f"(skipped {label}: interpret_widgets.methods has no {name})", flush=True)
    rows.append(("random map", random_map, {}))
    return rows


def evaluate(model, x, masks, x_random, rows, steps: int) -> list[dict]:
    results = []
    targets = get_adapter(model).logits(x).argmax(axis=1)
    blurred = gaussian_filter(x, sigma=(0, 5, 5, 0)).astype("float32")
    for label, fn, kwargs in rows:
        start = time.perf_counter()
        maps = fn(model, x, target=targets, **kwargs)
        aucs = {}
        for suffix, baseline in (("", 0.0), ("_blur", blurred)):
            for kind, curve_fn in (("deletion", methods.deletion_curve),
                                   ("insertion", methods.insertion_curve)):
                curve = curve_fn(model, x, maps, target=targets, steps=steps, baseline=baseline)
                aucs[f"{kind}_auc{suffix}"] = float(methods.curve_auc(curve).mean())
        cascade = methods.randomization_test(model, x_random, fn, **kwargs)
        results.append(
            {
                "label": label,
                **aucs,
                "pointing": float(methods.pointing_game(maps, masks).mean()),
                "mass": float(methods.relevance_mass(maps, masks).mean()),
                "layers": cascade.layers,
                "similarity": cascade.similarity.mean(axis=0),
            }
        )
        print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
    return results


def print_tables(results: list[dict], n: int, n_random: int, mask_share: float) -> None:
    print(f"\n### Demo model, {n} held-out images (`demo_images({n}, seed=7)`)\n")
    print(
        "| method | deletion AUC ↓ | insertion AUC ↑ | deletion, blur ↓ | insertion, blur ↑ "
        "| pointing game ↑ | relevance mass ↑ | similarity, top layer random ↓ "
        "| similarity, all random ↓ |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['label']} | {r['deletion_auc']:.3f} | {r['insertion_auc']:.3f} "
            f"| {r['deletion_auc_blur']:.3f} | {r['insertion_auc_blur']:.3f} "
            f"| {r['pointing']:.2f} | {r['mass']:.2f} | {r['similarity'][1]:.2f} "
            f"| {r['similarity'][-1]:.2f} |"
        )
    print(f"\nThe object masks cover {mask_share:.1%} of the image on average (the relevance "
          "mass of a uniform map).")
    layers = results[0]["layers"]
    print(f"\n### Randomization: mean Spearman similarity per cascade step ({n_random} images)\n")
    print("| method | trained | " + " | ".join(f"+{name}" for name in layers) + " |")
    print("| --- | " + " | ".join(["---:"] * (len(layers) + 1)) + " |")
    for r in results:
        print(f"| {r['label']} | " + " | ".join(f"{v:.2f}" for v in r["similarity"]) + " |")


def chart(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, 4, figsize=(22, 5.8), gridspec_kw={"width_ratios": [1.25, 1, 1, 1.3]}
    )
    labels = [r["label"] for r in results]
    y = np.arange(len(results))
    for ax, suffix, title in ((axes[0], "", "baseline 0"), (axes[1], "_blur", "blurred baseline")):
        ax.barh(y - 0.2, [r[f"insertion_auc{suffix}"] for r in results], 0.4,
                label="insertion AUC ↑")
        ax.barh(y + 0.2, [r[f"deletion_auc{suffix}"] for r in results], 0.4,
                label="deletion AUC ↓")
        ax.set_yticks(y, labels if not suffix else [""] * len(y))
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_title(f"Deletion / insertion, {title}")
        ax.legend(loc="lower right")
    ax = axes[2]
    ax.barh(y - 0.2, [r["pointing"] for r in results], 0.4, label="pointing game")
    ax.barh(y + 0.2, [r["mass"] for r in results], 0.4, label="relevance mass")
    ax.set_yticks(y, [""] * len(y))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title("On the object mask")
    ax.legend(loc="lower right")
    ax = axes[3]
    layers = results[0]["layers"]
    steps = np.arange(len(layers) + 1)
    styles = ["-", "--", ":", "-."]
    for k, r in enumerate(results):
        ax.plot(steps, r["similarity"], styles[k // 10 % 4], marker="o", ms=3, label=r["label"])
    ax.set_xticks(steps, ["trained", *layers], rotation=60, ha="right")
    ax.set_ylim(-0.3, 1.05)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_title("Cascading randomization (output side first)")
    ax.set_ylabel("Spearman similarity to the trained map")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nwrote {path}")


def time_curve_point(model, x, steps: int, repeats: int = 5) -> None:
    """One curve point against one raw compiled forward pass of the same images.

    Both wall time (alternated, ``common.paired_times``) and the process's CPU time are
    given: on a machine shared with other jobs the wall times swing by 2–5× from call to
    call, while CPU time counts only this process's work.
    """
    maps = methods.grad_cam(model, x)
    forward = raw_forward(model)
    curve = lambda: methods.deletion_curve(model, x, maps, steps=steps)  # noqa: E731
    wall, wall_raw = paired_times(curve, lambda: forward(x), repeats=repeats, warmup=1)
    cpu, cpu_raw = [], []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(5):
            forward(x)
        cpu_raw.append((time.process_time() - start) / 5)
        start = time.process_time()
        curve()
        cpu.append(time.process_time() - start)
    cpu_point, cpu_ref = statistics.median(cpu) / (steps + 1), statistics.median(cpu_raw)
    print(f"| {len(x)} | {steps + 1} | {wall / (steps + 1) * 1e3:.1f} | {wall_raw * 1e3:.1f} "
          f"| {wall / (steps + 1) / wall_raw:.2f}× | {cpu_point * 1e3:.1f} | {cpu_ref * 1e3:.1f} "
          f"| {cpu_point / cpu_ref:.2f}× | {'yes' if cpu_point / cpu_ref <= 1.1 else 'no'} |")


def timing_table(model, images, steps: int) -> None:
    print(f"\n### Cost per curve point (deletion of a Grad-CAM map, steps {steps}, median of 5)\n")
    print("| batch | points | wall ms per point | raw forward wall ms | wall ratio "
          "| CPU ms per point | raw forward CPU ms | CPU ratio | ≤ 1.1× |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for batch in (1, 8, 32):
        time_curve_point(model, images[:batch], steps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="images for curves and masks")
    parser.add_argument("--n-random", type=int, default=8, help="images for randomization")
    parser.add_argument("--steps", type=int, default=32, help="points of each curve − 1")
    parser.add_argument("--no-timing", action="store_true", help="skip the cost measurement")
    parser.add_argument("--timing-only", action="store_true", help="only the cost measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "faithfulness.png")
    args = parser.parse_args(argv)
    model = load_demo_model()
    images, _, masks = demo_images(args.n, seed=7)
    if not args.no_timing:
        timing_table(model, images, args.steps)
    if args.timing_only:
        return
    results = evaluate(model, images, masks, images[: args.n_random], available(), args.steps)
    print_tables(results, args.n, args.n_random, float(masks.mean()))
    chart(results, args.out)


if __name__ == "__main__":
    main()
