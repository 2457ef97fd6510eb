"""The fault filesystem: a seam wrapper that numbers, records, crashes and fails I/O.

THE FAULT MODEL (one place; the explorer and the oracle rely on exactly this):

* Every call of a seam primitive is one *operation*, numbered from 1 in call order and
  recorded in ``trace`` with its path(s) relative to the harness root. Derived seam calls
  (``write_file``, ``remove_tree``) appear as their primitives.
* **Process crash** (``FaultPlan.crash_at = k``): operation k does not happen; a
  :class:`SimulatedCrash` (a ``BaseException``, so no ``except Exception`` or
  ``except OSError`` in store code can swallow it) is raised instead. With
  ``torn_bytes = b`` and operation k a ``write``, the first ``b`` bytes are written
  before the crash. After a crash every further operation raises ``SimulatedCrash``
  again and has no effect (a dead process runs no ``finally`` blocks), and the crashed
  process's open handles are closed silently. What the page cache holds survives (this
  is a process crash, not a power loss).
* **Disk full** (``enospc_budget = n``): the first ``n`` bytes written succeed; the write
  that crosses the budget writes what fits and raises ``ENOSPC``, as does every later
  ``write``. With ``enospc_at_close`` the budget is charged at ``fsync``/``close`` instead
  (delayed allocation): writes succeed, then the sync or close of a handle whose bytes
  did not fit raises ``ENOSPC`` and the file keeps only what fit.
* **Injected errors** (``errors``): operation k raises ``OSError(errno)`` with the
  path, without happening. Kinds: ``EIO``, ``EXDEV``, ``EACCES``, ``ENOENT``, ``ENOSPC``.
  ``error_every`` fails every operation of a given name whose path matches a pattern.
* **Non-atomic rename** (``non_atomic_replace``): ``replace(src, dst)`` of a file is
  performed as unlink ``dst``, create ``dst``, write the bytes, close, unlink ``src`` --
  each a numbered operation, so a crash can land while neither name holds the data.
* **FIFOs block** (``fifos_block``): opening a FIFO to read it, or to write it only,
  waits for the other end, which nothing here ever opens; a real process would wait for
  good (pyfakefs would read nothing). So a ``read``, an ``open_write`` or an
  ``fsync_dir`` of a path that is (or links to) a FIFO is recorded with the outcome
  ``blocks`` and raises :class:`SimulatedHang`, after which the process counts as dead,
  as after a crash. Opening one for reading *and* writing (``try_lock``) returns at once
  on Linux, and so it does here.
* **Power loss**: with ``track_durability`` the wrapper keeps a
  :class:`~harness.faults._durability.DurabilityTracker`; its header states what survives.
* **Syncs are crash points, not syscalls**: ``fsync`` and ``fsync_dir`` are numbered,
  traced and can fail like any operation, but by default are not forwarded to the
  wrapped seam. No fault simulated here loses the page cache (power loss is the
  tracker's job), so the real syscall would only cost time: on a real disk it was half
  of a hardened 1,000-entry migration. ``forward_syncs=True`` forwards them (for
  measuring, or when a real kernel is the judge).

Failures are real ``OSError`` subclasses with a real ``errno`` and the path (as pyfakefs
raises them), so a store cannot tell an injected fault from a real one.
"""

from __future__ import annotations

import contextlib
import errno as errno_module
import fnmatch
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.faults._durability import DurabilityTracker
from reference_store.fs import FileStat, FileSystem, FileSystemWrapper, Handle

__all__ = [
    "ERROR_KINDS",
    "FaultFileSystem",
    "FaultPlan",
    "Operation",
    "SimulatedCrash",
    "SimulatedHang",
    "os_error",
]

ERROR_KINDS = ("EIO", "EXDEV", "EACCES", "ENOENT", "ENOSPC")


class SimulatedCrash(BaseException):
    """The simulated process died before (or inside) operation ``op``."""

    def __init__(self, op: int, detail: str = "") -> None:
        super().__init__(f"simulated crash at operation {op}{': ' + detail if detail else ''}")
        self.op = op


class SimulatedHang(SimulatedCrash):
    """The simulated process opened a FIFO nobody writes and would wait for good: the run
    stops as after a crash, and the explorer reports the call as ``hung``."""


def os_error(kind: str, path: str) -> OSError:
    """A real ``OSError`` subclass for an errno name, as the kernel would raise it."""
    code = getattr(errno_module, kind)
    return OSError(code, os.strerror(code), path)  # OSError() picks the subclass by errno


@dataclass(frozen=True)
class Operation:
    """One numbered seam operation and what became of it."""

    n: int
    name: str
    path: str
    path2: str | None = None
    size: int | None = None
    outcome: str = "ok"  # ok | crash | torn:<bytes> | error:<ERRNO> | enospc | blocks

    def describe(self) -> str:
        target = f"{self.path} -> {self.path2}" if self.path2 is not None else self.path
        size = f" [{self.size} B]" if self.size is not None else ""
        return f"#{self.n:<4} {self.name:<11} {target}{size}  {self.outcome}"

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "name": self.name,
            "path": self.path,
            "path2": self.path2,
            "size": self.size,
            "outcome": self.outcome,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Operation:
        return cls(
            raw["n"], raw["name"], raw["path"], raw.get("path2"), raw.get("size"), raw["outcome"]
        )


@dataclass(frozen=True)
class FaultPlan:
    """What to break, and where. The default plan breaks nothing (it only records)."""

    crash_at: int | None = None
    torn_bytes: int | None = None
    enospc_budget: int | None = None
    enospc_at_close: bool = False
    errors: tuple[tuple[int, str], ...] = ()
    #: (operation name, fnmatch pattern on the relative path, errno name): fail them all.
    error_every: tuple[tuple[str, str, str], ...] = ()
    non_atomic_replace: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "crash_at": self.crash_at,
            "torn_bytes": self.torn_bytes,
            "enospc_budget": self.enospc_budget,
            "enospc_at_close": self.enospc_at_close,
            "errors": [list(e) for e in self.errors],
            "error_every": [list(e) for e in self.error_every],
            "non_atomic_replace": self.non_atomic_replace,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultPlan:
        return cls(
            crash_at=raw.get("crash_at"),
            torn_bytes=raw.get("torn_bytes"),
            enospc_budget=raw.get("enospc_budget"),
            enospc_at_close=bool(raw.get("enospc_at_close", False)),
            errors=tuple((int(k), str(e)) for k, e in raw.get("errors", [])),
            error_every=tuple((str(a), str(b), str(c)) for a, b, c in raw.get("error_every", [])),
            non_atomic_replace=bool(raw.get("non_atomic_replace", False)),
        )

    def describe(self) -> str:
        parts: list[str] = []
        if self.crash_at is not None:
            torn = f" after {self.torn_bytes} B" if self.torn_bytes is not None else ""
            parts.append(f"crash at #{self.crash_at}{torn}")
        if self.enospc_budget is not None:
            where = " (charged at close/fsync)" if self.enospc_at_close else ""
            parts.append(f"ENOSPC after {self.enospc_budget} B{where}")
        parts += [f"{kind} at #{k}" for k, kind in self.errors]
        parts += [
            f"{kind} on every {name} of {pattern}" for name, pattern, kind in self.error_every
        ]
        if self.non_atomic_replace:
            parts.append("non-atomic rename")
        return ", ".join(parts) or "no fault"


@dataclass
class _Open:
    path: str
    rel: str
    inode: int | None
    written: int = 0
    unallocated: int = 0  # bytes beyond the budget (delayed-allocation ENOSPC)


@dataclass
class _State:
    count: int = 0
    crashed_at: int | None = None
    hung: bool = False
    bytes_used: int = 0
    handles: dict[Handle, _Open] = field(default_factory=dict)


class FaultFileSystem(FileSystemWrapper):
    """Wraps a seam; see the module docstring for exactly what it does."""

    def __init__(
        self,
        inner: FileSystem,
        root: str,
        plan: FaultPlan | None = None,
        *,
        track_durability: bool = False,
        forward_syncs: bool = False,
        fifos_block: bool = False,
    ) -> None:
        super().__init__(inner)
        self.forward_syncs = forward_syncs
        self.fifos_block = fifos_block
        self.root = os.path.abspath(root)
        self.plan = plan if plan is not None else FaultPlan()
        self.trace: list[Operation] = []
        self._state = _State()
        self.durability = DurabilityTracker(inner, self.root) if track_durability else None
        self._errors = dict(self.plan.errors)

    # --- bookkeeping -----------------------------------------------------------------------
    @property
    def op_count(self) -> int:
        return self._state.count

    @property
    def crashed_at(self) -> int | None:
        return self._state.crashed_at

    @property
    def bytes_written(self) -> int:
        return self._state.bytes_used

    def rel(self, path: str) -> str:
        full = os.path.abspath(path)
        if full == self.root:
            return "."
        if full.startswith(self.root + os.sep):
            return full[len(self.root) + 1 :]
        return full

    def _begin(
        self, name: str, path: str, path2: str | None = None, size: int | None = None
    ) -> int:
        """Number an operation and apply crash / error faults due before it happens."""
        if self._state.crashed_at is not None:
            # A hung process stays hung: whatever its finally blocks try says so too.
            dead = SimulatedHang if self._state.hung else SimulatedCrash
            raise dead(self._state.crashed_at, "the process is already dead")
        self._state.count += 1
        n = self._state.count
        rel, rel2 = self.rel(path), (self.rel(path2) if path2 is not None else None)
        if self.plan.crash_at == n and not (name == "write" and self.plan.torn_bytes):
            self._die(Operation(n, name, rel, rel2, size, "crash"))
        kind = self._errors.get(n)
        if kind is None:
            for op_name, pattern, every_kind in self.plan.error_every:
                if op_name == name and fnmatch.fnmatchcase(rel, pattern):
                    kind = every_kind
        if kind is not None:
            self.trace.append(Operation(n, name, rel, rel2, size, f"error:{kind}"))
            raise os_error(kind, path)
        return n

    def _done(
        self,
        n: int,
        name: str,
        path: str,
        path2: str | None = None,
        *,
        size: int | None = None,
        outcome: str = "ok",
    ) -> None:
        rel2 = self.rel(path2) if path2 is not None else None
        self.trace.append(Operation(n, name, self.rel(path), rel2, size, outcome))

    def _die(self, op: Operation) -> None:
        self.trace.append(op)
        self._state.crashed_at = op.n
        for handle in list(self._state.handles):
            with contextlib.suppress(OSError):
                self.inner.close(handle)
        self._state.handles.clear()
        if op.outcome == "blocks":
            self._state.hung = True
            raise SimulatedHang(op.n, f"{op.name} of the FIFO {op.path} blocks for good")
        raise SimulatedCrash(op.n, f"{op.name} {op.path}")

    def _blocks(self, name: str, path: str) -> bool:
        """Whether this operation would wait for good on a FIFO (the model above)."""
        if not self.fifos_block or name not in ("read", "open_write", "fsync_dir"):
            return False
        try:
            return stat.S_ISFIFO(os.stat(path).st_mode)
        except OSError:
            return False

    # --- files -----------------------------------------------------------------------------
    def open_write(self, path: str, *, mode: int = 0o666, exclusive: bool = False) -> Handle:
        name = "create_excl" if exclusive else "open_write"
        handle: Handle = self._op(
            name, path, lambda: self.inner.open_write(path, mode=mode, exclusive=exclusive)
        )
        inode = self.durability.opened(path) if self.durability else None
        self._state.handles[handle] = _Open(path, self.rel(path), inode)
        return handle

    def write(self, handle: Handle, data: bytes) -> int:
        info = self._state.handles.get(handle)
        path = info.path if info else f"<handle {handle}>"
        n = self._begin("write", path, size=len(data))
        if self.plan.crash_at == n:  # torn write: a prefix lands, then the process dies
            torn = min(len(data), self.plan.torn_bytes or 0)
            self._raw_write(handle, info, data[:torn])
            self._die(Operation(n, "write", self.rel(path), None, len(data), f"torn:{torn}"))
        budget = self.plan.enospc_budget
        if budget is not None and not self.plan.enospc_at_close:
            room = max(0, budget - self._state.bytes_used)
            if len(data) > room:
                self._raw_write(handle, info, data[:room])
                self._done(n, "write", path, size=len(data), outcome=f"enospc:{room}")
                raise os_error("ENOSPC", path)
        written = self._raw_write(handle, info, data)
        if budget is not None and self.plan.enospc_at_close and info is not None:
            over = max(0, self._state.bytes_used - budget)
            info.unallocated = min(info.written, over)
        self._done(n, "write", path, size=len(data))
        return written

    def _raw_write(self, handle: Handle, info: _Open | None, data: bytes) -> int:
        if not data:
            return 0
        written = self.inner.write(handle, data)
        self._state.bytes_used += written
        if info is not None:
            info.written += written
            if self.durability:
                self.durability.wrote(info.inode, data)
        return written

    def _charge_delayed(self, handle: Handle, info: _Open | None, op: str, n: int) -> None:
        """Delayed allocation: bytes that never fit are dropped and ENOSPC is reported."""
        if info is None or not info.unallocated:
            return
        keep = info.written - info.unallocated
        self._truncate(info.path, keep)
        if self.durability:
            self.durability.truncated(info.inode, keep)
        info.written, info.unallocated = keep, 0
        self._done(n, op, info.path, outcome="enospc")
        if op == "close":
            self._state.handles.pop(handle, None)
            self.inner.close(handle)
        raise os_error("ENOSPC", info.path)

    def _truncate(self, path: str, size: int) -> None:
        # Through the inner seam's primitives: rewrite the prefix (untraced: the kernel
        # does this, not the store).
        content = self.inner.read_file(path)[:size]
        handle = self.inner.open_write(path)
        try:
            self.inner.write(handle, content)
        finally:
            self.inner.close(handle)

    def fsync(self, handle: Handle) -> None:
        info = self._state.handles.get(handle)
        n = self._begin("fsync", info.path if info else f"<handle {handle}>")
        self._charge_delayed(handle, info, "fsync", n)
        if self.forward_syncs:
            self.inner.fsync(handle)
        if self.durability and info is not None:
            self.durability.synced(info.inode)
        self._done(n, "fsync", info.path if info else f"<handle {handle}>")

    def close(self, handle: Handle) -> None:
        info = self._state.handles.get(handle)
        n = self._begin("close", info.path if info else f"<handle {handle}>")
        self._charge_delayed(handle, info, "close", n)
        self._state.handles.pop(handle, None)
        self.inner.close(handle)
        self._done(n, "close", info.path if info else f"<handle {handle}>")

    def read_file(self, path: str) -> bytes:
        data: bytes = self._op("read", path, lambda: self.inner.read_file(path), size_of=len)
        return data

    # --- advisory locks ----------------------------------------------------------------------
    def try_lock(self, path: str, *, mode: int = 0o600) -> Handle | None:
        handle: Handle | None = self._op(
            "try_lock",
            path,
            lambda: self.inner.try_lock(path, mode=mode),
            after=self._track("ensured", path),
        )
        if handle is not None:
            # Kept with the open files: a crash closes it, and closing drops the lock, as
            # the kernel does for a process that dies holding one.
            self._state.handles[handle] = _Open(path, self.rel(path), None)
        return handle

    def unlock(self, handle: Handle) -> None:
        info = self._state.handles.get(handle)
        path = info.path if info else f"<handle {handle}>"
        n = self._begin("unlock", path)
        self._state.handles.pop(handle, None)
        self.inner.unlock(handle)
        self._done(n, "unlock", path)

    # --- names -----------------------------------------------------------------------------
    def replace(self, src: str, dst: str) -> None:
        if self.plan.non_atomic_replace and not self.inner.is_dir(src):
            self._replace_non_atomic(src, dst)
            return
        self._op(
            "replace",
            src,
            lambda: self.inner.replace(src, dst),
            path2=dst,
            after=self._track("renamed", src, dst),
        )

    def _replace_non_atomic(self, src: str, dst: str) -> None:
        """rename(2) on a file system without atomic rename: a window with no target."""
        data = self.inner.read_file(src)  # the file system's own copy, not a store op
        if self.inner.exists(dst):
            self.unlink(dst)
        handle = self.open_write(dst, mode=0o600)
        try:
            self.write(handle, data)
        finally:
            if self._state.crashed_at is None:
                self.close(handle)
        self.unlink(src)

    def link(self, src: str, dst: str) -> None:
        self._op(
            "link",
            src,
            lambda: self.inner.link(src, dst),
            path2=dst,
            after=self._track("linked", src, dst),
        )

    def unlink(self, path: str) -> None:
        self._op(
            "unlink",
            path,
            lambda: self.inner.unlink(path),
            after=self._track("unlinked", path),
        )

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self._op(
            "mkdir",
            path,
            lambda: self.inner.mkdir(path, mode=mode),
            after=self._track("made_dir", path),
        )

    def rmdir(self, path: str) -> None:
        self._op(
            "rmdir",
            path,
            lambda: self.inner.rmdir(path),
            after=self._track("removed_dir", path),
        )

    def listdir(self, path: str) -> list[str]:
        names: list[str] = self._op("listdir", path, lambda: self.inner.listdir(path), size_of=len)
        return names

    def stat(self, path: str) -> FileStat:
        result: FileStat = self._op("stat", path, lambda: self.inner.stat(path))
        return result

    def fsync_dir(self, path: str) -> None:
        self._op(
            "fsync_dir",
            path,
            lambda: self.inner.fsync_dir(path) if self.forward_syncs else None,
            after=self._track("synced_dir", path),
        )

    def chmod(self, path: str, mode: int) -> None:
        self._op("chmod", path, lambda: self.inner.chmod(path, mode))

    def _track(self, event: str, *paths: str) -> Callable[[], None]:
        """Tell the durability tracker (when there is one) what just happened."""

        def tell() -> None:
            if self.durability is not None:
                getattr(self.durability, event)(*paths)

        return tell

    def _op(
        self,
        name: str,
        path: str,
        action: Callable[[], Any],
        *,
        path2: str | None = None,
        size_of: Callable[[Any], int] | None = None,
        after: Callable[[], object] | None = None,
    ) -> Any:
        """One traced operation: faults first, then the inner call, then the record."""
        n = self._begin(name, path, path2)
        if self._blocks(name, path):
            self._die(Operation(n, name, self.rel(path), None, None, "blocks"))
        try:
            result = action()
        except OSError as exc:
            self._done(n, name, path, path2, outcome=f"error:{_errno_name(exc)}")
            raise
        if after is not None:
            after()
        self._done(n, name, path, path2, size=size_of(result) if size_of else None)
        return result


def _errno_name(exc: OSError) -> str:
    return errno_module.errorcode.get(exc.errno or 0, str(exc.errno))
