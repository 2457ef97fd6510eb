"""The in-process session cache (upstream): TTL, default 45 s, shared by every store
object of a process for the same path, so one process's stale view is every caller's.

Legacy hits also require the file's mtime and size unchanged; directory hits rely on
TTL alone (upstream), invalidated by this process's own writes only -- so another
process's writes stay invisible until the TTL runs out.
"""

from __future__ import annotations

import copy
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_TTL_MS", "PROCESS_CACHE", "SessionCache", "cache_ttl_ms"]

DEFAULT_TTL_MS = 45_000


#: What JavaScript's ``String.prototype.trim`` removes (Python's ``str.strip`` differs:
#: it also strips U+001C..U+001F and U+0085, and keeps U+FEFF).
_JS_TRIMMED = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_STRICT_INTEGER = re.compile(r"[+-]?[0-9]+")
_MAX_SAFE_INTEGER = 2**53 - 1


def cache_ttl_ms() -> int:
    """The TTL upstream reads from ``OPENCLAW_SESSION_CACHE_TTL_MS``: a plain base-10
    integer (sign allowed, blanks around it trimmed) that is >= 0 and exact as a double;
    anything else -- ``-5``, ``1_000``, ``1.5``, ``1e3`` -- means the default, so a typo
    never turns the cache off (``int()`` would read ``-5`` as "off" and ``1_000`` as 1000).
    """
    raw = os.environ.get("OPENCLAW_SESSION_CACHE_TTL_MS")
    if not raw:
        return DEFAULT_TTL_MS
    text = raw.strip(_JS_TRIMMED)
    if not _STRICT_INTEGER.fullmatch(text):
        return DEFAULT_TTL_MS
    value = int(text)
    if value < 0 or value > _MAX_SAFE_INTEGER:
        return DEFAULT_TTL_MS
    return value


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
