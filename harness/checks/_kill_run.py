"""One real-kill run: start the child, drive the workload as protocol requests, kill it
where the spec says, then recover and check as the explorer does (the model is in
``_realkill``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from harness._errors import UsageError
from harness._roots import temp_root
from harness.checks._adapter_target import adapter_target
from harness.checks._contract import normalizer_for
from harness.checks._kill_spec import (
    DEFAULT_TIMEOUT_S,
    ROOMY_TMPFS_BYTES,
    KillPoint,
    RealSpec,
    StoreCommand,
)
from harness.engine._oracle import Outcome, Violation, check_reads
from harness.engine._run_once import (
    _describe_error,
    _initial_candidate,
    _recover_and_check,
    _snapshot,
    _write_setup,
)
from harness.engine._run_spec import CHILD_TMPDIR, STORE_FOLDER, STORE_NAME, RunResult
from harness.engine._scenario import Scenario, Workload
from harness.engine._target import REFERENCE, StoreTarget
from harness.engine._workload import Load, Migrate, ReadUpdatedAt, Save, Step, Update, UpdateEntry
from harness.faults import _tmpfs
from harness.faults._faultfs import FaultFileSystem, Operation
from harness.foreign import (
    AdapterClient,
    AdapterCrashed,
    AdapterError,
    AdapterStoreError,
    AdapterTimeout,
)
from reference_store import StoreError
from reference_store.fs import FileSystem, OsFileSystem
from reference_store.protocol import EVENT_OP, EVENT_PAUSED, EVENT_REQUEST, OpAnnouncement

__all__ = [
    "run_real",
]


# --- steps as requests ------------------------------------------------------------------------
def _request(step: Step) -> tuple[str, dict[str, Any]]:
    if isinstance(step, Migrate):
        return "migrate", {}
    if isinstance(step, Save):
        return "save", {"mapping": dict(step.mapping)}
    if isinstance(step, Update):
        args: dict[str, Any] = {"set": dict(step.set), "delete": list(step.delete)}
        if step.in_place:
            args["in_place"] = {k: dict(v) for k, v in step.in_place.items()}
        return "update", args
    if isinstance(step, UpdateEntry):
        args = {"key": step.key, "patch": dict(step.patch)}
        if step.in_place:
            args["in_place"] = dict(step.in_place)
        return "update_entry", args
    if isinstance(step, Load):
        return "load", {"skip_cache": not step.cached}
    if isinstance(step, ReadUpdatedAt):
        return "read_updated_at", {"key": step.key}
    raise UsageError(f"no adapter request for workload step {step.describe()!r}")


# --- one run ------------------------------------------------------------------------------------
@dataclass
class _Driven:
    outcomes: list[Outcome]
    results: list[Any]
    events: list[dict[str, Any]]
    unexpected: list[Violation]
    #: seconds from the answered ping to the last answer (baseline: the random-kill range)
    duration_s: float = 0.0


def _never(_event: dict[str, Any]) -> bool:
    return False


def _is_paused(event: dict[str, Any]) -> bool:
    return event.get("event") == EVENT_PAUSED


class _Killer:
    """Kills the child once and remembers which request the kill interrupted."""

    def __init__(self, client: AdapterClient) -> None:
        self.client = client
        self.killed = False
        #: the request a paused child was serving (``None``: start-up, or not known)
        self.paused_in: int | None = None
        self.paused = False

    def kill(self, event: dict[str, Any] | None = None) -> None:
        self.client.kill()
        self.killed = True
        if event is not None and _is_paused(event):
            self.paused = True
            request = event.get("request")
            self.paused_in = request if isinstance(request, int) else None

    def interrupted(self, request_id: int) -> bool:
        """Whether the kill may have caught ``request_id`` half done (a pause names the
        request it stopped in; any other kill may have caught the one in flight)."""
        return not self.paused or self.paused_in == request_id


def _wait(
    client: AdapterClient,
    rid: int,
    predicate: Callable[[dict[str, Any]], bool],
    deadline: float | None,
) -> dict[str, Any] | None:
    if deadline is None:
        return client.wait_answer_or_event(rid, predicate)
    try:
        return client.wait_answer_or_event(rid, predicate, max(0.0, deadline - time.monotonic()))
    except AdapterTimeout:
        return {"event": "deadline"}


def _drive(
    client: AdapterClient,
    steps: Sequence[Step],
    kill: KillPoint,
    opening: tuple[str, str, str] | None,
) -> _Driven:
    """Send the steps one at a time, kill where ``kill`` says; every outcome."""
    driven = _Driven([], [], [], [])
    killer = _Killer(client)
    stop: Callable[[dict[str, Any]], bool] = _is_paused if kill.kind == "op" else _never
    # The start-up open (implied by the command line) is not a request: a ping answered
    # means it is over; a pause before the answer means the kill landed inside it.
    ping = client.send("ping")
    event = client.wait_answer_or_event(ping, stop)
    if event is not None:
        killer.kill(event)
    else:
        client.receive(ping)
    if not killer.killed and opening is not None:
        store_path, layout, profile = opening
        rid = client.send("open", {"store_path": store_path, "layout": layout, "profile": profile})
        event = client.wait_answer_or_event(rid, stop)
        if event is not None:
            killer.kill(event)
        else:
            try:
                client.receive(rid)
            except (OSError, StoreError, AdapterStoreError):
                killer.kill()  # the store cannot be opened: nothing runs (as in-process)
    started = time.monotonic()
    deadline = started + (kill.delay_ms or 0.0) / 1000 if kill.kind == "random" else None
    for index, step in enumerate(steps):
        call = step.describe()
        if killer.killed:
            driven.outcomes.append(Outcome(index, call, "not-run"))
            driven.results.append(None)
            continue
        op, args = _request(step)
        rid = client.send(op, args)
        predicate = stop
        if kill.kind == "request" and kill.at == index:

            def starts(e: dict[str, Any], rid: int = rid) -> bool:
                return e.get("event") == EVENT_REQUEST and e.get("id") == rid

            predicate = starts
        event = _wait(client, rid, predicate, deadline)
        if event is not None:
            killer.kill(event)
        result: Any = None
        try:
            result = client.receive(rid, timeout=0 if killer.killed else None)
            outcome = Outcome(index, call, "ok")
        except (OSError, StoreError) as exc:
            outcome = Outcome(index, call, "failed", _describe_error(exc))
        except AdapterCrashed as exc:
            if not killer.killed:  # it died by itself
                driven.unexpected.append(
                    Violation("unexpected-error", f"{call}: the adapter died: {exc}")
                )
                killer.killed = True
            status = "indeterminate" if killer.interrupted(rid) else "not-run"
            outcome = Outcome(index, call, status, "SIGKILL" if status != "not-run" else None)
        except AdapterStoreError as exc:
            # An internal error of the store: what the call did is unknown (as in-process).
            outcome = Outcome(index, call, "indeterminate", str(exc))
            driven.unexpected.append(Violation("unexpected-error", f"{call} raised {exc}"))
        driven.outcomes.append(outcome)
        driven.results.append(result)
        if not killer.killed and kill.kind == "acked" and kill.at == index:
            killer.kill()
        # Keep the event list short: the waits above scan it on every new line.
        driven.events += client.take_events()
    driven.duration_s = time.monotonic() - started
    if not killer.killed:
        if kill.kind in ("none", "enospc"):
            client.close()
        else:  # the kill point was never reached: the child still dies by SIGKILL
            client.kill()
    driven.events += client.take_events()
    return driven


def _relative(path: Any, root: str) -> str:
    text = str(path)
    real_root = os.path.realpath(root)
    for base in (root, real_root):
        if text == base:
            return "."
        if text.startswith(base + os.sep):
            return text[len(base) + 1 :]
    return text


def _trace(events: Sequence[dict[str, Any]], root: str) -> tuple[Operation, ...]:
    ops: list[Operation] = []
    for event in events:
        announced = OpAnnouncement.from_event(event)
        if announced is None:
            continue
        ops.append(
            Operation(
                n=announced.n,
                name=announced.name,
                path=_relative(announced.path, root),
                path2=None if announced.path2 is None else _relative(announced.path2, root),
                size=announced.size,
                outcome="killed" if announced.paused else "ok",
            )
        )
    return tuple(ops)


@contextlib.contextmanager
def _run_root(spec: RealSpec) -> Iterator[tuple[str, _tmpfs.Tmpfs | None]]:
    if spec.backend == "tmpfs":
        support = _tmpfs.probe()
        if not support.allowed:
            raise UsageError(f"tmpfs mode: {support.reason}")
        with _tmpfs.tmpfs(ROOMY_TMPFS_BYTES, purpose="tmpfs-run") as mount:
            yield mount.path, mount
        return
    with temp_root("kill") as root:
        yield root, None


@dataclass
class _Measured:
    result: RunResult
    duration_s: float
    #: tmpfs: an upper bound on the pages the workload allocates
    pages: int = 0


def _pages_written(events: Sequence[dict[str, Any]]) -> int:
    """An upper bound on the pages the workload's files take (every byte ever written)."""
    per_file: dict[str, int] = {}
    pages = 0
    for event in events:
        if event.get("event") != EVENT_OP:
            continue
        name, path = event.get("name"), str(event.get("path"))
        if name in ("open_write", "create_excl"):
            per_file[path] = 0
        elif name == "write":
            per_file[path] = per_file.get(path, 0) + int(event.get("size") or 0)
        elif name == "close" and path in per_file:
            pages += -(-per_file.pop(path) // _tmpfs.PAGE_SIZE) or 1
    return pages + sum(-(-n // _tmpfs.PAGE_SIZE) or 1 for n in per_file.values())


def _run(scenario: Scenario, spec: RealSpec, timeout: float) -> _Measured:
    workload = scenario.build(scenario.variant(spec.variant).params, spec.profile)
    command = StoreCommand(spec.store_cmd, spec.seed)
    helpers: list[AdapterClient] = []
    target = REFERENCE if spec.store_cmd is None else adapter_target(command, timeout, helpers)
    try:
        return _run_in(scenario, spec, workload, command, target, timeout)
    finally:
        for helper in helpers:
            helper.kill()


def _run_in(
    scenario: Scenario,
    spec: RealSpec,
    workload: Workload,
    command: StoreCommand,
    target: StoreTarget,
    timeout: float,
) -> _Measured:
    with _run_root(spec) as (root, mount):
        # SQLite refuses any seam but the real one; elsewhere a wrapper that skips syncs
        # (a kill keeps the page cache; the explorer's setup and recovery do the same).
        plain: FileSystem = (
            OsFileSystem() if spec.layout == "sqlite" else FaultFileSystem(OsFileSystem(), root)
        )
        store_dir = os.path.join(root, STORE_FOLDER)
        os.mkdir(store_dir)
        os.mkdir(os.path.join(root, CHILD_TMPDIR))
        store_path = os.path.join(store_dir, STORE_NAME)
        try:
            _write_setup(target, plain, store_dir, workload, spec.layout, spec.profile)
        except Exception as exc:  # a store that cannot even write the setup is reported
            return _Measured(_failed(spec, f"writing the setup failed: {_describe_error(exc)}"), 0)
        if mount is not None and spec.free_pages is not None:
            mount.resize((mount.used_pages() + spec.free_pages) * _tmpfs.PAGE_SIZE)
        pause_at = spec.kill.at if spec.kill.kind == "op" else None
        client = command.start(
            store_path,
            spec.layout,
            spec.profile,
            announce=True,
            pause_at=pause_at,
            timeout=timeout,
        )
        opening = None if command.opens_itself else (store_path, spec.layout, spec.profile)
        try:
            driven = _drive(client, workload.steps, spec.kill, opening)
        except AdapterError as exc:
            return _Measured(_failed(spec, f"driving the adapter failed: {exc}"), 0)
        finally:
            client.kill()  # a no-op when it already exited; never leave a child behind
        if mount is not None:
            mount.resize(ROOMY_TMPFS_BYTES)  # the operator freed space; now restart
        after_fault = {k: len(v) for k, v in _snapshot(plain, root).items()}
        # What the store declares it rewrites on purpose is expected, not a violation.
        normalizer = (
            None
            if spec.store_cmd is None
            else normalizer_for(spec.store_cmd, timeout, spec.layout, spec.profile)
        )
        violations = driven.unexpected + check_reads(
            _initial_candidate(workload, spec.layout),
            workload.steps,
            driven.outcomes,
            driven.results,
            normalizer,
        )
        try:
            more, found, expected = _recover_and_check(
                target,
                scenario,
                spec,
                workload,
                store_path,
                driven.outcomes,
                plain,
                root,
                normalizer,
            )
        except AdapterError as exc:
            more, found, expected = [Violation("unloadable", f"recovery: {exc}")], None, []
        trace = _trace(driven.events, root)
        result = RunResult(
            spec=spec,
            trace=trace,
            outcomes=tuple(driven.outcomes),
            violations=tuple(violations + more),
            found=found,
            expected=tuple(expected[:4]),
            files_after_fault=after_fault,
            op_count=sum(1 for op in trace if op.outcome == "ok"),
            write_sizes=tuple((op.n, op.size or 0) for op in trace if op.name == "write"),
        )
        return _Measured(result, driven.duration_s, _pages_written(driven.events))


def _failed(spec: RealSpec, detail: str) -> RunResult:
    return RunResult(
        spec=spec,
        trace=(),
        outcomes=(),
        violations=(Violation("unexpected-error", detail),),
        found=None,
        expected=(),
        files_after_fault={},
        op_count=0,
    )


def run_real(
    scenario: Scenario, spec: RealSpec, *, timeout: float = DEFAULT_TIMEOUT_S
) -> RunResult:
    """Run one configuration in a child process, kill it where ``spec.kill`` says (or fill
    its tmpfs), recover, and judge it with the explorer's oracle."""
    return _run(scenario, spec, timeout).result
