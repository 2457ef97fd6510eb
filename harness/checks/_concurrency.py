"""A concurrency checker on real folders: threads and processes race, a history judges.

Workers -- threads of this process and separate processes, each process with a store
object (and cache) of its own, as gateways run -- call one store at once:

* ``incr``: ``update_entry(COUNTER_KEY, count + 1)``; the returned entry shows the count
  it wrote;
* ``route``: a cached ``load()`` (what a gateway does when a message arrives) and later
  ``update_last_route(COUNTER_KEY, to=<unique>)``; the returned entry shows the count
  the route's write was based on;
* ``read``: ``load(skip_cache=True)``, which docs/spec.md promises is fresh.

Every call is recorded Jepsen-style: an ``invoke`` event, then ``ok`` (with what it
returned), ``fail`` (it certainly did not happen: the lock timed out) or ``info`` (it
may have happened). Times are ``time.monotonic_ns()``, one clock for every process of
the machine, so "A completed before B was invoked" is a fact, not a guess.

The checker (:func:`check_history`) reports, each as an oracle violation:

* ``lost-update`` -- two ok increments returned the same count, or the final count is
  not the initial one plus the ok increments (plus at most the ``info`` ones);
* ``stale-read`` -- a call invoked after an ok increment had completed saw a smaller
  count (an increment must see a larger one), or a ``lastTo`` that a route completed
  strictly later had already replaced.

Both checks are sound whatever the timing: a correct (linearizable) store never fails
them. ``schedule="phased"`` makes the seed's stale route read certain instead of
likely: in every round the route workers fill their caches, then (behind a barrier) the
incrementers run, then the routes -- which, in the seed, write on top of the cached
entry and lose the increments. ``schedule="free"`` lets everyone run at once.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness._roots import require_root
from harness.checks._machine_model import DataIncrement
from harness.engine._oracle import Violation
from reference_store import LockTimeoutError, SessionCache, open_store

__all__ = [
    "COUNTER_KEY",
    "ROLES",
    "ConcurrencyReport",
    "Event",
    "Recorder",
    "check_history",
    "run_concurrency",
    "run_role",
    "run_role_to_file",
]

COUNTER_KEY = "agent:main:telegram:direct:counter"
ROLES = ("incr", "route", "read")
SCHEDULES = ("free", "phased")


@dataclass(frozen=True)
class Event:
    """One event of the history."""

    worker: str
    op: int  # per worker, pairs an invoke with its completion
    type: str  # invoke | ok | fail | info
    f: str  # incr | route | read | fill
    time_ns: int
    count: int | None = None
    last_to: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Op:
    worker: str
    f: str
    start: int
    end: int
    type: str
    count: int | None
    last_to: str | None


@dataclass
class ConcurrencyReport:
    events: list[Event]
    violations: list[Violation]
    final_count: int | None
    ok_increments: int
    config: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        lines = [
            f"{len(self.events)} events, {self.ok_increments} ok increments, "
            f"final count {self.final_count}"
        ]
        lines += [f"  {v.kind}: {v.detail}" for v in self.violations]
        return "\n".join(lines)


# --- workers ---------------------------------------------------------------------------------
class Recorder:
    """One worker's history: an invoke event, then ok / fail / info, per call."""

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.events: list[Event] = []
        self._ops = 0

    def call(self, f: str, fn: Callable[[], dict[str, Any] | None]) -> None:
        self._ops += 1
        op = self._ops
        self.events.append(Event(self.worker, op, "invoke", f, time.monotonic_ns()))
        try:
            entry = fn()
        except LockTimeoutError as exc:
            self.events.append(
                Event(self.worker, op, "fail", f, time.monotonic_ns(), error=str(exc))
            )
            return
        except Exception as exc:  # recorded as info: the call may have happened
            self.events.append(
                Event(self.worker, op, "info", f, time.monotonic_ns(), error=repr(exc))
            )
            return
        count = entry.get("count") if isinstance(entry, dict) else None
        last_to = entry.get("lastTo") if isinstance(entry, dict) else None
        self.events.append(
            Event(
                self.worker,
                op,
                "ok",
                f,
                time.monotonic_ns(),
                count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                last_to=last_to if isinstance(last_to, str) else None,
            )
        )


def run_role(
    store: Any,
    recorder: Recorder,
    role: str,
    rounds: int,
    schedule: str,
    barrier: Any,
) -> None:
    """One worker's loop of ``role`` (``incr``, ``route``, ``read``), recorded into
    ``recorder``. Phased: three barrier-separated phases per round."""
    seq = 0

    def incr() -> dict[str, Any] | None:
        result: dict[str, Any] | None = store.update_entry(COUNTER_KEY, DataIncrement("count"))
        return result

    def route() -> dict[str, Any] | None:
        result: dict[str, Any] = store.update_last_route(
            COUNTER_KEY, channel="telegram", to=f"{recorder.worker}-{seq}"
        )
        return result

    def fill() -> dict[str, Any] | None:
        value: dict[str, Any] | None = store.load().get(COUNTER_KEY)
        return value

    def read() -> dict[str, Any] | None:
        value: dict[str, Any] | None = store.load(skip_cache=True).get(COUNTER_KEY)
        return value

    barrier.wait(60)
    for seq in range(rounds):  # noqa: B007 - route() reads seq
        if schedule == "phased":
            if role == "route":
                recorder.call("fill", fill)
            elif role == "read":
                recorder.call("read", read)
            barrier.wait(60)
            if role == "incr":
                recorder.call("incr", incr)
            barrier.wait(60)
            if role == "route":
                recorder.call("route", route)
            barrier.wait(60)
        elif role == "incr":
            recorder.call("incr", incr)
        elif role == "route":
            recorder.call("fill", fill)
            recorder.call("route", route)
        else:
            recorder.call("read", read)


def _child_main(
    store_path: str,
    layout: str,
    profile: str,
    worker: str,
    role: str,
    rounds: int,
    schedule: str,
    barrier: Any,
    out_path: str,
) -> None:
    """Body of a worker process (importable, for the ``spawn`` start method)."""
    store = open_store(store_path, layout, profile)  # this process's own cache
    run_role_to_file(store, worker, role, rounds, schedule, barrier, out_path)


def run_role_to_file(
    store: Any,
    worker: str,
    role: str,
    rounds: int,
    schedule: str,
    barrier: Any,
    out_path: str,
) -> None:
    """A worker process's whole job: run ``role`` on ``store``, close the store (when it
    has ``close``), and write the history to ``out_path`` as JSON -- the history is
    written even when the role fails, so the parent judges what happened before."""
    recorder = Recorder(worker)
    try:
        run_role(store, recorder, role, rounds, schedule, barrier)
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()
        with open(out_path, "w", encoding="utf-8") as handle:
            json.dump([e.to_json() for e in recorder.events], handle)


def run_concurrency(
    folder: str,
    layout: str,
    profile: str,
    *,
    thread_roles: Sequence[str] = ("incr", "incr", "read"),
    process_roles: Sequence[str] = ("route", "incr"),
    rounds: int = 5,
    schedule: str = "free",
    timeout_s: float = 120.0,
    allow_foreign: bool = False,
) -> ConcurrencyReport:
    """Race the workers on a store in ``folder`` (a real, empty folder) and check.

    ``folder`` must lie in a harness temp root (``harness._roots.make_root``) unless
    ``allow_foreign``: the run writes a store there. Threads share one cache (they are
    one process, as upstream's cache is per process); each worker process has its own
    store and cache.
    """
    require_root(folder, allow_foreign=allow_foreign)
    for role in (*thread_roles, *process_roles):
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; choose from {ROLES}")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose from {SCHEDULES}")
    store_path = os.path.join(folder, "sessions.json")
    setup = open_store(store_path, layout, profile, cache=SessionCache())
    try:
        setup.save({COUNTER_KEY: {"sessionId": "counter", "updatedAt": 1, "count": 0}})
    finally:
        setup.close()

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(thread_roles) + len(process_roles))
    children = []
    outputs = []
    for i, role in enumerate(process_roles):
        out = os.path.join(folder, f"history-p{i}.json")
        outputs.append(out)
        children.append(
            context.Process(
                target=_child_main,
                args=(store_path, layout, profile, f"p{i}", role, rounds, schedule, barrier, out),
            )
        )
    for child in children:
        child.start()

    shared = open_store(store_path, layout, profile, cache=SessionCache())
    recorders = [Recorder(f"t{i}") for i in range(len(thread_roles))]
    errors: list[BaseException] = []

    def thread_body(recorder: Recorder, role: str) -> None:
        try:
            run_role(shared, recorder, role, rounds, schedule, barrier)
        except BaseException as exc:  # a broken barrier: reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=thread_body, args=(r, role))
        for r, role in zip(recorders, thread_roles, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    for child in children:
        child.join(timeout_s)
    try:
        if errors or any(t.is_alive() for t in threads):
            raise RuntimeError(f"worker threads failed: {errors!r}")
        if any(c.exitcode != 0 for c in children):
            raise RuntimeError(f"worker processes exited with {[c.exitcode for c in children]}")
        events = [e for r in recorders for e in r.events]
        for out in outputs:
            with open(out, encoding="utf-8") as handle:
                events += [Event(**raw) for raw in json.load(handle)]
            os.unlink(out)
        counter = shared.load(skip_cache=True).get(COUNTER_KEY)
        final = counter.get("count") if isinstance(counter, dict) else None
    finally:
        shared.close()
        for child in children:
            if child.is_alive():
                child.kill()
                child.join()
            child.close()
    events.sort(key=lambda e: (e.time_ns, e.worker, e.op))
    if isinstance(final, bool) or not isinstance(final, int):
        final = None
    violations = check_history(events, initial=0, final=final, final_read=True)
    return ConcurrencyReport(
        events=events,
        violations=violations,
        final_count=final if isinstance(final, int) else None,
        ok_increments=sum(1 for e in events if e.f == "incr" and e.type == "ok"),
        config={
            "layout": layout,
            "profile": profile,
            "threads": list(thread_roles),
            "processes": list(process_roles),
            "rounds": rounds,
            "schedule": schedule,
        },
    )


# --- the checker -----------------------------------------------------------------------------
def _pair(events: Sequence[Event]) -> list[_Op]:
    invokes: dict[tuple[str, int], Event] = {}
    ops: list[_Op] = []
    for event in events:
        key = (event.worker, event.op)
        if event.type == "invoke":
            invokes[key] = event
            continue
        start = invokes.pop(key)
        ops.append(
            _Op(
                event.worker,
                event.f,
                start.time_ns,
                event.time_ns,
                event.type,
                event.count,
                event.last_to,
            )
        )
    # An invoke without completion is an info op that never ended.
    ops += [_Op(e.worker, e.f, e.time_ns, 2**63, "info", None, None) for e in invokes.values()]
    return ops


def check_history(
    events: Sequence[Event],
    *,
    initial: int = 0,
    final: int | None = None,
    final_read: bool = False,
) -> list[Violation]:
    """Lost updates and stale reads in a history (see the module docstring).

    ``final`` is the count read once every worker is done; ``final_read`` says it was
    read, so that ``None`` then means the counter (or its count) is gone, not unknown.
    """
    ops = _pair(events)
    violations: list[Violation] = []
    acked = [o for o in ops if o.f == "incr" and o.type == "ok"]
    incr_ok = [o for o in acked if o.count is not None]
    incr_info = [o for o in ops if o.f == "incr" and o.type == "info"]
    # The counter exists before any worker starts, so an increment that returned ok
    # without the entry (None, or no count) did not tell what it wrote: it still counts
    # as acknowledged below, and is itself wrong (a store without a lock once passed as
    # "24 ok increments, final count 0" because such results were skipped).
    for op in acked:
        if op.count is None:
            violations.append(
                Violation(
                    "wrong-result",
                    f"incr by {op.worker} returned ok without the counter's entry (or with no "
                    "count in it), though the counter exists",
                )
            )

    seen: dict[int, _Op] = {}
    for op in sorted(incr_ok, key=lambda o: o.end):
        assert op.count is not None
        if op.count in seen:
            violations.append(
                Violation(
                    "lost-update",
                    f"increments by {seen[op.count].worker} and {op.worker} both wrote "
                    f"count {op.count}: one of them was overwritten",
                )
            )
        seen.setdefault(op.count, op)
    if final is None and final_read and acked:
        violations.append(
            Violation(
                "lost-update",
                f"the counter's entry (or its count) is gone, but {len(acked)} increments "
                "returned ok",
            )
        )
    if final is not None:
        low, high = initial + len(acked), initial + len(acked) + len(incr_info)
        if not low <= final <= high:
            violations.append(
                Violation(
                    "lost-update",
                    f"final count {final}, but {len(acked)} increments returned ok "
                    f"({len(incr_info)} uncertain): {low - final} lost",
                )
            )

    # Stale counts: an observation invoked after an ok increment completed.
    by_end = sorted(incr_ok, key=lambda o: o.end)
    for obs in ops:
        if obs.type != "ok" or obs.count is None or obs.f == "fill":
            continue  # a cached load may be stale by contract
        done = [w for w in by_end if w.end < obs.start]
        if not done:
            continue
        newest = max(done, key=lambda w: w.count or 0)
        assert newest.count is not None
        too_old = obs.count <= newest.count if obs.f == "incr" else obs.count < newest.count
        if too_old:
            what = {"incr": "incremented", "route": "based its write on", "read": "read"}[obs.f]
            violations.append(
                Violation(
                    "stale-read",
                    f"{obs.f} by {obs.worker} {what} count {obs.count} although an increment "
                    f"by {newest.worker} had completed with count {newest.count} before it "
                    "began",
                )
            )

    # Stale routes: lastTo already replaced by a route that completed before the read began.
    routes = {o.last_to: o for o in ops if o.f == "route" and o.type == "ok" and o.last_to}
    for obs in ops:
        if obs.type != "ok" or obs.f in ("route", "fill") or obs.last_to is None:
            continue
        writer = routes.get(obs.last_to)
        if writer is None:
            continue
        later = [w for w in routes.values() if writer.end < w.start and w.end < obs.start]
        if later:
            violations.append(
                Violation(
                    "stale-read",
                    f"{obs.f} by {obs.worker} saw lastTo={obs.last_to!r}, already replaced "
                    f"by {later[0].last_to!r} before it began",
                )
            )
    return violations
