"""The Ray engine: the same :class:`ExplainJob` in a pool of Ray actors via Ray Data.

Each actor loads the model once (through the job's loader) and explains the batches that
Ray Data's ``map_batches`` hands it; the driver gathers the outputs by image index and writes
the same shards as the local engine. Ray restarts an actor whose process dies and retries
its batch (``max_restarts``/``max_task_retries``), so a lost worker costs time, not images.
Ray is an optional dependency (``pip install interpret_widgets[scale]``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .job import ExplainJob, Loader

#: How often Ray may restart a dead actor, and retry a batch on a restarted one.
MAX_RESTARTS = 3


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise ImportError(
            'engine="ray" needs Ray Data: pip install "interpret_widgets[scale]"'
        ) from error
    return ray


def connect(address: str | None, workers: int | None) -> Any:
    """Attach to the cluster at ``address``, or start a local one when none is running.

    A local cluster gets one CPU per worker plus one for Ray Data's own small tasks (reading
    and splitting the input), which would otherwise wait behind the actors for ever.
    """
    ray = import_ray()
    if not ray.is_initialized():
        if address is None:
            cpus = (workers or os.cpu_count() or 1) + 1
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


class _ActorJob:
    """What each Ray actor holds: the job (model loaded once) and the shared arrays."""

    def __init__(self, loader: Loader, method: Any, kwargs: Mapping[str, Any], data: list) -> None:
        import ray

        self.job = ExplainJob(loader, method, kwargs)
        self.images, self.labels = (None if ref is None else ray.get(ref) for ref in data)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        index = batch["id"]
        if self.images is None:  # rows of a ray.data.Dataset carry their images
            images, labels = batch["image"], batch.get("label")
        else:
            images = self.images[index]
            labels = None if self.labels is None else self.labels[index]
        return {"id": index, **self.job(images, labels)}


def run(
    loader: Loader,
    method: Any,
    kwargs: Mapping[str, Any],
    source: Any,
    labels: np.ndarray | None,
    todo: list[int],
    bounds: Callable[[int], tuple[int, int]],
    batch_size: int,
    workers: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Explain the images of the shards in ``todo``; yield each output batch (with its
    ``id`` column, the image indices) as it arrives, in no particular order."""
    ray = import_ray()
    indices = np.concatenate([np.arange(*bounds(s)) for s in todo]) if todo else np.zeros(0, int)
    if isinstance(source, ray.data.Dataset):
        dataset, data = _indexed_rows(ray, source, set(indices.tolist())), [None, None]
    else:
        data = [ray.put(source), ray.put(labels)]
        dataset = ray.data.from_items([{"id": int(i)} for i in indices])
    mapped = dataset.map_batches(
        _ActorJob,
        fn_constructor_args=(loader, method, dict(kwargs), data),
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=workers,
        num_cpus=1,
        max_restarts=MAX_RESTARTS,
        max_task_retries=MAX_RESTARTS,
    )
    yield from mapped.iter_batches(batch_size=None, batch_format="numpy")


def _indexed_rows(ray: Any, dataset: Any, keep: set[int]) -> Any:
    """The rows of a user's dataset numbered in their order (an ``id`` column), only those
    in ``keep``; the dataset must have an ``image`` column (and may have ``label``)."""
    if "image" not in dataset.columns():
        raise ValueError(
            f"a ray.data.Dataset source needs an 'image' column, it has {dataset.columns()}"
        )
    numbered = dataset.zip(ray.data.range(dataset.count()))
    keep = frozenset(keep)
    return numbered.filter(lambda row: int(row["id"]) in keep)
