"""Foreign file systems: macOS and Windows file-name rules over a Linux folder.

THE EMULATION (written once here; ``docs/foreign-fs.md`` says why it is a seam wrapper
and not pyfakefs's own OS switch). It applies to every path component below the
emulation root; paths outside it pass through untouched.

All three semantics, ``linux`` included (a real Linux kernel does this already; pyfakefs
does not, so on the ``fake`` backend these rules are what makes it answer like a real
folder):

* a name longer than 255 bytes of UTF-8 is refused with ``ENAMETOOLONG``;
* a path holding NUL raises ``ValueError("embedded null byte")``, as Python does before
  any system call (pyfakefs answers ``ENOTDIR`` instead).

``macos`` (APFS/HFS+ as a Mac ships them: case-insensitive):

* **case-insensitive, case-preserving**: a name finds an existing entry whose name has the
  same fold (NFD, then Unicode full case folding), so ``A.json`` and ``a.json`` are one
  file, listed under the spelling it was created with;
* **NFD**: a new name is stored in Unicode normal form D (what HFS+ does; APFS keeps the
  form it was given but compares forms as equal -- the collisions are the same, only the
  spelling ``listdir`` returns differs), so ``café`` (NFC) and ``café`` (NFD) are one file
  and ``listdir`` answers the decomposed spelling;
* the 255-byte limit counts the stored (NFD) name.

``windows`` (NTFS through the Win32 API, as Python's ``os`` and Node's ``fs`` use it):

* **case-insensitive, case-preserving**: the fold upper-cases each character by its
  simple one-to-one mapping (NTFS's upcase table), no Unicode normalization;
* **trailing dots and spaces** of every component are dropped (Win32 path
  normalization): ``x.`` and ``x `` name the file ``x``;
* **invalid characters** ``< > : " | ? *``, ``\\`` (a separator there) and U+0001-U+001F
  are refused with ``EINVAL``;
* **reserved device names** ``CON PRN AUX NUL COM0-9 LPT0-9 COM¹²³ LPT¹²³``, in any case,
  alone or with an extension (``CON.json``, ``nul.tar.gz``), trailing spaces ignored,
  are refused with ``EINVAL`` (the rule before Windows 11, which accepts some of them
  with an extension; a real Windows opens the device instead of a file, so a write
  vanishes -- refusing is the loud form of the same loss);
* **open files are pinned**: a file open for writing or held by ``try_lock`` cannot be
  unlinked, renamed, or be the target of a rename (``EACCES``: Python opens without
  ``FILE_SHARE_DELETE``);
* **a rename never replaces a folder** (``EACCES``), while a rename onto a closed file
  replaces it (``os.replace`` and Node's ``fs.rename`` use
  ``MoveFileExW(MOVEFILE_REPLACE_EXISTING)``);
* a name must fit the 255 bytes of the Linux folder below; NTFS's own limit, 255 UTF-16
  code units, is looser (never more units than bytes), so a 200-character name of
  two-byte letters is refused here and accepted there.

A rename onto a name that exists in another spelling replaces that file and keeps its
spelling (real systems may take the new one; it is the same single file either way).

Not emulated: the 260-character ``MAX_PATH``; permission bits (Windows keeps only
read-only); folder fsync (a Windows ``open`` of a folder fails; the explorer does not
forward syncs, faultfs header); advisory locks (the seam's ``flock`` has no Windows twin
here, so locks behave as on Linux); 8.3 short names; transient sharing violations from
virus scanners and indexers (that is the explorer's ``error:EACCES`` fault at
``replace``); macOS ``F_FULLFSYNC`` and ``._`` files; case-only renames.

Two layers, so that the fault filesystem between them sees the disk as it is:

* :class:`NameRules` (inside the fault layer) refuses what the OS refuses, so a refusal is
  a traced operation with its errno, like a kernel's;
* :class:`NameSpelling` (outside it) maps each name the store asks for to the entry the
  OS would find, looking at the disk through an untraced ``probe``; the trace, the
  power-loss tracker and the file snapshots therefore name files as they are on disk.

:func:`foreign_fs` stacks both over one seam for direct use.
"""

from __future__ import annotations

import errno
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from harness._errors import UsageError
from reference_store.fs import FileStat, FileSystem, FileSystemWrapper, Handle, OsFileSystem

__all__ = [
    "FS_SEMANTICS",
    "SEMANTICS",
    "NameRules",
    "NameSpelling",
    "Semantics",
    "foreign_fs",
    "semantics",
    "spelling_layer",
]

_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"{port}{i}" for port in ("COM", "LPT") for i in range(10)]
    + [f"{port}{sup}" for port in ("COM", "LPT") for sup in "¹²³"]
)
_WINDOWS_INVALID = frozenset('<>:"|?*\\') | frozenset(chr(c) for c in range(1, 32))


def _identity(name: str) -> str:
    return name


def _nfd_casefold(name: str) -> str:
    # Folding can leave composed characters behind; normalize again so that every
    # spelling of one name reaches one key.
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def _ntfs_upper(name: str) -> str:
    # NTFS maps each UTF-16 unit to one unit; a character whose upper case is longer
    # ("ß" -> "SS") or lies outside the BMP keeps itself.
    out: list[str] = []
    for ch in name:
        upper = ch.upper()
        out.append(upper if len(upper) == 1 and ord(ch) <= 0xFFFF else ch)
    return "".join(out)


def _nfd(name: str) -> str:
    return unicodedata.normalize("NFD", name)


def _strip_trailing(name: str) -> str:
    if name in (".", ".."):
        return name
    return name.rstrip(". ") or name


@dataclass(frozen=True)
class Semantics:
    """One operating system's rules for names (see the module docstring)."""

    name: str
    summary: str
    #: the lookup key of a name; names with equal keys are one entry
    fold: Callable[[str], str] = _identity
    #: the spelling a new name is stored under
    spell: Callable[[str], str] = _identity
    case_insensitive: bool = False
    invalid_chars: frozenset[str] = frozenset()
    reserved_stems: frozenset[str] = frozenset()
    pins_open_files: bool = False
    replaces_folders: bool = True

    def refusal(self, name: str) -> tuple[int, str] | None:
        """``(errno, why)`` when this OS refuses ``name`` (already spelled), else None."""
        if name in (".", ".."):
            return None
        if len(name.encode("utf-8", "surrogatepass")) > 255:
            return errno.ENAMETOOLONG, "longer than 255 bytes"
        bad = sorted({ch for ch in name if ch in self.invalid_chars})
        if bad:
            return errno.EINVAL, f"characters {self.name} refuses in a name: {bad!r}"
        stem = name.split(".", 1)[0].rstrip(" ").upper()
        if stem in self.reserved_stems:
            return errno.EINVAL, f"reserved device name on {self.name}: {stem}"
        return None


SEMANTICS: dict[str, Semantics] = {
    "linux": Semantics(
        "linux",
        "case-sensitive, names are bytes: only the 255-byte limit and NUL",
    ),
    "macos": Semantics(
        "macos",
        "case-insensitive and case-preserving, names stored in NFD, 255 bytes",
        fold=_nfd_casefold,
        spell=_nfd,
        case_insensitive=True,
    ),
    "windows": Semantics(
        "windows",
        'case-insensitive and case-preserving, reserved device names and <>:"|?* refused, '
        "trailing dots and spaces dropped, open files pinned, 255 bytes",
        fold=_ntfs_upper,
        spell=_strip_trailing,
        case_insensitive=True,
        invalid_chars=_WINDOWS_INVALID,
        reserved_stems=_RESERVED,
        pins_open_files=True,
        replaces_folders=False,
    ),
}
#: The semantics names, default first.
FS_SEMANTICS: tuple[str, ...] = tuple(SEMANTICS)


def semantics(name: str) -> Semantics:
    """The rules of one semantics by name; a clear error for an unknown one."""
    try:
        return SEMANTICS[name]
    except KeyError:
        known = ", ".join(FS_SEMANTICS)
        raise UsageError(f"unknown file-system semantics {name!r}; choose one of {known}") from None


_UNJUDGED = (0, "")


def _below(root: str, path: str) -> list[str] | None:
    """The components of ``path`` below ``root``, or None when it is not below it."""
    prefix = root + os.sep
    if path.startswith(prefix):
        # The store's paths are joined from the root: no need to normalize them (which
        # costs more under pyfakefs than the rest of the check).
        parts = path[len(prefix) :].split(os.sep)
        if "" not in parts and "." not in parts and ".." not in parts:
            return parts
    full = os.path.abspath(path)
    if not full.startswith(root + os.sep):
        return None
    return full[len(root) + 1 :].split(os.sep)


class NameRules(FileSystemWrapper):
    """Refuses the names and operations the emulated OS refuses (module docstring)."""

    def __init__(self, inner: FileSystem, root: str, rules: Semantics) -> None:
        super().__init__(inner)
        self.root = os.path.abspath(root)
        self.rules = rules
        self._open: dict[Handle, str] = {}
        self._verdicts: dict[str, tuple[int, str] | None] = {}

    def _check(self, path: str) -> None:
        if "\x00" in path:
            raise ValueError("embedded null byte")
        for part in _below(self.root, path) or ():
            # Names repeat (every entry is stat'ed, read, replaced): judge each once.
            refused = self._verdicts.get(part, _UNJUDGED)
            if refused is _UNJUDGED:
                refused = self._verdicts[part] = self.rules.refusal(part)
            if refused is not None:
                code, why = refused
                # Under Linux rules the kernel's own words: a real folder says the same.
                text = os.strerror(code)
                if self.rules.name != "linux":
                    text += f" (emulated {why})"
                raise OSError(code, text, path)

    def _pinned(self, *paths: str) -> None:
        if not self.rules.pins_open_files:
            return
        held = set(self._open.values())
        for path in paths:
            if os.path.abspath(path) in held:
                raise OSError(
                    errno.EACCES,
                    f"{os.strerror(errno.EACCES)} (emulated {self.rules.name}: the file "
                    "is open and cannot be removed or renamed)",
                    path,
                )

    # --- files -------------------------------------------------------------------------
    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        self._check(path)
        handle = self.inner.open_write(path, mode=mode, exclusive=exclusive)
        self._open[handle] = os.path.abspath(path)
        return handle

    def close(self, handle: Handle) -> None:
        self._open.pop(handle, None)
        self.inner.close(handle)

    def read_file(self, path: str) -> bytes:
        self._check(path)
        return self.inner.read_file(path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        self._check(path)
        handle = self.inner.try_lock(path, mode=mode)
        if handle is not None:
            self._open[handle] = os.path.abspath(path)
        return handle

    def unlock(self, handle: Handle) -> None:
        self._open.pop(handle, None)
        self.inner.unlock(handle)

    # --- names -------------------------------------------------------------------------
    def replace(self, src: str, dst: str) -> None:
        self._check(src)
        self._check(dst)
        self._pinned(src, dst)
        if not self.rules.replaces_folders and self.inner.is_dir(dst):
            raise OSError(
                errno.EACCES,
                f"{os.strerror(errno.EACCES)} (emulated {self.rules.name}: a rename never "
                "replaces a folder)",
                dst,
            )
        self.inner.replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        self._check(src)
        self._check(dst)
        self.inner.link(src, dst)

    def unlink(self, path: str) -> None:
        self._check(path)
        self._pinned(path)
        self.inner.unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._check(path)
        self.inner.mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self._check(path)
        self.inner.rmdir(path)

    def listdir(self, path: str) -> list[str]:
        self._check(path)
        return self.inner.listdir(path)

    def stat(self, path: str) -> FileStat:
        self._check(path)
        return self.inner.stat(path)

    def fsync_dir(self, path: str) -> None:
        self._check(path)
        self.inner.fsync_dir(path)

    def chmod(self, path: str, mode: int) -> None:
        self._check(path)
        self.inner.chmod(path, mode)


class NameSpelling(FileSystemWrapper):
    """Sends each path to the entry the emulated OS would find (module docstring).

    ``probe`` reads the disk to find existing spellings; it must not be traced or
    faulted (the lookups are the kernel's work, not operations of the store).
    """

    def __init__(self, inner: FileSystem, root: str, rules: Semantics, *, probe: FileSystem):
        super().__init__(inner)
        self.root = os.path.abspath(root)
        self.rules = rules
        self.probe = probe

    def on_disk(self, path: str) -> str:
        """The path of the entry ``path`` names, as it is (or would be) spelled on disk."""
        parts = _below(self.root, path)
        if parts is None or "\x00" in path:
            return path
        current = self.root
        for part in parts:
            current = os.path.join(current, self._entry(current, part))
        return current

    def _entry(self, folder: str, name: str) -> str:
        spelled = self.rules.spell(name)
        if not self.rules.case_insensitive or spelled in (".", ".."):
            return spelled
        try:
            self.probe.stat(os.path.join(folder, spelled))
        except OSError:
            pass
        else:
            return spelled
        try:
            names = self.probe.listdir(folder)
        except OSError:
            return spelled
        key = self.rules.fold(spelled)
        for existing in names:
            if self.rules.fold(existing) == key:
                return existing
        return spelled

    # --- files -------------------------------------------------------------------------
    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        return self.inner.open_write(self.on_disk(path), mode=mode, exclusive=exclusive)

    def read_file(self, path: str) -> bytes:
        return self.inner.read_file(self.on_disk(path))

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        return self.inner.try_lock(self.on_disk(path), mode=mode)

    # --- names -------------------------------------------------------------------------
    def replace(self, src: str, dst: str) -> None:
        self.inner.replace(self.on_disk(src), self.on_disk(dst))

    def link(self, src: str, dst: str) -> None:
        self.inner.link(self.on_disk(src), self.on_disk(dst))

    def unlink(self, path: str) -> None:
        self.inner.unlink(self.on_disk(path))

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self.inner.mkdir(self.on_disk(path), mode=mode)

    def rmdir(self, path: str) -> None:
        self.inner.rmdir(self.on_disk(path))

    def listdir(self, path: str) -> list[str]:
        return self.inner.listdir(self.on_disk(path))

    def stat(self, path: str) -> FileStat:
        return self.inner.stat(self.on_disk(path))

    def fsync_dir(self, path: str) -> None:
        self.inner.fsync_dir(self.on_disk(path))

    def chmod(self, path: str, mode: int) -> None:
        self.inner.chmod(self.on_disk(path), mode)


def spelling_layer(name: str, inner: FileSystem, root: str, *, probe: FileSystem) -> FileSystem:
    """``inner`` itself under case-sensitive Linux rules (nothing to respell), else a
    :class:`NameSpelling` over it."""
    rules = semantics(name)
    if rules.spell is _identity and not rules.case_insensitive:
        return inner
    return NameSpelling(inner, root, rules, probe=probe)


def foreign_fs(name: str, root: str, inner: FileSystem | None = None) -> FileSystem:
    """A seam over ``inner`` (default: the real one) with ``name``'s rules below ``root``."""
    base = inner if inner is not None else OsFileSystem()
    return spelling_layer(name, NameRules(base, root, semantics(name)), root, probe=base)
