"""The store lock. Seed (upstream): a lock file ``<store>.lock`` holding ``{pid,
createdAt}``, stale after 30 s and then taken over even from a live holder. Hardened: a
``flock`` on ``<store>.flock`` that the kernel drops when its holder dies.

Every test drives the lock with a :func:`deterministic_runtime`, whose clock advances
when the lock "sleeps", so timeouts and ages never cost real time.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from helpers import StoreFactory, entry, snapshot_tree, write_json

from reference_store import (
    HARDENED,
    SEED,
    LockTimeoutError,
    OsFileSystem,
    Profile,
    SessionStore,
    StoreError,
    deterministic_runtime,
    migrate,
)
from reference_store._lock import LOCK_STALE_MS, StoreLock, flock_path

START_MS = 1_700_000_000_000
PROFILES = {"seed": SEED, "hardened": HARDENED}


@pytest.fixture
def lock_path(store_dir: str) -> str:
    return os.path.join(store_dir, "sessions.json.lock")


def new_lock(lock_path: str, profile: Profile, *, timeout_ms: int = 2_000) -> StoreLock:
    return StoreLock(
        OsFileSystem(), lock_path, profile, deterministic_runtime(START_MS), timeout_ms=timeout_ms
    )


def plant(lock_path: str, *, pid: int, created_at: int) -> bytes:
    """A lock file as another holder would have left it."""
    raw = json.dumps({"pid": pid, "createdAt": created_at}).encode()
    with open(lock_path, "wb") as handle:
        handle.write(raw)
    return raw


def times_out(lock: StoreLock) -> LockTimeoutError:
    """Acquire must time out; were it taken, it is released again (the in-process queue is
    per path and shared by every test of this worker, so a held lock must not leak)."""
    try:
        lock.acquire()
    except LockTimeoutError as exc:
        return exc
    lock.release()
    pytest.fail(f"{lock.path} was taken over")


def read(lock_path: str) -> bytes:
    with open(lock_path, "rb") as handle:
        return handle.read()


def test_seed_lock_names_its_holder_and_is_removed_on_release(lock_path: str) -> None:
    lock = new_lock(lock_path, SEED)
    with lock.held():
        raw = read(lock_path)
        content = json.loads(raw)
        assert content["pid"] == os.getpid()
        assert iso_ms(content["createdAt"]) > START_MS
        assert raw.startswith(b'{\n  "pid": ')  # upstream's payload: pretty JSON
    assert not os.path.exists(lock_path)
    assert not lock.last.took_over


def iso_ms(text: str) -> int:
    """Milliseconds of upstream's ``createdAt`` (``new Date().toISOString()``)."""
    assert text.endswith("Z"), text
    return int(datetime.datetime.fromisoformat(text[:-1] + "+00:00").timestamp() * 1000)


def test_seed_takes_a_stale_lock_over_from_a_live_holder(lock_path: str) -> None:
    """HAZARD(lock_dies_with_holder), upstream: a holder that is alive and merely slow
    (here: this test's parent process) loses its lock once it is 30 s old."""
    plant(lock_path, pid=os.getppid(), created_at=START_MS - LOCK_STALE_MS - 1_000)
    lock = new_lock(lock_path, SEED)

    with lock.held():
        assert lock.last.took_over
        assert iso_ms(json.loads(read(lock_path))["createdAt"]) > START_MS
    assert not os.path.exists(lock_path)


def exited_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("holder", ["dead", "this process"])
@pytest.mark.parametrize("created", ["iso", "int"])
def test_seed_takes_a_fresh_lock_of_a_gone_holder_over_at_once(
    lock_path: str, holder: str, created: str
) -> None:
    """RUN (the release's lock): a dead pid, or this process's own pid on a lock it does
    not hold (an earlier life that crashed), is taken over at once, however fresh."""
    pid = exited_pid() if holder == "dead" else os.getpid()
    when: object = START_MS if created == "int" else "2023-11-14T22:13:20.000Z"
    with open(lock_path, "w", encoding="utf-8") as handle:
        json.dump({"pid": pid, "createdAt": when}, handle)
    lock = new_lock(lock_path, SEED, timeout_ms=1_000)

    with lock.held():
        assert lock.last.took_over
    assert not os.path.exists(lock_path)


def test_seed_waits_for_a_fresh_iso_lock_of_a_live_holder(lock_path: str) -> None:
    with open(lock_path, "w", encoding="utf-8") as handle:
        json.dump({"pid": os.getppid(), "createdAt": "2023-11-14T22:13:20.000Z"}, handle)
    lock = new_lock(lock_path, SEED, timeout_ms=1_000)

    assert f"pid={os.getppid()}" in str(times_out(lock))


def test_seed_waits_for_a_lock_younger_than_the_stale_age(lock_path: str) -> None:
    raw = plant(lock_path, pid=os.getppid(), created_at=START_MS)
    lock = new_lock(lock_path, SEED, timeout_ms=1_000)

    error = times_out(lock)

    assert isinstance(error, StoreError)
    assert f"pid={os.getppid()}" in str(error)
    assert read(lock_path) == raw


def set_mtime(path: str, ms: int) -> None:
    os.utime(path, ns=(ms * 1_000_000, ms * 1_000_000))


def test_seed_judges_an_unreadable_lock_by_the_age_of_its_file(lock_path: str) -> None:
    """A lock file without readable content (created but not yet written by a holder
    that is still working) is taken over only once its file is 30 s old -- never at
    once, which would let two writers in."""
    open(lock_path, "wb").close()
    set_mtime(lock_path, START_MS)
    times_out(new_lock(lock_path, SEED, timeout_ms=1_000))
    assert os.path.exists(lock_path)

    set_mtime(lock_path, START_MS - LOCK_STALE_MS - 1_000)
    lock = new_lock(lock_path, SEED)
    with lock.held():
        assert lock.last.took_over


# --- hardened: an OS lock that dies with its holder ---------------------------------------
@contextlib.contextmanager
def flock_held_elsewhere(path: str) -> Iterator[None]:
    """Hold the hardened lock through an open file of our own: to the store, which opens
    the file anew, that is another holder (flock excludes per open file)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


@pytest.mark.real_only  # pyfakefs's flock is a no-op: only a kernel can hold the lock
def test_hardened_lock_is_a_flock_on_a_file_that_stays(lock_path: str) -> None:
    lock = new_lock(lock_path, HARDENED)
    assert lock.path == flock_path(lock_path)
    with lock.held():
        with pytest.raises(BlockingIOError), flock_held_elsewhere(lock.path):
            pass  # pragma: no cover - the flock above must fail
        assert not os.path.exists(lock_path)  # no upstream lock file
    with flock_held_elsewhere(lock.path):
        pass  # released: anyone may take it now
    assert read(lock.path) == b""
    assert not lock.last.took_over
    assert sorted(os.listdir(os.path.dirname(lock_path))) == [os.path.basename(lock.path)]


@pytest.mark.real_only
def test_hardened_waits_for_a_live_holder(lock_path: str) -> None:
    lock = new_lock(lock_path, HARDENED, timeout_ms=1_000)
    with flock_held_elsewhere(lock.path):
        error = times_out(lock)
    assert "timed out" in str(error)
    assert "flock" in str(error)
    with lock.held():  # and takes it once the holder lets go
        pass


@pytest.mark.real_only
def test_hardened_takes_the_lock_of_a_killed_holder_at_once(lock_path: str) -> None:
    """A holder that dies (here: SIGKILLed while holding) takes its lock with it: no
    stale age to wait out, no pid to trust."""
    path = flock_path(lock_path)
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_FLOCK, path], stdout=subprocess.PIPE, stdin=subprocess.PIPE
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline() == b"held\n"
            times_out(new_lock(lock_path, HARDENED, timeout_ms=200))
        finally:
            holder.kill()
            holder.wait(timeout=30)
    lock = new_lock(lock_path, HARDENED, timeout_ms=200)
    with lock.held():
        assert lock.last.attempts == 1


HOLD_FLOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_hardened_ignores_an_upstream_lock_file_left_by_a_crash(lock_path: str) -> None:
    """An upstream ``.lock`` (say, of a seed process that crashed) is not the hardened
    lock; and whatever a power loss left in the ``.flock`` file does not matter."""
    plant(lock_path, pid=os.getppid(), created_at=START_MS)
    with open(flock_path(lock_path), "wb") as handle:
        handle.write(b"\x00garbage")
    lock = new_lock(lock_path, HARDENED)
    with lock.held():
        assert lock.last.attempts == 1


def test_in_process_waiters_are_served_in_arrival_order(lock_path: str) -> None:
    first = new_lock(lock_path, HARDENED)
    order: list[str] = []
    threads: list[threading.Thread] = []
    first.acquire()
    fifo = first._fifo  # one queue per lock path, shared by every StoreLock of it
    try:
        for name in ("a", "b", "c"):
            queued = fifo._next_ticket
            lock = new_lock(lock_path, HARDENED, timeout_ms=60_000)
            thread = threading.Thread(target=hold_and_record, args=(lock, name, order))
            thread.start()
            threads.append(thread)
            wait_until(lambda q=queued: fifo._next_ticket == q + 1)  # it took its ticket
    finally:
        first.release()
    for thread in threads:
        thread.join(timeout=30)
    assert order == ["a", "b", "c"]


def hold_and_record(lock: StoreLock, name: str, order: list[str]) -> None:
    with lock.held():
        order.append(name)


def wait_until(condition: Callable[[], bool]) -> None:
    """Poll a condition another thread makes true (not a timing assumption)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


# --- every write path holds the lock ---------------------------------------------------------
WRITES: dict[str, Callable[[SessionStore], object]] = {
    "save": lambda s: s.save({"agent:x": entry("x", 9)}),
    "update": lambda s: s.update(lambda data: data.__setitem__("agent:x", entry("x", 9))),
    "update_entry": lambda s: s.update_entry("agent:x", lambda e: {"updatedAt": 9}),
    "update_last_route": lambda s: s.update_last_route("agent:x", channel="c", to="t"),
}


@pytest.mark.parametrize("profile", ["seed", pytest.param("hardened", marks=pytest.mark.real_only)])
@pytest.mark.parametrize("layout", ["legacy", "directory"])
@pytest.mark.parametrize("call", WRITES.keys())
def test_every_write_path_waits_for_the_lock(
    make_store: StoreFactory, store_dir: str, lock_path: str, profile: str, layout: str, call: str
) -> None:
    store = make_store(layout, profile, runtime=deterministic_runtime(START_MS))
    store.save({"agent:x": entry("x", 1)})
    with held_elsewhere(lock_path, PROFILES[profile]):
        before = snapshot_tree(store_dir)
        with pytest.raises(LockTimeoutError):
            WRITES[call](store)
        assert snapshot_tree(store_dir) == before


@contextlib.contextmanager
def held_elsewhere(lock_path: str, profile: Profile) -> Iterator[None]:
    """The store's lock, held by "another process" as that profile's protocol has it."""
    if profile.lock_dies_with_holder:
        with flock_held_elsewhere(flock_path(lock_path)):
            yield
    else:
        plant(lock_path, pid=os.getppid(), created_at=START_MS + 1_000_000)
        yield


@pytest.mark.real_only
def test_hardened_migration_waits_for_the_lock(store_dir: str, lock_path: str) -> None:
    write_json(os.path.join(store_dir, "sessions.json"), {"agent:x": entry("x", 1)})
    with held_elsewhere(lock_path, HARDENED):
        before = snapshot_tree(store_dir)
        with pytest.raises(LockTimeoutError):
            migrate(
                os.path.join(store_dir, "sessions.json"),
                "hardened",
                runtime=deterministic_runtime(START_MS),
            )
        assert snapshot_tree(store_dir) == before
