"""A scenario's workload through its adapter under strace: killed at system calls, and
power-lost at the recorded ones (``store-harness explore --mode syscall``).

THE MODEL (the strace layer's own is at the top of ``harness.faults._syscall_trace``,
``_syscall_run`` and ``_syscall_power``; this module only plans, drives and judges):

* *Configurations* are kill mode's (``harness.checks._realkill``): every scenario with a
  ``crash`` fault (both families) or a ``power-loss`` fault (power loss only:
  :func:`families_of`), its non-heavy variants and layouts, plus ``sqlite`` where kill
  mode adds it. A workload with planted shapes (links, FIFOs) has no place in the durability
  model and is skipped, with the reason.
* *A run's root* is a fresh temp folder holding ``store/`` (the store) and ``tmpdir/``
  (the child's ``$TMPDIR``); the trace is numbered on that root, so temp files the store
  makes in ``$TMPDIR`` are calls on it too. The setup is written once; the recording's
  starting tree (``Recording.start``) is then written into every later root, so every
  run starts from the same bytes.
* *The recording*: one traced run of the workload, steps sent one at a time (never
  pipelined: the next request leaves only after the previous answer, so the calls made
  while serving request ``i`` lie between the answers of ``i-1`` and ``i``). Its outcome
  and its folder are judged as the ``baseline``.
* *syscall-kill*: for each sampled call ``k`` on the root (every call but the neutral
  ones: a kill before a read leaves the disk a kill before the next change leaves, with
  fewer answers), the workload runs again with SIGKILL at call ``k``. A run whose fault
  did not hit call ``k`` (``Injection.hit``) is *not run* -- listed with the reason,
  never judged. Outcomes as kill mode's: answered steps ok (or failed), the step in
  flight indeterminate, later steps not run.
* *power-loss*: the recording's crash states (``crash_states``), each written into a
  fresh root. A state at crash point ``p`` is the disk from right after call ``p``
  until the next call that changes the model; a step is *acknowledged* when its
  response (a line on the adapter's stdout, found in the trace as a ``write`` to
  descriptor 1, by its request ``id``) was written before that next change. Those
  steps keep the recording's outcome; the first unanswered one is indeterminate (if it
  was sent), the rest not run. The judgment is the strictest this allows: the disk
  stays the same while those responses go out.
* *Judging*: kill mode's, unchanged -- ``check_reads``, then a fresh store recovers
  the folder (a new adapter process for ``--store-cmd``; the reference store in-process
  otherwise, as kill mode does) and ``_recover_and_check`` applies the oracle, the probe
  write and the leftover checks.
* *Bounds*: at most ``max_points`` runs per family and configuration, sampled with the
  seed (0: every one). The power-loss sample is drawn from every (point, choice) pair,
  ``power_samples`` random choices a point beyond the systematic ones.
* *Modules*: ``_syscall_drive`` drives the workload and says which requests were
  answered at each point of a trace; this module plans and judges;
  ``_syscall_replay`` writes and re-runs the replay files.
* *Determinism*: the reference adapter gets ``--clock-ms`` (a deterministic clock and
  temp names) when no ``--store-cmd`` is given; a template without one makes random
  temp names, which the hit check compares up to their random part
  (``harness.faults._syscall_run._RANDOM_PART``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import Any

from harness._errors import UsageError
from harness._roots import temp_root
from harness.checks._adapter_target import adapter_target
from harness.checks._contract import normalizer_for
from harness.checks._kill_spec import DEFAULT_TIMEOUT_S, StoreCommand
from harness.checks._realkill import _configurations
from harness.checks._syscall_drive import Driven, answered_before, driver, power_outcomes
from harness.engine._explorer import ExploreResult
from harness.engine._fault_plans import _bounded
from harness.engine._oracle import Normalizer, Outcome, Violation, check_reads
from harness.engine._run_once import (
    _describe_error,
    _initial_candidate,
    _recover_and_check,
    _snapshot,
    _write_setup,
)
from harness.engine._run_spec import (
    CHILD_TMPDIR,
    DEFAULT_MAX_POINTS,
    SEED_CLOCK_MS,
    STORE_FOLDER,
    STORE_NAME,
    RunResult,
    RunSpec,
)
from harness.engine._scenario import Scenario, Workload
from harness.engine._target import REFERENCE, StoreTarget
from harness.faults._faultfs import FaultFileSystem
from harness.faults._syscall_power import (
    CrashState,
    crash_states,
)
from harness.faults._syscall_run import (
    KILL,
    Driver,
    Injection,
    Recording,
    SyscallFaultError,
    blank_random,
    inject,
    injection_support,
    record,
)
from harness.faults._syscall_trace import NEUTRAL_KINDS, RootCall, RootTrace
from harness.foreign import (
    AdapterClient,
    AdapterError,
    reference_command,
)
from reference_store.fs import FileSystem, OsFileSystem

__all__ = [
    "FAMILY_KILL",
    "FAMILY_POWER",
    "SYSCALL_BACKEND",
    "SyscallExploration",
    "SyscallOptions",
    "SyscallSpec",
    "explore_syscall",
    "families_of",
]

SYSCALL_BACKEND = "syscall"
FAMILY_KILL = "syscall-kill"
FAMILY_POWER = "power-loss"


@dataclass(frozen=True)
class SyscallSpec(RunSpec):
    """A run of ``--mode syscall``: ``call`` is the killed call (syscall-kill) or the
    crash point (power-loss: the disk right after that call; 0 before the first)."""

    store_cmd: str | None = None
    call: int | None = None
    #: the recording's call there, as ``RootCall.describe`` printed it
    call_text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "store_cmd": self.store_cmd,
            "call": self.call,
            "call_text": self.call_text,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SyscallSpec:
        base = RunSpec.from_json(raw)
        call = raw.get("call")
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(RunSpec)},
            store_cmd=raw.get("store_cmd"),
            call=None if call is None else int(call),
            call_text=str(raw.get("call_text", "")),
        )

    def calls_may_fail(self) -> bool:
        # Neither a kill nor a power loss makes a call answer with an error, but both
        # leave the store to recover from a crash (what scenario checks ask).
        return self.family != "baseline"

    def describe(self) -> str:
        store = f" (store: {self.store_cmd})" if self.store_cmd else ""
        if self.family == FAMILY_KILL:
            return f"SIGKILL at system call #{self.call} on the root: {self.call_text}{store}"
        if self.family == FAMILY_POWER:
            label = self.power.label if self.power else "?"
            where = "before the first call on the root"
            if self.call:
                where = f"right after call #{self.call}: {self.call_text}"
            return f"power loss {where}, {label}{store}"
        return f"traced run, no fault{store}"


@dataclass(frozen=True)
class SyscallOptions:
    seed: int = 0
    #: runs per family and configuration, sampled with the seed (0: every one)
    max_points: int = DEFAULT_MAX_POINTS
    #: random power-loss choices per crash point, beyond the systematic ones
    power_samples: int = 4
    store_cmd: str | None = None
    #: configurations at once (threads: each run mostly waits on its child)
    jobs: int = 1
    timeout: float = DEFAULT_TIMEOUT_S
    families: tuple[str, ...] = (FAMILY_KILL, FAMILY_POWER)


@dataclass
class SyscallExploration:
    """The runs, plus what a verdict must be read with."""

    result: ExploreResult
    #: configuration label -> the unmodelled calls of its recording (name, paths, why)
    unmodelled: dict[str, list[str]] = field(default_factory=dict)
    #: (run label, why): injections that did not hit their call, so were not judged
    missed: list[tuple[str, str]] = field(default_factory=list)
    #: (configuration label, why) of configurations that could not run at all
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: the recorded argv of each configuration, the run's root written ``{root}``
    argv: dict[str, list[str]] = field(default_factory=dict)
    #: (configuration label, calls on the root, calls traced in all) of each recording
    calls: list[tuple[str, int, int]] = field(default_factory=list)


# --- one configuration ------------------------------------------------------------------------
def _label(scenario: str, variant: str, layout: str, profile: str) -> str:
    return f"{scenario}/{variant} {layout} {profile}"


class _Config:
    """One scenario x variant x layout x profile: its command, its roots, its judge."""

    def __init__(
        self, scenario: Scenario, variant: str, layout: str, profile: str, opts: SyscallOptions
    ) -> None:
        self.scenario = scenario
        self.opts = opts
        self.base = SyscallSpec(
            scenario.name,
            variant,
            layout,
            profile,
            SYSCALL_BACKEND,
            seed=opts.seed,
            target=REFERENCE.name if opts.store_cmd is None else "store-cmd",
            store_cmd=opts.store_cmd,
        )
        self.label = _label(scenario.name, variant, layout, profile)
        self.workload: Workload = scenario.build(scenario.variant(variant).params, profile)
        self.command = StoreCommand(opts.store_cmd, opts.seed)
        self.helpers: list[AdapterClient] = []
        self.target: StoreTarget = (
            REFERENCE
            if opts.store_cmd is None
            else adapter_target(self.command, opts.timeout, self.helpers)
        )
        self.normalizer: Normalizer | None = (
            None
            if opts.store_cmd is None
            else normalizer_for(opts.store_cmd, opts.timeout, layout, profile)
        )
        opening = None
        if not self.command.opens_itself:
            opening = {"store_path": "", "layout": layout, "profile": profile}
        self._opening = opening

    def store_path(self, root: str) -> str:
        return os.path.join(root, STORE_FOLDER, STORE_NAME)

    def argv(self, root: str) -> list[str]:
        layout, profile = self.base.layout, self.base.profile
        if self.opts.store_cmd is None:
            # Not --no-sync (kill mode's): the syncs must reach the trace, power loss
            # is decided by them.
            return reference_command(
                self.store_path(root),
                layout=layout,
                profile=profile,
                clock_ms=SEED_CLOCK_MS + self.opts.seed,
            )
        return self.command.argv(
            self.store_path(root), layout, profile, announce=False, pause_at=None
        )

    def env(self, root: str) -> dict[str, str] | None:
        layout, profile = self.base.layout, self.base.profile
        return self.command.env(
            self.store_path(root), layout, profile, announce=False, pause_at=None
        )

    def driver(self, root: str) -> Driver:
        opening = None
        if self._opening is not None:
            opening = {**self._opening, "store_path": self.store_path(root)}
        return driver(self.workload.steps, opening, self.opts.timeout)

    def plain(self, root: str) -> FileSystem:
        # SQLite refuses any seam but the real one; elsewhere a wrapper that skips the
        # syncs of setup and recovery (kill mode's choice: they decide nothing here).
        if self.base.layout == "sqlite":
            return OsFileSystem()
        return FaultFileSystem(OsFileSystem(), root)

    def setup(self, root: str) -> None:
        os.mkdir(os.path.join(root, STORE_FOLDER))
        os.mkdir(os.path.join(root, CHILD_TMPDIR))
        _write_setup(
            self.target,
            self.plain(root),
            os.path.join(root, STORE_FOLDER),
            self.workload,
            self.base.layout,
            self.base.profile,
        )

    def record(self, root: str) -> Recording:
        return record(
            self.argv(root),
            root,
            env=self.env(root),
            drive=self.driver(root),
            timeout=self.opts.timeout,
        )

    def inject(self, recording: Recording, k: int, root: str) -> Injection:
        recording.start.write_into(root)
        return inject(
            recording,
            k,
            KILL,
            argv=self.argv(root),
            root=root,
            env=self.env(root),
            drive=self.driver(root),
            timeout=self.opts.timeout,
        )

    def judge(
        self,
        spec: SyscallSpec,
        root: str,
        outcomes: list[Outcome],
        results: list[Any],
        unexpected: list[Violation],
        calls: int,
        unsynced: tuple[str, ...] = (),
    ) -> RunResult:
        """Kill mode's judgment (``harness.checks._kill_run``) of the folder at ``root``."""
        plain = self.plain(root)
        workload = self.workload
        after_fault = {k: len(v) for k, v in _snapshot(plain, root).items()}
        violations = unexpected + check_reads(
            _initial_candidate(workload, spec.layout),
            workload.steps,
            outcomes,
            results,
            self.normalizer,
        )
        try:
            more, found, expected = _recover_and_check(
                self.target,
                self.scenario,
                spec,
                workload,
                self.store_path(root),
                outcomes,
                plain,
                root,
                self.normalizer,
            )
        except AdapterError as exc:
            more, found, expected = [Violation("unloadable", f"recovery: {exc}")], None, []
        violations = [
            replace(v, detail=v.detail.replace(root + os.sep, "").replace(root, "."))
            for v in violations + more
        ]
        return RunResult(
            spec=spec,
            trace=(),
            outcomes=tuple(outcomes),
            violations=tuple(violations),
            found=found,
            expected=tuple(expected[:4]),
            files_after_fault=after_fault,
            op_count=calls,
            unsynced=unsynced,
        )

    def close(self) -> None:
        for helper in self.helpers:
            helper.kill()


# --- running one configuration ----------------------------------------------------------------
@dataclass
class _ConfigRuns:
    results: list[RunResult] = field(default_factory=list)
    baseline: RunResult | None = None
    unmodelled: list[str] = field(default_factory=list)
    missed: list[tuple[str, str]] = field(default_factory=list)
    skipped: str | None = None
    argv: list[str] = field(default_factory=list)
    calls: tuple[int, int] = (0, 0)


def _unmodelled(trace: RootTrace) -> list[str]:
    """The unmodelled calls, one line per call name, relative paths and reason (a temp
    name's random part blanked: the legacy layout's ``chmod`` of each temp file is one
    line), with the first call's number and how many there were."""
    seen: dict[tuple[str, tuple[str | None, ...], str], list[RootCall]] = {}
    for entry in trace.unmodelled:
        rels = tuple(None if r is None else blank_random(r) for r in entry.rels)
        seen.setdefault((entry.call.name, rels, entry.why), []).append(entry)
    lines = []
    for (_name, _rels, why), entries in seen.items():
        times = f" (x{len(entries)})" if len(entries) > 1 else ""
        lines.append(f"{_text(entries[0], trace)}{times}: {why}")
    return lines


def _failed(spec: SyscallSpec, detail: str) -> RunResult:
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


def _text(entry: RootCall | None, trace: RootTrace) -> str:
    """``entry.describe()`` with the run's root written ``{root}``: comparable across runs."""
    return "" if entry is None else entry.describe().replace(trace.root, "{root}")


def _kill_points(recording: Recording) -> list[RootCall]:
    return [c for c in recording.trace.calls if c.op is None or c.op.kind not in NEUTRAL_KINDS]


def _run_config(cfg: _Config) -> _ConfigRuns:
    out = _ConfigRuns()
    if cfg.workload.setup.shapes:
        out.skipped = "planted shapes (links, FIFOs) are not in the durability model"
        return out
    opts = cfg.opts
    with temp_root("syscall-record") as root:
        try:
            cfg.setup(root)
        except Exception as exc:  # a store that cannot even write the setup is reported
            out.baseline = _failed(cfg.base, f"writing the setup failed: {_describe_error(exc)}")
            return out
        try:
            recording = cfg.record(root)
        except SyscallFaultError as exc:  # strace wrote no usable trace: nothing to judge
            out.skipped = f"the traced run failed: {exc}"
            return out
        out.argv = [a.replace(root, "{root}") for a in recording.argv]
        out.calls = (len(recording.trace.calls), recording.trace.total)
        out.unmodelled = _unmodelled(recording.trace)
        driven = recording.outcome
        if not isinstance(driven, Driven):
            out.baseline = _failed(cfg.base, f"driving the adapter failed: {driven!r:.300}")
            return out
        unexpected = list(driven.unexpected)
        if driven.died:
            unexpected.append(
                Violation("unexpected-error", "the adapter died during the traced run")
            )
        out.baseline = cfg.judge(
            cfg.base,
            root,
            driven.outcomes,
            driven.results,
            unexpected,
            len(recording.trace.calls),
        )
    if out.baseline.violations and driven.died:
        return out  # nothing to fault: the run itself does not finish
    families = families_of(cfg.scenario, opts)
    if FAMILY_KILL in families:
        for entry in _bounded(_kill_points(recording), opts.max_points, opts.seed):
            text = _text(entry, recording.trace)
            spec = replace(cfg.base, family=FAMILY_KILL, call=entry.n, call_text=text)
            result = _kill_run(cfg, recording, spec, entry.n)
            if isinstance(result, str):
                out.missed.append((f"{cfg.label} {spec.describe()}", result))
            else:
                out.results.append(result)
    if FAMILY_POWER in families:
        out.results += _power_runs(cfg, recording, driven)
    return out


def _kill_run(cfg: _Config, recording: Recording, spec: SyscallSpec, k: int) -> RunResult | str:
    """One kill at call ``k``, judged; or why it did not hit (nothing is judged then)."""
    with temp_root("syscall-kill") as root:
        try:
            injection = cfg.inject(recording, k, root)
        except SyscallFaultError as exc:
            return str(exc)
        if not injection.hit:
            return injection.why_missed()
        driven = injection.outcome
        if not isinstance(driven, Driven):
            return cfg.judge(
                spec, root, [], [], [Violation("unexpected-error", f"{driven!r:.300}")], k
            )
        return cfg.judge(spec, root, driven.outcomes, driven.results, list(driven.unexpected), k)


def _power_states(recording: Recording, opts: SyscallOptions) -> list[CrashState]:
    states = list(
        crash_states(recording.trace, recording.start, samples=opts.power_samples, seed=opts.seed)
    )
    return _bounded(states, opts.max_points, opts.seed)


def _power_run(
    cfg: _Config, recording: Recording, driven: Driven, state: CrashState, answered: set[int]
) -> RunResult:
    spec = replace(
        cfg.base,
        family=FAMILY_POWER,
        power=state.choice,
        call=state.after,
        call_text=_text(state.call, recording.trace),
    )
    outcomes, results = power_outcomes(driven, answered)
    with temp_root("syscall-power") as root:
        state.state.write_into(root)
        return cfg.judge(
            spec,
            root,
            outcomes,
            results,
            [],
            state.after,
            tuple(e.describe() for e in state.effects),
        )


def _power_runs(cfg: _Config, recording: Recording, driven: Driven) -> list[RunResult]:
    answered = answered_before(recording.trace, recording.start)
    return [
        _power_run(cfg, recording, driven, state, answered(state.after))
        for state in _power_states(recording, cfg.opts)
    ]


# --- exploring ------------------------------------------------------------------------------------
def _check_support() -> None:
    support = injection_support()
    if not support.usable:
        raise UsageError(
            f"--mode syscall needs strace and ptrace: {support.reason}; "
            "use the default mode (--mode explore), or --mode kill"
        )


def families_of(scenario: Scenario, opts: SyscallOptions) -> tuple[str, ...]:
    """The families a scenario runs in syscall mode: both for a ``crash`` scenario (kill
    mode's choice: a kill is the real crash), power loss alone for a ``power-loss`` one
    (its in-process family, now from the real calls)."""
    wanted: set[str] = set()
    if "crash" in scenario.faults:
        wanted = {FAMILY_KILL, FAMILY_POWER}
    elif "power-loss" in scenario.faults:
        wanted = {FAMILY_POWER}
    return tuple(f for f in opts.families if f in wanted)


def explore_syscall(
    scenarios: Sequence[Scenario],
    *,
    layouts: Sequence[str] | None = None,
    profiles: Sequence[str] = ("seed", "hardened"),
    options: SyscallOptions | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> SyscallExploration:
    """Every eligible scenario x variant x layout x profile, recorded under strace, killed
    at sampled calls and power-lost at sampled states, and judged."""
    opts = options or SyscallOptions()
    _check_support()
    chosen = [s for s in scenarios if families_of(s, opts)]
    if not chosen:
        raise UsageError(
            "none of the selected scenarios runs in syscall mode (crash or power-loss faults)"
        )
    configs = [
        _Config(s, variant, layout, profile, opts)
        for s in chosen
        for variant, layout in _configurations(s, "kill", layouts)
        for profile in profiles
    ]
    if not configs:
        raise UsageError("no configuration of the selected scenarios runs in syscall mode")

    def run(cfg: _Config) -> _ConfigRuns:
        try:
            return _run_config(cfg)
        finally:
            cfg.close()

    done: list[_ConfigRuns] = []
    if progress:
        progress(0, len(configs), "configurations")
    for runs in _map(run, configs, opts.jobs):
        done.append(runs)
        if progress:
            progress(len(done), len(configs), "configurations")
    exploration = SyscallExploration(ExploreResult([], [], []))
    for cfg, runs in zip(configs, done, strict=True):
        if runs.skipped is not None:
            exploration.skipped.append((cfg.label, runs.skipped))
            continue
        if runs.baseline is not None:
            exploration.result.baselines.append(runs.baseline)
            exploration.result.results.append(runs.baseline)
        exploration.result.results += runs.results
        exploration.missed += runs.missed
        if runs.unmodelled:
            exploration.unmodelled[cfg.label] = runs.unmodelled
        exploration.argv[cfg.label] = runs.argv
        exploration.calls.append((cfg.label, *runs.calls))
    return exploration


def _map(
    work: Callable[[_Config], _ConfigRuns], configs: Sequence[_Config], jobs: int
) -> Iterator[_ConfigRuns]:
    if jobs <= 1:
        for cfg in configs:
            yield work(cfg)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(work, configs)
