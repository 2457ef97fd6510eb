"""Shapes planted at a store's own paths, and the seam layers that make them bite.

THE SHAPES (written once here; ``scenarios/_disk_shapes.py`` says where each is planted
and docs/foreign-files.md what each store does beside it). A :class:`Planting` puts one
shape at one path relative to the store's folder, with plain ``os`` calls (so it works
on a real folder and under pyfakefs alike):

* ``missing`` -- nothing is planted (the control row);
* ``empty`` -- an empty regular file; ``file`` -- a regular file holding ``payload``
  where the store keeps a folder; ``folder`` -- a folder holding ``planted.bin`` (the
  payload) where the store keeps a file;
* ``link-inside`` -- a relative symbolic link to ``<name>.linked`` beside it;
  ``link-outside`` -- an absolute link into ``outside/``, the store folder's sibling;
  ``link-dangling`` -- a link to a path in ``outside/`` that does not exist. With
  ``carry`` what the setup put at the path is moved behind the link (the store's own
  data, relocated); otherwise the link's target holds the payload;
* ``fifo`` -- a named pipe, which blocks any ``open`` for reading (or for writing only)
  until the other end is opened: nobody ever does;
* ``unreadable`` -- mode 000 (what the setup put there, else the payload);
* ``read-only-parent`` -- the path's folder is made 0555;
* ``case`` -- a twin under the name in another case, holding the payload (an empty
  value of the path's kind): one name with the path on a case-insensitive file system
  (``harness.faults._foreignfs``), a foreign name elsewhere.

Root ignores mode bits, and so does pyfakefs for a root process, so :class:`UserPermissions`
emulates the checks a kernel makes for the owner of the files when it is not root: with
it the ``unreadable`` and ``read-only-parent`` shapes deny the same operations for every
user on both backends, and a run's trace does not depend on who ran it.

A path may hold one ``*``: the shape is then planted at the first name matching it that
the store touches (:class:`TouchPlanter`), for names only the store can choose -- a
backup named after its clock.

Every planting can be undone (:meth:`Planting.undo`), the way an operator follows a
refusal's advice: links, FIFOs and empty files go, a planted file or folder is renamed
to ``<name>.planted``, modes come back, carried data is put back in place. Nothing a
planting holds is ever deleted by the undo.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from reference_store.fs import FileStat, FileSystem, FileSystemWrapper, Handle

__all__ = [
    "FILE_SHAPES",
    "FOLDER_SHAPES",
    "OUTSIDE",
    "SHAPES",
    "Planting",
    "TouchPlanter",
    "UserPermissions",
    "find_bytes",
    "outside_changes",
    "outside_of",
    "shaped_seam",
]

#: shape -> what is found at the path
SHAPES: dict[str, str] = {
    "missing": "nothing (the control row)",
    "empty": "an empty regular file",
    "file": "a regular file where a folder belongs",
    "folder": "a folder where a file belongs",
    "link-inside": "a symbolic link to a sibling in the same folder",
    "link-outside": "a symbolic link out of the store's folder",
    "link-dangling": "a symbolic link to a path outside that does not exist",
    "fifo": "a FIFO (named pipe)",
    "unreadable": "mode 000",
    "read-only-parent": "its folder read-only (0555)",
    "case": "a twin whose name differs in case only",
}
FILE_SHAPES = tuple(s for s in SHAPES if s != "file")
FOLDER_SHAPES = tuple(s for s in SHAPES if s not in ("empty", "folder"))
#: the store folder's sibling that links point into
OUTSIDE = "outside"
PLANTED_NAME = "planted.bin"
LINKED_SUFFIX = ".linked"
UNDONE_SUFFIX = ".planted"
_LINKS = ("link-inside", "link-outside", "link-dangling")


def outside_of(store_dir: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(store_dir)), OUTSIDE)


def _flat(rel: str) -> str:
    return rel.replace("/", "_").replace("*", "x")


def _make(path: str, folder: bool, payload: bytes) -> None:
    if folder:
        os.mkdir(path)
        path = os.path.join(path, PLANTED_NAME)
    with open(path, "wb") as handle:
        handle.write(payload)


def _case_twin(path: str) -> str:
    folder, name = os.path.split(path)
    return os.path.join(folder, name.swapcase())


@dataclass(frozen=True)
class Planting:
    """One shape at one path (module docstring)."""

    #: relative to the store folder; one ``*`` means "the first match the store touches"
    path: str
    shape: str
    #: the store keeps a folder at the path (else a regular file)
    folder: bool = False
    #: what a planted file holds (a planted folder holds it as ``planted.bin``)
    payload: bytes = b""
    #: the setup's own data is at the path: links move it behind them, undo brings it back
    carry: bool = False
    #: planted again before recovery, where the path is then free
    again: bool = True

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; known: {', '.join(SHAPES)}")

    @property
    def deferred(self) -> bool:
        """Planted at the first matching name the store touches (``*`` in the path)."""
        return "*" in self.path

    @property
    def blocks(self) -> bool:
        return self.shape == "fifo"

    def was_planted(self, store_dir: str) -> bool:
        """Whether the shape was planted at all: a deferred one only once the store
        touched a matching name (its remains match the pattern, or sit outside)."""
        if not self.deferred:
            return True
        return bool(self.planted_paths(store_dir)) or os.path.lexists(
            self.outside_target(store_dir)
        )

    @property
    def keeps(self) -> bool:
        """Whether what it holds must be found somewhere after the run (its payload is
        foreign data: moved aside or left, never deleted)."""
        kept = ("file", "folder", "link-inside", "link-outside", "unreadable")
        return bool(self.payload) and not self.carry and self.shape in kept

    @property
    def denies(self) -> bool:
        """Needs the emulated permission checks to bite as root (:class:`UserPermissions`)."""
        return self.shape in ("unreadable", "read-only-parent")

    # --- planting ------------------------------------------------------------------------
    def plant(self, store_dir: str, *, again: bool = False) -> None:
        """Plant the shape (``again``: before recovery, only where it holds no data)."""
        if self.deferred or (again and not self.again):
            return
        self.plant_at(os.path.join(store_dir, self.path), store_dir, again=again)

    def plant_at(self, path: str, store_dir: str, *, again: bool = False) -> None:
        shape, exists = self.shape, os.path.lexists(path)
        if shape == "missing":
            return
        if shape == "read-only-parent":
            with contextlib.suppress(FileNotFoundError):
                os.chmod(os.path.dirname(path), 0o555)
            return
        if shape == "unreadable":
            if not self.carry and not again:
                if exists:
                    self._clear(path)  # foreign data there, not the store's empty lock file
                _make(path, self.folder, self.payload)
                exists = True
            if exists and not os.path.islink(path):
                os.chmod(path, 0)
            return
        if shape == "case":
            twin = _case_twin(path)
            if not os.path.lexists(twin) and not (again and exists):
                _make(twin, self.folder, self.payload)
            return
        if again and (exists or (self.carry and shape in _LINKS)):
            return  # never over what the run left, never a link to data out of date
        if exists and not (self.carry and shape in _LINKS):
            self._clear(path)
        if shape == "empty":
            _make(path, False, b"")
        elif shape == "file":
            _make(path, False, self.payload)
        elif shape == "folder":
            _make(path, True, self.payload)
        elif shape == "fifo":
            os.mknod(path, stat.S_IFIFO | 0o600)
        else:
            self._link(path, store_dir, exists and self.carry)

    def _link(self, path: str, store_dir: str, move: bool) -> None:
        outside = outside_of(store_dir)
        if self.shape != "link-inside":
            os.makedirs(outside, exist_ok=True)
        if self.shape == "link-dangling":
            os.symlink(os.path.join(outside, "missing-" + _flat(self.path)), path)
            os.utime(outside, ns=(0, FROZEN_MTIME_NS))
            return
        if self.shape == "link-inside":
            target, link_text = path + LINKED_SUFFIX, os.path.basename(path) + LINKED_SUFFIX
        else:
            target = self.outside_target(store_dir)
            link_text = target
        made = move or not os.path.lexists(target)  # else planted again: the same target
        if move:
            os.rename(path, target)  # the carried data, behind the link
        elif made:
            _make(target, self.folder, self.payload)
        os.symlink(link_text, path, target_is_directory=self.folder)
        if made and self.shape == "link-outside":
            # Stamped once, when made: stamped again, a write through the link would hide.
            _stamp(target)
            os.utime(outside, ns=(0, FROZEN_MTIME_NS))

    def outside_target(self, store_dir: str) -> str:
        """Where a ``link-outside`` points (named so no store takes it for its own)."""
        return os.path.join(outside_of(store_dir), _flat(self.path) + ".target")

    @staticmethod
    def _clear(path: str) -> None:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    # --- undoing -------------------------------------------------------------------------
    def undo(self, store_dir: str) -> None:
        """Take the shape away again, keeping everything it held (module docstring)."""
        if self.shape == "read-only-parent":
            with contextlib.suppress(FileNotFoundError):
                os.chmod(os.path.dirname(os.path.join(store_dir, self.path)), 0o700)
            return
        for path in self.planted_paths(store_dir):
            self._undo_at(path, store_dir)

    def planted_paths(self, store_dir: str) -> list[str]:
        """The exact paths of this planting (every current match of a deferred one, the
        twin of a ``case`` one)."""
        path = os.path.join(store_dir, self.path)
        if not self.deferred:
            return [self.placed_at(path)]
        folder, pattern = os.path.split(self.placed_at(path))
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return []
        return [os.path.join(folder, n) for n in names if fnmatch.fnmatchcase(n, pattern)]

    def placed_at(self, path: str) -> str:
        """Where planting at ``path`` puts the object: its twin for ``case``."""
        return _case_twin(path) if self.shape == "case" else path

    def _undo_at(self, path: str, store_dir: str) -> None:
        shape = self.shape
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            found = None
        if shape == "unreadable":
            if found is not None and not stat.S_ISLNK(found.st_mode):
                os.chmod(path, 0o700 if stat.S_ISDIR(found.st_mode) else 0o600)
                if not self.carry and not os.path.lexists(path + UNDONE_SUFFIX):
                    os.rename(path, path + UNDONE_SUFFIX)  # foreign: out of the way
        elif found is None or shape in ("missing", "case"):
            return
        elif shape == "empty":
            if stat.S_ISREG(found.st_mode) and found.st_size == 0:
                os.unlink(path)
        elif shape in ("file", "folder"):
            want = stat.S_ISDIR if shape == "folder" else stat.S_ISREG
            if want(found.st_mode) and not os.path.lexists(path + UNDONE_SUFFIX):
                os.rename(path, path + UNDONE_SUFFIX)
        elif shape == "fifo":
            if stat.S_ISFIFO(found.st_mode):
                os.unlink(path)
        elif stat.S_ISLNK(found.st_mode):
            os.unlink(path)
            if self.carry and shape == "link-inside":
                os.rename(path + LINKED_SUFFIX, path)
            elif self.carry and shape == "link-outside":
                source = self.outside_target(store_dir)
                if os.path.isdir(source):
                    shutil.copytree(source, path, symlinks=True)
                else:
                    shutil.copyfile(source, path)


def find_bytes(root: str, wanted: bytes) -> bool:
    """Whether some regular file under ``root`` holds exactly ``wanted`` (a file or folder
    of mode 000 is opened up for the look and put back)."""
    opened: list[tuple[str, int]] = []
    try:
        for folder, dirs, files in os.walk(root):
            for name in dirs:
                path = os.path.join(folder, name)
                mode = stat.S_IMODE(os.lstat(path).st_mode)
                if not os.path.islink(path) and mode & 0o500 != 0o500:
                    os.chmod(path, mode | 0o500)  # os.walk lists it when it gets there
                    opened.append((path, mode))
            for name in files:
                if _holds(os.path.join(folder, name), wanted):
                    return True
        return False
    finally:
        for path, mode in reversed(opened):
            os.chmod(path, mode)


def _holds(path: str, wanted: bytes) -> bool:
    found = os.lstat(path)
    if not stat.S_ISREG(found.st_mode) or found.st_size != len(wanted):
        return False
    mode = stat.S_IMODE(found.st_mode)
    try:
        os.chmod(path, mode | stat.S_IRUSR)
        with open(path, "rb") as handle:
            return handle.read() == wanted
    finally:
        os.chmod(path, mode)


#: what a planting stamps on everything it puts under ``outside/``: a write through a link
#: changes a file's mtime, a name created or removed changes its folder's
FROZEN_MTIME_NS = 946_684_800 * 10**9  # 2000-01-01


def _stamp(top: str) -> None:
    """Stamp ``top`` and all below it (:data:`FROZEN_MTIME_NS`)."""
    paths = [top]
    if os.path.isdir(top) and not os.path.islink(top):
        for folder, dirs, files in os.walk(top):
            paths += [os.path.join(folder, n) for n in [*dirs, *files]]
    for path in reversed(paths):  # children first: stamping one touches no folder
        os.utime(path, ns=(0, FROZEN_MTIME_NS), follow_symlinks=False)


def outside_changes(store_dir: str) -> list[str]:
    """Paths under ``outside/`` (relative to its parent) whose mtime moved since they were
    planted: something was written, created or removed out of the store's folder."""
    outside = outside_of(store_dir)
    if not os.path.isdir(outside):
        return []
    changed: list[str] = []
    base = os.path.dirname(outside)
    for folder, dirs, files in os.walk(outside):
        for path in [folder, *(os.path.join(folder, n) for n in [*files, *dirs])]:
            if os.lstat(path).st_mtime_ns != FROZEN_MTIME_NS:
                changed.append(os.path.relpath(path, base))
    return sorted(set(changed))


# --- seam layers --------------------------------------------------------------------------------
_R, _W, _X = stat.S_IRUSR, stat.S_IWUSR, stat.S_IXUSR


def _denied(path: str) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)


class UserPermissions(FileSystemWrapper):
    """The owner's permission checks as a kernel makes them for a user who is not root
    (module docstring): the path's own mode for reading and writing it, its folder's
    mode for creating, renaming and removing names. Only the folder a name is in is
    looked at, not the folders above it (the shapes change no other)."""

    @staticmethod
    def _mode(path: str) -> int | None:
        try:
            return os.stat(path).st_mode
        except OSError:
            return None

    def _need(self, path: str, bits: int) -> None:
        mode = self._mode(path)
        if mode is not None and mode & bits != bits:
            raise _denied(path)

    def _in(self, path: str, bits: int = _W | _X) -> None:
        self._need(os.path.dirname(path) or ".", bits)

    def _create_or_open(self, path: str, bits: int, *, exclusive: bool = False) -> None:
        if os.path.lexists(path):
            self._in(path, _X)
            if not exclusive:  # O_EXCL on a name that exists fails with EEXIST, unopened
                self._need(path, bits)
        else:
            self._in(path)

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        self._create_or_open(path, _W, exclusive=exclusive)
        return self.inner.open_write(path, mode=mode, exclusive=exclusive)

    def read_file(self, path: str) -> bytes:
        self._in(path, _X)
        self._need(path, _R)
        return self.inner.read_file(path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        self._create_or_open(path, _R | _W)
        return self.inner.try_lock(path, mode=mode)

    def replace(self, src: str, dst: str) -> None:
        self._in(src)
        self._in(dst)
        self.inner.replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        self._in(dst)
        self.inner.link(src, dst)

    def unlink(self, path: str) -> None:
        self._in(path)
        self.inner.unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._in(path)
        self.inner.mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self._in(path)
        self.inner.rmdir(path)

    def listdir(self, path: str) -> list[str]:
        self._need(path, _R)
        return self.inner.listdir(path)

    def stat(self, path: str) -> FileStat:
        self._in(path, _X)
        return self.inner.stat(path)

    def fsync_dir(self, path: str) -> None:
        self._need(path, _R)
        self.inner.fsync_dir(path)


class TouchPlanter(FileSystemWrapper):
    """Plants each deferred planting (a path with ``*``) at the first matching name an
    operation touches, just before the operation runs (module docstring)."""

    def __init__(
        self,
        inner: FileSystem,
        store_dir: str,
        plantings: Iterable[Planting],
        *,
        again: bool = False,
        planted: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.store_dir = os.path.abspath(store_dir)
        self._waiting: list[Planting] = [p for p in plantings if p.deferred]
        self.again = again
        #: told each path right after a shape is planted there
        self.planted = planted

    def _touch(self, *paths: str) -> None:
        for path in paths:
            rel = os.path.relpath(os.path.abspath(path), self.store_dir)
            for planting in list(self._waiting):
                if fnmatch.fnmatchcase(rel, planting.path):
                    self._waiting.remove(planting)
                    if os.path.lexists(path) or (self.again and not planting.again):
                        continue
                    # A name the store is about to choose holds nothing of the run's: the
                    # shape goes there whole, before recovery too.
                    planting.plant_at(path, self.store_dir)
                    if self.planted is not None:
                        self.planted(path)

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        self._touch(path)
        return self.inner.open_write(path, mode=mode, exclusive=exclusive)

    def read_file(self, path: str) -> bytes:
        self._touch(path)
        return self.inner.read_file(path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        self._touch(path)
        return self.inner.try_lock(path, mode=mode)

    def replace(self, src: str, dst: str) -> None:
        self._touch(src, dst)
        self.inner.replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        self._touch(src, dst)
        self.inner.link(src, dst)

    def unlink(self, path: str) -> None:
        self._touch(path)
        self.inner.unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._touch(path)
        self.inner.mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self._touch(path)
        self.inner.rmdir(path)

    def listdir(self, path: str) -> list[str]:
        self._touch(path)
        return self.inner.listdir(path)

    def stat(self, path: str) -> FileStat:
        self._touch(path)
        return self.inner.stat(path)

    def fsync_dir(self, path: str) -> None:
        self._touch(path)
        self.inner.fsync_dir(path)

    def chmod(self, path: str, mode: int) -> None:
        self._touch(path)
        self.inner.chmod(path, mode)


def shaped_seam(
    inner: FileSystem,
    store_dir: str,
    plantings: Sequence[Planting],
    *,
    again: bool = False,
    planted: Callable[[str], None] | None = None,
) -> FileSystem:
    """``inner`` with the layers the plantings need: the deferred ones planted on touch,
    the permission checks of a user who is not root when a planting changes modes."""
    seam = inner
    if any(p.denies for p in plantings):
        seam = UserPermissions(seam)
    if any(p.deferred for p in plantings):
        seam = TouchPlanter(seam, store_dir, plantings, again=again, planted=planted)
    return seam
