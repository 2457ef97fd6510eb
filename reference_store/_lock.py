"""The store lock: an in-process FIFO queue plus a cross-process lock file.

Protocol (upstream, the seed profile): the lock file ``<store_path>.lock`` is created
with ``O_CREAT|O_EXCL`` and holds ``{"pid", "createdAt"}`` (pretty JSON, an ISO time);
its existence *is* the lock. Acquire times out after 10 s with backoff
``min(1000, 50*attempt)`` ms between attempts. A lock whose holder is gone (its pid dead,
or this process's own pid on a lock it does not hold) is taken over at once; a lock file
older than 30 s is stale and taken over too -- even while its holder is alive and working
(two writers at once). The file is created empty and written afterwards, so a crash in
between leaves a lock nobody can attribute, which blocks every writer until the file
itself is 30 s old.

Hardened (``lock_dies_with_holder``): the lock is an OS advisory lock (``flock``) on
``<store_path>.flock``, a file that is created once and never removed and holds no data.
The kernel drops the lock when its holder closes the file or dies -- a crash, a
``SIGKILL``, a power loss -- so a lock never outlives its holder and there is nothing to
judge stale, no clock and no pid to trust. It also costs no name operation per
acquisition: the upstream file (and the earlier hardened design, which published a
complete lock file with ``link()``) created and unlinked names on every call, and on ext4
each fsync of the data then had to commit those too; that was what kept a hardened
``update_entry`` above 1.5x the bare-seam floor (docs/benchmarks.md). The same timeout
and backoff apply. Advisory locks need every writer to use them: a hardened and an
upstream process do not exclude each other (they are different protocol versions); and
``flock`` is not reliable over NFS (as SQLite warns of its own locks).

Every in-process waiter queues FIFO per lock path before touching the file, so threads
of one process never race on the lock file and are served in arrival order (``flock``
would not exclude two threads that share an open file, and would not be fair).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import threading
from dataclasses import dataclass

from ._errors import LockTimeoutError
from ._profile import Profile
from ._runtime import Runtime
from .fs import FileSystem, Handle

__all__ = ["LOCK_STALE_MS", "LOCK_TIMEOUT_MS", "LockStats", "StoreLock", "flock_path"]

LOCK_TIMEOUT_MS = 10_000
LOCK_STALE_MS = 30_000


class _FifoLock:
    """A ticket lock: waiters are served strictly in arrival order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    def acquire(self, timeout_s: float) -> bool:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            if self._serving == ticket:
                return True  # nobody ahead: the common case, without wait_for's closure
            ok = self._cond.wait_for(lambda: self._serving == ticket, timeout=timeout_s)
            if not ok:
                # Give the ticket back by marking it served when its turn comes.
                self._abandoned.add(ticket)
                return False
            return True

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._cond.notify_all()


_REGISTRY: dict[str, _FifoLock] = {}
_REGISTRY_GUARD = threading.Lock()


def _fifo_for(lock_path: str) -> _FifoLock:
    key = os.path.abspath(lock_path)
    with _REGISTRY_GUARD:
        lock = _REGISTRY.get(key)
        if lock is None:
            lock = _REGISTRY[key] = _FifoLock()
        return lock


@dataclass
class LockStats:
    """How long the last acquisition waited, and whether it took over a stale lock."""

    waited_ms: int = 0
    attempts: int = 0
    took_over: bool = False


def flock_path(lock_path: str) -> str:
    """The hardened lock's file for the upstream lock path ``<store>.lock``."""
    stem = lock_path[: -len(".lock")] if lock_path.endswith(".lock") else lock_path
    return stem + ".flock"


def _iso_ms(ms: int) -> str:
    """``new Date(ms).toISOString()``: UTC, milliseconds, a ``Z``."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _created_ms(value: object) -> int | None:
    """``createdAt`` of a lock payload in ms: upstream's ISO string; also the integer
    milliseconds this store's earlier versions wrote (upstream finds those invalid)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


class StoreLock:
    """The lock of one store path. ``path`` is the upstream lock file in the seed and
    the ``flock`` file in hardened (see the module docstring)."""

    def __init__(
        self,
        fs: FileSystem,
        lock_path: str,
        profile: Profile,
        runtime: Runtime,
        *,
        timeout_ms: int = LOCK_TIMEOUT_MS,
        stale_ms: int = LOCK_STALE_MS,
    ) -> None:
        self.fs = fs
        self.kernel_lock = profile.lock_dies_with_holder
        self.path = flock_path(lock_path) if self.kernel_lock else lock_path
        self.profile = profile
        self.runtime = runtime
        self.timeout_ms = timeout_ms
        self.stale_ms = stale_ms
        self.last = LockStats()
        self._fifo = _fifo_for(self.path)
        self._handle: Handle | None = None

    def held(self) -> StoreLock:
        """``with lock.held():`` holds the lock for the block. The lock is its own
        context manager: a generator-based one costs a few microseconds more, on every
        call that writes."""
        return self

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        start = self.runtime.now_ms()
        if not self._fifo.acquire(self.timeout_ms / 1000):
            raise LockTimeoutError(
                f"timed out after {self.timeout_ms} ms waiting for {self.path} "
                "(another thread of this process holds it)"
            )
        try:
            self._acquire_file(start)
        except BaseException:
            self._fifo.release()
            raise

    def release(self) -> None:
        try:
            if self.kernel_lock:
                handle, self._handle = self._handle, None
                if handle is not None:
                    self.fs.unlock(handle)
            else:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.unlink(self.path)
        finally:
            self._fifo.release()

    # --- the lock file ---------------------------------------------------------------
    def _acquire_file(self, start_ms: int) -> None:
        stats = LockStats()
        attempt = 0
        while True:
            attempt += 1
            stats.attempts = attempt
            if self._try_take():
                stats.waited_ms = self.runtime.now_ms() - start_ms
                self.last = stats
                return
            if not self.kernel_lock and self._is_stale():
                stats.took_over = True
                with contextlib.suppress(FileNotFoundError):
                    self.fs.unlink(self.path)
                continue
            waited = self.runtime.now_ms() - start_ms
            if waited >= self.timeout_ms:
                raise LockTimeoutError(
                    f"timed out after {waited} ms waiting for lock file {self.path} "
                    f"({attempt} attempts); holder: {self._describe_holder()}"
                )
            self.runtime.sleep(min(1000, 50 * attempt) / 1000)

    def _content(self) -> bytes:
        # Upstream's payload: pretty JSON, createdAt an ISO-8601 string in UTC. (The
        # release adds the holder's start time from /proc on Linux, which a simulated
        # process has none of: left out.)
        created = _iso_ms(self.runtime.now_ms())
        return json.dumps({"pid": self.runtime.pid, "createdAt": created}, indent=2).encode()

    def _try_take(self) -> bool:
        if self.kernel_lock:
            # FIX(lock_dies_with_holder): an OS lock the kernel drops with its holder.
            self._handle = self.fs.try_lock(self.path, mode=0o600)
            return self._handle is not None
        # HAZARD(lock_dies_with_holder): created empty, then written; a crash in between
        # leaves an anonymous lock file that only the 30 s age rule can clear: it blocks
        # every writer until then (a holder that died after writing its pid is taken over
        # at once, as upstream does; one alive past 30 s is taken over from).
        try:
            handle = self.fs.open_write(self.path, mode=0o600, exclusive=True)
        except FileExistsError:
            return False
        try:
            self.fs.write(handle, self._content())
        finally:
            self.fs.close(handle)
        return True

    def _read_holder(self) -> tuple[int | None, int | None]:
        """(pid, createdAt) of the upstream lock file, ``None`` where unreadable."""
        try:
            raw = json.loads(self.fs.read_file(self.path).decode("utf-8"))
        except FileNotFoundError:
            raise
        except (OSError, ValueError):
            return None, None
        if not isinstance(raw, dict):
            return None, None
        pid, created = raw.get("pid"), raw.get("createdAt")
        return (
            pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            _created_ms(created),
        )

    def _is_stale(self) -> bool:
        """Upstream's rule (the release's session write lock, stale age 30 s): a lock whose
        holder is gone -- its pid dead, or this very process's pid on a lock this process
        does not hold (a crashed earlier life of it) -- or whose ``createdAt`` is older
        than the stale age is taken over at once, alive holder or not. A lock naming no
        pid or no readable ``createdAt`` is taken over only once its *file* is older than
        the stale age: it may be a holder between its create and its write."""
        try:
            pid, created = self._read_holder()
        except FileNotFoundError:
            return False  # released meanwhile: just retry the create
        now = self.runtime.now_ms()
        # The FIFO lets no other thread of this process reach the file while this one
        # waits, so a lock naming this pid is nobody's.
        if pid is not None and (pid == self.runtime.pid or not self.runtime.pid_alive(pid)):
            return True
        if created is not None and now - created > self.stale_ms:
            return True
        if pid is not None and created is not None:
            return False
        try:
            mtime_ms = self.fs.stat(self.path).mtime_ns // 1_000_000
        except FileNotFoundError:
            return False
        return now - mtime_ms > self.stale_ms

    def _describe_holder(self) -> str:
        if self.kernel_lock:
            return "another process holds its flock"
        try:
            pid, created = self._read_holder()
        except FileNotFoundError:
            return "released"
        return f"pid={pid} createdAt={created}"
