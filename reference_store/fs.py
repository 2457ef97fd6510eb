"""The filesystem seam: every byte of legacy and directory store I/O passes through here.

Promise of this module
----------------------
A :class:`FileSystem` exposes file I/O at *syscall granularity*: each abstract method is
one operation a kernel would perform (open, write, fsync, close, rename, unlink, ...).
That is what lets a wrapper (the harness's fault filesystem) number every operation and
crash, fail or drop effects exactly between two of them.

* Required operations are the abstract methods; everything else (``write_file``,
  ``exists``, ``remove_tree``) is derived from them, so a wrapper that intercepts the
  required ones sees every derived call as its sequence of primitives.
* Failures are real :class:`OSError` subclasses carrying a real ``errno`` and the path,
  exactly as the kernel reports them, so store code cannot tell an injected fault from a
  real one.
* :class:`OsFileSystem` uses only ``os`` calls, so it works unchanged on a real folder and
  under pyfakefs (which patches ``os``).
* ``listdir`` returns names sorted, so that traces are byte-for-byte reproducible.

The SQLite layout does not use this seam (sqlite3 does its own I/O); it is crashed with
real process kills instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_module
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "CountingFileSystem",
    "FileStat",
    "FileSystem",
    "FileSystemWrapper",
    "Handle",
    "OsFileSystem",
]

Handle = int
"""An open file, as returned by :meth:`FileSystem.open_write`; an OS file descriptor for
:class:`OsFileSystem`, any integer a wrapper chooses otherwise."""


@dataclass(frozen=True)
class FileStat:
    """What the store needs from ``stat``: enough for the legacy cache check and modes."""

    size: int
    mtime_ns: int
    mode: int

    @property
    def is_dir(self) -> bool:
        return stat_module.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat_module.S_ISREG(self.mode)

    @property
    def permissions(self) -> int:
        return stat_module.S_IMODE(self.mode)


class FileSystem(ABC):
    """The operations a session store may perform on disk, one method per syscall."""

    # --- files -----------------------------------------------------------------------
    @abstractmethod
    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        """Open ``path`` for writing: created if missing, truncated if present.

        With ``exclusive`` the call fails with ``EEXIST`` when the file exists
        (``O_CREAT|O_EXCL``), which is how the upstream lock file is taken.
        """

    @abstractmethod
    def write(self, handle: Handle, data: bytes) -> int:
        """Write ``data`` at the handle's position; returns the bytes written."""

    @abstractmethod
    def fsync(self, handle: Handle) -> None:
        """Make the file's data durable."""

    @abstractmethod
    def close(self, handle: Handle) -> None:
        """Close the handle."""

    @abstractmethod
    def read_file(self, path: str) -> bytes:
        """Read a whole file (open, read to the end, close: one logical read)."""

    # --- advisory locks ----------------------------------------------------------------
    @abstractmethod
    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        """Open ``path`` (created empty if missing, never truncated) and take an
        exclusive advisory lock on it without waiting (``flock(LOCK_EX|LOCK_NB)``).

        Returns the handle that holds the lock, or ``None`` when another open file holds
        it. The lock lasts until :meth:`unlock` or until the handle is closed -- which the
        kernel does when the holding process dies, so such a lock never outlives its
        holder. A lock on a name that was unlinked or replaced meanwhile is not a lock on
        the file the name points at: the call then answers ``None`` too.
        """

    @abstractmethod
    def unlock(self, handle: Handle) -> None:
        """Release a lock taken by :meth:`try_lock` and close its handle."""

    # --- names -------------------------------------------------------------------------
    @abstractmethod
    def replace(self, src: str, dst: str) -> None:
        """Rename ``src`` to ``dst``, atomically replacing ``dst`` (rename(2))."""

    @abstractmethod
    def link(self, src: str, dst: str) -> None:
        """Make ``dst`` a hard link to ``src``; fails with ``EEXIST`` if ``dst`` exists
        (the atomic create-with-content used for lock files)."""

    @abstractmethod
    def unlink(self, path: str) -> None:
        """Remove a file."""

    @abstractmethod
    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        """Create one folder (its parent must exist)."""

    @abstractmethod
    def rmdir(self, path: str) -> None:
        """Remove an empty folder."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names in a folder, sorted."""

    @abstractmethod
    def stat(self, path: str) -> FileStat:
        """Size, mtime and mode of a path (follows no symlink: ``lstat``)."""

    @abstractmethod
    def fsync_dir(self, path: str) -> None:
        """Make the folder's entries (creates, renames, unlinks) durable."""

    @abstractmethod
    def chmod(self, path: str, mode: int) -> None:
        """Set permission bits."""

    # --- derived operations: each is a sequence of the primitives above ----------------
    def write_file(self, path: str, data: bytes, *, mode: int = 0o666, sync: bool = False) -> None:
        """Open, write everything, optionally fsync, close."""
        handle = self.open_write(path, mode=mode)
        try:
            self.write(handle, data)
            if sync:
                self.fsync(handle)
        finally:
            self.close(handle)

    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except FileNotFoundError:
            return False
        return True

    def is_dir(self, path: str) -> bool:
        try:
            return self.stat(path).is_dir
        except FileNotFoundError:
            return False

    def remove_tree(self, path: str) -> None:
        """Remove a folder and everything under it, one unlink or rmdir at a time."""
        for name in self.listdir(path):
            child = os.path.join(path, name)
            if self.stat(child).is_dir:
                self.remove_tree(child)
            else:
                self.unlink(child)
        self.rmdir(path)


class OsFileSystem(FileSystem):
    """The real seam: plain ``os`` calls (also what pyfakefs patches)."""

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
        return os.open(path, flags | getattr(os, "O_BINARY", 0), mode)

    def write(self, handle: Handle, data: bytes) -> int:
        view = memoryview(data)
        written = 0
        # os.write may write less than asked; loop so one seam write is one whole buffer.
        while written < len(view):
            written += os.write(handle, view[written:])
        return written

    def fsync(self, handle: Handle) -> None:
        os.fsync(handle)

    def close(self, handle: Handle) -> None:
        os.close(handle)

    def read_file(self, path: str) -> bytes:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            chunks: list[bytes] = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        if fcntl is None:  # pragma: no cover - Windows has no flock
            raise OSError(errno.ENOSYS, "advisory file locks need fcntl.flock", path)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), mode)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            # Between our open and our flock another process may have unlinked the file
            # (and someone else locked a new one under the name): a lock on a file no
            # longer named ``path`` excludes nobody.
            try:
                named = os.stat(path)
            except FileNotFoundError:
                os.close(fd)
                return None
            held = os.fstat(fd)
            if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
                os.close(fd)
                return None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return fd

    def unlock(self, handle: Handle) -> None:
        try:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        os.link(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        os.mkdir(path, mode)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def stat(self, path: str) -> FileStat:
        st = os.lstat(path)
        return FileStat(size=st.st_size, mtime_ns=st.st_mtime_ns, mode=st.st_mode)

    def fsync_dir(self, path: str) -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except IsADirectoryError:  # pragma: no cover - platforms refusing O_RDONLY on dirs
            return
        try:
            os.fsync(fd)
        except OSError as exc:
            # Some file systems (and pyfakefs) refuse fsync on a folder; durability of
            # names is then simply not available there, which is not an I/O failure.
            if exc.errno not in (errno.EINVAL, errno.EBADF, errno.EISDIR):
                raise
        finally:
            os.close(fd)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)


class FileSystemWrapper(FileSystem):
    """Delegates every primitive to an inner seam; subclasses override what they watch."""

    def __init__(self, inner: FileSystem) -> None:
        self.inner = inner

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        return self.inner.open_write(path, mode=mode, exclusive=exclusive)

    def write(self, handle: Handle, data: bytes) -> int:
        return self.inner.write(handle, data)

    def fsync(self, handle: Handle) -> None:
        self.inner.fsync(handle)

    def close(self, handle: Handle) -> None:
        self.inner.close(handle)

    def read_file(self, path: str) -> bytes:
        return self.inner.read_file(path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        return self.inner.try_lock(path, mode=mode)

    def unlock(self, handle: Handle) -> None:
        self.inner.unlock(handle)

    def replace(self, src: str, dst: str) -> None:
        self.inner.replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        self.inner.link(src, dst)

    def unlink(self, path: str) -> None:
        self.inner.unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self.inner.mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self.inner.rmdir(path)

    def listdir(self, path: str) -> list[str]:
        return self.inner.listdir(path)

    def stat(self, path: str) -> FileStat:
        return self.inner.stat(path)

    def fsync_dir(self, path: str) -> None:
        self.inner.fsync_dir(path)

    def chmod(self, path: str, mode: int) -> None:
        self.inner.chmod(path, mode)


@dataclass
class OperationCounts:
    """Tallies kept by :class:`CountingFileSystem`."""

    calls: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    bytes_read: int = 0
    opened_for_write: list[str] = field(default_factory=list)
    files_read: list[str] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)

    def count(self, name: str) -> int:
        return self.calls.get(name, 0)


class CountingFileSystem(FileSystemWrapper):
    """Counts calls, bytes and touched paths; used to prove diff-based writes and to
    measure bytes written per update."""

    def __init__(self, inner: FileSystem | None = None) -> None:
        super().__init__(inner if inner is not None else OsFileSystem())
        self.counts = OperationCounts()

    def reset(self) -> OperationCounts:
        """Start a new tally; returns the previous one."""
        previous, self.counts = self.counts, OperationCounts()
        return previous

    def _tick(self, name: str) -> None:
        self.counts.calls[name] = self.counts.calls.get(name, 0) + 1

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        self._tick("open_write")
        self.counts.opened_for_write.append(path)
        return super().open_write(path, mode=mode, exclusive=exclusive)

    def write(self, handle: Handle, data: bytes) -> int:
        self._tick("write")
        written = super().write(handle, data)
        self.counts.bytes_written += written
        return written

    def fsync(self, handle: Handle) -> None:
        self._tick("fsync")
        super().fsync(handle)

    def close(self, handle: Handle) -> None:
        self._tick("close")
        super().close(handle)

    def read_file(self, path: str) -> bytes:
        self._tick("read_file")
        data = super().read_file(path)
        self.counts.files_read.append(path)
        self.counts.bytes_read += len(data)
        return data

    def replace(self, src: str, dst: str) -> None:
        self._tick("replace")
        super().replace(src, dst)
        self.counts.replaced.append((src, dst))

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        self._tick("try_lock")
        return super().try_lock(path, mode=mode)

    def unlock(self, handle: Handle) -> None:
        self._tick("unlock")
        super().unlock(handle)

    def link(self, src: str, dst: str) -> None:
        self._tick("link")
        super().link(src, dst)

    def unlink(self, path: str) -> None:
        self._tick("unlink")
        super().unlink(path)
        self.counts.unlinked.append(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._tick("mkdir")
        super().mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self._tick("rmdir")
        super().rmdir(path)

    def listdir(self, path: str) -> list[str]:
        self._tick("listdir")
        return super().listdir(path)

    def stat(self, path: str) -> FileStat:
        self._tick("stat")
        return super().stat(path)

    def fsync_dir(self, path: str) -> None:
        self._tick("fsync_dir")
        super().fsync_dir(path)

    def chmod(self, path: str, mode: int) -> None:
        self._tick("chmod")
        super().chmod(path, mode)
