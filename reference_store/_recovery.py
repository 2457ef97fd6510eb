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

from ._atomic import TMP_SUFFIX, remove_file
from ._codec import decode_json
from ._profile import Profile
from .fs import FileSystem

__all__ = ["legacy_temp_files", "settle_temp_file"]


def legacy_temp_files(fs: FileSystem, store_path: str) -> list[str]:
    """Paths of the temp files of ``store_path`` (``<name>.<token>.tmp`` beside it)."""
    folder = os.path.dirname(store_path)
    prefix = os.path.basename(store_path) + "."
    try:
        names = fs.listdir(folder)
    except FileNotFoundError:
        return []
    return [
        os.path.join(folder, n) for n in names if n.startswith(prefix) and n.endswith(TMP_SUFFIX)
    ]


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
