"""Opening, filling and measuring bench stores on real temp folders.

Temp roots come only from :func:`temp_root` (a ``harness._roots`` temp root whose folder
name starts with ``store-harness-bench-``) and are removed when it exits; nothing here
touches a path outside them (``remove_tree`` refuses one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from reference_store import (
    OsFileSystem,
    Runtime,
    SessionCache,
    SessionStore,
    open_store,
)
from reference_store.fs import FileSystem

from .._roots import make_root, remove_root, require_root
from ._grid import bench_profile
from ._locks import PerKeyLockDirectoryStore

__all__ = [
    "TEMP_PREFIX",
    "build_store",
    "disk_bytes",
    "open_bench_store",
    "process_bytes_written",
    "remove_tree",
    "temp_root",
]

TEMP_PREFIX = "store-harness-bench-"


@contextlib.contextmanager
def temp_root() -> Iterator[str]:
    """A fresh real temp folder for one run, removed (with everything in it) on exit."""
    root = make_root("bench")
    try:
        yield root
    finally:
        remove_tree(root)


def remove_tree(path: str) -> None:
    """Remove a folder and everything in it, unlinking each folder's files in inode
    order -- on ext4 that touches inode tables and bitmaps sequentially, which deletes
    a 10,000-file store several times faster than directory order (and deletes are slow
    on file systems mounted with ``discard``). ``path`` must lie in a temp root."""
    if not os.path.lexists(path):
        return
    require_root(path, what="remove files")
    for parent, dirs, _files in os.walk(path, topdown=False):
        with os.scandir(parent) as scan:
            files = [e for e in scan if not e.is_dir(follow_symlinks=False)]
        files.sort(key=lambda e: e.inode())
        for entry in files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(parent, name))
    remove_root(path)  # the top folder (or whole temp root), and anything left over


def open_bench_store(
    store_path: str,
    layout: str,
    profile: str,
    *,
    fs: FileSystem | None = None,
    cache: SessionCache | None = None,
) -> SessionStore:
    """A store of one grid layout and bench profile (``directory-perkey`` included)."""
    prof = bench_profile(profile)
    seam = fs if fs is not None else OsFileSystem()
    own_cache = cache if cache is not None else SessionCache()
    if layout == "directory-perkey":
        return PerKeyLockDirectoryStore(
            store_path, profile=prof, fs=seam, runtime=Runtime(), cache=own_cache
        )
    return open_store(store_path, layout, prof, fs=seam, cache=own_cache)


def build_store(store_path: str, layout: str, profile: str, mapping: Mapping[str, Any]) -> None:
    """Write ``mapping`` as the store's initial content, then flush the machine's dirty
    data (``os.sync``) so the first timed fsync does not pay for the set-up.

    The set-up writes through the store itself (so the files are exactly the layout's),
    with fsync switched off: a hardened 10,000-file store would otherwise take its
    set-up time in fsyncs that nothing measures.
    """
    prof = bench_profile(profile)
    fast = prof.with_changes(fsync=False) if prof.fsync else prof
    base = "directory" if layout == "directory-perkey" else layout
    store = open_store(store_path, base, fast, cache=SessionCache())
    try:
        store.save(dict(mapping))
    finally:
        store.close()
    if hasattr(os, "sync"):
        os.sync()


def disk_bytes(folder: str) -> int:
    """Bytes of every regular file under ``folder``."""
    total = 0
    for parent, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(parent, name)).st_size
    return total


def process_bytes_written() -> int | None:
    """Bytes this process has passed to ``write``-family calls (Linux ``/proc/self/io``
    ``wchar``), or ``None`` where the kernel does not tell."""
    try:
        with open("/proc/self/io", "rb") as handle:
            for line in handle:
                if line.startswith(b"wchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
