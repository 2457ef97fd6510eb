"""One configuration of a gate run: explore it (in process or by killing an adapter),
run one of the gate's own checks, and judge what was found against the store's promises.
"""

from __future__ import annotations

import os
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from harness._errors import UsageError
from harness._roots import temp_root
from harness.checks._adapter_target import command_target
from harness.checks._target_concurrency import run_target_concurrency
from harness.checks._target_machine import MachineRun, run_target_machine
from harness.engine._contain import run_contained
from harness.engine._explorer import ExploreResult, explore
from harness.engine._oracle import Violation
from harness.engine._run_spec import ExploreOptions, RunResult
from harness.engine._scenario import Scenario
from harness.engine._target import StoreTarget, resolve_target
from harness.engine._target_source import source_of
from harness.gate._plan import (
    CHECK_BACKEND,
    CONCURRENCY_CHECK,
    KILL_BACKEND,
    MACHINE_CHECK,
    CheckOptions,
    Configuration,
    PromiseProfile,
    _claimed_faults,
)
from harness.replay._machine_replay import MachineReplay, write_machine_replay
from harness.replay._scenario_replay import write_replays

__all__ = [
    "CaseResult",
    "Status",
    "run_case",
    "run_configuration",
]

# --- one configuration -----------------------------------------------------------------------
Status = Literal["passed", "failed", "skipped"]


@dataclass(frozen=True)
class CaseResult:
    """What the gate found for one configuration."""

    configuration: Configuration
    status: Status
    #: runs explored (baselines included)
    runs: int = 0
    #: violation kind -> number of runs showing it, for the kinds that fail the gate
    kinds: Mapping[str, int] = field(default_factory=dict)
    #: the same for kinds the promise profile waives
    waived: Mapping[str, int] = field(default_factory=dict)
    violating_runs: int = 0
    #: a few violation details, for a failure message a reader can act on
    details: tuple[str, ...] = ()
    replays: tuple[str, ...] = ()
    seconds: float = 0.0
    #: why it was skipped, or the error that stopped it
    reason: str = ""
    #: a machine failure: the shrunk example, as Hypothesis prints it
    example: tuple[str, ...] = ()
    #: a machine failure: how to re-run it (the ``@reproduce_failure`` blob)
    reproduce: str = ""

    def failure_text(self) -> str:
        lines = [
            f"{self.configuration.id}: {self.violating_runs} of {self.runs} runs violate "
            f"promises: {_kinds_text(self.kinds)}"
        ]
        if self.reason:
            lines.append(self.reason)
        lines += [f"  {d}" for d in self.details]
        if self.example:
            lines.append("shrunk example (Hypothesis):")
            lines += [f"  {line}" for line in self.example]
        if self.reproduce:
            lines.append(f"reproduce: {self.reproduce}")
        if self.replays:
            lines.append("replay files (store-harness replay FILE):")
            lines += [f"  {p}" for p in self.replays]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.configuration.to_json(),
            "status": self.status,
            "runs": self.runs,
            "violating_runs": self.violating_runs,
            "kinds": dict(self.kinds),
            "waived": dict(self.waived),
            "details": list(self.details),
            "replays": list(self.replays),
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
            "example": list(self.example),
            "reproduce": self.reproduce,
        }


def _kinds_text(kinds: Mapping[str, int]) -> str:
    return ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"


def _restricted(scenario: Scenario, config: Configuration, promises: PromiseProfile) -> Scenario:
    groups = tuple(g for g in scenario.same_result_groups if set(g) <= set(config.variants))
    return replace(
        scenario,
        variants=tuple(v for v in scenario.variants if v.name in config.variants),
        faults=_claimed_faults(scenario, promises),
        same_result_groups=groups,
    )


def _judged_runs(result: ExploreResult) -> list[RunResult]:
    # An order check belongs to no single fault run; like the explore command, it is
    # reported on the last run of the group, as a run of its own.
    return [
        *result.results,
        *(replace(run, violations=(violation,)) for run, violation in result.order_violations),
    ]


def run_configuration(
    scenario: Scenario,
    config: Configuration,
    *,
    target: str | StoreTarget,
    profile: str,
    options: ExploreOptions,
    promises: PromiseProfile,
    replays_dir: str | None = None,
    store_cmd: str | None = None,
) -> CaseResult:
    """Explore one configuration and judge it.

    A store that breaks the harness itself (its ``open`` raises something that is neither
    a refusal nor an ``OSError``) fails this configuration instead of the whole gate.
    On the ``kill`` backend the store is ``store_cmd``, an adapter process killed for real.
    """
    started = time.monotonic()
    try:
        if config.backend == KILL_BACKEND:
            explored = _explore_killed(scenario, config, profile, options, promises, store_cmd)
        else:
            explored = explore(
                [_restricted(scenario, config, promises)],
                layouts=(config.layout,),
                profiles=(profile,),
                backends=(config.backend,),
                options=options,
                target=target,
            )
    except UsageError:
        raise
    except Exception as exc:
        return CaseResult(
            config,
            "failed",
            kinds={"unexpected-error": 1},
            violating_runs=1,
            reason=f"the store broke the exploration: {type(exc).__name__}: {exc}",
            seconds=time.monotonic() - started,
        )
    runs = _judged_runs(explored)
    kinds: Counter[str] = Counter()
    waived: Counter[str] = Counter()
    failing: list[RunResult] = []
    for run in runs:
        counted = [v for v in run.violations if v.kind not in promises.waived_kinds]
        kinds.update({v.kind for v in counted})
        waived.update({v.kind for v in run.violations if v.kind in promises.waived_kinds})
        if counted:
            failing.append(replace(run, violations=tuple(counted)))
    replays: list[str] = []
    if failing and replays_dir is not None:
        # Replay names carry no backend; one folder per backend keeps both.
        name = target.name if isinstance(target, StoreTarget) else target
        replays = write_replays(
            os.path.join(replays_dir, config.backend), failing, source=source_of(name)
        )
    return CaseResult(
        config,
        "failed" if failing else "passed",
        runs=len(explored.results),
        kinds=dict(sorted(kinds.items())),
        waived=dict(sorted(waived.items())),
        violating_runs=len(failing),
        details=tuple(_details(failing)),
        replays=tuple(replays),
        seconds=time.monotonic() - started,
    )


def _explore_killed(
    scenario: Scenario,
    config: Configuration,
    profile: str,
    options: ExploreOptions,
    promises: PromiseProfile,
    store_cmd: str | None,
) -> ExploreResult:
    from harness.checks._kill_spec import RealKillOptions
    from harness.checks._realkill import explore_real

    return explore_real(
        [_restricted(scenario, config, promises)],
        layouts=(config.layout,),
        profiles=(profile,),
        options=RealKillOptions(
            mode="kill",
            seed=options.seed,
            kill_points=options.max_points,
            store_cmd=store_cmd,
            jobs=options.jobs,
        ),
    )


def run_case(
    config: Configuration,
    *,
    target: str | StoreTarget,
    profile: str,
    options: ExploreOptions,
    promises: PromiseProfile,
    checks: CheckOptions | None = None,
    replays_dir: str | None = None,
    store_cmd: str | None = None,
    scenario: Scenario | None = None,
) -> CaseResult:
    """Run one configuration of a gate plan: one of the gate's checks, or a scenario's
    (``scenario``, else the catalog's scenario of that name)."""
    if config.scenario == MACHINE_CHECK:
        return run_machine_check(
            config,
            target=target,
            profile=profile,
            seed=options.seed,
            checks=checks,
            promises=promises,
            replays_dir=replays_dir,
            store_cmd=store_cmd,
        )
    if config.scenario == CONCURRENCY_CHECK:
        return run_concurrency_check(
            config,
            target=target,
            profile=profile,
            checks=checks,
            promises=promises,
            store_cmd=store_cmd,
        )
    if scenario is None:
        import scenarios as catalog

        scenario = catalog.get(config.scenario)
    return run_configuration(
        scenario,
        config,
        target=target,
        profile=profile,
        options=options,
        promises=promises,
        replays_dir=replays_dir,
        store_cmd=store_cmd,
    )


def _judged(
    config: Configuration,
    found: Mapping[str, int],
    promises: PromiseProfile,
    *,
    runs: int,
    started: float,
    **fields: Any,
) -> CaseResult:
    counted = {k: n for k, n in found.items() if k not in promises.waived_kinds}
    waived = {k: n for k, n in found.items() if k in promises.waived_kinds}
    return CaseResult(
        config,
        "failed" if counted else "passed",
        runs=runs,
        kinds=dict(sorted(counted.items())),
        waived=dict(sorted(waived.items())),
        violating_runs=1 if counted else 0,
        seconds=time.monotonic() - started,
        **fields,
    )


def run_machine_check(
    config: Configuration,
    *,
    target: str | StoreTarget,
    profile: str,
    seed: int,
    promises: PromiseProfile,
    checks: CheckOptions | None = None,
    replays_dir: str | None = None,
    store_cmd: str | None = None,
) -> CaseResult:
    """The state machine against one layout: a failure is one shrunk example, written as
    a machine replay file (``harness.replay._machine_replay``) under ``replays_dir/real/``.
    A ``store_cmd`` store is driven through adapter processes, one a simulated process.

    Hypothesis stops at the first failure, so a failure of a waived kind ends the run
    with the rest of the examples unexplored; the case says so.
    """
    opts = checks or CheckOptions()
    started = time.monotonic()
    store = resolve_target(target) if store_cmd is None else command_target(store_cmd)
    bounds = (opts.machine_examples, opts.machine_steps, seed)

    def work(
        _items: Sequence[None], begin: Callable[[int], None]
    ) -> Iterator[tuple[int, MachineRun]]:
        begin(0)
        examples, steps, seed_value = bounds
        yield (
            0,
            run_target_machine(
                store, config.layout, profile, examples=examples, steps=steps, seed_value=seed_value
            ),
        )

    def lost(_item: None, kind: str, detail: str) -> MachineRun:
        found = "hung" if kind == "hung" else "store-crashed"
        return MachineRun(False, *bounds, kind=found, message=f"{found}: the machine {detail}")

    # In a child process: a store that hangs or kills its process fails this case only.
    ((run,),) = run_contained([[None]], work, lost, jobs=1, timeout_s=opts.machine_timeout)
    bound = f"{run.examples} examples x {run.steps} steps, seed {run.seed}"
    if run.passed:
        return _judged(config, {}, promises, runs=run.examples, started=started, reason=bound)
    reason = bound
    if run.kind in promises.waived_kinds:
        reason += f"; stopped at a waived {run.kind}: later examples did not run"
    replays: tuple[str, ...] = ()
    if replays_dir is not None:
        replay = MachineReplay(
            store.name,
            config.layout,
            profile,
            run,
            None if store_cmd is not None else source_of(store.name),
            store_cmd=store_cmd,
        )
        replays = (write_machine_replay(os.path.join(replays_dir, CHECK_BACKEND), replay),)
    return _judged(
        config,
        {run.kind: 1},
        promises,
        runs=run.examples,
        started=started,
        reason=reason,
        details=tuple(_machine_details(run)),
        example=run.example,
        replays=replays,
        reproduce=f"store-harness replay {replays[0]}"
        if replays
        else _gate_command(store.name, config.layout, profile, run, store_cmd),
    )


def _machine_details(run: MachineRun, limit: int = 40) -> list[str]:
    lines = run.message.splitlines()
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"... ({len(lines) - limit + 1} more lines)"]
    return lines


def _gate_command(
    store: str, layout: str, profile: str, run: MachineRun, store_cmd: str | None = None
) -> str:
    """The gate invocation that finds this failure again (the check is seeded)."""
    which = f"--store {store}" if store_cmd is None else f"--store-cmd {shlex.quote(store_cmd)}"
    return (
        f"store-harness gate {which} -s {MACHINE_CHECK} --layout {layout} "
        f"--profile {profile} --seed {run.seed} --machine-examples {run.examples} "
        f"--machine-steps {run.steps}"
    )


#: A store behind ``--store-cmd`` races REMOTE_ROUNDS times the rounds: every call crosses a
#: pipe, so the calls of two workers overlap far less often (measured: an update_entry
#: without the lock behind the adapter shows no lost update in 12 rounds, dozens in 60).
REMOTE_ROUNDS = 5


def _rounds(opts: CheckOptions, store_cmd: str | None) -> int:
    return opts.concurrency_rounds * (REMOTE_ROUNDS if store_cmd is not None else 1)


def run_concurrency_check(
    config: Configuration,
    *,
    target: str | StoreTarget,
    profile: str,
    promises: PromiseProfile,
    checks: CheckOptions | None = None,
    store_cmd: str | None = None,
) -> CaseResult:
    """Worker processes race one store of one layout; the history is judged once (a
    ``store_cmd`` store: each worker drives an adapter process of its own)."""
    opts = checks or CheckOptions()
    started = time.monotonic()
    store = resolve_target(target) if store_cmd is None else command_target(store_cmd)
    with temp_root("gate-concurrency") as folder:
        try:
            run = run_target_concurrency(
                store, folder, config.layout, profile, rounds=_rounds(opts, store_cmd)
            )
        except Exception as exc:  # a store that deadlocks or kills its workers
            return _judged(
                config,
                {"unexpected-error": 1},
                promises,
                runs=1,
                started=started,
                reason=f"the concurrency check could not finish: {type(exc).__name__}: {exc}",
            )
    found: Counter[str] = Counter(v.kind for v in run.violations)
    details = [f"[{v.severity}] {v.kind}: {v.detail}" for v in run.violations[:5]]
    if len(run.violations) > 5:
        details.append(f"... and {len(run.violations) - 5} more")
    return _judged(
        config,
        found,
        promises,
        runs=1,
        started=started,
        reason=run.describe(),
        details=tuple(details),
    )


def _details(failing: Sequence[RunResult], limit: int = 5) -> list[str]:
    seen: dict[str, str] = {}
    for run in failing:
        for violation in run.violations:
            text = _describe(run, violation)
            seen.setdefault(f"{run.spec.variant}/{violation.kind}", text)
    return list(seen.values())[:limit]


def _describe(run: RunResult, violation: Violation) -> str:
    return (
        f"[{violation.severity}] {violation.kind} ({run.spec.variant}, "
        f"{run.spec.describe()}): {violation.detail}"
    )
