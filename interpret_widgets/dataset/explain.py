"""``explain_dataset``: one method over a whole data set, locally or on Ray, into files."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..methods.progress import Stopped, check_progress
from . import ray_engine
from .job import ExplainJob, Loader, model_loader, resolve_method
from .result import DatasetResult, Manifest, shard_path, write_shard
from .sources import array_length, check_labels, shards

Progress = Callable[[int, int | None], Any]


def explain_dataset(
    model: keras.Model | Loader,
    images: Any,
    method: str | Callable[..., np.ndarray],
    *,
    labels: Any = None,
    batch_size: int = 32,
    shard_size: int = 256,
    out: str | Path | None = None,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: Progress | bool | None = None,
    **method_kwargs: Any,
) -> DatasetResult:
    """Explain every image of a data set with one method and keep the results as files.

    ``method`` is a name of :mod:`interpret_widgets.methods` (``"grad_cam"``, ``"lrp"``, …) or
    a callable ``(model, x, target=..., **kw)``; ``method_kwargs`` go to it. Each image's
    target is its label when ``labels`` are given, else the model's top class. ``images`` is
    an array ``(N, H, W, C)``, an iterable of batches (arrays or ``(images, labels)`` pairs)
    or, with ``engine="ray"``, a ``ray.data.Dataset`` with an ``image`` (and optionally a
    ``label``) column. ``model`` is a model or a zero-argument function that loads one (what
    a Ray worker on another machine needs; a model object is saved once into ``out``).

    Results go to ``out`` (a temporary folder when ``None``) as numbered shards of
    ``shard_size`` images; calling again with the same ``out`` resumes: shards already
    written are skipped. ``engine="ray"`` runs the batches in a pool of ``workers`` Ray
    actors (one model each) through Ray Data, on the cluster at ``address`` or on a local
    one started for it; its results equal the local engine's image by image.

    ``progress`` is ``True`` (a tqdm bar, in a notebook a widget bar) or a callable
    ``(done, total)`` called after every shard (``total`` is ``None`` for a stream); when it
    returns ``False`` the job ends there with :class:`~interpret_widgets.methods.Stopped`
    (the shards written so far stay; call again with the same ``out`` to resume).

    Raises
    ------
    Stopped
        When ``progress`` returns ``False``.
    ValueError
        On an unknown method or engine, bad sizes, labels that do not match the images, or an
        ``out`` folder that holds another job.
    """
    if engine not in ("local", "ray"):
        raise ValueError(f'engine must be "local" or "ray", got {engine!r}')
    for name, value in (("batch_size", batch_size), ("shard_size", shard_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    method_name, _ = resolve_method(method)
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="iw-dataset-"))
    folder.mkdir(parents=True, exist_ok=True)
    count = _count(images, engine)
    labels = check_labels(labels, count)
    manifest = Manifest(method_name, count or 0, shard_size, _describe(method_kwargs, labels))
    _check_folder(folder, manifest)
    report = _progress(progress, count)
    if engine == "local":
        done = _run_local(model, method, method_kwargs, images, labels, manifest, folder,
                          batch_size, report)
    else:
        done = _run_ray(model, method, method_kwargs, images, labels, manifest, folder,
                        batch_size, address, workers, report)
    if count is None:
        manifest = Manifest(method_name, done, shard_size, manifest.params)
    manifest.save(folder)
    return DatasetResult(folder)


def _count(images: Any, engine: str) -> int | None:
    if engine == "ray" and not isinstance(images, np.ndarray):
        ray = ray_engine.import_ray()
        if isinstance(images, ray.data.Dataset):
            return images.count()
        raise TypeError('engine="ray" takes a numpy array or a ray.data.Dataset of images')
    if isinstance(images, np.ndarray) and (images.ndim != 4 or len(images) == 0):
        raise ValueError(f"images must be a non-empty (N, H, W, C) array, got {images.shape}")
    return array_length(images)


def _describe(method_kwargs: Mapping[str, Any], labels: np.ndarray | None) -> dict[str, Any]:
    params = {k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
              for k, v in method_kwargs.items()}
    params["targets"] = "labels" if labels is not None else "predictions"
    return params


def _check_folder(folder: Path, manifest: Manifest) -> None:
    """A folder already used by another job (method, size, parameters) is an error."""
    try:
        old = Manifest.load(folder)
    except FileNotFoundError:
        manifest.save(folder)
        return
    same = (old.method, old.shard_size, old.params) == (
        manifest.method, manifest.shard_size, manifest.params)
    if not same or (manifest.count and old.count and old.count != manifest.count):
        raise ValueError(
            f"out={str(folder)!r} holds the results of another job ({old.method}, "
            f"{old.count} images, {old.params}); choose another folder"
        )


def _progress(progress: Progress | bool | None, total: int | None) -> Progress:
    if progress is True:
        return _bar(total)
    return check_progress(progress) or (lambda done, total: None)


def _bar(total: int | None) -> Progress:
    """A tqdm bar (a widget bar in notebooks, through ``tqdm.auto``)."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="img", desc="explaining")

    def report(done: int, total: int | None) -> None:
        bar.update(done - bar.n)
        if total is not None and done >= total:
            bar.close()

    return report


def _run_local(model, method, kwargs, images, labels, manifest, folder, batch_size,
               report) -> int:
    job = ExplainJob(model if isinstance(model, keras.Model) else model_loader(model, None),
                     method, kwargs)
    done = 0
    _report(report, done, manifest.count or None)
    for index, x, y in shards(images, labels, manifest.shard_size):
        if not shard_path(folder, index).is_file():
            parts = [job(x[i : i + batch_size], None if y is None else y[i : i + batch_size])
                     for i in range(0, len(x), batch_size)]
            write_shard(folder, index, {k: np.concatenate([p[k] for p in parts])
                                        for k in parts[0]})
        done += len(x)
        _report(report, done, manifest.count or None)
    return done


def _run_ray(model, method, kwargs, images, labels, manifest, folder, batch_size, address,
             workers, report) -> int:
    ray_engine.connect(address, workers)
    loader = model_loader(model, folder)
    todo = [s for s in range(manifest.shards) if not shard_path(folder, s).is_file()]
    pending: dict[int, list[dict[str, np.ndarray]]] = {s: [] for s in todo}
    filled = dict.fromkeys(todo, 0)
    done = manifest.count - sum(_size(manifest, s) for s in todo)
    _report(report, done, manifest.count)
    batches = ray_engine.run(loader, method, kwargs, images, labels, todo, manifest.bounds,
                             batch_size, workers or 1)
    for batch in batches:
        for shard in np.unique(batch["id"] // manifest.shard_size):
            rows = batch["id"] // manifest.shard_size == shard
            part = {k: v[rows] for k, v in batch.items()}
            pending[int(shard)].append(part)
            filled[int(shard)] += int(rows.sum())
            if filled[int(shard)] == _size(manifest, int(shard)):
                _write_sorted(folder, int(shard), pending.pop(int(shard)))
                done += filled[int(shard)]
                _report(report, done, manifest.count)
    return manifest.count


def _report(report: Progress, done: int, total: int | None) -> None:
    """Report progress; a ``False`` answer stops the job (the written shards stay)."""
    if report(done, total) is False:
        raise Stopped(done, total or done)


def _size(manifest: Manifest, shard: int) -> int:
    start, stop = manifest.bounds(shard)
    return stop - start


def _write_sorted(folder: Path, shard: int, parts: list[dict[str, np.ndarray]]) -> None:
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(joined.pop("id"), kind="stable")
    write_shard(folder, shard, {k: v[order] for k, v in joined.items()})
