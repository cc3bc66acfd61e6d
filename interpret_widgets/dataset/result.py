"""Results of a data-set job, kept as files: one folder, a manifest and numbered shards.

A shard holds the outputs for a fixed, contiguous range of image indices, so that a job that
was interrupted can be resumed by skipping the shards already on disk, and so that the local
engine and the Ray engine write the very same files. Maps are stored as float16 (half the
disk space; the methods' float32 values keep ~3 significant digits, which is all a heatmap or
a cluster analysis needs), everything else as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
FIELDS = ("predictions", "targets", "scores")


def shard_path(folder: Path, index: int) -> Path:
    """Where shard ``index`` lives (one ``.npz`` per shard)."""
    return folder / f"shard-{index:06d}.npz"


def write_shard(folder: Path, index: int, arrays: dict[str, np.ndarray]) -> None:
    """Write one shard atomically (a temporary file renamed), so a crash leaves no half shard."""
    final = shard_path(folder, index)
    partial = final.with_name(final.name + ".partial")
    with open(partial, "wb") as handle:
        np.savez(handle, **{k: _stored(k, v) for k, v in arrays.items()})
    os.replace(partial, final)


def _stored(key: str, value: np.ndarray) -> np.ndarray:
    return value.astype(np.float16) if key == "maps" else value


@dataclass(frozen=True)
class Manifest:
    """What a result folder holds: the job's description and how its shards are cut."""

    method: str
    count: int
    shard_size: int
    params: dict[str, Any]

    @property
    def shards(self) -> int:
        return -(-self.count // self.shard_size)

    def bounds(self, shard: int) -> tuple[int, int]:
        """Image indices ``[start, stop)`` of ``shard``."""
        start = shard * self.shard_size
        return start, min(start + self.shard_size, self.count)

    def save(self, folder: Path) -> None:
        text = json.dumps(self.__dict__, indent=1, sort_keys=True, default=str)
        (folder / MANIFEST).write_text(text)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        return cls(**json.loads((folder / MANIFEST).read_text()))


class DatasetResult:
    """The outputs of :func:`explain_dataset`, read from its folder.

    Attributes (each concatenated over the shards in image order):
    ``maps`` ``(N, …)`` float32, ``predictions`` ``(N,)`` int (the model's top class),
    ``targets`` ``(N,)`` int (the explained class), ``scores`` ``(N,)`` float32 (the explained
    class's pre-softmax score), and ``metrics`` (a dict of ``(N,)`` arrays: ``relevance_mass``
    and ``pointing_game`` when masks were given).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.manifest = Manifest.load(self.folder)
        missing = [i for i in range(self.manifest.shards) if not self.has_shard(i)]
        if missing:
            raise ValueError(
                f"result folder {self.folder} is incomplete: shards {missing[:5]} of "
                f"{self.manifest.shards} are missing; run explain_dataset again with the same "
                "out= to resume"
            )
        self._cache: dict[str, np.ndarray] = {}

    def has_shard(self, index: int) -> bool:
        return shard_path(self.folder, index).is_file()

    def __len__(self) -> int:
        return self.manifest.count

    def shards(self) -> Iterator[dict[str, np.ndarray]]:
        """The shards' arrays one at a time (for data sets too large to hold in memory)."""
        for index in range(self.manifest.shards):
            with np.load(shard_path(self.folder, index)) as data:
                yield {key: data[key] for key in data.files}

    def _field(self, key: str) -> np.ndarray:
        if key not in self._cache:
            parts = [shard[key] for shard in self.shards()]
            value = np.concatenate(parts)
            self._cache[key] = value.astype(np.float32) if key in ("maps", "scores") else value
        return self._cache[key]

    @property
    def maps(self) -> np.ndarray:
        return self._field("maps")

    @property
    def predictions(self) -> np.ndarray:
        return self._field("predictions")

    @property
    def targets(self) -> np.ndarray:
        return self._field("targets")

    @property
    def scores(self) -> np.ndarray:
        return self._field("scores")

    @property
    def metrics(self) -> dict[str, np.ndarray]:
        with np.load(shard_path(self.folder, 0)) as first:
            names = [k[len("metric_") :] for k in first.files if k.startswith("metric_")]
        return {name: self._field("metric_" + name) for name in names}

    def __repr__(self) -> str:
        m = self.manifest
        return f"DatasetResult({m.method!r}, {m.count} images, {m.shards} shards in {self.folder})"
