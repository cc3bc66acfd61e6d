"""The data side of an attribution panel: its method table, raw maps and their cache.

A panel is configured by a table ``{key: PanelMethod(label, compute, parameters)}``;
:class:`MapCache` keeps the raw maps it computed by (method, class), drops those whose
inputs changed, and knows which methods have run once on a model already (the first call
traces the model's probes, which takes seconds on a big model: it runs in the background).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np
import traitlets

#: How many raw maps a panel keeps (those shown are never dropped).
CACHE_SIZE = 8

#: Per model, the method keys that have run once (their probes are traced).
_WARM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

MapKey = tuple[str, int]


class RawMap(NamedTuple):
    """A panel's raw result for one class: the 2-D map and a short note shown under it."""

    values: np.ndarray
    note: str = ""


class PanelMethod(NamedTuple):
    """One entry of a panel's method table.

    ``compute(model, batch, target, **parameters)`` returns the :class:`RawMap` of the one
    image in ``batch``; ``parameters`` names the panel traits it takes.
    """

    label: str
    compute: Callable[..., RawMap]
    parameters: tuple[str, ...] = ()


def method_check(name: str) -> Any:
    """A validator of the trait ``name`` that holds a key of the panel's method table."""

    def check(self: Any, proposal: dict[str, Any]) -> str:
        return self.check_method(proposal["value"], name)

    return traitlets.validate(name)(check)


class MapCache:
    """Raw maps by (method, class) for the selected image, at most :data:`CACHE_SIZE`."""

    def __init__(self) -> None:
        self.maps: dict[MapKey, RawMap] = {}

    def __contains__(self, key: MapKey) -> bool:
        return key in self.maps

    def __getitem__(self, key: MapKey) -> RawMap:
        return self.maps[key]

    def missing(self, keys: Iterable[MapKey]) -> list[MapKey]:
        """The keys among ``keys`` that are not cached."""
        return [key for key in keys if key not in self.maps]

    def store(self, maps: dict[MapKey, RawMap], shown: list[MapKey]) -> None:
        """Keep ``maps``; when full, drop the oldest maps that are not ``shown``."""
        for key, raw in maps.items():
            unused = [k for k in self.maps if k not in shown]
            if len(self.maps) >= CACHE_SIZE and unused:
                del self.maps[unused[0]]
            self.maps[key] = raw

    def forget(self, uses: Callable[[str], bool]) -> None:
        """Drop the maps of the methods for which ``uses(method)`` is true."""
        for key in [k for k in self.maps if uses(k[0])]:
            del self.maps[key]


class MethodTable:
    """A panel's methods by key, with what every panel asks of them.

    ``family`` ("LRP") precedes a method's label in descriptions.
    """

    def __init__(self, entries: dict[str, PanelMethod], family: str = "") -> None:
        self.entries = dict(entries)
        self.family = family

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> PanelMethod:
        return self.entries[key]

    def __iter__(self) -> Any:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def choices(self) -> dict[str, str]:
        """Key -> label of every method."""
        return {key: entry.label for key, entry in self.entries.items()}

    def describe(self, key: str, values: dict[str, Any]) -> str:
        """The method and its parameter ``values`` in a few words."""
        words = [
            f"{k} = {v}" if isinstance(v, str) else f"{k} = {v:.3g}" for k, v in values.items()
        ]
        label = f"{self.family} {self.entries[key].label}".strip()
        return label + (f" ({', '.join(words)})" if words else "")

    def compute(self, key: str, model: Any, batch: np.ndarray, target: int, values: dict) -> RawMap:
        """The method's raw map; notes that the method has run on ``model``."""
        result = self.entries[key].compute(model, batch, target, **values)
        _WARM.setdefault(model, set()).add(self._warm_key(key, values))
        return result

    def is_warm(self, key: str, model: Any, values: dict[str, Any]) -> bool:
        """Whether the method has run on ``model`` before (its probes are traced).

        String parameters (a layer) select other probes, so they are part of the key.
        """
        return self._warm_key(key, values) in _WARM.get(model, ())

    def _warm_key(self, key: str, values: dict[str, Any]) -> tuple:
        return (self.family, key, *(v for v in values.values() if isinstance(v, str)))
