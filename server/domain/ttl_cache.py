"""A per-process cache whose entries are read again after ``ttl``: what Pipedrive or Meta said a moment ago
(custom fields, approved templates, a file's bytes) reused instead of asked for again. Time comes from the
caller (an injected clock), so a test moves it; a clock that went back counts as expired. At
``max_entries`` the oldest entry goes first."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl: timedelta, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[datetime, V]] = OrderedDict()

    def get(self, key: K, now: datetime) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now - entry[0] >= self.ttl or now < entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def put(self, key: K, now: datetime, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (now, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
