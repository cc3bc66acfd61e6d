"""The model-parameter randomization test: does the map depend on what the model learned?

Cascading randomization (Adebayo et al. 2018): on a **copy** of the model, the layers with
weights are re-initialized one after the other, starting at the output, each with its own
initializers (seeded); after every layer the method's map is computed again for the same
images and classes and compared with the map of the trained model by the Spearman rank
correlation of the absolute values. A map that stays similar while the weights that produced
the prediction are destroyed explains the input rather than the model.

Every layer that owns weights counts, batch normalization included: its re-initialization
sets γ, β, the moving mean and the moving variance to their initializers (1, 0, 0, 1 by
default), which removes what it learned (the paper re-initializes all weights of a layer).

References
----------
Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity Checks for Saliency Maps".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from ..model import get_adapter
from ..model.copies import copy_model, initializer_of, reinitialize
from .gradients import Target, _prepare
from .progress import Progress, check_progress, report

MapMethod = Callable[..., np.ndarray]


@dataclass(frozen=True)
class RandomizationResult:
    """Similarities of the maps along the cascade.

    ``layers``: names of the layers with weights, output side first (layer ``l − 1`` is
    re-initialized at step ``l``). ``similarity`` ``(N, L + 1)``: Spearman rank correlation
    of |map at step l| with |map of the trained model|; column 0 is the map with itself
    (1.0; 0 for a constant map). ``ssim`` ``(N, L + 1)`` when asked. ``maps``: the maps
    ``(L + 1, N, …)`` when asked. ``targets``: the explained class of every image. Columns
    not reached (a stopped run) are NaN.
    """

    layers: tuple[str, ...]
    similarity: np.ndarray
    targets: np.ndarray
    ssim: np.ndarray | None = None
    maps: np.ndarray | None = None


@dataclass(frozen=True)
class RandomizationProgress:
    """After step ``done − 1`` of ``total``: its map and the result filled so far.

    The first update comes before any map: ``done = 0``, ``map`` ``None``.
    """

    done: int
    total: int
    layer: str | None
    map: np.ndarray | None
    result: RandomizationResult


def randomization_progress(
    model: keras.Model,
    x: np.ndarray,
    method: str | MapMethod,
    target: Target = None,
    seed: int = 0,
    *,
    ssim: bool = False,
    keep_maps: bool = False,
    **method_kwargs: Any,
) -> Iterator[RandomizationProgress]:
    """Run the cascade step by step, yielding after every map (see :func:`randomization_test`).

    Arguments are checked, the targets resolved and the model copied when this is called;
    leaving the loop stops the work.
    """
    function = _method(method)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    adapter, batch, targets = _prepare(model, x, target)
    names = [adapter.name_of(e) for e in _weighted_entries(adapter)]
    copy = copy_model(model)
    copy_entries = _weighted_entries(get_adapter(copy))
    for entry in copy_entries:
        for variable in entry.layer.weights:
            initializer_of(entry.layer, variable)
    return _cascade(function, copy, copy_entries, names, batch, targets, int(seed), ssim,
                    keep_maps, method_kwargs)


def _cascade(function: MapMethod, copy: keras.Model, entries: list, names: list[str],
             batch: np.ndarray, targets: np.ndarray, seed: int, with_ssim: bool,
             keep_maps: bool, kwargs: dict) -> Iterator[RandomizationProgress]:
    total = len(entries) + 1
    n = len(batch)
    similarity = np.full((n, total), np.nan, dtype=np.float32)
    ssim = np.full((n, total), np.nan, dtype=np.float32) if with_ssim else None
    maps = None
    reference = None
    yield RandomizationProgress(
        0, total, None, None, RandomizationResult(tuple(names), similarity, targets, ssim)
    )
    for step in range(total):
        if step > 0:
            reinitialize(entries[step - 1].layer, (seed, step))
        current = _map(function, copy, batch, targets, kwargs)
        if reference is None:
            reference = current
            if keep_maps:
                maps = np.full((total, *current.shape), np.nan, dtype=np.float32)
        elif current.shape != reference.shape:
            raise ValueError(
                f"the method returned maps of shape {current.shape} after randomizing "
                f"{names[step - 1]!r}, but {reference.shape} before"
            )
        similarity[:, step] = spearman_similarity(reference, current)
        if ssim is not None:
            ssim[:, step] = ssim_similarity(reference, current)
        if maps is not None:
            maps[step] = current
        result = RandomizationResult(tuple(names), similarity, targets, ssim, maps)
        layer = names[step - 1] if step else None
        yield RandomizationProgress(step + 1, total, layer, current, result)


def randomization_test(
    model: keras.Model,
    x: np.ndarray,
    method: str | MapMethod,
    target: Target = None,
    seed: int = 0,
    *,
    ssim: bool = False,
    keep_maps: bool = False,
    progress: Progress | None = None,
    **method_kwargs: Any,
) -> RandomizationResult:
    """Cascading model-parameter randomization of a copy of ``model``, map by map.

    ``method`` is the name of a function of :mod:`interpret_widgets.methods` (``"saliency"``,
    ``"lrp"``…) or a callable ``(model, x, target=None, **kw)`` returning ``(N, …)`` maps;
    ``method_kwargs`` go to it (e.g. ``rule="epsilon_plus"``). ``target=None`` is each
    image's top class in the trained model, kept for every step. Step l re-initializes
    ``.layers[l − 1]`` (output side first, cumulative) with its own initializers, seeded from
    ``(seed, l)``. ``.similarity[:, l]`` is the Spearman rank correlation (ties averaged) of
    the absolute maps, 0 when either map is constant. ``ssim=True`` adds ``.ssim``: the SSIM
    (scikit-image) of the maps reduced to 2-D (absolute values summed over channels) and
    scaled by their maximum to [0, 1], 0 when either map is constant. ``keep_maps=True``
    adds ``.maps``. ``progress(done, total)`` is called with 0 before the first map and
    after every map; returning ``False`` stops the run with
    :class:`~interpret_widgets.methods.progress.Stopped` (:func:`randomization_progress`
    gives the partial result step by step). The user's model is only read.

    Raises
    ------
    ValueError, TypeError
        On bad ``x`` or ``target``, an unknown method name, a negative seed, a model that
        cannot be copied or a layer whose weights have no known initializer, maps whose
        shape changes, (with ``ssim``) maps smaller than 3×3, a ``progress`` that is not
        callable.
    Stopped
        When ``progress`` returns ``False``.

    References
    ----------
    Adebayo et al. (2018), "Sanity Checks for Saliency Maps".
    """
    check_progress(progress)
    result = None
    steps = randomization_progress(
        model, x, method, target, seed, ssim=ssim, keep_maps=keep_maps, **method_kwargs
    )
    for update in steps:
        result = update.result
        report(progress, update.done, update.total)
    return result


def _method(method: str | MapMethod) -> MapMethod:
    """The map function named by ``method`` (a name in :mod:`interpret_widgets.methods`)."""
    if callable(method):
        return method
    if not isinstance(method, str):
        raise TypeError(
            f"method must be a method name or a callable, got {type(method).__name__}"
        )
    from .. import methods

    names = [
        name
        for name in methods.__all__
        if name[:1].islower() and callable(getattr(methods, name, None))
    ]
    if method not in names:
        close = difflib.get_close_matches(method, names, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"interpret_widgets.methods has no method {method!r}{hint}")
    return getattr(methods, method)


def _weighted_entries(adapter: Any) -> list:
    """Layers that own weights (not nested models), output side first, each once."""
    seen: set[int] = set()
    entries = []
    for entry in reversed(adapter.layers):
        layer = entry.layer
        if entry.kind == "model" or not getattr(layer, "weights", None) or id(layer) in seen:
            continue
        seen.add(id(layer))
        entries.append(entry)
    return entries


def _map(function: MapMethod, model: keras.Model, batch: np.ndarray, targets: np.ndarray,
         kwargs: dict) -> np.ndarray:
    out = function(model, batch, target=targets, **kwargs)
    array = np.asarray(out, dtype=np.float32)
    if array.ndim < 2 or array.shape[0] != len(batch):
        raise ValueError(
            f"the method must return (N, …) maps with N = {len(batch)}, got shape {array.shape}"
        )
    return array


def spearman_similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image, the Spearman rank correlation of |first| and |second| (ties averaged).

    0 where either absolute map is constant (no ranking to compare).
    """
    from scipy.stats import rankdata

    a = np.abs(first.reshape(len(first), -1).astype(np.float64))
    b = np.abs(second.reshape(len(second), -1).astype(np.float64))
    out = np.zeros(len(a), dtype=np.float32)
    for n in range(len(a)):
        if np.ptp(a[n]) == 0 or np.ptp(b[n]) == 0:
            continue
        ra = rankdata(a[n]) - (a.shape[1] + 1) / 2.0
        rb = rankdata(b[n]) - (b.shape[1] + 1) / 2.0
        out[n] = np.dot(ra, rb) / np.sqrt(np.dot(ra, ra) * np.dot(rb, rb))
    return out


def ssim_similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Per image, the SSIM of the 2-D maps |·| (summed over channels) scaled to [0, 1].

    Uses scikit-image's ``structural_similarity`` with ``data_range=1`` and a window of
    7 pixels (smaller, odd, for maps under 7×7). 0 where either map is constant.

    Raises
    ------
    ValueError
        If the maps are not ``(N, H, W)`` or ``(N, H, W, C)``, or smaller than 3×3.
    """
    from skimage.metrics import structural_similarity

    a, b = _ssim_plane(first), _ssim_plane(second)
    side = min(a.shape[1:])
    window = min(7, side if side % 2 else side - 1)
    if window < 3:
        raise ValueError(f"SSIM needs maps of at least 3×3 pixels, got {a.shape[1:]}")
    out = np.zeros(len(a), dtype=np.float32)
    for n in range(len(a)):
        top_a, top_b = a[n].max(), b[n].max()
        if np.ptp(a[n]) == 0 or np.ptp(b[n]) == 0:
            continue
        out[n] = structural_similarity(
            a[n] / top_a, b[n] / top_b, data_range=1.0, win_size=window
        )
    return out


def _ssim_plane(maps: np.ndarray) -> np.ndarray:
    if maps.ndim not in (3, 4):
        raise ValueError(f"SSIM compares (N, H, W) or (N, H, W, C) maps, got shape {maps.shape}")
    plane = np.abs(maps.astype(np.float64))
    return plane.sum(axis=-1) if plane.ndim == 4 else plane
