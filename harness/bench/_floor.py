"""The floor: the least any store can pay to replace one file of ``n`` bytes atomically.

It is the tmp + rename write done directly on the bare seam (:class:`OsFileSystem`):
open the temp file, write the bytes, fsync it (when the profile fsyncs), close, rename
over the target, fsync the folder (when the profile fsyncs). No lock, no read, no JSON,
no validation. The target sits in the folder the store's update writes to, so both
renames and folder fsyncs work on a folder of the same size. ``update_entry / floor``
for the same bytes in the same run says how much of an update is the file system's
price and how much is the store's own work.
"""

from __future__ import annotations

import itertools
import os
import time

from reference_store.fs import FileSystem, Handle, OsFileSystem

__all__ = ["WriteCountingFileSystem", "floor_write", "measure_floor"]

_tokens = itertools.count(1)


class WriteCountingFileSystem(OsFileSystem):
    """The bare seam, adding up the bytes passed to ``write`` -- and nothing else.

    This is the seam a timed ``update_entry`` runs on, so that the store and its floor
    pay the same price per seam call. A :class:`~reference_store.fs.CountingFileSystem`
    in the timed path put one more Python call (and its dictionary and list updates)
    around each of the ~20 seam calls of an update and none around the floor's 6: 0.01x
    to 0.05x of a hardened ratio was the instrument's, the most at 10,000 entries
    (docs/benchmarks.md). Calls per update are counted on untimed updates instead.
    """

    def __init__(self) -> None:
        self.bytes_written = 0

    def write(self, handle: Handle, data: bytes) -> int:
        written = super().write(handle, data)
        self.bytes_written += written
        return written


def floor_write(fs: FileSystem, path: str, data: bytes, *, fsync: bool) -> None:
    """Replace ``path`` with ``data`` atomically, with the fewest seam calls there are."""
    tmp = f"{path}.{next(_tokens):08x}.tmp"
    handle = fs.open_write(tmp, mode=0o600)
    try:
        fs.write(handle, data)
        if fsync:
            fs.fsync(handle)
    finally:
        fs.close(handle)
    fs.replace(tmp, path)
    if fsync:
        fs.fsync_dir(os.path.dirname(path))


def measure_floor(
    path: str,
    nbytes: int,
    *,
    fsync: bool,
    max_ops: int,
    min_ops: int,
    seconds: float,
    fs: FileSystem | None = None,
) -> list[int]:
    """Timings (ns) of floor writes of ``nbytes`` over ``path`` (put it in the folder
    the store writes to: a rename's cost depends on the folder): at least ``min_ops``, at
    most ``max_ops``, stopping after ``seconds`` once the minimum is reached. The file
    is left in place."""
    seam = fs if fs is not None else OsFileSystem()
    data = b"f" * max(1, nbytes)
    floor_write(seam, path, data, fsync=fsync)  # warm-up: the target exists, as in a store
    timings: list[int] = []
    deadline = time.perf_counter_ns() + int(seconds * 1e9)
    while len(timings) < max_ops and (len(timings) < min_ops or time.perf_counter_ns() < deadline):
        start = time.perf_counter_ns()
        floor_write(seam, path, data, fsync=fsync)
        timings.append(time.perf_counter_ns() - start)
    return timings
