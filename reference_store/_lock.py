"""The store lock: an in-process FIFO queue plus a cross-process lock file.

Protocol (upstream): the lock file ``<store_path>.lock`` is created with
``O_CREAT|O_EXCL`` and holds ``{"pid", "createdAt"}``. Acquire times out after 10 s with
backoff ``min(1000, 50*attempt)`` ms between attempts. A lock file older than 30 s is
stale.

* seed: a stale lock is taken over even if its holder is alive (two writers at once), and
  the file is created empty and written afterwards, so a crash in between leaves a lock
  file nobody can attribute.
* hardened (``lock_needs_dead_holder``): the content is written to a temp file first and
  published with ``link`` (atomic, fails with EEXIST), so a lock file always names its
  holder; it is taken over only when that holder is provably gone -- its pid no longer
  exists, or it is this very process's pid while this process holds no such lock (a
  leftover from a crashed store in this process). An unreadable lock is judged by age.

Every in-process waiter queues FIFO per lock path before touching the file, so threads
of one process never race on the lock file and are served in arrival order.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from ._errors import LockTimeoutError
from ._profile import Profile
from ._runtime import Runtime
from .fs import FileSystem

__all__ = ["LOCK_STALE_MS", "LOCK_TIMEOUT_MS", "LockStats", "StoreLock"]

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


class StoreLock:
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
        self.path = lock_path
        self.profile = profile
        self.runtime = runtime
        self.timeout_ms = timeout_ms
        self.stale_ms = stale_ms
        self.last = LockStats()
        self._fifo = _fifo_for(lock_path)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
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
            if self._try_create():
                stats.waited_ms = self.runtime.now_ms() - start_ms
                self.last = stats
                return
            if self._is_stale():
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
        return json.dumps({"pid": self.runtime.pid, "createdAt": self.runtime.now_ms()}).encode()

    def _try_create(self) -> bool:
        if not self.profile.lock_needs_dead_holder:
            # HAZARD(seed): created empty, then written; a crash in between leaves an
            # anonymous lock file that only the 30 s age rule can clear.
            try:
                handle = self.fs.open_write(self.path, mode=0o600, exclusive=True)
            except FileExistsError:
                return False
            try:
                self.fs.write(handle, self._content())
            finally:
                self.fs.close(handle)
            return True
        # FIX(lock_needs_dead_holder): publish a complete file atomically with link().
        tmp = f"{self.path}.{self.runtime.new_token()}.tmp"
        # No fsync: link() publishes only complete files, so a live holder's lock is
        # never empty or torn. One that is can only be what a power loss left of an
        # unsynced file, and _is_stale takes it over at once (no age rule, no clock).
        self.fs.write_file(tmp, self._content(), mode=0o600)
        try:
            self.fs.link(tmp, self.path)
        except (FileExistsError, FileNotFoundError):
            # EEXIST: held. ENOENT: a start-up cleanup removed our temp file; try again.
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                self.fs.unlink(tmp)
        return True

    def _read_holder(self) -> tuple[int | None, int | None]:
        """(pid, createdAt) of the lock file, ``None`` where unreadable."""
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
            pid if isinstance(pid, int) else None,
            created if isinstance(created, int) else None,
        )

    def _is_stale(self) -> bool:
        try:
            pid, created = self._read_holder()
        except FileNotFoundError:
            return False  # released meanwhile: just retry the create
        now = self.runtime.now_ms()
        if not self.profile.lock_needs_dead_holder and created is not None:
            # HAZARD(seed): age alone decides, even while the holder is alive and working.
            return now - created > self.stale_ms
        if pid is None and self.profile.lock_needs_dead_holder:
            # FIX(lock_needs_dead_holder): no live holder has an unreadable lock (see
            # _try_create): this one outlived its holder through a power loss.
            return True
        if pid is None or not self.profile.lock_needs_dead_holder:
            # An unreadable lock is judged by its file's age. In the seed that includes a
            # lock still empty because its holder is between create and write: taking it
            # over at once would let two writers in (lost updates), not just after 30 s.
            try:
                mtime_ms = self.fs.stat(self.path).mtime_ns // 1_000_000
            except FileNotFoundError:
                return False
            return now - mtime_ms > self.stale_ms
        if pid == self.runtime.pid:
            # We hold this process's FIFO for this path, so no live holder in this
            # process can own the file: it is a leftover of a store that crashed here.
            return True
        return not self.runtime.pid_alive(pid)

    def _describe_holder(self) -> str:
        try:
            pid, created = self._read_holder()
        except FileNotFoundError:
            return "released"
        return f"pid={pid} createdAt={created}"
