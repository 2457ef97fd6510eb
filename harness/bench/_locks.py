"""Lock instruments, and the per-entry-lock directory variant the benchmarks compare.

* :class:`TimedStoreLock` is the store's own :class:`StoreLock`, timed around
  ``acquire`` with ``perf_counter_ns`` (the store's ``LockStats.waited_ms`` has only
  millisecond resolution). The time includes taking an uncontended lock (a few seam
  calls), so "lock acquire" is never zero.
* :func:`instrument_lock` swaps a store's lock for a timed one with the same path,
  profile and runtime -- the same protocol, only observed. SQLite has no lock object:
  its wait is the time ``BEGIN IMMEDIATE`` takes, seen through the connection's trace
  callback (which fires when a statement starts to run).
* :class:`PerKeyLockDirectoryStore` is the hardened directory layout with one lock file
  per keyed file name instead of the single store lock, to show what the single lock
  costs. It is a benchmark instrument, not a store to ship: only the per-key calls
  (``update_entry``, ``update_last_route``) take per-key locks; ``update``/``save`` keep
  the store lock and do not exclude per-key writers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from reference_store import DirectoryStore, LegacyStore, SessionStore, SqliteStore
from reference_store._atomic import ensure_dir
from reference_store._lock import StoreLock

from .._errors import UsageError

__all__ = [
    "LockProbe",
    "PerKeyLockDirectoryStore",
    "TimedStoreLock",
    "instrument_lock",
]

T = TypeVar("T")


class LockProbe:
    """Where timed locks of one writer report the duration of their last acquire."""

    def __init__(self) -> None:
        self.last_ns: int | None = None

    def take(self) -> int | None:
        """The last duration, cleared (so a call that took no lock reports ``None``)."""
        value, self.last_ns = self.last_ns, None
        return value


class TimedStoreLock(StoreLock):
    """A :class:`StoreLock` that reports how long each ``acquire`` took."""

    def __init__(self, *args: Any, probe: LockProbe, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.probe = probe

    def acquire(self) -> None:
        start = time.perf_counter_ns()
        super().acquire()
        self.probe.last_ns = time.perf_counter_ns() - start


class PerKeyLockDirectoryStore(DirectoryStore):
    """Hardened directory layout with a lock file per keyed file name.

    Lock files live in ``<layout folder>.locks/<keyed file name>.flock`` (hardened
    ``flock`` files, which stay once created), beside (not in) the layout's folder, so
    loads and scans never see them. Needs ``keyed_files``: only
    then does one file hold every case variant of a key, so locking that one name is
    enough for a read-modify-write of the key.
    """

    layout = "directory-perkey"

    def __init__(self, store_path: str, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        if not self.profile.keyed_files:
            raise UsageError(
                "per-entry locks need the hardened keyed files (one file per normal form); "
                f"profile {self.profile.name!r} has keyed_files off"
            )
        self.locks_dir = self.dir + ".locks"
        self.probe: LockProbe | None = None
        self._key_locks: dict[str, StoreLock] = {}
        self._guard = threading.Lock()

    def key_lock(self, key: str) -> StoreLock:
        name = self.file_name(key)
        with self._guard:
            lock = self._key_locks.get(name)
            if lock is None:
                ensure_dir(self.fs, self.locks_dir, self.profile)
                path = os.path.join(self.locks_dir, name + ".lock")
                lock = (
                    StoreLock(self.fs, path, self.profile, self.runtime)
                    if self.probe is None
                    else TimedStoreLock(self.fs, path, self.profile, self.runtime, probe=self.probe)
                )
                self._key_locks[name] = lock
            return lock

    def _change_key(self, key: str, change: Callable[[dict[str, Any]], Any], *, fresh: bool) -> Any:
        # Same steps as DirectoryStore._change_key in keyed mode; only the lock differs.
        with self.key_lock(key).held():
            self._replay_journal()
            return self._change_keyed_file(key, change, fresh=fresh)


def instrument_lock(store: SessionStore, probe: LockProbe) -> bool:
    """Make ``store`` report each lock acquisition to ``probe``; ``False`` when it
    cannot (nothing is changed then)."""
    if isinstance(store, PerKeyLockDirectoryStore):
        store.probe = probe
        store._key_locks.clear()
        return True
    if isinstance(store, (LegacyStore, DirectoryStore)):
        old = store.lock
        store.lock = TimedStoreLock(
            store.fs,
            old.path,
            store.profile,
            store.runtime,
            timeout_ms=old.timeout_ms,
            stale_ms=old.stale_ms,
            probe=probe,
        )
        return True
    if isinstance(store, SqliteStore):
        _trace_begin(store, probe)
        return True
    return False


def _trace_begin(store: SqliteStore, probe: LockProbe) -> None:
    """Time ``BEGIN IMMEDIATE`` (where SQLite waits for its write lock) on this thread's
    connection: from the trace of that statement to the trace of the next one."""
    conn = store._conn()  # one connection per thread: instrument the caller's
    started: list[int] = []

    def trace(statement: str) -> None:
        now = time.perf_counter_ns()
        if statement.startswith("BEGIN IMMEDIATE"):
            started[:] = [now]
        elif started:
            probe.last_ns = now - started.pop()

    conn.set_trace_callback(trace)
