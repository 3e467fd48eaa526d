"""The report result cache, keyed by (app, report, version, call) and invalidated
per form.

A cached result is stamped with the change counters of every form its report reads
(the source and the joined forms). The record service calls `invalidate(app, form)`
after a write; the counter moves on, and every result stamped with the old value is
a miss from then on — no scan of the cache, no list of dependent reports to keep.

Counters live in process (`MemoryCounters`). With several API processes a write in
one process is not seen by the others' counters, so entries also expire after
`ttl_seconds` (default 60 s), which bounds how stale a dashboard can be; a
`ChangeCounters` over a shared table (or Redis) removes that bound without changing
this module.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any, Protocol


class ChangeCounters(Protocol):
    def bump(self, app: str, form: str) -> None: ...

    def stamp(self, app: str, forms: Iterable[str]) -> tuple[int, ...]: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def bump(self, app: str, form: str) -> None:
        with self._lock:
            self._counts[(app, form)] = self._counts.get((app, form), 0) + 1

    def stamp(self, app: str, forms: Iterable[str]) -> tuple[int, ...]:
        return tuple(self._counts.get((app, f), 0) for f in sorted(forms))


def call_key(**parts: Any) -> str:
    """A canonical text for the arguments of a call (sorted keys, values as text)."""
    return json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)


class ReportCache:
    """A bounded LRU of results; thread-safe; entries expire after `ttl_seconds`."""

    def __init__(self, counters: ChangeCounters | None = None, *, max_entries: int = 1024,
                 ttl_seconds: float | None = 60.0) -> None:
        self.counters: ChangeCounters = counters or MemoryCounters()
        self.max_entries, self.ttl = max_entries, ttl_seconds
        self._entries: OrderedDict[Hashable, tuple[tuple[int, ...], float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, app: str, forms: Iterable[str]) -> Any | None:
        stamp = self.counters.stamp(app, forms)
        with self._lock:
            entry = self._entries.get(key)
            fresh = entry is not None and entry[0] == stamp and (
                self.ttl is None or time.monotonic() - entry[1] < self.ttl)
            if not fresh or entry is None:
                self.misses += 1
                self._entries.pop(key, None)
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: Hashable, app: str, forms: Iterable[str], value: Any) -> None:
        stamp = self.counters.stamp(app, forms)
        with self._lock:
            self._entries[key] = (stamp, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, app: str, form: str) -> None:
        """A record of `form` changed: results that read it are stale from now on."""
        self.counters.bump(app, form)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, int]:
        """Hits and misses since the process started, and the entries held: what a
        metrics endpoint or a test reads to see whether dashboards come from the cache."""
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "entries": len(self._entries)}


DEFAULT_CACHE = ReportCache()
"""The process's cache (what `invalidate` bumps); pass another to the services in tests."""


def invalidate(app: str, form: str) -> None:
    """Called by the record service after any write to a record of `form`."""
    DEFAULT_CACHE.invalidate(app, form)
