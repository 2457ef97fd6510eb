"""Settling the temp files a crashed writer left: promote the only complete copy, or
remove it (FIX(startup_cleanup); the seed leaves them for good).

Used by start-up recovery (``_open.recover``) and, before it reads ``sessions.json``, by
the hardened migration: a legacy temp file is the undecided outcome of a crashed write,
and it must be decided against the file the migration is about to retire. Decided after
the migration instead, it would be promoted over the retired file's missing name and
merged in by the next start-up -- a write that was not applied coming back later (the
Hypothesis machine found this, docs/design.md).
"""

from __future__ import annotations

import os
import stat

from ._atomic import TMP_SUFFIX, remove_file
from ._codec import decode_json
from ._profile import Profile
from .fs import FileSystem

__all__ = ["is_settleable", "legacy_temp_files", "settle_temp_file"]


def legacy_temp_files(fs: FileSystem, store_path: str, *, regular_only: bool = False) -> list[str]:
    """Paths of the temp files of ``store_path`` (``<name>.<token>.tmp`` beside it).

    ``regular_only`` (hardened) keeps only what :func:`is_settleable` accepts.
    """
    folder = os.path.dirname(store_path)
    prefix = os.path.basename(store_path) + "."
    try:
        names = fs.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = [
        os.path.join(folder, n) for n in names if n.startswith(prefix) and n.endswith(TMP_SUFFIX)
    ]
    if regular_only:
        found = [path for path in found if is_settleable(fs, path)]
    return found


def is_settleable(fs: FileSystem, path: str) -> bool:
    """Whether a file named like a crashed writer's temp file may be read, promoted or
    removed: a regular file its owner may read. A link, a folder or a FIFO is not a
    writer's copy (reading it would read outside the folder or block for good); a file
    whose read bit someone took away is not one the store made (it makes them 0600), and
    what it holds cannot be known -- both are left alone."""
    try:
        found = fs.stat(path)
    except FileNotFoundError:
        return False
    return found.is_file and bool(found.permissions & stat.S_IRUSR)


def _parses(fs: FileSystem, path: str) -> bool:
    try:
        decode_json(fs.read_file(path))
    except (OSError, ValueError):
        return False
    return True


def settle_temp_file(fs: FileSystem, tmp: str, profile: Profile) -> None:
    """Promote ``tmp`` over its target when the target is missing or unreadable and
    ``tmp`` parses (it is then the only complete copy); otherwise remove it."""
    target = tmp[: -len(TMP_SUFFIX)].rsplit(".", 1)[0]  # "<target>.<token>.tmp"
    if (
        not target.endswith(".lock")
        and not _parses(fs, target)
        and not fs.is_dir(target)
        and _parses(fs, tmp)
    ):
        fs.replace(tmp, target)
        if profile.fsync:
            fs.fsync_dir(os.path.dirname(target))
        return
    remove_file(fs, tmp, profile)
