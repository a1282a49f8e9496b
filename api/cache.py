"""Generated pages and figures, cached per store revision.

Every write bumps the store's revision (``layers.store.Store.transaction``), so a cache
keyed on it can never serve a page older than the data: the first request after a write
finds no entry for the new revision and builds afresh.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

from layers.store import Store

__all__ = ["RevisionCache"]

T = TypeVar("T")


class RevisionCache:
    """A small LRU of built responses keyed on ``(store revision, key)``.

    Parameters
    ----------
    store
        The store whose revision invalidates entries.
    size
        How many entries to keep (pages are a few hundred KB each).
    """

    def __init__(self, store: Store, size: int = 64):
        self.store = store
        self.size = size
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The cached value for ``key`` at the current revision, built once when missing."""
        full = (self.store.revision, key)
        with self._lock:
            if full in self._entries:
                self._entries.move_to_end(full)
                return self._entries[full]
            gate = self._building.setdefault(full, threading.Lock())
        with gate:  # concurrent requests for the same page build it once
            with self._lock:
                if full in self._entries:
                    return self._entries[full]
            value = build()
            with self._lock:
                self._entries[full] = value
                self._entries.move_to_end(full)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                self._building.pop(full, None)
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
