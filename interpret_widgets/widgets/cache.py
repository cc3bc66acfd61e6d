"""LRUCache: the widgets' one bounded cache of computed results.

Views keep recent raw results (a forward pass's activations, an attribution map) so that a
move back to something seen re-renders without recomputing; the bound keeps memory flat
while a user walks through many images.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRUCache(Generic[V]):
    """At most ``size`` values by key; the least recently used one is dropped first.

    Raises
    ------
    ValueError
        If ``size`` is below 1.
    """

    def __init__(self, size: int) -> None:
        if int(size) < 1:
            raise ValueError(f"a cache holds at least 1 value, got size {size}")
        self.size = int(size)
        self._items: collections.OrderedDict[Hashable, V] = collections.OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value for ``key``: the cached one (now most recent) or ``compute()``'s."""
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value

    def keys(self) -> list[Hashable]:
        """Cached keys, least recently used first."""
        return list(self._items)

    def clear(self) -> None:
        """Drop every value."""
        self._items.clear()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
