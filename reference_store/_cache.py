"""The in-process session cache (upstream): TTL, default 45 s, shared by every store
object of a process for the same path, so one process's stale view is every caller's.

Legacy hits also require the file's mtime and size unchanged; directory hits rely on
TTL alone (upstream), invalidated by this process's own writes only -- so another
process's writes stay invisible until the TTL runs out.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_TTL_MS", "PROCESS_CACHE", "SessionCache", "cache_ttl_ms"]

DEFAULT_TTL_MS = 45_000


def cache_ttl_ms() -> int:
    raw = os.environ.get("OPENCLAW_SESSION_CACHE_TTL_MS")
    if raw is None:
        return DEFAULT_TTL_MS
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_TTL_MS


@dataclass
class _Cached:
    loaded_at_ms: int
    data: dict[str, Any]
    signature: tuple[int, int] | None


class SessionCache:
    def __init__(self) -> None:
        self._entries: dict[str, _Cached] = {}
        self._guard = threading.Lock()

    def get(
        self, key: str, now_ms: int, ttl_ms: int, signature: tuple[int, int] | None = None
    ) -> dict[str, Any] | None:
        """A deep copy of the cached map, or ``None`` on a miss."""
        if ttl_ms <= 0:
            return None
        with self._guard:
            hit = self._entries.get(key)
            if hit is None or now_ms - hit.loaded_at_ms > ttl_ms:
                return None
            if hit.signature is not None and hit.signature != signature:
                return None
            return copy.deepcopy(hit.data)

    def put(
        self, key: str, now_ms: int, data: dict[str, Any], signature: tuple[int, int] | None
    ) -> None:
        with self._guard:
            self._entries[key] = _Cached(now_ms, copy.deepcopy(data), signature)

    def invalidate(self, key: str) -> None:
        with self._guard:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


PROCESS_CACHE = SessionCache()
