"""Writers for the contention cells: the same loop run as threads or as processes.

A writer opens its own store object on the shared store path, warms up (one read, not
recorded; it also opens SQLite's per-thread connection), then waits for the start
signal, so every writer of a cell starts together. Each call is timed with
``perf_counter_ns``; on Linux and macOS that clock is system-wide, so start and end
stamps of different processes can be compared to get the cell's wall time.

Processes are started once per run with the ``spawn`` method (no fork of a process
that may hold threads) and reused by every process cell; :class:`ProcessWriters`
stops and joins them when it exits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from reference_store import SessionCache, StoreError

from .._errors import HarnessError
from ._locks import LockProbe, instrument_lock
from ._stores import open_bench_store
from ._workloads import new_patch

__all__ = ["ProcessWriters", "WriterResult", "WriterSpec", "run_threads"]

#: Longest a cell may wait for one process writer before the run is abandoned.
WORKER_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class WriterSpec:
    store_path: str
    layout: str
    profile: str
    index: int
    #: The key of each call, in order (a writer's own keys, or the one shared key).
    op_keys: tuple[str, ...]


@dataclass
class WriterResult:
    index: int
    latencies_ns: list[int] = field(default_factory=list)
    lock_ns: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    started_ns: int = 0
    finished_ns: int = 0


class WriterSession:
    """One writer: its store, its lock probe, its calls."""

    def __init__(self, spec: WriterSpec, cache: SessionCache | None = None) -> None:
        self.spec = spec
        self.store = open_bench_store(spec.store_path, spec.layout, spec.profile, cache=cache)
        self.probe = LockProbe()
        self.timed_lock = False

    def prepare(self) -> None:
        """Instrument the lock (on this thread) and warm up with one unrecorded read.

        A read, not an update: it takes no lock, so the writers' warm-ups do not contend
        with each other before the start signal (an update would, through the lock
        file's backoff, add up to seconds of untimed waiting per cell).
        """
        self.timed_lock = instrument_lock(self.store, self.probe)
        if self.spec.op_keys:
            self.store.read_updated_at(self.spec.op_keys[0])
        self.probe.take()

    def run(self) -> WriterResult:
        result = WriterResult(index=self.spec.index)
        result.started_ns = time.perf_counter_ns()
        for key in self.spec.op_keys:
            patch = new_patch()
            start = time.perf_counter_ns()
            try:
                self.store.update_entry(key, patch)
            except (StoreError, OSError) as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                self.probe.take()
                continue
            result.latencies_ns.append(time.perf_counter_ns() - start)
            waited = self.probe.take()
            if waited is not None:
                result.lock_ns.append(waited)
        result.finished_ns = time.perf_counter_ns()
        return result

    def close(self) -> None:
        self.store.close()


def run_threads(specs: list[WriterSpec]) -> list[WriterResult]:
    """Every writer on its own thread of this process, started together."""
    cache = SessionCache()  # one process: one cache, as the store's process cache
    barrier = threading.Barrier(len(specs))
    results: list[WriterResult | None] = [None] * len(specs)
    failures: list[BaseException] = []

    def body(slot: int, spec: WriterSpec) -> None:
        session: WriterSession | None = None
        try:
            session = WriterSession(spec, cache)
            session.prepare()
        except BaseException as exc:
            failures.append(exc)
            barrier.abort()
            if session is not None:
                session.close()
            return
        try:
            barrier.wait()
            results[slot] = session.run()
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:
            failures.append(exc)
        finally:
            session.close()

    threads = [
        threading.Thread(target=body, args=(i, s), name=f"bench-writer-{i}", daemon=True)
        for i, s in enumerate(specs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise HarnessError(f"a writer thread failed: {failures[0]!r}") from failures[0]
    return [r for r in results if r is not None]


def _worker_main(conn: Connection) -> None:
    """A process writer: prepare on request, run on "go", until told to stop."""
    try:
        while True:
            message: Any = conn.recv()
            if message == "stop":
                return
            spec = message
            assert isinstance(spec, WriterSpec)
            try:
                session = WriterSession(spec)
                session.prepare()
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
                continue
            try:
                conn.send(("ready", None))
                if conn.recv() != "go":
                    continue
                conn.send(("done", session.run()))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
            finally:
                session.close()
    except (EOFError, KeyboardInterrupt):
        return
    finally:
        conn.close()


class ProcessWriters:
    """Up to ``count`` writer processes, started on first use and reused."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._ctx = multiprocessing.get_context("spawn")
        self._procs: list[Any] = []
        self._conns: list[Connection] = []

    def __enter__(self) -> ProcessWriters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        for _ in range(self.count):
            parent, child = self._ctx.Pipe()
            proc = self._ctx.Process(target=_worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)

    def _recv(self, conn: Connection) -> tuple[str, Any]:
        if not conn.poll(WORKER_TIMEOUT_S):
            raise HarnessError(f"a writer process did not answer within {WORKER_TIMEOUT_S:.0f} s")
        try:
            kind, payload = conn.recv()
        except (EOFError, OSError) as exc:  # closed pipe, or reset by a dying child
            raise HarnessError(f"a writer process died ({type(exc).__name__})") from None
        return str(kind), payload

    def run(self, specs: list[WriterSpec]) -> list[WriterResult]:
        if len(specs) > self.count:
            raise HarnessError(f"{len(specs)} writers asked of a pool of {self.count}")
        if not self._procs:
            self._start()
        conns = self._conns[: len(specs)]
        for conn, spec in zip(conns, specs, strict=True):
            conn.send(spec)
        answers = [self._recv(conn) for conn in conns]
        errors = [payload for kind, payload in answers if kind != "ready"]
        ready = [conn for conn, (kind, _p) in zip(conns, answers, strict=True) if kind == "ready"]
        if errors:
            for conn in ready:
                conn.send("abort")
            raise HarnessError(f"a writer process could not start: {errors[0]}")
        for conn in conns:
            conn.send("go")
        results: list[WriterResult] = []
        failure: str | None = None
        for conn in conns:
            kind, payload = self._recv(conn)
            if kind == "done":
                results.append(payload)
            else:
                failure = failure or str(payload)
        if failure is not None:
            raise HarnessError(f"a writer process failed: {failure}")
        return results

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send("stop")
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():  # pragma: no cover - a writer stuck in a store call
                proc.terminate()
                proc.join(timeout=5)
            proc.close()
        for conn in self._conns:
            conn.close()
        self._procs.clear()
        self._conns.clear()
