"""Power loss at the system-call level: a recorded trace replayed into the durability model.

THE MODEL is :mod:`harness.faults._durability`'s (data durable after an fsync or
fdatasync of its inode, a name after an fsync of its parent folder, any subset of the
rest may survive, data may be torn to a prefix); this module only feeds it. What it adds:

* A thin replay: each numbered call on the root (a :class:`RootCall` from
  :mod:`harness.faults._syscall_trace`) that succeeded is turned into the tracker's
  events -- ``opened`` / ``ensured`` for an open that truncates / creates, ``wrote`` for a
  write, ``synced`` / ``synced_dir`` for an fsync of a file / a folder, ``renamed``,
  ``linked``, ``unlinked``, ``made_dir``, ``removed_dir``. Failed calls, calls that never
  returned and neutral calls change nothing.
* The tracker appends what is written; a real write lands at the descriptor's offset, so
  the replay keeps an open-file table (descriptor -> inode, offset, ``O_APPEND``; shared
  after ``dup``, moved by ``lseek``) per thread, and hands the tracker the whole new
  content of the inode (truncate to nothing, then write it) -- the same volatile bytes a
  positioned write would leave. A descriptor the replay never saw opened (inherited
  across a fork, or another thread's) is found by the path strace printed for it, at
  the end of its file.
* A *crash point* ``k`` is a power loss right after call ``k`` returned (0: before the
  first). Only points after a call that changed the model are produced by default; any
  other point gives the same states as the one before it.
* The starting files of the root are the durable and volatile state at the start, as the
  tracker's own snapshot takes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harness._roots import temp_root
from harness.faults._durability import (
    DurabilityTracker,
    Effect,
    PowerLossChoice,
    power_loss_choices,
)
from harness.faults._syscall_trace import NEUTRAL_KINDS, RootCall, RootTrace
from reference_store.fs import OsFileSystem

__all__ = [
    "CrashState",
    "TreeState",
    "change_points",
    "crash_states",
    "snapshot_tree",
    "state_at",
]


@dataclass(frozen=True)
class TreeState:
    """The regular files (relative path -> bytes) and folders under a root."""

    files: dict[str, bytes]
    dirs: frozenset[str]

    def write_into(self, folder: str) -> None:
        """Create this tree inside ``folder``, which must exist and be empty."""
        if os.listdir(folder):
            raise FileExistsError(17, "a tree is written only into an empty folder", folder)
        for rel in sorted(self.dirs, key=lambda d: d.count("/")):
            os.mkdir(os.path.join(folder, rel), 0o700)
        for rel, content in sorted(self.files.items()):
            with open(os.path.join(folder, rel), "xb") as handle:
                handle.write(content)


def snapshot_tree(root: str) -> TreeState:
    """The tree under ``root`` now. Symbolic links and special files have no place in
    the model: they raise ``OSError`` (``EINVAL``) naming the path."""
    files: dict[str, bytes] = {}
    dirs: set[str] = set()
    for folder, subdirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if rel_folder == "." else rel_folder + "/"
        for name in subdirs:
            if os.path.islink(os.path.join(folder, name)):
                raise OSError(22, "a symbolic link is not in the durability model", name)
            dirs.add(prefix + name)
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                raise OSError(22, "only regular files are in the durability model", path)
            with open(path, "rb") as handle:
                files[prefix + name] = handle.read()
    return TreeState(files, frozenset(dirs))


@dataclass(frozen=True)
class CrashState:
    """The disk after a power loss right after call ``after``, for one survival choice."""

    after: int
    call: RootCall | None  # the last call that returned (None: before the first)
    choice: PowerLossChoice
    effects: tuple[Effect, ...]  # what was unsynced at that moment
    state: TreeState


@dataclass
class _OpenFile:
    inode: int | None  # None: a folder
    rel: str
    offset: int = 0
    append: bool = False


class _Replay:
    """Feeds numbered calls to a :class:`DurabilityTracker` (see the model)."""

    def __init__(self, start: TreeState) -> None:
        # The tracker snapshots its start through a seam; the files are read at once and
        # kept in memory, so its folder is not needed after the constructor.
        with temp_root("syscall-power") as folder:
            start.write_into(folder)
            self.tracker = DurabilityTracker(OsFileSystem(), folder)
        self.files: dict[tuple[int, int], _OpenFile] = {}

    def _path(self, rel: str) -> str:
        return os.path.join(self.tracker.root, rel) if rel else self.tracker.root

    def _is_dir(self, rel: str) -> bool:
        return rel == "" or rel in self.tracker.volatile_dirs

    def _file(self, pid: int, fd: int | None, rel: str | None) -> _OpenFile | None:
        if fd is not None and (pid, fd) in self.files:
            return self.files[(pid, fd)]
        if fd is not None:
            for (_, other), open_file in self.files.items():
                if other == fd and open_file.rel == rel:
                    return open_file  # another thread's descriptor: one table per process
        if rel is None:
            return None
        if self._is_dir(rel):
            found = _OpenFile(None, rel)
        else:
            inode = self.tracker.volatile.get(rel)
            if inode is None:
                return None
            found = _OpenFile(inode, rel, len(self.tracker.inodes[inode].volatile))
        if fd is not None:
            self.files[(pid, fd)] = found
        return found

    def _set_content(self, inode: int, content: bytes) -> None:
        self.tracker.truncated(inode, 0)
        self.tracker.wrote(inode, content)

    def apply(self, entry: RootCall) -> bool:
        """Replay one call; whether it changed the model."""
        op, call = entry.op, entry.call
        if op is None or not call.ok or op.kind in NEUTRAL_KINDS:
            return False
        pid = call.pid
        if op.kind == "open":
            if op.path is None or op.new_fd is None:
                return False
            changed = False
            if op.truncate and not self._is_dir(op.path):
                self.tracker.opened(self._path(op.path))
                changed = True
            elif op.create and op.path not in self.tracker.volatile:
                self.tracker.ensured(self._path(op.path))
                changed = True
            inode = None if self._is_dir(op.path) else self.tracker.volatile.get(op.path)
            self.files[(pid, op.new_fd)] = _OpenFile(inode, op.path, append=op.append)
            return changed
        if op.kind == "write":
            target = self._file(pid, op.fd, op.path)
            if target is None or target.inode is None or not op.data:
                return False
            old = self.tracker.inodes[target.inode].volatile
            at = op.offset
            if at is None:
                at = len(old) if target.append else target.offset
                target.offset = at + len(op.data)
            new = old[:at].ljust(at, b"\0") + op.data + old[at + len(op.data) :]
            self._set_content(target.inode, new)
            return True
        if op.kind == "truncate":
            target = self._file(pid, op.fd, op.path)
            if target is None or target.inode is None or op.size is None:
                return False
            old = self.tracker.inodes[target.inode].volatile
            self._set_content(target.inode, old[: op.size].ljust(op.size, b"\0"))
            return True
        if op.kind == "fsync":
            target = self._file(pid, op.fd, op.path)
            if target is None:
                return False
            if target.inode is None:
                self.tracker.synced_dir(self._path(op.path if op.path is not None else target.rel))
            else:
                self.tracker.synced(target.inode)
            return True
        if op.kind == "close":
            if op.fd is not None:
                self.files.pop((pid, op.fd), None)
            return False
        if op.kind == "dup":
            source = self._file(pid, op.fd, op.path)
            if source is not None and op.new_fd is not None:
                self.files[(pid, op.new_fd)] = source  # one open file, one shared offset
            return False
        if op.kind == "seek":
            target = self._file(pid, op.fd, op.path)
            if target is not None and op.offset is not None:
                target.offset = op.offset
            return False
        return self._name_op(op.kind, op.path, op.path2)

    def _name_op(self, kind: str, path: str | None, path2: str | None) -> bool:
        if path is None:
            return False
        if kind == "rename" and path2 is not None:
            self.tracker.renamed(self._path(path), self._path(path2))
        elif kind == "link" and path2 is not None:
            self.tracker.linked(self._path(path), self._path(path2))
        elif kind == "unlink":
            self.tracker.unlinked(self._path(path))
        elif kind == "mkdir":
            self.tracker.made_dir(self._path(path))
        elif kind == "rmdir":
            self.tracker.removed_dir(self._path(path))
        else:
            return False
        return True

    def states(
        self, after: int, call: RootCall | None, *, samples: int, seed: int
    ) -> Iterator[CrashState]:
        effects = self.tracker.unsynced_effects()
        for choice in power_loss_choices(effects, samples=samples, seed=seed):
            files, dirs = self.tracker.state_after(choice)
            yield CrashState(after, call, choice, tuple(effects), TreeState(files, frozenset(dirs)))


def crash_states(
    trace: RootTrace,
    start: TreeState,
    *,
    points: Iterable[int] | None = None,
    samples: int = 8,
    seed: int = 0,
) -> Iterator[CrashState]:
    """Every power-loss state of the recorded run: for each crash point (by default 0 and
    each call that changed the model; else the given call numbers) and each survival
    choice of :func:`power_loss_choices`."""
    wanted = None if points is None else set(points)
    replay = _Replay(start)
    if wanted is None or 0 in wanted:
        yield from replay.states(0, None, samples=samples, seed=seed)
    for entry in trace.calls:
        changed = replay.apply(entry)
        if (wanted is None and changed) or (wanted is not None and entry.n in wanted):
            yield from replay.states(entry.n, entry, samples=samples, seed=seed)


def change_points(trace: RootTrace, start: TreeState) -> list[int]:
    """The default crash points of :func:`crash_states` (0, then each call that changed
    the model), without building any state: a runner samples among them first."""
    replay = _Replay(start)
    return [0, *(entry.n for entry in trace.calls if replay.apply(entry))]


def state_at(
    trace: RootTrace, start: TreeState, after: int, choice: PowerLossChoice
) -> tuple[CrashState, tuple[Effect, ...]]:
    """The state of one recorded choice at crash point ``after`` (a replay file's), and
    the unsynced effects there: the choice's indices name them, so a caller compares
    them with the recorded ones before trusting the state."""
    replay = _Replay(start)
    call: RootCall | None = None
    for entry in trace.calls:
        if entry.n > after:
            break
        replay.apply(entry)
        call = entry
    effects = tuple(replay.tracker.unsynced_effects())
    files, dirs = replay.tracker.state_after(choice)
    return CrashState(after, call, choice, effects, TreeState(files, frozenset(dirs))), effects
