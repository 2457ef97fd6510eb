"""The shapes of the store's own paths, checked at start-up (FIX(check_own_paths)).

The store owns a few names beside and inside its folder: the store file, the entries
folder, the staging folder, the lock file, the journal and the migration marker, the
SQLite database. Anyone can leave something else there -- a symbolic link, a FIFO, a
file where a folder belongs -- and upstream meets it with whatever the first system call
says: a bare ``NotADirectoryError`` from a start-up scan, a read that blocks for good on
a FIFO, a write through a link into another folder.

Hardened start-up (``recover`` and ``migrate``) looks at each of its own paths with
``lstat`` before anything reads them, and for each one that is not missing and not what
the store keeps there:

* moves it aside (``<name>.corrupt.<ms>``, reported in ``problems``) where it can hold
  none of the store's data and nobody can be using it -- a FIFO, a folder or a file of
  the wrong kind at the store file, the entries folder, the journal, the marker, the
  staging folder; a symbolic link at the journal, the marker or the staging folder;
* refuses with :class:`StorePathError` where moving it could lose data or let two
  writers in: a link at the store file or the entries folder (it may be the owner's own
  relocation, and a store reading through it could read or write outside its folder),
  and anything but a regular file at the lock or the database (another process may hold
  a lock on it).

:class:`ExplainedErrors` turns the permission errors of the seam (``EACCES``, ``EPERM``,
``EROFS``) into :class:`StorePathError` -- the same ``errno``, a message that says which
path and what to do -- so a mode-000 file or a read-only folder is not a bare traceback.

docs/foreign-files.md ("The store's own paths") has the table of every path and shape.
The check runs at start-up only: something put in place while a store is open is met by
the per-call rules (the directory layout reads only regular entry files).
"""

from __future__ import annotations

import errno as errno_module
import os
import stat as stat_module
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from ._atomic import quarantine
from ._errors import StorePathError
from ._profile import Profile
from ._runtime import Runtime
from .fs import FileStat, FileSystem, FileSystemWrapper, Handle

__all__ = [
    "DATABASE",
    "ENTRIES",
    "JOURNAL",
    "LOCK",
    "MARKER",
    "STAGING",
    "STORE_FILE",
    "ExplainedErrors",
    "Finding",
    "inspect_paths",
    "settle_paths",
]

STORE_FILE = "store file"
ENTRIES = "entries folder"
STAGING = "staging folder"
JOURNAL = "journal"
MARKER = "migration marker"
LOCK = "lock file"
DATABASE = "database"

_FOLDERS = frozenset({ENTRIES, STAGING})
#: a symbolic link here may be the owner's own relocation of the data: never moved
_LINK_REFUSED = frozenset({STORE_FILE, ENTRIES, LOCK, DATABASE})
#: another process may hold a lock on whatever is here: never moved
_ANY_REFUSED = frozenset({LOCK, DATABASE})


def kind_of(mode: int) -> str:
    """What a file of this mode is, for a message."""
    if stat_module.S_ISLNK(mode):
        return "a symbolic link"
    if stat_module.S_ISDIR(mode):
        return "a folder"
    if stat_module.S_ISREG(mode):
        return "a regular file"
    if stat_module.S_ISFIFO(mode):
        return "a FIFO"
    if stat_module.S_ISSOCK(mode):
        return "a socket"
    return "a device file"


@dataclass(frozen=True)
class Finding:
    """One own path holding something the store does not keep there."""

    path: str
    role: str
    found: str  # kind_of(...) of what is there
    refused: bool

    def error(self) -> StorePathError:
        want = "a folder" if self.role in _FOLDERS else "a regular file"
        problem = f"the store's {self.role} is {self.found}, not {want}"
        if self.found == "a symbolic link":
            problem += (
                "; the store never follows a link at its own paths (a read could reach "
                "outside its folder and a write would replace the link)"
            )
            advice = (
                "replace the link with what it points to (mv TARGET "
                f"{self.path}) and open the store again"
            )
        else:
            advice = f"remove {self.path} while no process uses the store, and open it again"
        return StorePathError(self.path, problem, advice)


def inspect_paths(fs: FileSystem, owned: Iterable[tuple[str, str]]) -> list[Finding]:
    """What is wrong at each ``(path, role)`` (``lstat`` only: nothing is opened).

    A path below something that is not a folder (the folder of the store itself) is
    refused on the spot: nothing in it can be found or kept.
    """
    findings: list[Finding] = []
    for path, role in owned:
        if any(path.startswith(f.path + os.sep) for f in findings):
            continue  # inside something already found wrong: settled with it
        try:
            found: FileStat = fs.stat(path)
        except FileNotFoundError:
            continue
        except NotADirectoryError as exc:
            folder = os.path.dirname(path)
            raise StorePathError(
                folder,
                f"a folder on the way to the store's {role} is not a folder",
                f"make {folder} a folder (or open the store somewhere else)",
                errno=exc.errno,
            ) from exc
        expected = found.is_dir if role in _FOLDERS else found.is_file
        if expected:
            continue
        kind = kind_of(found.mode)
        refused = role in _ANY_REFUSED or (kind == "a symbolic link" and role in _LINK_REFUSED)
        findings.append(Finding(path, role, kind, refused))
    return findings


def settle_paths(
    fs: FileSystem, findings: Iterable[Finding], profile: Profile, runtime: Runtime
) -> list[tuple[Finding, str]]:
    """Move aside every finding that is not refused (raise for the first refused one);
    returns each finding moved with its new name. Call it holding the store lock."""
    chosen = list(findings)
    for finding in chosen:
        if finding.refused:
            raise finding.error()
    moved: list[tuple[Finding, str]] = []
    for finding in chosen:
        try:
            moved.append((finding, quarantine(fs, finding.path, profile, runtime)))
        except FileNotFoundError:
            continue  # gone meanwhile: nothing left in the way
    return moved


# --- permission errors, explained --------------------------------------------------------------
_EXPLAINED = {errno_module.EACCES, errno_module.EPERM, errno_module.EROFS}


def _raise(exc: OSError, action: str, path: str) -> NoReturn:
    """Raise ``exc``, explained when it is a permission error (module docstring)."""
    if exc.errno not in _EXPLAINED or isinstance(exc, StorePathError):
        raise exc
    folder = os.path.dirname(path) or "."
    if exc.errno == errno_module.EROFS:
        advice = "the file system is mounted read-only; the store needs one it may write"
    else:
        advice = (
            "the store reads and writes its files as the user running it: give that user "
            f"read and write access to {folder} and to the store's files in it, then retry"
        )
    reason = (exc.strerror or os.strerror(exc.errno or 0)).lower()
    raise StorePathError(path, f"{reason} ({action})", advice, errno=exc.errno) from exc


class ExplainedErrors(FileSystemWrapper):
    """Raises the seam's permission errors as :class:`StorePathError` (module docstring);
    every other error passes unchanged, so the store's own handling still sees it.

    The derived calls go to the inner seam's own, so a seam that overrides one (a
    mutant's) is still the one that runs."""

    def write_file(self, path: str, data: bytes, *, mode: int = 0o666, sync: bool = False) -> None:
        try:
            self.inner.write_file(path, data, mode=mode, sync=sync)
        except OSError as exc:
            _raise(exc, "write", path)

    def exists(self, path: str) -> bool:
        try:
            return self.inner.exists(path)
        except OSError as exc:
            _raise(exc, "look up", path)

    def is_dir(self, path: str) -> bool:
        try:
            return self.inner.is_dir(path)
        except OSError as exc:
            _raise(exc, "look up", path)

    def remove_tree(self, path: str) -> None:
        try:
            self.inner.remove_tree(path)
        except OSError as exc:
            _raise(exc, "remove the folder", path)

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        try:
            return self.inner.open_write(path, mode=mode, exclusive=exclusive)
        except OSError as exc:
            _raise(exc, "create or write", path)

    def read_file(self, path: str) -> bytes:
        try:
            return self.inner.read_file(path)
        except OSError as exc:
            _raise(exc, "read", path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        try:
            return self.inner.try_lock(path, mode=mode)
        except OSError as exc:
            _raise(exc, "open the lock", path)

    def replace(self, src: str, dst: str) -> None:
        try:
            self.inner.replace(src, dst)
        except OSError as exc:
            _raise(exc, f"rename to {dst}", src)

    def link(self, src: str, dst: str) -> None:
        try:
            self.inner.link(src, dst)
        except OSError as exc:
            _raise(exc, "link", dst)

    def unlink(self, path: str) -> None:
        try:
            self.inner.unlink(path)
        except OSError as exc:
            _raise(exc, "remove", path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        try:
            self.inner.mkdir(path, mode=mode)
        except OSError as exc:
            _raise(exc, "create the folder", path)

    def rmdir(self, path: str) -> None:
        try:
            self.inner.rmdir(path)
        except OSError as exc:
            _raise(exc, "remove the folder", path)

    def listdir(self, path: str) -> list[str]:
        try:
            return self.inner.listdir(path)
        except OSError as exc:
            _raise(exc, "list the folder", path)

    def stat(self, path: str) -> FileStat:
        try:
            return self.inner.stat(path)
        except OSError as exc:
            _raise(exc, "look up", path)

    def fsync_dir(self, path: str) -> None:
        try:
            self.inner.fsync_dir(path)
        except OSError as exc:
            _raise(exc, "sync the folder", path)

    def chmod(self, path: str, mode: int) -> None:
        try:
            self.inner.chmod(path, mode)
        except OSError as exc:
            _raise(exc, "set the mode", path)
