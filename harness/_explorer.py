"""The explorer: run a scenario under every fault its plan names, check each run.

Exhaustive where it can be (SQLite's anomaly loop): a baseline run counts the workload's
operations N, then the workload is crashed before operation 1, 2, ..., N, each in a fresh
copy of the setup; disk-full budgets are taken at every write boundary and mid-write;
injected errors at every chosen operation. Power loss is sampled: at the end of each call
the unsynced effects are dropped all, none, one at a time, torn, then a seeded sample.

Deterministic: runs use a deterministic runtime (counting clock, counter temp names) and
traces name paths relative to the run's root, so the same scenario, parameters and seed
give a byte-identical trace on pyfakefs and on a real folder alike.

Runs are independent, so they are spread over worker processes (``jobs``; ``fork``).

A run's file-system semantics (``RunSpec.semantics``: ``linux``, ``macos``, ``windows``)
wraps the backend in ``harness.foreignfs``'s layers: the name rules inside the fault
filesystem, the name spelling outside it, so traces and snapshots name files as they are
on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reference_store import SessionCache, deterministic_runtime
from reference_store._runtime import SIMULATED_PID
from reference_store.fs import FileSystem, OsFileSystem

from ._contain import run_contained
from ._durability import Effect, PowerLossChoice, power_loss_choices
from ._errors import UsageError
from ._oracle import (
    Candidate,
    Outcome,
    Violation,
    acceptable_states,
    check_reads,
    classify,
)
from ._planting import OUTSIDE, Planting, find_bytes, outside_changes, shaped_seam
from ._roots import temp_root
from ._scenario import CheckContext, Scenario, Variant, Workload
from ._target import REFERENCE, StoreTarget, resolve_target
from ._workload import canonical
from .faultfs import FaultFileSystem, FaultPlan, Operation, SimulatedCrash, SimulatedHang
from .foreignfs import FS_SEMANTICS, NameRules, semantics, spelling_layer

__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_POINTS",
    "FS_SEMANTICS",
    "ExploreOptions",
    "RunResult",
    "RunSpec",
    "explore",
    "fault_family",
    "run_once",
]

BACKENDS = ("fake", "real")
STORE_NAME = "sessions.json"
STORE_FOLDER = "store"
SEED_CLOCK_MS = 1_700_000_000_000
RECOVERY_DELAY_MS = 600_000  # the restarted process starts 10 minutes later


@dataclass(frozen=True)
class RunSpec:
    scenario: str
    variant: str
    layout: str
    profile: str
    backend: str
    plan: FaultPlan = field(default_factory=FaultPlan)
    family: str = "baseline"
    power: PowerLossChoice | None = None
    seed: int = 0
    #: the store implementation under test (a registered name or ``module:attr``)
    target: str = REFERENCE.name
    #: file-name rules of the emulated OS (``harness.foreignfs``)
    semantics: str = "linux"

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "layout": self.layout,
            "profile": self.profile,
            "backend": self.backend,
            "plan": self.plan.to_json(),
            "family": self.family,
            "power": None if self.power is None else self.power.to_json(),
            "seed": self.seed,
            "target": self.target,
            "fs_semantics": self.semantics,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunSpec:
        power = raw.get("power")
        return cls(
            scenario=raw["scenario"],
            variant=raw["variant"],
            layout=raw["layout"],
            profile=raw["profile"],
            backend=raw["backend"],
            plan=FaultPlan.from_json(raw["plan"]),
            family=raw.get("family", "baseline"),
            power=None if power is None else PowerLossChoice.from_json(power),
            seed=int(raw.get("seed", 0)),
            target=str(raw.get("target", REFERENCE.name)),
            semantics=str(raw.get("fs_semantics", "linux")),
        )

    def describe(self) -> str:
        power = f", power loss: {self.power.label}" if self.power else ""
        where = f", {self.semantics} file names" if self.semantics != "linux" else ""
        return f"{self.plan.describe()}{power}{where}"


@dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    trace: tuple[Operation, ...]
    outcomes: tuple[Outcome, ...]
    violations: tuple[Violation, ...]
    found: Mapping[str, Any] | None
    expected: tuple[Mapping[str, Any], ...]
    files_after_fault: Mapping[str, int]  # relative path -> size, before recovery
    op_count: int
    write_sizes: tuple[tuple[int, int], ...] = ()  # (op number, bytes) of each write
    unsynced: tuple[str, ...] = ()


#: Fault points per fault family and configuration that ``explore``, ``gate`` and
#: ``report`` sample by default, so that one story holds for every command: a bounded
#: seeded sample on real folders, ``--full`` for every point.
DEFAULT_MAX_POINTS = 25


@dataclass(frozen=True)
class ExploreOptions:
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    seed: int = 0
    power_samples: int = 4
    #: bound on runs per family per configuration (0: no bound); beyond it, sampled.
    max_points: int = 0
    #: include heavy variants (1,000-entry stores); there ``max_points`` may raise their
    #: own bound, elsewhere a variant's own bound wins
    full: bool = False
    #: seconds a run may take before its process is killed and the run reported as
    #: ``hung`` (``harness._contain``); the heaviest variants take seconds
    run_timeout: float = 120.0


# --- one run ---------------------------------------------------------------------------------
def _write_setup(
    target: StoreTarget,
    fs: FileSystem,
    store_dir: str,
    workload: Workload,
    layout: str,
    profile: str,
) -> None:
    setup = workload.setup
    store_path = os.path.join(store_dir, STORE_NAME)
    if setup.directory is not None:
        layout_for_setup = "directory" if layout in ("auto", "directory") else layout
        store = target.open(
            store_path,
            layout_for_setup,
            profile,
            fs,
            runtime=deterministic_runtime(
                SEED_CLOCK_MS - 100_000, token_prefix="s", pid=SIMULATED_PID
            ),
            cache=SessionCache(),
        )
        store.save(dict(setup.directory))
        store.close()
    if setup.legacy_raw is not None:
        fs.write_file(store_path, setup.legacy_raw)
    elif setup.legacy is not None:
        fs.write_file(
            store_path, json.dumps(dict(setup.legacy), indent=2, ensure_ascii=False).encode("utf-8")
        )
    for rel, content in setup.files.items():
        path = os.path.join(store_dir, rel)
        parent = os.path.dirname(path)
        if not fs.is_dir(parent):
            os.makedirs(parent, exist_ok=True)
        fs.write_file(path, content)
    for planting in setup.shapes:
        planting.plant(store_dir)


def _initial_candidate(workload: Workload, layout: str) -> Candidate:
    setup = workload.setup
    legacy: dict[str, Any] | None = None
    if setup.legacy is not None:
        legacy = dict(setup.legacy)
    elif setup.legacy_raw is not None:
        with contextlib.suppress(ValueError):
            parsed = json.loads(setup.legacy_raw.decode("utf-8"))
            legacy = parsed if isinstance(parsed, dict) else None
    directory = dict(setup.directory) if setup.directory is not None else None
    if layout == "legacy":
        return Candidate(legacy or {})
    if layout == "directory":
        return Candidate(directory or {})
    if directory is not None:
        return Candidate(directory, legacy or None, fresh=False)
    return Candidate(legacy or {}, legacy or None, fresh=True)


def _snapshot(fs: FileSystem, root: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}

    def walk(rel: str) -> None:
        full = os.path.join(root, rel) if rel else root
        try:
            names = fs.listdir(full)
        except OSError:
            files[(rel + "/") if rel else "./"] = b"<unreadable>"
            return
        for name in names:
            child = f"{rel}/{name}" if rel else name
            path = os.path.join(full, name)
            found = fs.stat(path)
            if found.is_dir:
                files[child + "/"] = b""
                walk(child)
            elif not found.is_file:
                # Never opened: a FIFO would block, a link would be read through.
                files[child] = f"<{_kind(found.mode)}>".encode()
            else:
                try:
                    files[child] = fs.read_file(path)
                except OSError:
                    files[child] = b"<unreadable>"

    walk("")
    return files


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "FIFO" if stat.S_ISFIFO(mode) else "special file"


def _seams(
    spec: RunSpec,
    root: str,
    plan: FaultPlan | None = None,
    *,
    track: bool = False,
    shapes: Sequence[Planting] = (),
) -> tuple[FaultFileSystem, FileSystem]:
    """The fault filesystem of a run and the seam to hand the store (foreignfs header:
    rules inside the fault layer, spelling outside it, looking at the disk untraced);
    with ``shapes``, the layers that make planted shapes bite (``harness._planting``)
    below the rules, and FIFOs that block."""
    disk = OsFileSystem()
    rules = semantics(spec.semantics)
    below = shaped_seam(disk, os.path.join(root, STORE_FOLDER), shapes)
    faults = FaultFileSystem(
        NameRules(below, root, rules),
        root,
        plan,
        track_durability=track,
        fifos_block=bool(shapes),
    )
    return faults, spelling_layer(spec.semantics, faults, root, probe=disk)


def _run_in_root(scenario: Scenario, spec: RunSpec, root: str) -> RunResult:
    # Setup and recovery go through a fault-free wrapper only so that their syncs are
    # skipped too (faultfs header: no simulated fault here can lose the page cache).
    _plain_faults, plain = _seams(spec, root)
    variant = scenario.variant(spec.variant)
    workload = scenario.build(variant.params, spec.profile)
    store_dir = os.path.join(root, STORE_FOLDER)
    plain.mkdir(store_dir)
    target = resolve_target(spec.target)
    refusals: tuple[type[BaseException], ...] = (OSError, *target.refusals)
    store_path = os.path.join(store_dir, STORE_NAME)
    try:
        _write_setup(target, plain, store_dir, workload, spec.layout, spec.profile)
    except Exception as exc:  # a store that cannot even write the setup is reported
        return _failed_setup(spec, exc)

    ffs, store_fs = _seams(
        spec, root, spec.plan, track=spec.power is not None, shapes=workload.setup.shapes
    )
    runtime = deterministic_runtime(SEED_CLOCK_MS + spec.seed, token_prefix="", pid=SIMULATED_PID)
    outcomes: list[Outcome] = []
    results: list[Any] = []
    unexpected: list[Violation] = []
    crashed = False
    store: Any = None
    try:
        store = target.open(
            store_path, spec.layout, spec.profile, store_fs, runtime=runtime, cache=SessionCache()
        )
    except SimulatedCrash as exc:
        crashed = True
        unexpected += _hang(exc, "opening the store")
    except refusals as exc:
        store = None
        unexpected += _bare_error(scenario, target, exc, "opening the store")
    for index, step in enumerate(workload.steps):
        results.append(None)
        if crashed or store is None:
            outcomes.append(Outcome(index, step.describe(), "not-run"))
            continue
        try:
            results[-1] = step.run(
                store, lambda: _migrate(target, store_path, spec.profile, store_fs, runtime)
            )
        except SimulatedCrash as exc:
            crashed = True
            outcomes.append(Outcome(index, step.describe(), "indeterminate", "crash"))
            unexpected += _hang(exc, step.describe())
        except refusals as exc:
            outcomes.append(Outcome(index, step.describe(), "failed", _describe_error(exc)))
            unexpected += _bare_error(scenario, target, exc, step.describe())
        except Exception as exc:
            # Neither a refusal nor an I/O error: a bug in the store. What the call did is
            # unknown, so it is judged as interrupted, and reported on its own.
            outcomes.append(Outcome(index, step.describe(), "indeterminate", _describe_error(exc)))
            unexpected.append(
                Violation("unexpected-error", f"{step.describe()} raised {_describe_error(exc)}")
            )
        else:
            outcomes.append(Outcome(index, step.describe(), "ok"))
    if store is not None and not crashed:
        store.close()

    unsynced: tuple[str, ...] = ()
    if spec.power is not None and ffs.durability is not None:
        unsynced = tuple(ffs.durability.effects_summary())
        ffs.durability.materialize(spec.power)
    after_fault = {k: len(v) for k, v in _snapshot(plain, root).items()}

    violations = unexpected + check_reads(
        _initial_candidate(workload, spec.layout), workload.steps, outcomes, results
    )
    more, found, expected = _recover_and_check(
        target, scenario, spec, workload, store_path, outcomes, plain, root
    )
    violations += more
    writes = tuple((op.n, op.size or 0) for op in ffs.trace if op.name == "write")
    # Details name paths relative to the run's root, so a replay compares byte for byte.
    violations = [
        replace(v, detail=v.detail.replace(root + os.sep, "").replace(root, "."))
        for v in violations
    ]
    return RunResult(
        spec=spec,
        trace=tuple(ffs.trace),
        outcomes=tuple(outcomes),
        violations=tuple(violations),
        found=found,
        expected=tuple(expected[:4]),
        files_after_fault=after_fault,
        op_count=ffs.op_count,
        write_sizes=writes,
        unsynced=unsynced,
    )


def _failed_setup(spec: RunSpec, exc: Exception) -> RunResult:
    return RunResult(
        spec=spec,
        trace=(),
        outcomes=(),
        violations=(
            Violation("unexpected-error", f"writing the setup failed: {_describe_error(exc)}"),
        ),
        found=None,
        expected=(),
        files_after_fault={},
        op_count=0,
    )


def _hang(exc: SimulatedCrash, what: str) -> list[Violation]:
    """A crash that is a FIFO's endless wait (faultfs header) is reported as ``hung``."""
    if isinstance(exc, SimulatedHang):
        return [Violation("hung", f"{what} would wait for good: {exc}")]
    return []


def _bare_error(
    scenario: Scenario, target: StoreTarget, exc: BaseException, what: str
) -> list[Violation]:
    """``bare-os-error`` where the scenario asks stores to explain their errors."""
    if not scenario.explain_errors or not isinstance(exc, OSError):
        return []
    if isinstance(exc, target.refusals):
        return []
    return [
        Violation(
            "bare-os-error",
            f"{what} failed with a bare {type(exc).__name__} ({_describe_error(exc)}) "
            "instead of a store error naming the path and what to do",
        )
    ]


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        import errno as errno_module

        return f"{errno_module.errorcode.get(exc.errno, exc.errno)}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


def _migrate(
    target: StoreTarget, store_path: str, profile: str, fs: FileSystem, runtime: Any
) -> bool:
    if target.migrate is None:
        raise UsageError(f"store {target.name!r} has no start-up migration")
    return bool(target.migrate(store_path, profile, fs, runtime=runtime))


def _recover_and_check(
    target: StoreTarget,
    scenario: Scenario,
    spec: RunSpec,
    workload: Workload,
    store_path: str,
    outcomes: list[Outcome],
    plain: FileSystem,
    root: str,
) -> tuple[list[Violation], dict[str, Any] | None, list[dict[str, Any]]]:
    initial = _initial_candidate(workload, spec.layout)
    expected, history, uncertain = acceptable_states(
        initial, workload.steps, outcomes, recover_migrates=spec.layout == "auto"
    )
    runtime = deterministic_runtime(
        SEED_CLOCK_MS + RECOVERY_DELAY_MS, token_prefix="r", pid=SIMULATED_PID
    )
    shapes = workload.setup.shapes
    store_dir = os.path.join(root, STORE_FOLDER)
    refusals: tuple[type[BaseException], ...] = (OSError, *target.refusals)
    violations: list[Violation] = []
    seam = plain
    if shapes:
        # The restarted process meets the shapes too, wherever the run left their paths
        # free (harness._planting); FIFOs block here as in the run.
        for planting in shapes:
            planting.plant(store_dir, again=True)
        seam = FaultFileSystem(
            shaped_seam(plain, store_dir, shapes, again=True), root, fifos_block=True
        )
    # With shapes a store may refuse to recover -- a store error naming the path, not a
    # loss: the shapes are then undone, as an operator following its advice would, and
    # the second recovery must find every entry. Without shapes any failure is final.
    found: dict[str, Any] | None = None
    for attempt in ("shaped", "undone") if shapes else ("plain",):
        if attempt == "undone":
            for planting in shapes:
                planting.undo(store_dir)
            seam = FaultFileSystem(plain, root, fifos_block=True)
        # Any exception counts here, not only refusals: a store that cannot recover
        # because it raises something else (a ValueError for a key with NUL) is just as
        # unloadable.
        try:
            if spec.layout == "auto":
                _migrate(target, store_path, spec.profile, seam, runtime)
            store = target.open(
                store_path, spec.layout, spec.profile, seam, runtime=runtime, cache=SessionCache()
            )
            found = store.load(skip_cache=True)
        except SimulatedHang as exc:
            return [*violations, *_hang(exc, "recovery")], None, expected
        except Exception as exc:
            if attempt == "shaped" and isinstance(exc, refusals):
                violations += _bare_error(scenario, target, exc, "recovery")
                continue
            violations.append(Violation("unloadable", f"recovery failed: {_describe_error(exc)}"))
            return violations, None, expected
        violations += classify(found, expected, history, uncertain)
        if _probe_write(store, scenario, target, violations, retry=attempt == "shaped"):
            break

    assert found is not None  # the last attempt loaded, or returned above
    if shapes:
        # What the store left is judged, not what was planted: undone first.
        for planting in shapes:
            planting.undo(store_dir)
        violations += _shapes_kept(shapes, store_dir, root)
    files = _snapshot(plain, root)
    leftovers = sorted(p for p in files if p.endswith(".tmp"))
    if leftovers:
        violations.append(Violation("leftover-temp", f"temp files stay: {leftovers[:5]}"))
    locks = sorted(p for p in files if p.endswith(".lock"))
    if locks:
        violations.append(Violation("leftover-lock", f"lock files stay: {locks}"))
    ours = (STORE_FOLDER + "/", *((OUTSIDE + "/",) if shapes else ()))
    escaped = sorted(p for p in files if not p.startswith(ours))
    if escaped:
        violations.append(Violation("escaped-folder", f"outside the store folder: {escaped}"))
    if scenario.check is not None:
        store_files = {
            p[len(STORE_FOLDER) + 1 :]: c
            for p, c in files.items()
            if p.startswith(STORE_FOLDER + "/")
        }
        violations += scenario.check(
            CheckContext(
                store_dir=os.path.join(root, STORE_FOLDER),
                files=store_files,
                found=found,
                workload=workload,
                layout=spec.layout,
                profile=spec.profile,
                outcomes=tuple(outcomes),
                faulted=spec.plan != FaultPlan() or spec.power is not None,
                semantics=spec.semantics,
            )
        )
    return violations, found, expected


def _probe_write(
    store: Any, scenario: Scenario, target: StoreTarget, violations: list[Violation], *, retry: bool
) -> bool:
    """The recovered store must take a write (after which no lock or temp file may
    remain). ``False``: it refused while shapes were planted, and recovery goes again
    without them."""
    probe_key = "harness:probe"
    try:
        store.update(lambda m: m.__setitem__(probe_key, {"sessionId": "probe", "updatedAt": 1}))
        reloaded = store.load(skip_cache=True)
        if reloaded.get(probe_key, {}).get("sessionId") != "probe":
            violations.append(Violation("unwritable", "a write after recovery did not stick"))
    except SimulatedHang as exc:
        violations += _hang(exc, "a write after recovery")
        return True  # its process is gone: nothing to close
    except Exception as exc:
        if retry and isinstance(exc, (OSError, *target.refusals)):
            violations += _bare_error(scenario, target, exc, "a write after recovery")
            store.close()
            return False
        violations.append(Violation("unwritable", f"write after recovery: {_describe_error(exc)}"))
    store.close()
    return True


def _shapes_kept(shapes: Sequence[Planting], store_dir: str, root: str) -> list[Violation]:
    """Nothing was written out of the store's folder (through a link), and nothing a
    planted object held is gone (moving it aside is fine, deleting it is not)."""
    found: list[Violation] = []
    changed = outside_changes(store_dir)
    if changed:
        found.append(
            Violation("escaped-folder", f"written out of the store's folder: {changed[:5]}")
        )
    for planting in shapes:
        kept = not planting.keeps or not planting.was_planted(store_dir)
        if not kept and not find_bytes(root, planting.payload):
            found.append(
                Violation(
                    "corrupt-destroyed",
                    f"the {len(planting.payload)} bytes planted at {planting.path} "
                    f"({planting.shape}) are gone",
                )
            )
    return found


@contextlib.contextmanager
def _backend_root(backend: str) -> Iterator[str]:
    if backend == "real":
        with temp_root("run") as root:
            yield root
    elif backend == "fake":
        from pyfakefs.fake_filesystem_unittest import Patcher

        with Patcher() as patcher:
            assert patcher.fs is not None
            root = "/harness/run"
            patcher.fs.create_dir(root)
            yield root
    else:
        raise UsageError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def run_once(scenario: Scenario, spec: RunSpec) -> RunResult:
    """Run one configuration under one fault plan, on a fresh root of its backend."""
    with _backend_root(spec.backend) as root:
        return _run_in_root(scenario, spec, root)


# --- enumerating fault plans -----------------------------------------------------------------
def fault_family(kind: str) -> str:
    return kind.split(":", 1)[0] if not kind.startswith("error:") else kind


def _budgets(baseline: RunResult) -> list[int]:
    points: set[int] = {0}
    used = 0
    for _n, size in baseline.write_sizes:
        points.add(used + size // 2)
        used += size
        points.add(used - 1 if size else used)
    return sorted(p for p in points if p >= 0)


#: Operations after a rename that failed with ENOENT in which a store's fallback acts
#: (remove the temp file, make the folder again, open, write and close the target).
_FALLBACK_OPS = 6


def _bounded(items: list[Any], limit: int, seed: int) -> list[Any]:
    if not limit or len(items) <= limit:
        return items
    import random

    rng = random.Random(seed)
    keep = sorted(rng.sample(range(len(items)), limit))
    return [items[i] for i in keep]


def plans_for(
    scenario: Scenario, base: RunSpec, baseline: RunResult, options: ExploreOptions
) -> list[RunSpec]:
    """Every faulted run of one configuration, from its baseline."""
    specs: list[RunSpec] = []
    n = baseline.op_count
    own_bound = scenario.variant(base.variant).max_points
    if own_bound and options.max_points:
        limit = max(own_bound, options.max_points) if options.full else own_bound
    else:
        limit = own_bound or options.max_points
    for kind in scenario.faults:
        family = fault_family(kind)
        plans: list[FaultPlan] = []
        if kind == "crash":
            plans = [FaultPlan(crash_at=k) for k in range(1, n + 1)]
        elif kind == "torn":
            plans = [
                FaultPlan(crash_at=k, torn_bytes=max(1, size // 2))
                for k, size in baseline.write_sizes
                if size > 1
            ]
        elif kind in ("enospc", "enospc-close"):
            plans = [
                FaultPlan(enospc_budget=b, enospc_at_close=kind == "enospc-close")
                for b in _budgets(baseline)
            ]
        elif kind.startswith("error:"):
            errno_name = kind.split(":", 1)[1]
            plans = [
                FaultPlan(errors=((op.n, errno_name),))
                for op in baseline.trace
                if op.name in scenario.error_ops and op.outcome == "ok"
            ]
        elif kind == "non-atomic":
            probe = run_once(
                _SCENARIOS[scenario.name], replace(base, plan=FaultPlan(non_atomic_replace=True))
            )
            plans = [FaultPlan(non_atomic_replace=True)] + [
                FaultPlan(non_atomic_replace=True, crash_at=k) for k in range(1, probe.op_count + 1)
            ]
        elif kind == "enoent-then-crash":
            renames = [op for op in baseline.trace if op.name == "replace" and op.outcome == "ok"]
            # The bound is shared out per rename: a fallback's damage sits right after
            # its own rename, which one sample over the whole family tends to miss.
            share = max(2, limit // max(1, len(renames))) if limit else 0
            for op in renames:
                errors = ((op.n, "ENOENT"),)
                probe = run_once(
                    _SCENARIOS[scenario.name], replace(base, plan=FaultPlan(errors=errors))
                )
                crashes = [
                    FaultPlan(errors=errors, crash_at=k)
                    for k in range(op.n + 1, probe.op_count + 1)
                ]
                # The fallback's own few operations (clean-up, folder, the in-place write)
                # come right after the failed rename: always crash inside those, and sample
                # the rest of the run.
                near, far = crashes[:_FALLBACK_OPS], crashes[_FALLBACK_OPS:]
                room = share - len(near)
                if not limit:
                    sampled = far
                else:
                    sampled = _bounded(far, room, options.seed) if room > 0 else []
                plans += [FaultPlan(errors=errors), *near, *sampled]
            specs += [replace(base, plan=p, family=family) for p in plans]
            continue
        elif kind == "power-loss":
            specs += _power_specs(scenario, base, baseline, options)
            continue
        else:
            raise UsageError(f"scenario {scenario.name!r} names unknown fault {kind!r}")
        plans = _bounded(plans, limit, options.seed)
        specs += [replace(base, plan=p, family=family) for p in plans]
    return specs


def _power_specs(
    scenario: Scenario, base: RunSpec, baseline: RunResult, options: ExploreOptions
) -> list[RunSpec]:
    """Power loss at the end of each call: the run stops before the next call's first
    operation, and the disk keeps a choice of the unsynced effects."""
    variant = scenario.variant(base.variant)
    workload = scenario.build(variant.params, base.profile)
    ends: list[int | None] = [
        _count_ops(Workload(workload.setup, workload.steps[: i + 1]), base) + 1
        for i in range(len(workload.steps) - 1)
    ]
    ends.append(None)  # after the whole workload
    specs: list[RunSpec] = []
    for crash_at in ends:
        probe_spec = replace(
            base,
            plan=FaultPlan(crash_at=crash_at),
            family="power-loss",
            power=PowerLossChoice("probe", frozenset()),
        )
        probe = run_once(scenario, probe_spec)
        effects = [Effect(i, text.split(" ", 1)[0], text) for i, text in enumerate(probe.unsynced)]
        for choice in power_loss_choices(effects, samples=options.power_samples, seed=options.seed):
            specs.append(replace(probe_spec, power=choice))
    return specs


def _count_ops(workload: Workload, base: RunSpec) -> int:
    """Operations a prefix of the workload performs (it is deterministic)."""
    scenario = Scenario(
        "prefix", "", (), lambda _p, _prof: workload, (), variants=(Variant(base.variant),)
    )
    with _backend_root(base.backend) as root:
        return _run_in_root(scenario, replace(base, plan=FaultPlan()), root).op_count


# --- running many ----------------------------------------------------------------------------
_SCENARIOS: dict[str, Scenario] = {}


def _work(
    specs: Sequence[RunSpec], started: Callable[[int], None] = lambda _i: None
) -> Iterator[tuple[int, RunResult]]:
    """Run a batch, yielding each run's result as it ends (``started(i)`` before run
    ``i``); fake-backend runs share one pyfakefs patcher (starting one is slow)."""
    fake = [i for i, s in enumerate(specs) if s.backend == "fake"]
    if fake:
        from pyfakefs.fake_filesystem_unittest import Patcher

        with Patcher() as patcher:
            assert patcher.fs is not None
            for index in fake:
                spec = specs[index]
                root = f"/harness/run-{index}"
                patcher.fs.create_dir(root)
                started(index)
                result = _run_in_root(_SCENARIOS[spec.scenario], spec, root)
                patcher.fs.remove_object(root)
                yield index, result
    for index, spec in enumerate(specs):
        if spec.backend != "fake":
            started(index)
            yield index, run_once(_SCENARIOS[spec.scenario], spec)


def _lost_run(spec: RunSpec, kind: str, detail: str) -> RunResult:
    """The result of a run whose process hung or died (``harness._contain``)."""
    violation = (
        Violation("hung", f"the run never finished: {detail} (a call or recovery hangs)")
        if kind == "hung"
        else Violation("store-crashed", f"the run's process died: {detail}")
    )
    return RunResult(
        spec=spec,
        trace=(),
        outcomes=(),
        violations=(violation,),
        found=None,
        expected=(),
        files_after_fault={},
        op_count=0,
    )


def run_contained_once(scenario: Scenario, spec: RunSpec, *, timeout_s: float) -> RunResult:
    """:func:`run_once` in a child process that may hang or die (``harness._contain``)."""
    _SCENARIOS[scenario.name] = scenario
    ((result,),) = run_contained([[spec]], _work, _lost_run, jobs=1, timeout_s=timeout_s)
    return result


@dataclass
class ExploreResult:
    results: list[RunResult]
    baselines: list[RunResult]
    order_violations: list[tuple[RunResult, Violation]]

    def violating(self) -> list[RunResult]:
        return [r for r in self.results if r.violations]

    @classmethod
    def merge(cls, parts: Sequence[ExploreResult]) -> ExploreResult:
        """The results of several explorations, in order, as one."""
        return cls(
            [r for p in parts for r in p.results],
            [b for p in parts for b in p.baselines],
            [v for p in parts for v in p.order_violations],
        )


def explore(
    scenarios: Sequence[Scenario],
    *,
    layouts: Sequence[str] | None = None,
    profiles: Sequence[str] = ("seed", "hardened"),
    backends: Sequence[str] = ("fake",),
    options: ExploreOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    target: str | StoreTarget = REFERENCE,
    fs_semantics: Sequence[str] = ("linux",),
) -> ExploreResult:
    """Explore every scenario x variant x layout x profile x backend x file-system
    semantics (``harness.foreignfs``) of one target."""
    opts = options or ExploreOptions()
    store = resolve_target(target)
    for name in fs_semantics:
        semantics(name)  # an unknown name fails here, before any run
    for scenario in scenarios:
        _SCENARIOS[scenario.name] = scenario
    bases = [
        RunSpec(
            s.name,
            v.name,
            layout,
            profile,
            backend,
            seed=opts.seed,
            target=store.name,
            semantics=fs,
        )
        for s in scenarios
        for v, layout in s.configurations()
        if (layouts is None or layout in layouts) and store.supports(layout)
        if opts.full or not v.heavy
        for profile in profiles
        for backend in backends
        for fs in fs_semantics
    ]
    baselines = _run_all([[b] for b in bases], opts, progress, "baselines")
    specs: list[RunSpec] = []
    for base, baseline in zip(bases, baselines, strict=True):
        specs += plans_for(_SCENARIOS[base.scenario], base, baseline, opts)
    batches = _batch(specs, size=24)
    results = _run_all(batches, opts, progress, "fault points")
    order = _order_checks(scenarios, baselines)
    return ExploreResult(
        results=[*baselines, *results], baselines=baselines, order_violations=order
    )


def _batch(specs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    return [specs[i : i + size] for i in range(0, len(specs), size)]


def _run_all(
    batches: list[list[RunSpec]],
    opts: ExploreOptions,
    progress: Callable[[int, int, str], None] | None,
    phase: str,
) -> list[RunResult]:
    total = sum(len(b) for b in batches)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total, phase)

    results = run_contained(
        batches, _work, _lost_run, jobs=opts.jobs, timeout_s=opts.run_timeout, progress=advance
    )
    return [r for batch in results for r in batch]


def _config(spec: RunSpec) -> tuple[str, str, str, str]:
    return spec.layout, spec.profile, spec.backend, spec.semantics


def _order_checks(
    scenarios: Sequence[Scenario], baselines: list[RunResult]
) -> list[tuple[RunResult, Violation]]:
    found: list[tuple[RunResult, Violation]] = []
    by_name = {s.name: s for s in scenarios}
    for scenario in scenarios:
        for group in scenario.same_result_groups:
            members = [
                b for b in baselines if b.spec.scenario == scenario.name and b.spec.variant in group
            ]
            configs = Counter(_config(b.spec) for b in members)
            for config in configs:
                runs = [b for b in members if _config(b.spec) == config]
                states = {canonical(r.found or {}) for r in runs}
                if len(states) > 1:
                    found.append(
                        (
                            runs[-1],
                            Violation(
                                "order-dependent",
                                f"variants {[r.spec.variant for r in runs]} of "
                                f"{by_name[scenario.name].name} hold the same entries in another "
                                "order but load different states",
                            ),
                        )
                    )
    return found
