"""Writing one file safely (or, in the seed profile, as safely as upstream does).

Crash model this code is written against: a process may die between any two seam
operations; with power loss, unsynced data and unsynced names may vanish. A tmp + rename
write is atomic against process death; only fsync of the file before the rename and of
the folder after it makes it survive power loss (hardened ``fsync``).
"""

from __future__ import annotations

import contextlib
import errno
import os

from ._profile import Profile
from ._runtime import Runtime
from .fs import FileSystem

__all__ = ["TMP_SUFFIX", "ensure_dir", "quarantine", "remove_file", "write_atomic"]

TMP_SUFFIX = ".tmp"
FILE_MODE = 0o600
DIR_MODE = 0o700


def write_atomic(
    fs: FileSystem,
    path: str,
    data: bytes,
    profile: Profile,
    runtime: Runtime,
    *,
    chmod: bool = False,
    retry_on_enoent: bool = False,
) -> None:
    """Write ``path`` as ``<path>.<token>.tmp`` then rename it over ``path``.

    ``retry_on_enoent`` picks which of upstream's two ENOENT behaviours the seed follows
    (``enoent_fallback``): the legacy file's (the release's saveSessionStoreUnlocked) or
    an entry file's (the pull request's writeSessionEntryToDir).
    """
    try:
        _write_through_temp(fs, path, data, profile, runtime, chmod=chmod)
    except OSError as exc:
        if exc.errno != errno.ENOENT or not profile.enoent_fallback:
            raise
        if retry_on_enoent:
            # HAZARD(enoent_fallback): the release tries the atomic write once more and,
            # should that meet ENOENT too, returns as if it had written: the caller's
            # acknowledged change is silently not on disk.
            with contextlib.suppress(FileNotFoundError):
                _write_through_temp(fs, path, data, profile, runtime, chmod=chmod)
            return
        # HAZARD(enoent_fallback): the pull request makes the folder again and writes the
        # target in place -- truncate, then write, so a crash or a full disk leaves it
        # torn or empty -- and swallows any error of that write.
        with contextlib.suppress(OSError):
            with contextlib.suppress(FileExistsError):
                fs.mkdir(os.path.dirname(path))
            fs.write_file(path, data, mode=FILE_MODE)
        return
    if profile.fsync:
        fs.fsync_dir(os.path.dirname(path))  # FIX(fsync): the rename itself durable


def _write_through_temp(
    fs: FileSystem, path: str, data: bytes, profile: Profile, runtime: Runtime, *, chmod: bool
) -> None:
    """One temp file renamed over ``path``; on an error the temp file is removed."""
    tmp = f"{path}.{runtime.new_token()}{TMP_SUFFIX}"
    try:
        handle = fs.open_write(tmp, mode=FILE_MODE)
        try:
            fs.write(handle, data)
            if profile.fsync:
                fs.fsync(handle)  # FIX(fsync): data durable before the name points at it
        finally:
            fs.close(handle)
        if chmod:
            fs.chmod(tmp, FILE_MODE)
        fs.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            fs.unlink(tmp)
        raise


def remove_file(fs: FileSystem, path: str, profile: Profile) -> None:
    """Unlink ``path`` (already gone is fine), folder fsynced in hardened."""
    try:
        fs.unlink(path)
    except FileNotFoundError:
        return
    if profile.fsync:
        fs.fsync_dir(os.path.dirname(path))


def quarantine(fs: FileSystem, path: str, profile: Profile, runtime: Runtime) -> str:
    """Move a corrupt file aside as ``<path>.corrupt.<ms>`` (never delete it).

    The first free name from now on: a restart's clock can repeat the value of an
    earlier quarantine of the same path (a deterministic clock always does), and a
    rename over that name would delete the copy moved aside then.
    """
    ms = runtime.now_ms()
    target = f"{path}.corrupt.{ms}"
    while fs.exists(target):
        ms += 1
        target = f"{path}.corrupt.{ms}"
    fs.replace(path, target)
    if profile.fsync:
        fs.fsync_dir(os.path.dirname(path))
    return target


def ensure_dir(fs: FileSystem, path: str, profile: Profile) -> None:
    """Create ``path`` if missing (0700 in hardened), durable in hardened."""
    try:
        fs.mkdir(path, mode=DIR_MODE if profile.fsync else 0o777)
    except FileExistsError:
        return
    if profile.fsync:
        fs.fsync_dir(os.path.dirname(path) or ".")
