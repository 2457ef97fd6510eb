"""The seam that announces itself: every primitive numbered and announced before it runs
(the protocol's :class:`~reference_store.protocol.OpAnnouncement`), with a pause before a
chosen one, so a parent process can kill the adapter exactly there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from .fs import FileStat, FileSystem, FileSystemWrapper, Handle
from .protocol import Json, OpAnnouncement

__all__ = [
    "AnnouncingFileSystem",
    "Emit",
]


#: Where events go: one JSON object a call (the adapter writes each as one stderr line).
Emit = Callable[[dict[str, Json]], None]


class AnnouncingFileSystem(FileSystemWrapper):
    """Numbers every seam primitive, announces it before it happens, and can pause.

    Names and numbering are the protocol's (:class:`reference_store.protocol.OpAnnouncement`).
    """

    def __init__(
        self,
        inner: FileSystem,
        emit: Emit,
        *,
        announce: bool,
        pause_at: int | None,
        pause: Callable[[], NoReturn],
        forward_syncs: bool = True,
    ) -> None:
        super().__init__(inner)
        self.emit = emit
        self.announce = announce
        self.pause_at = pause_at
        self.pause = pause
        #: ``False``: syncs are numbered and announced but not performed (``--no-sync``).
        self.forward_syncs = forward_syncs
        self.count = 0
        self.request_id: int | None = None
        self._handles: dict[Handle, str] = {}

    def _before(
        self, name: str, path: str, path2: str | None = None, size: int | None = None
    ) -> None:
        self.count += 1
        announcement = OpAnnouncement(
            n=self.count,
            name=name,
            path=path,
            path2=path2,
            size=size,
            request=self.request_id,
            paused=self.count == self.pause_at,
        )
        if announcement.paused:
            self.emit(announcement.event())
            self.pause()
        if self.announce:
            self.emit(announcement.event())

    def _path_of(self, handle: Handle) -> str:
        return self._handles.get(handle, f"<handle {handle}>")

    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        self._before("create_excl" if exclusive else "open_write", path)
        handle = super().open_write(path, mode=mode, exclusive=exclusive)
        self._handles[handle] = path
        return handle

    def write(self, handle: Handle, data: bytes) -> int:
        self._before("write", self._path_of(handle), size=len(data))
        return super().write(handle, data)

    def fsync(self, handle: Handle) -> None:
        self._before("fsync", self._path_of(handle))
        if self.forward_syncs:
            super().fsync(handle)

    def close(self, handle: Handle) -> None:
        self._before("close", self._path_of(handle))
        self._handles.pop(handle, None)
        super().close(handle)

    def read_file(self, path: str) -> bytes:
        self._before("read", path)
        return super().read_file(path)

    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        self._before("try_lock", path)
        handle = super().try_lock(path, mode=mode)
        if handle is not None:
            self._handles[handle] = path
        return handle

    def unlock(self, handle: Handle) -> None:
        self._before("unlock", self._path_of(handle))
        self._handles.pop(handle, None)
        super().unlock(handle)

    def replace(self, src: str, dst: str) -> None:
        self._before("replace", src, dst)
        super().replace(src, dst)

    def link(self, src: str, dst: str) -> None:
        self._before("link", src, dst)
        super().link(src, dst)

    def unlink(self, path: str) -> None:
        self._before("unlink", path)
        super().unlink(path)

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._before("mkdir", path)
        super().mkdir(path, mode=mode)

    def rmdir(self, path: str) -> None:
        self._before("rmdir", path)
        super().rmdir(path)

    def listdir(self, path: str) -> list[str]:
        self._before("listdir", path)
        return super().listdir(path)

    def stat(self, path: str) -> FileStat:
        self._before("stat", path)
        return super().stat(path)

    def fsync_dir(self, path: str) -> None:
        self._before("fsync_dir", path)
        if self.forward_syncs:
            super().fsync_dir(path)

    def chmod(self, path: str, mode: int) -> None:
        self._before("chmod", path)
        super().chmod(path, mode)
