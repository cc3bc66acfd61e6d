"""Pruning curves of the demo model for the L1, random and relevance criteria.

Run: ``python benchmarks/pruning_curves.py`` (after ``scripts/setup_env.sh test``). Prints
a markdown table (the README's "Which channels does the model need?" section comes from
it) and writes ``docs/pruning_curves.png``.

Evaluation: ``demo_images(EVAL, seed=0)`` with their labels (the demo model was trained on
seeds ≥ 1000). The relevance criterion ranks filters on a separate reference set,
``demo_images(REFERENCE, seed=1)``, as Yeom et al. do, so that it is not fitted to the images
it is scored on. The random criterion is the mean of ``SEEDS`` seeded runs (its spread is
printed too). Every conv layer but the classifier is pruned (``layers=None``). Each table
and figure is made twice: with ``batchnorm="keep"`` (the contract's pruning: kernel and bias
zeroed, the batch normalization after each conv still adds its shift) and with
``batchnorm="zero"`` (the pruned channel removed through its batch normalization).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common  # noqa: E402, F401  (quiet TensorFlow logging)
import numpy as np  # noqa: E402

from interpret_widgets import methods  # noqa: E402
from interpret_widgets.demo import demo_images, load_demo_model  # noqa: E402
from interpret_widgets.render.curves import pruning_curves_figure  # noqa: E402

EVAL = 200
REFERENCE = 64
SEEDS = (0, 1, 2)
AMOUNTS = tuple(round(0.1 * i, 1) for i in range(10))
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "pruning_curves.png"
SUFFIX = {"keep": "", "zero": "_bn_removed"}


def measure(model, x, labels, reference, batchnorm) -> tuple[dict, dict]:
    """The three curves, and the per-seed spread of the random one."""
    curves = {}
    start = time.perf_counter()
    curves["l1"] = methods.pruning_curve(model, x, labels, AMOUNTS, "l1", batchnorm=batchnorm)
    print(f"l1: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    runs = [
        methods.pruning_curve(model, x, labels, AMOUNTS, "random", seed=s, batchnorm=batchnorm)
        for s in SEEDS
    ]
    curves["random"] = {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}
    spread = {k: (np.min([r[k] for r in runs], axis=0), np.max([r[k] for r in runs], axis=0))
              for k in ("accuracy", "mean_score")}
    start = time.perf_counter()
    curves["relevance"] = methods.pruning_curve(
        model, x, labels, AMOUNTS, "relevance", reference=reference, batchnorm=batchnorm
    )
    print(f"relevance: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return curves, spread


def table(curves: dict, spread: dict) -> str:
    names = list(curves)
    lines = [
        "| pruned | " + " | ".join(f"{n} acc." for n in names) + " | "
        + " | ".join(f"{n} score" for n in names) + " |",
        "| ---: | " + " | ".join("---:" for _ in names * 2) + " |",
    ]
    for i, amount in enumerate(AMOUNTS):
        accs = []
        for n in names:
            acc = f"{curves[n]['accuracy'][i]:.3f}"
            if n == "random":
                low, high = spread["accuracy"][0][i], spread["accuracy"][1][i]
                acc += f" ({low:.2f}–{high:.2f})"
            accs.append(acc)
        scores = [f"{curves[n]['mean_score'][i]:.2f}" for n in names]
        lines.append(f"| {amount:.1f} | " + " | ".join(accs + scores) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    model = load_demo_model()
    x, labels, _ = demo_images(EVAL, seed=0)
    reference, _, _ = demo_images(REFERENCE, seed=1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for batchnorm, suffix in SUFFIX.items():
        curves, spread = measure(model, x, labels, reference, batchnorm)
        print(f"\n### batchnorm={batchnorm!r}\n")
        print(table(curves, spread))
        how = "kernel and bias zeroed" if batchnorm == "keep" else "channel removed through BN"
        figure = pruning_curves_figure(
            curves,
            title=f"demo CNN on {EVAL} demo images, every conv layer pruned alike ({how})",
        )
        path = args.output.with_name(args.output.stem + suffix + args.output.suffix)
        figure.savefig(path, dpi=110)
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
