"""The gate's concurrency check: worker processes race one store of a target, and
:func:`harness.checks._concurrency.check_history` judges the history.

Promise: sound -- a linearizable store never fails it, whatever the timing (the checker
only reports what no interleaving explains) -- and bounded (``rounds`` calls per worker,
each process joined with a timeout). It is not complete: a race window can be missed,
so a clean run shows no race was *seen*, not that none exists.

Each worker is a forked process with its own store object, cache and real runtime (its
own pid, the wall clock), as gateways run; one worker per process, because a mutant's
patches are swapped around each call and threads would interleave the swaps. Roles and
their recording are :mod:`harness.checks._concurrency`'s: ``incr`` increments a counter with
``update_entry``, ``route`` does a cached ``load()`` and then ``update_last_route`` on the
same entry, ``read`` loads with ``skip_cache=True``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks._concurrency import COUNTER_KEY, ROLES, Event, check_history, run_role_to_file
from harness.engine._oracle import Violation
from harness.engine._target import StoreTarget
from reference_store import Runtime, SessionCache
from reference_store.fs import OsFileSystem

__all__ = ["DEFAULT_ROLES", "ConcurrencyRun", "run_target_concurrency"]

#: Two incrementers race for lost updates; a route worker writes on top of its cache.
DEFAULT_ROLES = ("incr", "incr", "route")
STORE_NAME = "sessions.json"


@dataclass(frozen=True)
class ConcurrencyRun:
    """What one concurrency configuration saw."""

    violations: tuple[Violation, ...]
    events: int
    ok_increments: int
    final_count: int | None
    roles: tuple[str, ...]
    rounds: int

    def describe(self) -> str:
        return (
            f"{len(self.roles)} processes ({', '.join(self.roles)}) x {self.rounds} rounds: "
            f"{self.events} events, {self.ok_increments} ok increments, final count "
            f"{self.final_count}"
        )


def _worker(
    target: StoreTarget,
    store_path: str,
    layout: str,
    profile: str,
    worker: str,
    role: str,
    rounds: int,
    barrier: Any,
    out_path: str,
) -> None:
    """Body of one forked worker process: its history goes to ``out_path``."""
    store = target.open(
        store_path, layout, profile, OsFileSystem(), runtime=Runtime(), cache=SessionCache()
    )
    run_role_to_file(store, worker, role, rounds, "free", barrier, out_path)


def run_target_concurrency(
    target: StoreTarget,
    folder: str,
    layout: str,
    profile: str,
    *,
    roles: Sequence[str] = DEFAULT_ROLES,
    rounds: int = 12,
    timeout_s: float = 120.0,
) -> ConcurrencyRun:
    """Race one process per role on a store in ``folder`` (real, empty) and judge it.

    A worker that cannot finish (a deadlock, a crash of the store) raises
    :class:`RuntimeError`; the gate reports it as the store's failure.
    """
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; choose from {ROLES}")
    store_path = os.path.join(folder, STORE_NAME)
    setup = target.open(
        store_path, layout, profile, OsFileSystem(), runtime=Runtime(), cache=SessionCache()
    )
    try:
        setup.save({COUNTER_KEY: {"sessionId": "counter", "updatedAt": 1, "count": 0}})
    finally:
        close = getattr(setup, "close", None)
        if close is not None:
            close()
    # fork: the target may exist only in this process's memory (a mutant, a test's
    # store), and forked children inherit it; histories come back through files.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(roles))
    outputs = [os.path.join(folder, f"history-{i}.json") for i in range(len(roles))]
    children = [
        context.Process(
            target=_worker,
            args=(target, store_path, layout, profile, f"p{i}", role, rounds, barrier, out),
            daemon=True,
        )
        for i, (role, out) in enumerate(zip(roles, outputs, strict=True))
    ]
    for child in children:
        child.start()
    deadline = time.monotonic() + timeout_s
    try:
        for child in children:
            child.join(max(0.0, deadline - time.monotonic()))
        stuck = [i for i, c in enumerate(children) if c.is_alive()]
        if stuck:
            raise RuntimeError(f"worker processes {stuck} did not finish in {timeout_s:g} s")
        failed = [c.exitcode for c in children if c.exitcode != 0]
        if failed:
            raise RuntimeError(f"worker processes exited with {failed}")
        events: list[Event] = []
        for out in outputs:
            with open(out, encoding="utf-8") as handle:
                events += [Event(**raw) for raw in json.load(handle)]
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
                child.join()
            child.close()
    final = _final_count(target, store_path, layout, profile)
    events.sort(key=lambda e: (e.time_ns, e.worker, e.op))
    violations = check_history(events, initial=0, final=final, final_read=True)
    return ConcurrencyRun(
        violations=tuple(violations),
        events=len(events),
        ok_increments=sum(1 for e in events if e.f == "incr" and e.type == "ok"),
        final_count=final,
        roles=tuple(roles),
        rounds=rounds,
    )


def _final_count(target: StoreTarget, store_path: str, layout: str, profile: str) -> int | None:
    store = target.open(
        store_path, layout, profile, OsFileSystem(), runtime=Runtime(), cache=SessionCache()
    )
    try:
        entry = store.load(skip_cache=True).get(COUNTER_KEY)
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
    count = entry.get("count") if isinstance(entry, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None
