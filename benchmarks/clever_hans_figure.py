"""The Clever Hans figure of README.md: SpRAy on the Clever Hans model's LRP maps.

    python benchmarks/clever_hans_figure.py   # writes docs/clever_hans_spray.png

The ellipses among 2,000 held-out images (half of them tagged) are explained with LRP
(ε-z⁺), SpRAy clusters the maps; the figure shows the eigenvalues, the t-SNE embedding
coloured by cluster and by the tag's presence, and each cluster's mean map.
"""

from __future__ import annotations

import common  # noqa: F401  (sets the TensorFlow log level first)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from interpret_widgets.dataset import explain_dataset, spray  # noqa: E402
from interpret_widgets.demo import load_demo_model  # noqa: E402
from interpret_widgets.demo.clever_hans import CLEVER_HANS_CLASS, clever_hans_images  # noqa: E402


def main() -> None:
    model = load_demo_model("clever_hans")
    images, labels, _, tagged = clever_hans_images(2000, seed=12, tag_rate=0.5, other_rate=0.0)
    hans = labels == CLEVER_HANS_CLASS
    result = explain_dataset(model, images[hans], "lrp", labels=labels[hans], rule="epsilon_plus")
    found = spray(result, CLEVER_HANS_CLASS)
    truth = tagged[hans][found.indices]
    agreement = max(np.mean((found.labels == 1) == truth), np.mean((found.labels == 0) == truth))
    fig, axes = plt.subplots(1, 3 + found.n_clusters, figsize=(4 * (3 + found.n_clusters), 3.6))
    axes[0].plot(np.arange(1, len(found.eigenvalues) + 1), found.eigenvalues, "o-")
    axes[0].set_title("normalized Laplacian eigenvalues")
    axes[0].set_xlabel("k")
    for ax, colour, title in ((axes[1], found.labels, f"SpRAy: {found.n_clusters} clusters"),
                              (axes[2], truth, "carries the tag")):
        ax.scatter(*found.embedding.T, c=colour, cmap="coolwarm", s=12)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    for k in range(found.n_clusters):
        ax = axes[3 + k]
        limit = np.abs(found.prototypes[k]).max()
        ax.imshow(found.prototypes[k], cmap="bwr", vmin=-limit, vmax=limit)
        share = truth[found.labels == k].mean()
        ax.set_title(f"cluster {k}: mean map, {share:.0%} tagged")
        ax.axis("off")
    fig.suptitle(f"{len(found.indices)} ellipses, LRP ε-z⁺; clusters match the tag on "
                 f"{agreement:.0%} of them")
    fig.tight_layout()
    fig.savefig("docs/clever_hans_spray.png", dpi=90)
    print(f"agreement {agreement:.3f}, clusters {found.n_clusters}")


if __name__ == "__main__":
    main()
