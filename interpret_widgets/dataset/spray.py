"""Spectral Relevance Analysis (SpRAy): the strategies a model uses for one class.

The relevance maps of the images explained for one class are summed over channels,
downsampled and normalized; a symmetric k-nearest-neighbour graph over them is split by
spectral clustering, and the eigengap of its normalized Laplacian suggests how many
clusters (strategies) there are. A t-SNE embedding of the same features places each image
for display. A cluster whose mean map lights up somewhere other than the object is a
"Clever Hans" candidate.

References
----------
Lapuschkin et al. (2019), "Unmasking Clever Hans predictors and assessing what machines
really learn", Nature Communications 10, 1096.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse.csgraph import laplacian
from sklearn.cluster import SpectralClustering
from sklearn.manifold import TSNE
from sklearn.neighbors import kneighbors_graph


@dataclass(frozen=True)
class SprayResult:
    """The outcome of :func:`spray` for one class.

    Attributes
    ----------
    indices : (n,) int — the analysed images, as indices into the result.
    labels : (n,) int — the cluster of each of them, 0 … n_clusters − 1.
    n_clusters : int — the number of clusters used (given, or from the eigengap).
    eigenvalues : (m,) float — the smallest eigenvalues of the normalized graph Laplacian.
    eigengap : (m − 1,) float — their successive differences; the largest gap after the
        k-th eigenvalue suggests k clusters.
    embedding : (n, dims) float32 — t-SNE coordinates for display.
    features : (n, size·size) float32 — the normalized downsampled maps that were clustered.
    prototypes : (n_clusters, size, size) float32 — each cluster's mean map.
    nearest : list of (≤ k,) int arrays — per cluster, the result indices of the images
        nearest its mean (its most typical members first).
    """

    indices: np.ndarray
    labels: np.ndarray
    n_clusters: int
    eigenvalues: np.ndarray
    eigengap: np.ndarray
    embedding: np.ndarray
    features: np.ndarray
    prototypes: np.ndarray
    nearest: list[np.ndarray]


def spray(
    result: Any,
    target_class: int,
    n_clusters: int | None = None,
    *,
    size: int = 16,
    neighbors: int | None = None,
    max_clusters: int = 8,
    dims: int = 2,
    seed: int = 0,
) -> SprayResult:
    """SpRAy over the maps of the images that ``result`` explained for ``target_class``.

    ``result`` is a :class:`DatasetResult` (or any object with ``.maps`` and ``.targets``).
    ``n_clusters=None`` takes the number suggested by the eigengap (at most
    ``max_clusters``). ``neighbors`` defaults to ⌈√n⌉ clipped to [5, 30].

    Raises
    ------
    ValueError
        If fewer than 4 images were explained for the class, or on bad sizes.
    """
    maps = np.asarray(result.maps, dtype=np.float32)
    targets = np.asarray(result.targets)
    indices = np.flatnonzero(targets == int(target_class))
    if len(indices) < 4:
        raise ValueError(
            f"class {target_class} has {len(indices)} explained images; SpRAy needs at least 4"
        )
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    features = map_features(maps[indices], size)
    n = len(indices)
    k = neighbors or int(np.clip(np.ceil(np.sqrt(n)), 5, 30))
    k = min(k, n - 1)
    graph = kneighbors_graph(features, k, include_self=False)
    affinity = 0.5 * (graph + graph.T)
    eigenvalues = _laplacian_spectrum(affinity.toarray(), min(n, max_clusters + 1))
    gaps = np.diff(eigenvalues)
    if n_clusters is None:
        n_clusters = int(np.argmax(gaps[1:max_clusters]) + 2) if len(gaps) > 1 else 1
    if not 1 <= int(n_clusters) < n:
        raise ValueError(f"n_clusters must be in [1, {n - 1}], got {n_clusters!r}")
    labels = _cluster(affinity, int(n_clusters), seed)
    prototypes, nearest = _prototypes(features, labels, int(n_clusters), size, indices)
    embedding = TSNE(
        n_components=dims, perplexity=float(min(30.0, (n - 1) / 3)), random_state=seed,
        init="pca",
    ).fit_transform(features)
    return SprayResult(
        indices=indices,
        labels=labels,
        n_clusters=int(n_clusters),
        eigenvalues=eigenvalues,
        eigengap=gaps,
        embedding=embedding.astype(np.float32),
        features=features,
        prototypes=prototypes,
        nearest=nearest,
    )


def map_features(maps: np.ndarray, size: int) -> np.ndarray:
    """Maps ``(n, H, W[, C])`` summed over channels, area-downsampled to ``size × size``
    (block means; ``H`` and ``W`` are cropped to multiples of the block) and scaled to unit
    L2 norm (an all-zero map stays zero), flattened to ``(n, size²)``."""
    if maps.ndim == 4:
        maps = maps.sum(axis=-1)
    if maps.ndim != 3:
        raise ValueError(f"maps must be (n, H, W) or (n, H, W, C), got shape {maps.shape}")
    n, h, w = maps.shape
    if not 1 <= size <= min(h, w):
        raise ValueError(f"size must be in [1, {min(h, w)}] for maps of {h}×{w}, got {size}")
    bh, bw = h // size, w // size
    blocks = maps[:, : bh * size, : bw * size].reshape(n, size, bh, size, bw)
    small = blocks.mean(axis=(2, 4)).reshape(n, -1).astype(np.float64)
    norms = np.linalg.norm(small, axis=1, keepdims=True)
    return (small / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _laplacian_spectrum(affinity: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` smallest eigenvalues of the symmetric normalized Laplacian."""
    lap = laplacian(affinity, normed=True)
    return np.linalg.eigvalsh(lap)[:count]


def _cluster(affinity: Any, n_clusters: int, seed: int) -> np.ndarray:
    if n_clusters == 1:
        return np.zeros(affinity.shape[0], dtype=np.int64)
    model = SpectralClustering(
        n_clusters=n_clusters, affinity="precomputed", random_state=seed, assign_labels="kmeans"
    )
    return model.fit_predict(affinity).astype(np.int64)


def _prototypes(
    features: np.ndarray, labels: np.ndarray, k: int, size: int, indices: np.ndarray,
    per_cluster: int = 8,
) -> tuple[np.ndarray, list[np.ndarray]]:
    prototypes = np.zeros((k, size, size), dtype=np.float32)
    nearest = []
    for cluster in range(k):
        members = np.flatnonzero(labels == cluster)
        centre = features[members].mean(axis=0)
        prototypes[cluster] = centre.reshape(size, size)
        distance = np.linalg.norm(features[members] - centre, axis=1)
        nearest.append(indices[members[np.argsort(distance, kind="stable")[:per_cluster]]])
    return prototypes, nearest


def map_embedding(
    result: Any, dims: int = 3, size: int = 16, method: str | None = None, seed: int = 0
) -> np.ndarray:
    """Coordinates ``(N, dims)`` float32 for every map of ``result``, for display.

    The maps' SpRAy features (:func:`map_features`) embedded by t-SNE (``method="tsne"``) or
    by their first principal components (``"pca"``, linear and fast); ``None`` takes t-SNE
    up to 5,000 images and PCA above, where t-SNE would keep a 2-core machine busy for
    minutes.

    Raises
    ------
    ValueError
        On ``dims`` other than 2 or 3, an unknown method, or fewer than 4 maps.
    """
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    features = map_features(np.asarray(result.maps, dtype=np.float32), size)
    if len(features) < 4:
        raise ValueError(f"an embedding needs at least 4 maps, got {len(features)}")
    method = method or ("tsne" if len(features) <= 5000 else "pca")
    if method == "tsne":
        perplexity = float(min(30.0, (len(features) - 1) / 3))
        coords = TSNE(n_components=dims, perplexity=perplexity, random_state=seed,
                      init="pca").fit_transform(features)
    elif method == "pca":
        coords = _principal_components(features, dims)
    else:
        raise ValueError(f'method must be "tsne", "pca" or None, got {method!r}')
    return coords.astype(np.float32)


def _principal_components(features: np.ndarray, dims: int) -> np.ndarray:
    """The ``(n, dims)`` projections of ``features`` on their first principal axes.

    The axes are the leading eigenvectors of the ``d × d`` scatter matrix (d = size², 256
    by default) instead of an SVD of the ``n × d`` matrix: the same axes, at a cost that
    does not grow with ``n`` beyond one matrix product (10,000 maps: 0.8 s instead of 9 s
    on two cores). Each axis is signed so that its largest loading is positive, which
    makes the embedding deterministic.
    """
    centred = features.astype(np.float64) - features.mean(axis=0, dtype=np.float64)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, np.argsort(values)[::-1][:dims]]
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    return centred @ (axes * np.where(signs == 0, 1.0, signs))
