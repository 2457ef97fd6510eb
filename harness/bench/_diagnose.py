"""Where the time of an ``update_entry`` goes: seam time by call and target, and cProfile.

:class:`TimingFileSystem` wraps the bare seam and adds up, per (target, operation), the
calls and the nanoseconds spent inside them. The target of a call is the kind of file it
touches: ``lock`` (the lock file and its temp file), ``journal``, or ``data`` (entry
files, their temp files and their folder). Everything not spent in the seam is the
store's own Python work (JSON, key resolution, validation, the cache). cProfile then
names the Python functions that work is in.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections.abc import Callable

from reference_store.fs import FileStat, FileSystem, FileSystemWrapper, Handle, OsFileSystem

from ..report._results import ProfileRow, SeamRow

__all__ = ["TimingFileSystem", "profile_calls", "seam_rows"]


def _target(path: str) -> str:
    name = os.path.basename(path)
    if name.endswith((".lock", ".flock")) or ".lock." in name:
        return "lock"
    if name.startswith(".journal"):
        return "journal"
    return "data"


class TimingFileSystem(FileSystemWrapper):
    """Adds up calls and time per (target, operation) of every seam primitive."""

    def __init__(self, inner: FileSystem | None = None) -> None:
        super().__init__(inner if inner is not None else OsFileSystem())
        self.calls: dict[tuple[str, str], int] = {}
        self.time_ns: dict[tuple[str, str], int] = {}
        self._handles: dict[Handle, str] = {}

    def reset(self) -> None:
        self.calls.clear()
        self.time_ns.clear()

    def _timed(self, target: str, operation: str, fn: Callable[[], object]) -> object:
        start = time.perf_counter_ns()
        try:
            return fn()
        finally:
            key = (target, operation)
            self.time_ns[key] = self.time_ns.get(key, 0) + time.perf_counter_ns() - start
            self.calls[key] = self.calls.get(key, 0) + 1

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        handle = self._timed(
            _target(path),
            "open_write",
            lambda: self.inner.open_write(path, mode=mode, exclusive=exclusive),
        )
        assert isinstance(handle, int)
        self._handles[handle] = path
        return handle

    def _of(self, handle: Handle) -> str:
        return _target(self._handles.get(handle, ""))

    def write(self, handle: Handle, data: bytes) -> int:
        written = self._timed(self._of(handle), "write", lambda: self.inner.write(handle, data))
        assert isinstance(written, int)
        return written

    def fsync(self, handle: Handle) -> None:
        self._timed(self._of(handle), "fsync", lambda: self.inner.fsync(handle))

    def close(self, handle: Handle) -> None:
        target = self._of(handle)
        self._handles.pop(handle, None)
        self._timed(target, "close", lambda: self.inner.close(handle))

    def read_file(self, path: str) -> bytes:
        data = self._timed(_target(path), "read_file", lambda: self.inner.read_file(path))
        assert isinstance(data, bytes)
        return data

    def replace(self, src: str, dst: str) -> None:
        self._timed(_target(dst), "replace", lambda: self.inner.replace(src, dst))

    def link(self, src: str, dst: str) -> None:
        self._timed(_target(dst), "link", lambda: self.inner.link(src, dst))

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        handle = self._timed("lock", "try_lock", lambda: self.inner.try_lock(path, mode=mode))
        return handle if isinstance(handle, int) else None

    def unlock(self, handle: Handle) -> None:
        self._timed("lock", "unlock", lambda: self.inner.unlock(handle))

    def unlink(self, path: str) -> None:
        self._timed(_target(path), "unlink", lambda: self.inner.unlink(path))

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._timed(_target(path), "mkdir", lambda: self.inner.mkdir(path, mode=mode))

    def rmdir(self, path: str) -> None:
        self._timed(_target(path), "rmdir", lambda: self.inner.rmdir(path))

    def listdir(self, path: str) -> list[str]:
        names = self._timed(_target(path), "listdir", lambda: self.inner.listdir(path))
        assert isinstance(names, list)
        return names

    def stat(self, path: str) -> FileStat:
        result = self._timed(_target(path), "stat", lambda: self.inner.stat(path))
        assert isinstance(result, FileStat)
        return result

    def fsync_dir(self, path: str) -> None:
        self._timed("data", "fsync_dir", lambda: self.inner.fsync_dir(path))

    def chmod(self, path: str, mode: int) -> None:
        self._timed(_target(path), "chmod", lambda: self.inner.chmod(path, mode))


def seam_rows(timing: TimingFileSystem, ops: int) -> tuple[SeamRow, ...]:
    """Per-call averages over ``ops`` calls, the most expensive first."""
    rows = [
        SeamRow(
            target=target,
            operation=operation,
            calls_per_op=round(timing.calls[(target, operation)] / ops, 3),
            ns_per_op=round(timing.time_ns[(target, operation)] / ops),
        )
        for target, operation in timing.calls
    ]
    return tuple(sorted(rows, key=lambda r: (-r.ns_per_op, r.target, r.operation)))


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # built-ins: cProfile names them "<built-in method posix.fsync>"
        return name
    parts = filename.replace(os.sep, "/").split("/")
    for anchor in ("reference_store", "harness", "json", "copy", "uuid"):
        if anchor in parts[:-1]:
            short = "/".join(parts[parts.index(anchor) :])
            break
    else:
        short = "/".join(parts[-2:])
    return f"{short}:{line}({name})"


def profile_calls(run: Callable[[], None], ops: int, *, top: int = 15) -> tuple[ProfileRow, ...]:
    """cProfile ``run`` (which makes ``ops`` calls); the ``top`` functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]
    rows: list[ProfileRow] = []
    for key, (_cc, calls, tottime, cumtime, _callers) in table.items():
        rows.append(
            ProfileRow(
                function=_function_name(key),
                calls_per_op=round(calls / ops, 3),
                tottime_ns_per_op=round(tottime * 1e9 / ops),
                cumtime_ns_per_op=round(cumtime * 1e9 / ops),
            )
        )
    rows.sort(key=lambda r: (-r.tottime_ns_per_op, r.function))
    return tuple(rows[:top])
