"""Real kills: a scenario's workload in a child process, SIGKILLed, then judged.

The in-process explorer *simulates* a process crash at operation k. This module does it
for real: the workload runs in a child process that speaks the adapter protocol
(``docs/adapter-protocol.md``; by default the reference store's own adapter, or any
``--store-cmd``) over a real temp folder, and the parent kills it with ``SIGKILL``

* at a chosen seam operation ``k`` (``op``): the child, started with ``--pause-at k``,
  announces operation ``k`` and blocks before it; the kill lands exactly there;
* when the child announces it starts serving step ``i`` (``request``), or right after
  step ``i`` was answered and before the next is sent (``acked``) -- the request
  boundaries, which also serve stores that do their own I/O (SQLite);
* after a seeded random delay (``random``), measured from the moment the child answered
  its first ``ping``; the delay is recorded, but what it hits depends on timing, so
  nothing here asserts *where* a random kill landed, only that the oracle accepts what
  it left.

Outcomes, for the same oracle as the explorer (:mod:`harness._oracle`): a step answered
before the kill is ``ok`` (or ``failed`` for an error answer); the step in flight when
the child died is ``indeterminate``; later steps were never sent: ``not-run``. A step
that was sent but that the paused child had not started (the pause event names the
request in flight) is ``not-run`` too.

Then the parent recovers -- the reference store in-process, exactly like the explorer's
recovery (a new cache, a clock ten minutes later, the start-up migration for ``auto``);
a foreign store through a new adapter process -- and runs the same checks: acceptable
states, a write after recovery, no temp or lock file left, nothing outside the store
folder, the scenario's own check.

What a SIGKILL preserves: everything the kernel accepted. Written bytes sit in the page
cache and survive the process, renames and unlinks have happened; only the process's own
unwritten buffers and its future die. So a kill never loses an ``fsync``-less write --
that is power loss (:mod:`harness._durability`). Hence the reference child runs with
``--no-sync`` (syncs still numbered and announced, so operation k is the same k), and with
``--clock-ms`` (the explorer's deterministic clock and temp names), which makes operation
``k`` of a real kill operation ``k`` of the simulated crash of the same run.

``tmpfs`` mode: disk full on a real kernel. Each run mounts a small tmpfs, writes the
setup, shrinks the mount to leave ``free_pages`` pages, runs the workload to the end (the
kernel answers ``ENOSPC``), then grows the mount again -- the operator freed space --
and recovers and checks. See :mod:`harness._tmpfs` for what a machine must allow.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import Any

from reference_store import StoreError
from reference_store.adapter import EVENT_OP, EVENT_PAUSED, EVENT_REQUEST
from reference_store.fs import FileSystem, OsFileSystem

from . import _tmpfs
from ._errors import UsageError
from ._explorer import (
    SEED_CLOCK_MS,
    STORE_FOLDER,
    STORE_NAME,
    ExploreResult,
    RunResult,
    RunSpec,
    _bounded,
    _describe_error,
    _initial_candidate,
    _recover_and_check,
    _snapshot,
    _write_setup,
)
from ._oracle import Outcome, Violation, check_reads
from ._roots import temp_root
from ._scenario import Scenario, Workload
from ._target import REFERENCE, StoreTarget
from ._workload import Load, Migrate, ReadUpdatedAt, Save, Step, Update, UpdateEntry
from .adapter import (
    AdapterClient,
    AdapterCrashed,
    AdapterError,
    AdapterStoreError,
    AdapterTimeout,
    reference_command,
)
from .faultfs import FaultFileSystem, FaultPlan, Operation

__all__ = [
    "ENV_ANNOUNCE",
    "ENV_LAYOUT",
    "ENV_PAUSE_AT",
    "ENV_PROFILE",
    "ENV_STORE_PATH",
    "KILL_KINDS",
    "REAL_MODES",
    "KillPoint",
    "RealKillOptions",
    "RealSpec",
    "StoreCommand",
    "eligible",
    "explore_real",
    "kill_specs",
    "run_real",
    "spec_from_json",
]

REAL_MODES = ("kill", "tmpfs")
#: kill kinds, in the order the explorer lists them
KILL_KINDS = ("none", "op", "request", "acked", "random", "enospc")

#: Environment a ``--store-cmd`` child gets (besides the ``{placeholders}``).
ENV_STORE_PATH = "STORE_HARNESS_STORE_PATH"
ENV_LAYOUT = "STORE_HARNESS_LAYOUT"
ENV_PROFILE = "STORE_HARNESS_PROFILE"
ENV_ANNOUNCE = "STORE_HARNESS_ANNOUNCE"
ENV_PAUSE_AT = "STORE_HARNESS_PAUSE_AT"

DEFAULT_TIMEOUT_S = 60.0
#: tmpfs: the mount is this large while the setup is written and during recovery
ROOMY_TMPFS_BYTES = 256 << 20


# --- what to kill, and where --------------------------------------------------------------------
@dataclass(frozen=True)
class KillPoint:
    """Where a real-kill run kills its child (``kind`` one of :data:`KILL_KINDS`)."""

    kind: str = "none"
    #: ``op``: the seam operation number; ``request``/``acked``: the step index
    at: int | None = None
    #: ``random``: milliseconds after the child answered its first ping
    delay_ms: float | None = None

    def describe(self) -> str:
        if self.kind == "op":
            return f"SIGKILL before seam operation #{self.at}"
        if self.kind == "request":
            return f"SIGKILL as call {self.at} starts"
        if self.kind == "acked":
            return f"SIGKILL right after call {self.at} was answered"
        if self.kind == "random":
            return f"SIGKILL {self.delay_ms} ms after start-up (seeded random moment)"
        if self.kind == "enospc":
            return "disk full (tmpfs)"
        return "no kill"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "delay_ms": self.delay_ms}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KillPoint:
        delay = raw.get("delay_ms")
        at = raw.get("at")
        return cls(
            str(raw.get("kind", "none")),
            None if at is None else int(at),
            None if delay is None else float(delay),
        )


@dataclass(frozen=True)
class RealSpec(RunSpec):
    """A :class:`RunSpec` run in a child process: ``backend`` is ``kill`` or ``tmpfs``."""

    kill: KillPoint = field(default_factory=KillPoint)
    #: the adapter command template (``None``: the reference store's adapter)
    store_cmd: str | None = None
    #: tmpfs mode: pages left free on the mount when the workload starts
    free_pages: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "kill": self.kill.to_json(),
            "store_cmd": self.store_cmd,
            "free_pages": self.free_pages,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RealSpec:
        return spec_from_json(raw)

    def describe(self) -> str:
        if self.backend == "tmpfs":
            what = f"disk full: tmpfs with {self.free_pages} free page(s) of {_tmpfs.PAGE_SIZE} B"
        else:
            what = self.kill.describe()
        return what + (f" (store: {self.store_cmd})" if self.store_cmd else "")


def spec_from_json(raw: Mapping[str, Any]) -> RealSpec:
    """A :class:`RealSpec` from a replay file's ``spec`` object."""
    base = RunSpec.from_json(raw)
    free = raw.get("free_pages")
    return RealSpec(
        **{f.name: getattr(base, f.name) for f in fields(RunSpec)},
        kill=KillPoint.from_json(raw.get("kill") or {}),
        store_cmd=raw.get("store_cmd"),
        free_pages=None if free is None else int(free),
    )


@dataclass(frozen=True)
class RealKillOptions:
    mode: str = "kill"
    seed: int = 0
    #: bound on op kill points (and tmpfs budgets) per configuration, sampled with the
    #: seed; 0: every one
    kill_points: int = 0
    #: seeded random-moment kills per configuration
    random_kills: int = 3
    #: kills at each call's start and right after its answer
    request_kills: bool = True
    #: an adapter command template; ``None``: the reference store's adapter
    store_cmd: str | None = None
    #: runs at once (threads: each run mostly waits on its child)
    jobs: int = 1
    timeout: float = DEFAULT_TIMEOUT_S


# --- the child's command line -------------------------------------------------------------------
@dataclass(frozen=True)
class StoreCommand:
    """How to start the store's adapter for one store path.

    ``template`` is split like a shell command line; ``{store_path}``, ``{layout}`` and
    ``{profile}`` in it are replaced (the same values are in ``STORE_HARNESS_*``). A
    template without ``{store_path}`` gets an ``open`` request first. ``--announce`` and
    ``--pause-at N`` are appended as the protocol defines them.
    """

    template: str | None = None
    seed: int = 0

    @property
    def opens_itself(self) -> bool:
        return self.template is None or "{store_path}" in self.template

    def argv(
        self, store_path: str, layout: str, profile: str, *, announce: bool, pause_at: int | None
    ) -> list[str]:
        if self.template is None:
            return reference_command(
                store_path,
                layout=layout,
                profile=profile,
                announce=announce,
                pause_at=pause_at,
                no_sync=True,
                clock_ms=SEED_CLOCK_MS + self.seed,
            )
        values = {"{store_path}": store_path, "{layout}": layout, "{profile}": profile}
        argv = []
        for word in shlex.split(self.template):
            filled = word
            for name, value in values.items():
                filled = filled.replace(name, value)
            argv.append(filled)
        if announce:
            argv.append("--announce")
        if pause_at is not None:
            argv += ["--pause-at", str(pause_at)]
        return argv

    def env(
        self, store_path: str, layout: str, profile: str, *, announce: bool, pause_at: int | None
    ) -> dict[str, str] | None:
        if self.template is None:
            return None
        env = dict(os.environ)
        env.update({ENV_STORE_PATH: store_path, ENV_LAYOUT: layout, ENV_PROFILE: profile})
        env[ENV_ANNOUNCE] = "1" if announce else "0"
        if pause_at is not None:
            env[ENV_PAUSE_AT] = str(pause_at)
        return env

    def start(
        self,
        store_path: str,
        layout: str,
        profile: str,
        *,
        announce: bool = False,
        pause_at: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> AdapterClient:
        args = (store_path, layout, profile)
        return AdapterClient(
            self.argv(*args, announce=announce, pause_at=pause_at),
            timeout=timeout,
            env=self.env(*args, announce=announce, pause_at=pause_at),
        )


# --- a foreign store as a StoreTarget (setup and recovery go through new adapters) -----------
class _AdapterStore:
    """Just enough of the store API for the explorer's setup and recovery code."""

    def __init__(self, client: AdapterClient) -> None:
        self.client = client

    def load(self, skip_cache: bool = False) -> dict[str, Any]:
        return self.client.load(skip_cache=skip_cache)

    def save(self, mapping: Mapping[str, Any]) -> None:
        self.client.save(mapping)

    def update(self, mutator: Callable[[dict[str, Any]], Any]) -> Any:
        # A function cannot cross the process boundary: run it on a copy and send the
        # difference. Not atomic against other writers -- recovery is single-writer.
        before = self.client.load(skip_cache=True)
        after = json.loads(json.dumps(before))
        result = mutator(after)
        changed = {k: v for k, v in after.items() if before.get(k, _ABSENT) != v}
        self.client.update(set=changed, delete=[k for k in before if k not in after])
        return result

    def close(self) -> None:
        self.client.close()


_ABSENT = object()


def _adapter_target(
    command: StoreCommand, timeout: float, started: list[AdapterClient]
) -> StoreTarget:
    """A target whose every open is a new adapter process (recorded in ``started``: the
    explorer's recovery does not close a store whose load failed, so the caller kills
    whatever is left)."""

    def start(store_path: str, layout: str, profile: str) -> AdapterClient:
        client = command.start(store_path, layout, profile, timeout=timeout)
        started.append(client)
        try:
            if not command.opens_itself:
                client.open(store_path, layout, profile)
        except BaseException:
            client.kill()
            raise
        return client

    def open_(store_path: str, layout: str, profile: str, fs: Any, **_: Any) -> _AdapterStore:
        return _AdapterStore(start(store_path, layout, profile))

    def migrate(store_path: str, profile: str, fs: Any, **_: Any) -> bool:
        with start(store_path, "auto", profile) as client:
            return client.migrate(store_path, profile)

    return StoreTarget(
        name="store-cmd",
        open=open_,
        migrate=migrate,
        refusals=(StoreError, AdapterError),
        description=f"adapter: {command.template}",
    )


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
        kind = event.get("event")
        if kind not in (EVENT_OP, EVENT_PAUSED) or not isinstance(event.get("n"), int):
            continue
        path2 = event.get("path2")
        size = event.get("size")
        ops.append(
            Operation(
                n=event["n"],
                name=str(event.get("name")),
                path=_relative(event.get("path"), root),
                path2=None if path2 is None else _relative(path2, root),
                size=size if isinstance(size, int) else None,
                outcome="killed" if kind == EVENT_PAUSED else "ok",
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
    target = REFERENCE if spec.store_cmd is None else _adapter_target(command, timeout, helpers)
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
        violations = driven.unexpected + check_reads(
            _initial_candidate(workload, spec.layout),
            workload.steps,
            driven.outcomes,
            driven.results,
        )
        try:
            more, found, expected = _recover_and_check(
                target, scenario, spec, workload, store_path, driven.outcomes, plain, root
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


# --- exploring ----------------------------------------------------------------------------------
def _has_migration(workload: Workload) -> bool:
    return any(isinstance(step, Migrate) for step in workload.steps)


def eligible(scenario: Scenario, mode: str) -> bool:
    """Whether a scenario has a real counterpart in ``mode``: a kill is the real version
    of a simulated crash, a tmpfs of a disk-full budget."""
    if mode == "kill":
        return "crash" in scenario.faults
    if mode == "tmpfs":
        return "enospc" in scenario.faults
    raise UsageError(f"unknown real mode {mode!r}; choose one of {', '.join(REAL_MODES)}")


def _configurations(
    scenario: Scenario, mode: str, layouts: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(variant, layout) pairs; in kill mode also ``sqlite`` for a workload without a
    migration or hand-made files that runs on the directory layout (SQLite has neither)."""
    pairs = [(v.name, layout) for v, layout in scenario.configurations() if not v.heavy]
    if mode == "kill":
        for variant in scenario.variants:
            if variant.heavy or (variant.layouts and "directory" not in variant.layouts):
                continue
            if "directory" not in scenario.layouts:
                continue
            workload = scenario.build(variant.params, "hardened")
            if not _has_migration(workload) and not workload.setup.files:
                pairs.append((variant.name, "sqlite"))
    return [(v, layout) for v, layout in pairs if layouts is None or layout in layouts]


def kill_specs(base: RealSpec, baseline: _Measured, options: RealKillOptions) -> list[RealSpec]:
    """Every faulted run of one configuration, from its baseline run."""
    steps = len(baseline.result.outcomes)
    if base.backend == "tmpfs":
        budgets = list(range(baseline.pages + 1))
        budgets = _bounded(budgets, options.kill_points, options.seed)
        return [
            replace(base, family="tmpfs-enospc", kill=KillPoint("enospc"), free_pages=b)
            for b in budgets
        ]
    specs: list[RealSpec] = []
    ops = list(range(1, baseline.result.op_count + 1))
    for k in _bounded(ops, options.kill_points, options.seed):
        specs.append(
            replace(base, family="kill", kill=KillPoint("op", k), plan=FaultPlan(crash_at=k))
        )
    if options.request_kills:
        for index in range(steps):
            specs.append(replace(base, family="request-kill", kill=KillPoint("request", index)))
            specs.append(replace(base, family="request-kill", kill=KillPoint("acked", index)))
    label = f"{options.seed}:{base.scenario}:{base.variant}:{base.layout}:{base.profile}"
    rng = random.Random(label)
    span_ms = max(baseline.duration_s * 1000 * 1.1, 1.0)
    for _ in range(options.random_kills):
        delay = round(rng.random() * span_ms, 1)
        specs.append(replace(base, family="random-kill", kill=KillPoint("random", delay_ms=delay)))
    return specs


def explore_real(
    scenarios: Sequence[Scenario],
    *,
    layouts: Sequence[str] | None = None,
    profiles: Sequence[str] = ("seed", "hardened"),
    options: RealKillOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> ExploreResult:
    """Every eligible scenario x variant x layout x profile, killed (or filled) for real.

    Scenarios without a real counterpart in the mode (:func:`eligible`) are left out; a
    selection where none is left is a :class:`UsageError`.
    """
    opts = options or RealKillOptions()
    if opts.mode == "tmpfs":
        support = _tmpfs.probe()
        if not support.allowed:
            raise UsageError(f"tmpfs mode: {support.reason}")
    chosen = [s for s in scenarios if eligible(s, opts.mode)]
    if not chosen:
        raise UsageError(
            f"none of the selected scenarios runs in {opts.mode} mode "
            f"({'crash' if opts.mode == 'kill' else 'enospc'} faults)"
        )
    by_name = {s.name: s for s in chosen}
    bases = [
        RealSpec(
            s.name,
            variant,
            layout,
            profile,
            opts.mode,
            seed=opts.seed,
            target=REFERENCE.name if opts.store_cmd is None else "store-cmd",
            store_cmd=opts.store_cmd,
        )
        for s in chosen
        for variant, layout in _configurations(s, opts.mode, layouts)
        for profile in profiles
    ]
    baselines = _map(
        lambda b: _run(by_name[b.scenario], b, opts.timeout), bases, opts, progress, "baselines"
    )
    specs: list[RealSpec] = []
    for base, measured in zip(bases, baselines, strict=True):
        if measured.result.outcomes:  # a failed setup has nothing to kill
            specs += kill_specs(base, measured, opts)
    runs = _map(
        lambda s: _run(by_name[s.scenario], s, opts.timeout),
        specs,
        opts,
        progress,
        "kills" if opts.mode == "kill" else "tmpfs budgets",
    )
    base_results = [m.result for m in baselines]
    return ExploreResult(
        results=[*base_results, *(m.result for m in runs)],
        baselines=base_results,
        order_violations=[],
    )


def _map(
    work: Callable[[RealSpec], _Measured],
    specs: Sequence[RealSpec],
    opts: RealKillOptions,
    progress: Callable[[int, int, str], None] | None,
    phase: str,
) -> list[_Measured]:
    out: list[_Measured] = []
    if progress:
        progress(0, len(specs), phase)
    if opts.jobs <= 1:
        for spec in specs:
            out.append(work(spec))
            if progress:
                progress(len(out), len(specs), phase)
        return out
    with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        for measured in pool.map(work, specs):
            out.append(measured)
            if progress:
                progress(len(out), len(specs), phase)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.realkill``: print what this machine allows for tmpfs."""
    support = _tmpfs.probe()
    print(json.dumps({"allowed": support.allowed, "how": support.how, "reason": support.reason}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
