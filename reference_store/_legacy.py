"""Layout 1: the whole map in one ``sessions.json``, rewritten on every change.

Promise: every call is all-or-nothing for the whole store (one rename publishes it);
durable after power loss only with hardened ``fsync``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from ._atomic import quarantine, write_atomic
from ._base import Problem, SessionStore, StoreMap, Unwritten
from ._cache import cache_ttl_ms
from ._codec import decode_json, decode_json_lenient, encode_json
from ._keys import resolve_key
from ._lock import StoreLock

__all__ = ["LegacyStore"]

T = TypeVar("T")


class LegacyStore(SessionStore):
    layout = "legacy"

    def __init__(self, store_path: str, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.lock = StoreLock(self.fs, self.store_path + ".lock", self.profile, self.runtime)

    # --- reading ---------------------------------------------------------------------------
    def _read_raw(self) -> tuple[StoreMap, bool, bytes | None]:
        """(map, corrupt, bytes): a missing file is ``{}``; a corrupt one ``{}`` and the
        flag; the bytes only of a file that parsed (else ``None``)."""
        try:
            raw = self.fs.read_file(self.store_path)
        except FileNotFoundError:
            return {}, False, None
        except OSError as exc:
            if self.profile.quarantine_corrupt:
                raise  # a file we cannot read may hold every session: never write over it
            # HAZARD(quarantine_corrupt): upstream catches every read error (EACCES, EISDIR,
            # EIO) as if the file were empty, and the next save replaces what it could not read.
            return (*self._corrupt(f"unreadable: {exc.strerror or exc}"), None)
        try:
            # HAZARD(quarantine_corrupt): upstream decodes leniently, so bytes that are not
            # UTF-8 inside a string load as U+FFFD and the next save writes that in their
            # place; hardened treats such a file as corrupt and moves it aside unchanged.
            decode = decode_json if self.profile.quarantine_corrupt else decode_json_lenient
            data = decode(raw)
        except ValueError as exc:
            reason = "empty file" if not raw else f"unparsable JSON: {exc}"
            return (*self._corrupt(reason), None)
        if not isinstance(data, dict):
            return (*self._corrupt(f"top level is {type(data).__name__}, not an object"), None)
        return data, False, raw

    def _corrupt(self, reason: str) -> tuple[StoreMap, bool]:
        # HAZARD(quarantine_corrupt): upstream silently treats a corrupt file as {} and
        # the next save overwrites every session. Hardened reports it and, before any
        # write, moves it aside (see _persist).
        if self.profile.quarantine_corrupt:
            self.problems.append(Problem(self.store_path, reason))
        return {}, True

    def load(self, skip_cache: bool = False) -> StoreMap:
        if not skip_cache:
            signature = self._signature()
            hit = self.cache.get(
                self.store_path, self.runtime.now_ms(), cache_ttl_ms(), signature or (-1, -1)
            )
            if hit is not None:
                return hit
        data = self._read_raw()[0]
        if cache_ttl_ms() > 0:
            self.cache.put(
                self.store_path, self.runtime.now_ms(), data, self._signature() or (-1, -1)
            )
        return data

    def _signature(self) -> tuple[int, int] | None:
        try:
            st = self.fs.stat(self.store_path)
        except FileNotFoundError:
            return None
        return (st.mtime_ns, st.size)

    def read_updated_at(self, key: str) -> int | None:
        data = self.load()
        found, _ = resolve_key(data, key, deterministic=self.profile.deterministic_tiebreak)
        if found is None:
            return None
        entry = data[found]
        value = entry.get("updatedAt") if isinstance(entry, dict) else None
        return value if isinstance(value, int) else None

    # --- writing ---------------------------------------------------------------------------
    def _change_all(self, mutator: Callable[[StoreMap], T], *, full_write: bool) -> T:
        with self.lock.held():
            data, corrupt, raw = self._read_raw()
            result = self._run_mutator(data, mutator, None)
            self._persist(data, corrupt, raw)
            return result

    def _change_key(self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool) -> Any:
        with self.lock.held():
            raw = None
            if fresh:
                data, corrupt, raw = self._read_raw()
            else:
                data, corrupt = self.load(), False
            result = change(data)
            if isinstance(result, Unwritten):
                return result.result
            self._persist(data, corrupt, raw)
            return result

    def _persist(self, data: StoreMap, corrupt: bool, raw: bytes | None = None) -> None:
        """Write ``data`` over the file, which held ``raw`` when it was read (if known).

        A write of exactly the bytes just read is skipped, as upstream's
        saveSessionStoreUnlocked skips one equal to what the process last read or wrote
        (the lock is still taken). Upstream compares with its own last view, which may be
        older than the disk; here it is the read under the lock, so only a call that
        changed nothing is skipped.
        """
        content = encode_json(data)
        if raw is not None and not corrupt and content == raw:
            return
        if corrupt and self.profile.quarantine_corrupt:
            with contextlib.suppress(FileNotFoundError):
                quarantine(self.fs, self.store_path, self.profile, self.runtime)
        self.cache.invalidate(self.store_path)
        try:
            write_atomic(
                self.fs,
                self.store_path,
                content,
                self.profile,
                self.runtime,
                chmod=True,
                retry_on_enoent=True,
            )
        finally:
            self.cache.invalidate(self.store_path)
