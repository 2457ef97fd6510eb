"""One run: write the setup, run the workload under one fault plan, recover, check.

Deterministic: runs use a deterministic runtime (counting clock, counter temp names) and
traces name paths relative to the run's root, so the same scenario, parameters and seed
give a byte-identical trace on pyfakefs and on a real folder alike.

A run's file-system semantics (``RunSpec.semantics``: ``linux``, ``macos``, ``windows``)
wraps the backend in ``harness.faults._foreignfs``'s layers: the name rules inside the fault
filesystem, the name spelling outside it, so traces and snapshots name files as they are
on disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from harness._errors import UsageError
from harness._roots import temp_root
from harness.engine._oracle import (
    Candidate,
    Normalizer,
    Outcome,
    Violation,
    acceptable_states,
    check_reads,
    classify,
)
from harness.engine._run_spec import (
    BACKENDS,
    CHILD_TMPDIR,
    RECOVERY_DELAY_MS,
    SEED_CLOCK_MS,
    STORE_FOLDER,
    STORE_NAME,
    RunResult,
    RunSpec,
)
from harness.engine._scenario import CheckContext, Scenario, Workload
from harness.engine._target import StoreTarget, resolve_target
from harness.faults._faultfs import (
    FaultFileSystem,
    FaultPlan,
    SimulatedCrash,
    SimulatedHang,
)
from harness.faults._foreignfs import NameRules, semantics, spelling_layer
from harness.faults._planting import OUTSIDE, Planting, find_bytes, outside_changes, shaped_seam
from reference_store import SessionCache, deterministic_runtime
from reference_store._runtime import SIMULATED_PID
from reference_store.fs import FileSystem, OsFileSystem

__all__ = [
    "run_once",
]


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


#: What a temp file is called, whoever wrote it: ``*.tmp`` / ``*.temp`` (the reference
#: store; most writers), ``.tmp`` and a number (``x.tmp.1234``, ``x.tmp-9f3a``), Python's
#: ``mkstemp`` names (``tmp`` and 8 random characters) -- and anything in the child's own
#: ``$TMPDIR``.
_TEMP_NAME = re.compile(r"(\.te?mp$|\.te?mp[.\-_][0-9a-f]+$|(^|/)tmp[a-z0-9_]{8}$)")


def is_temp_name(path: str) -> bool:
    """Whether ``path`` (relative to the run's root) names a temp file."""
    if path.startswith(CHILD_TMPDIR + "/"):
        return path != CHILD_TMPDIR + "/"  # the folder itself is the harness's
    return bool(_TEMP_NAME.search(path.rstrip("/")))


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
    with ``shapes``, the layers that make planted shapes bite (``harness.faults._planting``)
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
    normalizer: Normalizer | None = None,
) -> tuple[list[Violation], dict[str, Any] | None, list[dict[str, Any]]]:
    initial = _initial_candidate(workload, spec.layout)
    expected, history, uncertain = acceptable_states(
        initial,
        workload.steps,
        outcomes,
        recover_migrates=spec.layout == "auto",
        normalizer=normalizer,
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
        # free (harness.faults._planting); FIFOs block here as in the run.
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
    leftovers = sorted(p for p in files if is_temp_name(p))
    if leftovers:
        violations.append(Violation("leftover-temp", f"temp files stay: {leftovers[:5]}"))
    locks = sorted(p for p in files if p.endswith(".lock"))
    if locks:
        violations.append(Violation("leftover-lock", f"lock files stay: {locks}"))
    ours = (STORE_FOLDER + "/", CHILD_TMPDIR + "/", *((OUTSIDE + "/",) if shapes else ()))
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
                calls_may_fail=spec.calls_may_fail(),
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
    # A key of the canonical form (agent:<id>:<rest>): stores that refuse others (openclaw
    # from 2026.9 on) must not read as unwritable.
    probe_key = "agent:harness:probe"
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
