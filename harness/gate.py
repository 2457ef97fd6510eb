"""The CI gate: every scenario against one store, one verdict, and what CI reads.

:func:`run_gate` explores each *configuration* (a scenario, a variant group, a layout, a
backend) of the catalog against a store, then runs the gate's own checks -- ``machine``
(the Hypothesis state machine of :mod:`harness.machines`, bounded, one configuration per
layout) and ``concurrency`` (worker processes racing one store, judged by
:func:`harness.concurrency.check_history`, one per layout) -- and returns a
:class:`GateResult`. Checks are named and selected like scenarios (``all`` includes them,
``-s machine`` runs only them). Its promises:

* **Deterministic.** The configurations come in catalog order, checks last, every
  exploration and machine is seeded, so the same store, options and seed give the same
  cases, runs and violations. (The concurrency check is the one exception: it races real
  processes, so what it sees depends on timing; it is sound -- a linearizable store
  never fails it -- but a clean run proves only that no race was seen.)
* **Shards partition.** ``Shard(i, n)`` keeps every n-th configuration, starting at the
  i-th, checks included; the n shards of one run are disjoint and together are exactly
  the whole run.
* **Bounded.** ``budget`` seconds: no new configuration starts once they are spent; the
  ones left are reported as skipped, and a run with skipped cases does not pass unless
  ``allow_partial``.
* **Promises decide what counts.** A store claims a :class:`PromiseProfile`; fault
  families it does not claim are not explored, violation kinds it waives are reported
  but do not fail the gate. Every other violation does.

The front doors (``store-harness gate``, the pytest plugin) render a result as JUnit
XML, Markdown and replay files; the mutation score (:func:`mutation_score`) turns gate
results on seeded bugs into a bug x catching-scenario table.

This module is a front door in docs/design.md's sense: it may load the scenario catalog.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeVar

from ._contain import run_contained
from ._errors import UsageError
from ._explorer import DEFAULT_MAX_POINTS, ExploreOptions, ExploreResult, RunResult, explore
from ._gate_concurrency import run_target_concurrency
from ._gate_machine import MachineRun, run_target_machine
from ._machine_replay import MachineReplay, write_machine_replay
from ._oracle import VIOLATION_KINDS, Violation
from ._replay import write_replays
from ._roots import temp_root
from ._scenario import Scenario
from ._target import StoreTarget, resolve_target
from ._target_source import source_of

__all__ = [
    "CHECKS",
    "CONCURRENCY_CHECK",
    "DEFAULT_MAX_POINTS",
    "GATE_LAYOUTS",
    "KILL_BACKEND",
    "MACHINE_CHECK",
    "PROMISE_PROFILES",
    "CaseResult",
    "CheckOptions",
    "Configuration",
    "GateResult",
    "MutantLike",
    "MutantVerdict",
    "NotExplored",
    "PromiseProfile",
    "Shard",
    "default_profile",
    "junit_xml",
    "markdown_summary",
    "mutation_score",
    "mutation_score_json",
    "not_explored_lines",
    "plan_checks",
    "plan_gate",
    "plan_run",
    "promise_profile",
    "run_case",
    "run_configuration",
    "run_gate",
    "run_mutants",
    "select_checks",
    "select_scenarios",
    "write_gate_reports",
    "write_mutation_score",
]

#: The layouts the seam-level explorer can crash (SQLite does its own I/O).
GATE_LAYOUTS = ("legacy", "directory", "auto")
#: The backend of a store behind the adapter protocol: its process is SIGKILLed for real
#: (``harness.realkill``), which is the real version of the ``crash`` family only.
KILL_BACKEND = "kill"
#: The gate's own checks, beside the scenario catalog (selected by name like scenarios).
MACHINE_CHECK = "machine"
CONCURRENCY_CHECK = "concurrency"
CHECKS = (MACHINE_CHECK, CONCURRENCY_CHECK)
#: Where each check runs: always on real temp folders (the machine's crashes are in
#: process, the concurrency check needs real processes and a real lock).
CHECK_BACKEND = "real"
CHECK_LAYOUTS = {
    MACHINE_CHECK: ("legacy", "directory", "auto"),
    CONCURRENCY_CHECK: ("legacy", "directory"),
}
CHECK_VARIANT = {MACHINE_CHECK: "stateful", CONCURRENCY_CHECK: "processes"}


@dataclass(frozen=True)
class CheckOptions:
    """Bounds of the gate's own checks (a fast default: seconds per layout)."""

    #: run the state machine at all
    machines: bool = True
    #: Hypothesis examples per layout, and steps (rule calls) per example
    machine_examples: int = 20
    machine_steps: int = 25
    #: seconds one machine configuration may take before its process is killed and the
    #: store reported as ``hung`` (``harness._contain``)
    machine_timeout: float = 900.0
    #: run the concurrency check at all
    concurrency: bool = True
    #: calls per worker process
    concurrency_rounds: int = 12

    def __post_init__(self) -> None:
        if self.machine_examples < 1 or self.machine_steps < 1 or self.concurrency_rounds < 1:
            raise UsageError("machine examples, machine steps and concurrency rounds must be >= 1")

    def enabled(self, check: str) -> bool:
        return self.machines if check == MACHINE_CHECK else self.concurrency


# --- promises --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromiseProfile:
    """The promises a store claims, as what the gate leaves out of its verdict."""

    name: str
    description: str
    #: fault families not explored at all (``power-loss``, ``enospc``, ``error:EIO``, ...)
    skip_faults: frozenset[str] = frozenset()
    #: violation kinds reported but not failing the gate
    waived_kinds: frozenset[str] = frozenset()

    def with_waived(self, kinds: Iterable[str]) -> PromiseProfile:
        extra = frozenset(kinds)
        unknown = sorted(extra - set(VIOLATION_KINDS))
        if unknown:
            raise UsageError(
                f"unknown violation kind(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(VIOLATION_KINDS))}"
            )
        if not extra:
            return self
        waived = self.waived_kinds | extra
        return replace(
            self, name=f"{self.name}+waive:{','.join(sorted(extra))}", waived_kinds=waived
        )


PROMISE_PROFILES: dict[str, PromiseProfile] = {
    p.name: p
    for p in (
        PromiseProfile("hardened", "every promise of harness._summary.PROMISES"),
        PromiseProfile(
            "no-power-loss",
            "every promise but durability after power loss (a store without fsync)",
            skip_faults=frozenset({"power-loss"}),
        ),
        PromiseProfile(
            "process-crash",
            "only what survives a killed process: no power loss, no disk-full or I/O-error "
            "handling",
            skip_faults=frozenset(
                {
                    "power-loss",
                    "enospc",
                    "enospc-close",
                    "error:EIO",
                    "error:EACCES",
                    "error:EXDEV",
                    "error:ENOSPC",
                }
            ),
        ),
    )
}


def promise_profile(promises: str | PromiseProfile) -> PromiseProfile:
    if isinstance(promises, PromiseProfile):
        return promises
    try:
        return PROMISE_PROFILES[promises]
    except KeyError:
        known = ", ".join(PROMISE_PROFILES)
        raise UsageError(f"unknown promise profile {promises!r}; choose one of {known}") from None


# --- configurations and shards ---------------------------------------------------------------
@dataclass(frozen=True)
class Configuration:
    """The unit of sharding and of reporting: one JUnit test case, one pytest item.

    Variants the scenario compares with each other (``same_result_groups``: the same
    entries in another order) stay together in one configuration, since the check needs
    all of them.
    """

    scenario: str
    variants: tuple[str, ...]
    layout: str
    backend: str

    @property
    def name(self) -> str:
        return f"{'+'.join(self.variants)}-{self.layout}-{self.backend}"

    @property
    def id(self) -> str:
        return f"{self.scenario}[{self.name}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "variants": list(self.variants),
            "layout": self.layout,
            "backend": self.backend,
        }


@dataclass(frozen=True)
class NotExplored(Configuration):
    """A configuration of the plan that does not run, and why (for the reports: what a
    gate leaves out must be said, or a store that takes nothing passes everything)."""

    reason: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "reason": self.reason}


_Config = TypeVar("_Config", bound=Configuration)


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based, as CI matrices count) of ``count``."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise UsageError(f"shard {self.index}/{self.count}: need 1 <= i <= n")

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise UsageError(f"shard {text!r} is not i/n (e.g. 2/4)")
        return cls(int(match.group(1)), int(match.group(2)))

    def select(self, configurations: Sequence[_Config]) -> list[_Config]:
        # Round robin rather than contiguous blocks: neighbours in the catalog are often
        # variants of one heavy scenario, so striding spreads the cost over the shards.
        return [c for i, c in enumerate(configurations) if i % self.count == self.index - 1]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _variant_groups(scenario: Scenario, layout: str, full: bool) -> list[tuple[str, ...]]:
    present = [
        v.name for v, lay in scenario.configurations() if lay == layout and (full or not v.heavy)
    ]
    groups: list[tuple[str, ...]] = []
    grouped: set[str] = set()
    for name in present:
        if name in grouped:
            continue
        together = next((g for g in scenario.same_result_groups if name in g), (name,))
        members = tuple(v for v in present if v in together)
        grouped.update(members)
        groups.append(members)
    return groups


def _claimed_faults(scenario: Scenario, promises: PromiseProfile) -> tuple[str, ...]:
    return tuple(f for f in scenario.faults if f not in promises.skip_faults)


def _unexplored_reason(
    scenario: Scenario, layout: str, backend: str, target: StoreTarget, promises: PromiseProfile
) -> str | None:
    """Why a scenario's configuration does not run; ``None`` when it does."""
    faults = _claimed_faults(scenario, promises)
    if layout not in GATE_LAYOUTS:
        return f"the gate cannot crash the {layout} layout (it does its own I/O)"
    if backend == KILL_BACKEND:
        if "crash" in faults:
            return None
        return (
            "a --store-cmd store is SIGKILLed for real, which reproduces the crash fault "
            f"only; this scenario has none (its faults: {', '.join(scenario.faults)})"
        )
    unsupported = target.unsupported(layout)
    if unsupported is not None:
        return unsupported
    if not faults:
        return f"promises {promises.name} claim none of its faults ({', '.join(scenario.faults)})"
    return None


def plan_gate(
    scenarios: Sequence[Scenario],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    backends: Sequence[str] = ("real",),
    promises: PromiseProfile,
    full: bool = False,
) -> tuple[list[Configuration], list[NotExplored]]:
    """Every configuration of a gate run in catalog order: (to run, not explored).

    Not explored, each with its reason: the store's promises leave none of the
    scenario's faults to explore (on the ``kill`` backend: no ``crash`` fault, the only
    one a real kill reproduces), or the store cannot take the layout (``auto`` without
    ``migrate``, a layout its :class:`StoreTarget` leaves out). Layouts left out with
    ``layouts`` are the caller's choice and are not listed.
    """
    claimed: list[Configuration] = []
    unclaimed: list[NotExplored] = []
    for scenario in scenarios:
        for layout in dict.fromkeys(lay for _v, lay in scenario.configurations()):
            if layouts is not None and layout not in layouts:
                continue
            for group in _variant_groups(scenario, layout, full):
                for backend in backends:
                    why = _unexplored_reason(scenario, layout, backend, target, promises)
                    if why is None:
                        claimed.append(Configuration(scenario.name, group, layout, backend))
                    else:
                        unclaimed.append(NotExplored(scenario.name, group, layout, backend, why))
    return claimed, unclaimed


def plan_checks(
    checks: Sequence[str],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    options: CheckOptions | None = None,
    in_process: bool = True,
) -> tuple[list[Configuration], list[NotExplored]]:
    """The configurations of the gate's own checks: (to run, cannot run).

    Each check runs once per layout the store supports, on real temp folders. A store
    that lives in another process (``--store-cmd``) cannot be driven by either, and a
    store cannot take a layout it does not support: those configurations are returned
    as cannot-run, with the reason; a check switched off is left out.
    """
    opts = options or CheckOptions()
    run: list[Configuration] = []
    cannot: list[NotExplored] = []
    for check in CHECKS:
        if check not in checks or not opts.enabled(check):
            continue
        for layout in CHECK_LAYOUTS[check]:
            if layouts is not None and layout not in layouts:
                continue
            fields = (check, (CHECK_VARIANT[check],), layout, CHECK_BACKEND)
            why = (
                f"the {check} check drives the store in process; a --store-cmd store runs "
                "in its own"
                if not in_process
                else target.unsupported(layout)
            )
            if why is None:
                run.append(Configuration(*fields))
            else:
                cannot.append(NotExplored(*fields, reason=why))
    return run, cannot


def plan_run(
    names: Sequence[str | Scenario],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    backends: Sequence[str] = ("real",),
    promises: PromiseProfile,
    full: bool = False,
    checks: CheckOptions | None = None,
    in_process: bool = True,
) -> tuple[list[Configuration], list[NotExplored]]:
    """The whole plan of a gate run over ``names`` (scenario names or globs, check names,
    ``all``): (to run, not explored -- each with its reason), scenarios in catalog
    order, then the checks."""
    claimed, unclaimed = plan_gate(
        select_scenarios(names),
        target=target,
        layouts=layouts,
        backends=backends,
        promises=promises,
        full=full,
    )
    runnable, not_runnable = plan_checks(
        select_checks(names),
        target=target,
        layouts=layouts,
        options=checks,
        in_process=in_process,
    )
    return claimed + runnable, unclaimed + not_runnable


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
    from . import realkill

    return realkill.explore_real(
        [_restricted(scenario, config, promises)],
        layouts=(config.layout,),
        profiles=(profile,),
        options=realkill.RealKillOptions(
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
        )
    if config.scenario == CONCURRENCY_CHECK:
        return run_concurrency_check(
            config, target=target, profile=profile, checks=checks, promises=promises
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
) -> CaseResult:
    """The state machine against one layout: a failure is one shrunk example, written as
    a machine replay file (``harness._machine_replay``) under ``replays_dir/real/``.

    Hypothesis stops at the first failure, so a failure of a waived kind ends the run
    with the rest of the examples unexplored; the case says so.
    """
    opts = checks or CheckOptions()
    started = time.monotonic()
    store = resolve_target(target)
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
        replay = MachineReplay(store.name, config.layout, profile, run, source_of(store.name))
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
        else _gate_command(store.name, config.layout, profile, run),
    )


def _machine_details(run: MachineRun, limit: int = 40) -> list[str]:
    lines = run.message.splitlines()
    if len(lines) > limit:
        lines = [*lines[: limit - 1], f"... ({len(lines) - limit + 1} more lines)"]
    return lines


def _gate_command(store: str, layout: str, profile: str, run: MachineRun) -> str:
    """The gate invocation that finds this failure again (the check is seeded)."""
    return (
        f"store-harness gate --store {store} -s {MACHINE_CHECK} --layout {layout} "
        f"--profile {profile} --seed {run.seed} --machine-examples {run.examples} "
        f"--machine-steps {run.steps}"
    )


def run_concurrency_check(
    config: Configuration,
    *,
    target: str | StoreTarget,
    profile: str,
    promises: PromiseProfile,
    checks: CheckOptions | None = None,
) -> CaseResult:
    """Worker processes race one store of one layout; the history is judged once."""
    opts = checks or CheckOptions()
    started = time.monotonic()
    store = resolve_target(target)
    with temp_root("gate-concurrency") as folder:
        try:
            run = run_target_concurrency(
                store, folder, config.layout, profile, rounds=opts.concurrency_rounds
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


# --- the whole gate --------------------------------------------------------------------------
@dataclass(frozen=True)
class GateResult:
    """The verdict of one gate run (or of one shard of it)."""

    target: str
    profile: str
    promises: PromiseProfile
    shard: Shard
    cases: tuple[CaseResult, ...]
    #: configurations that do not run, each with its reason: the store's promises leave
    #: nothing to explore, or the store (or the backend) cannot take them
    unclaimed: tuple[NotExplored, ...] = ()
    allow_partial: bool = False
    budget: float | None = None
    seconds: float = 0.0
    options: ExploreOptions = field(default_factory=ExploreOptions)
    checks: CheckOptions = field(default_factory=CheckOptions)

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases if c.status == "failed")

    @property
    def skipped(self) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases if c.status == "skipped")

    @property
    def complete(self) -> bool:
        return not self.skipped

    @property
    def passed(self) -> bool:
        """No violation that counts, and every configuration ran (or partial is allowed)."""
        return not self.failed and (self.complete or self.allow_partial)

    @property
    def exit_code(self) -> int:
        """0 passed; 1 a violation; 3 no violation, but the budget left cases unrun."""
        if self.failed:
            return 1
        return 0 if self.passed else 3

    @property
    def runs(self) -> int:
        return sum(c.runs for c in self.cases)

    def caught_by(self) -> tuple[str, ...]:
        """Scenarios with a failing configuration, in catalog order."""
        return tuple(dict.fromkeys(c.configuration.scenario for c in self.failed))

    def verdict(self) -> str:
        if self.failed:
            return "FAILED"
        if not self.complete:
            return "PARTIAL (allowed)" if self.allow_partial else "INCOMPLETE"
        return "PASSED"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "store-harness.gate/1",
            "verdict": self.verdict(),
            "passed": self.passed,
            "target": self.target,
            "profile": self.profile,
            "promises": {
                "name": self.promises.name,
                "description": self.promises.description,
                "skip_faults": sorted(self.promises.skip_faults),
                "waived_kinds": sorted(self.promises.waived_kinds),
            },
            "shard": str(self.shard),
            "budget": self.budget,
            "allow_partial": self.allow_partial,
            "seed": self.options.seed,
            "max_points": self.options.max_points,
            "full": self.options.full,
            "checks": {
                "machines": self.checks.machines,
                "machine_examples": self.checks.machine_examples,
                "machine_steps": self.checks.machine_steps,
                "concurrency": self.checks.concurrency,
                "concurrency_rounds": self.checks.concurrency_rounds,
            },
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
            "cases": [c.to_json() for c in self.cases],
            "unclaimed": [c.to_json() for c in self.unclaimed],
        }


def select_checks(names: Sequence[str | Scenario]) -> list[str]:
    """The gate's own checks that ``names`` select (``all`` selects every one)."""
    return [
        check
        for check in CHECKS
        if any(isinstance(n, str) and (n == "all" or fnmatch.fnmatchcase(check, n)) for n in names)
    ]


def select_scenarios(names: Sequence[str | Scenario]) -> list[Scenario]:
    """The scenarios ``names`` select; a name that selects only a check is no error."""
    import scenarios as catalog

    chosen: list[Scenario] = []
    for item in names:
        if isinstance(item, Scenario):
            found = [item]
        elif (
            item != "all"
            and select_checks([item])
            and not any(fnmatch.fnmatchcase(n, item) for n in catalog.names())
        ):
            continue
        else:
            found = catalog.select([item])
        for scenario in found:
            if scenario.name not in {s.name for s in chosen}:
                chosen.append(scenario)
    return chosen


def _command_target(command: str) -> StoreTarget:
    def in_another_process(*_args: object, **_kwargs: object) -> object:
        raise UsageError("a --store-cmd store runs in its own process, never in-process")

    # A name only: nothing opens it in-process, and it is not registered.
    return StoreTarget(name=f"store-cmd: {command}", open=in_another_process)


def default_profile(target: StoreTarget) -> str:
    return "hardened" if "hardened" in target.profiles else target.profiles[0]


def run_gate(
    store: str | StoreTarget | None,
    *,
    scenarios: Sequence[str | Scenario] = ("all",),
    layouts: Sequence[str] | None = None,
    backends: Sequence[str] = ("real",),
    profile: str | None = None,
    promises: str | PromiseProfile = "hardened",
    options: ExploreOptions | None = None,
    shard: Shard | None = None,
    budget: float | None = None,
    allow_partial: bool = False,
    replays_dir: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[int, int, Configuration], None] | None = None,
    store_cmd: str | None = None,
    checks: CheckOptions | None = None,
    check_store: bool = False,
    on_case: Callable[[int, int, CaseResult], None] | None = None,
) -> GateResult:
    """Run every claimed configuration of ``scenarios`` (names or globs; ``machine`` and
    ``concurrency`` name the gate's own checks, ``all`` is everything) against ``store``.

    ``profile`` is what the store is opened with (default ``hardened`` when the store
    knows it); ``options`` default to a bounded run (``max_points=25``), ``checks`` to
    the checks' fast defaults; replay files are written under ``replays_dir/<backend>/``
    when it is given. ``clock`` is only read to enforce ``budget``.

    ``store_cmd`` (with ``store=None``): a store behind the adapter protocol
    (``docs/adapter-protocol.md``), SIGKILLed for real at each operation its child
    announces; only scenarios with a ``crash`` fault can run that way, the others are
    reported as not claimed.

    ``check_store``: before anything runs, the pre-flight of :mod:`harness._preflight`
    (profile, signatures, one open and close in a temp root) raises :class:`UsageError`
    for a store the harness cannot drive at all; without it such a store fails every
    configuration, each as a store regression (the front doors turn it on).

    ``on_case(done, total, case)`` is called after each configuration that ran, with
    its verdict (``progress`` only names the configuration).
    """
    if store_cmd is not None:
        target = _command_target(store_cmd)
        backends = (KILL_BACKEND,)
    elif store is None:
        raise UsageError("no store to gate: give a store or a store command")
    else:
        target = resolve_target(store)
    chosen_profile = profile or default_profile(target)
    promised = promise_profile(promises)
    opts = options or ExploreOptions(max_points=DEFAULT_MAX_POINTS)
    part = shard or Shard()
    check_opts = checks or CheckOptions()
    chosen = select_scenarios(scenarios)
    by_name = {s.name: s for s in chosen}
    claimed, unclaimed = plan_run(
        scenarios,
        target=target,
        layouts=layouts,
        backends=backends,
        promises=promised,
        full=opts.full,
        checks=check_opts,
        in_process=store_cmd is None,
    )
    mine = part.select(claimed)
    if check_store and store_cmd is None:
        from ._preflight import preflight

        opened = [c.layout for c in (mine or claimed)[:1]]
        preflight(target, profile=chosen_profile, layouts=opened, timeout_s=opts.run_timeout)
    started = clock()
    cases: list[CaseResult] = []
    for done, config in enumerate(mine):
        spent = clock() - started
        if budget is not None and spent >= budget:
            cases.append(
                CaseResult(
                    config, "skipped", reason=f"budget of {budget:g} s spent ({spent:.1f} s)"
                )
            )
            continue
        cases.append(
            run_case(
                config,
                target=target,
                profile=chosen_profile,
                options=opts,
                promises=promised,
                checks=check_opts,
                replays_dir=replays_dir,
                store_cmd=store_cmd,
                scenario=by_name.get(config.scenario),
            )
        )
        if progress is not None:
            progress(done + 1, len(mine), config)
        if on_case is not None:
            on_case(done + 1, len(mine), cases[-1])
    return GateResult(
        target=target.name,
        profile=chosen_profile,
        promises=promised,
        shard=part,
        cases=tuple(cases),
        unclaimed=tuple(part.select(unclaimed)),
        allow_partial=allow_partial,
        budget=budget,
        seconds=clock() - started,
        options=opts,
        checks=check_opts,
    )


# --- reports ---------------------------------------------------------------------------------
def junit_xml(result: GateResult) -> bytes:
    """JUnit XML: one test suite per scenario, one test case per configuration."""
    root = ET.Element(
        "testsuites",
        name=f"store-harness gate {result.target}",
        tests=str(len(result.cases) + len(result.unclaimed)),
        failures=str(len(result.failed)),
        errors="0",
        skipped=str(len(result.skipped) + len(result.unclaimed)),
        time=f"{sum(c.seconds for c in result.cases):.3f}",
    )
    suites: dict[str, list[tuple[Configuration, CaseResult | None]]] = {}
    for ran in result.cases:
        suites.setdefault(ran.configuration.scenario, []).append((ran.configuration, ran))
    for left_out in result.unclaimed:
        suites.setdefault(left_out.scenario, []).append((left_out, None))
    for scenario, members in suites.items():
        cases = [c for _cfg, c in members if c is not None]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=scenario,
            tests=str(len(members)),
            failures=str(sum(c.status == "failed" for c in cases)),
            errors="0",
            skipped=str(sum(c is None or c.status == "skipped" for _cfg, c in members)),
            time=f"{sum(c.seconds for c in cases):.3f}",
        )
        for config, case in members:
            element = ET.SubElement(
                suite,
                "testcase",
                classname=f"store_harness.{scenario}",
                name=config.name,
                time=f"{case.seconds:.3f}" if case else "0.000",
            )
            if case is None:
                reason = config.reason if isinstance(config, NotExplored) else ""
                ET.SubElement(element, "skipped", message=f"not explored: {reason}")
            elif case.status == "skipped":
                ET.SubElement(element, "skipped", message=case.reason)
            elif case.status == "failed":
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=_kinds_text(case.kinds),
                    type="violation",
                )
                failure.text = case.failure_text()
            else:
                out = ET.SubElement(element, "system-out")
                out.text = f"{case.runs} runs, no violation"
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_summary(result: GateResult, *, max_rows: int = 50) -> str:
    """A summary for a CI log or a pull request (GitHub-flavoured Markdown)."""
    icon = {"PASSED": "✅", "FAILED": "❌"}.get(result.verdict(), "⚠️")
    lines = [
        f"## {icon} store-harness gate: {result.verdict()}",
        "",
        f"store `{result.target}` · profile `{result.profile}` · promises "
        f"`{result.promises.name}` ({result.promises.description}) · shard {result.shard} · "
        f"seed {result.options.seed} · max points {result.options.max_points or 'all'}"
        + _checks_text(result),
        "",
        "| configurations | passed | failed | skipped (budget) | not explored | runs | time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {len(result.cases)} | {len(result.cases) - len(result.failed) - len(result.skipped)}"
        f" | {len(result.failed)} | {len(result.skipped)} | {len(result.unclaimed)}"
        f" | {result.runs} | {result.seconds:.0f} s |",
    ]
    if result.failed:
        lines += [
            "",
            "### Violations",
            "",
            "| scenario | configuration | violating runs | kinds | replay |",
            "|---|---|---:|---|---|",
        ]
        for case in result.failed[:max_rows]:
            replay = f"`{case.replays[0]}`" if case.replays else "-"
            if not case.replays and case.example:
                replay = "shrunk example below"
            more = f" (+{len(case.replays) - 1})" if len(case.replays) > 1 else ""
            lines.append(
                f"| {_md(case.configuration.scenario)} | {_md(case.configuration.name)} | "
                f"{case.violating_runs} / {case.runs} | {_md(_kinds_text(case.kinds))} | "
                f"{replay}{more} |"
            )
        if len(result.failed) > max_rows:
            lines.append(f"\n… and {len(result.failed) - max_rows} more (see junit.xml)")
        kinds = sorted({k for c in result.failed for k in c.kinds})
        lines += ["", "What the kinds mean:", ""]
        lines += [
            f"- `{k}` ({severity}): {meaning}"
            for k in kinds
            for severity, meaning in [VIOLATION_KINDS.get(k, ("?", "not a registered kind"))]
        ]
        lines += ["", "Re-run one failure: `store-harness replay <replay file>`."]
        lines += _machine_failures(result.failed)
    waived: Counter[str] = Counter()
    for case in result.cases:
        waived.update(case.waived)
    if waived:
        lines += ["", f"Waived by the promise profile (not failing): {_kinds_text(waived)}"]
    if result.skipped:
        lines += [
            "",
            f"### Skipped: budget of {result.budget:g} s spent"
            + (" (allowed)" if result.allow_partial else " (the gate does not pass)"),
            "",
        ]
        lines += [f"- {c.configuration.id}" for c in result.skipped[:max_rows]]
        if len(result.skipped) > max_rows:
            lines.append(f"- … and {len(result.skipped) - max_rows} more")
    if result.unclaimed:
        lines += [
            "",
            f"### Not explored (promises `{result.promises.name}`, store `{_md(result.target)}`)",
            "",
        ]
        lines += [f"- {_md(line)}" for line in not_explored_lines(result.unclaimed)]
    return "\n".join(lines) + "\n"


def not_explored_lines(unclaimed: Iterable[NotExplored]) -> list[str]:
    """One line per scenario (or check) and reason: ``name (layouts): reason``, in plan
    order; what the terminal, the Markdown summary and the plugin's header say."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for config in unclaimed:
        where = config.layout if config.backend == "real" else f"{config.layout}/{config.backend}"
        places = grouped.setdefault((config.scenario, config.reason), [])
        if where not in places:
            places.append(where)
    return [f"{name} ({', '.join(places)}): {why}" for (name, why), places in grouped.items()]


def _checks_text(result: GateResult) -> str:
    ran = {c.configuration.scenario for c in result.cases}
    parts = []
    if MACHINE_CHECK in ran:
        checks = result.checks
        parts.append(f"machines {checks.machine_examples} examples x {checks.machine_steps} steps")
    if CONCURRENCY_CHECK in ran:
        parts.append(f"concurrency {result.checks.concurrency_rounds} rounds")
    return "".join(f" · {p}" for p in parts)


def _machine_failures(failed: Sequence[CaseResult]) -> list[str]:
    """Each failing machine: its first line, the shrunk example, how to reproduce it."""
    lines: list[str] = []
    for case in failed:
        if case.configuration.scenario != MACHINE_CHECK:
            continue
        if not lines:
            lines += ["", "### Machine failures (shrunk by Hypothesis)"]
        first = case.details[0] if case.details else _kinds_text(case.kinds)
        lines += ["", f"**{_md(case.configuration.id)}**: {_md(first)}", "", "```"]
        lines += list(case.example) or ["(no example printed)"]
        lines += ["```"]
        if case.reproduce:
            lines += ["", f"Reproduce: `{case.reproduce}`"]
    return lines


def write_gate_reports(
    result: GateResult,
    out: str,
    *,
    junit: str | None = None,
    step_summary: str | None = None,
) -> dict[str, str]:
    """Write ``gate.json``, ``gate-summary.md`` and the JUnit XML (default
    ``out/junit.xml``); append the Markdown to ``step_summary`` when given (the file
    ``$GITHUB_STEP_SUMMARY`` names). Returns the paths written, by kind."""
    os.makedirs(out, exist_ok=True)
    paths = {
        "json": os.path.join(out, "gate.json"),
        "markdown": os.path.join(out, "gate-summary.md"),
        "junit": junit or os.path.join(out, "junit.xml"),
    }
    markdown = markdown_summary(result)
    _write_text(paths["json"], json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    _write_text(paths["markdown"], markdown)
    os.makedirs(os.path.dirname(paths["junit"]) or ".", exist_ok=True)
    with open(paths["junit"], "wb") as handle:
        handle.write(junit_xml(result))
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    return paths


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


# --- mutants and the mutation score ----------------------------------------------------------
class MutantLike(Protocol):
    """What the gate needs of a seeded bug (``harness.mutation.Mutant`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def bug(self) -> str: ...

    @property
    def caught_by(self) -> tuple[str, ...]: ...

    def target(self) -> StoreTarget: ...


@dataclass(frozen=True)
class MutantVerdict:
    """A gate run on one seeded bug: the gate must fail, naming the claimed scenarios."""

    name: str
    bug: str
    #: the scenarios the catalog says must catch it
    expected: tuple[str, ...]
    result: GateResult

    @property
    def caught(self) -> bool:
        return bool(self.result.failed)

    @property
    def caught_by(self) -> tuple[str, ...]:
        return self.result.caught_by()

    @property
    def missed(self) -> tuple[str, ...]:
        """Claimed scenarios that ran and stayed silent."""
        ran = {c.configuration.scenario for c in self.result.cases if c.status != "skipped"}
        return tuple(s for s in self.expected if s in ran and s not in self.caught_by)


def run_mutants(
    mutants: Sequence[MutantLike],
    *,
    scope: Literal["claimed", "all"] = "claimed",
    scenarios: Sequence[str | Scenario] = ("all",),
    replays_dir: str | None = None,
    progress: Callable[[str], None] | None = None,
    **gate_options: Any,
) -> tuple[MutantVerdict, ...]:
    """Gate every mutant: on the scenarios it claims (``claimed``) or on all of
    ``scenarios``. Other keyword arguments go to :func:`run_gate`."""
    verdicts: list[MutantVerdict] = []
    for mutant in mutants:
        if progress is not None:
            progress(mutant.name)
        chosen: Sequence[str | Scenario] = mutant.caught_by if scope == "claimed" else scenarios
        result = run_gate(
            mutant.target(),
            scenarios=chosen,
            replays_dir=None if replays_dir is None else os.path.join(replays_dir, mutant.name),
            **gate_options,
        )
        verdicts.append(MutantVerdict(mutant.name, mutant.bug, tuple(mutant.caught_by), result))
    return tuple(verdicts)


def mutation_score(verdicts: Sequence[MutantVerdict]) -> str:
    """The bug x catching-scenario table, in Markdown.

    A cell is ``caught`` when that scenario reported a violation the promises count,
    ``MISSED`` when the catalog claims the scenario catches the bug and it stayed silent,
    ``·`` when it ran and stayed silent, and empty when it did not run on that bug.
    """
    caught = sum(v.caught for v in verdicts)
    total = len(verdicts)
    percent = f"{100 * caught / total:.0f}%" if total else "n/a"
    columns: list[str] = []
    for verdict in verdicts:
        for case in verdict.result.cases:
            if case.configuration.scenario not in columns:
                columns.append(case.configuration.scenario)
    order = {s.name: i for i, s in enumerate(select_scenarios(["all"]))}
    columns.sort(key=lambda name: order.get(name, len(order)))
    lines = [
        f"## Mutation score: {caught}/{total} seeded bugs caught ({percent})",
        "",
        "| bug | what is wrong | caught | " + " | ".join(f"`{c}`" for c in columns) + " |",
        "|---|---|:-:|" + ":-:|" * len(columns),
    ]
    for verdict in verdicts:
        ran = {c.configuration.scenario for c in verdict.result.cases if c.status != "skipped"}
        cells: list[str] = []
        for column in columns:
            if column in verdict.caught_by:
                cells.append("caught")
            elif column in verdict.missed:
                cells.append("**MISSED**")
            elif column in ran:
                cells.append("·")
            else:
                cells.append("")
        lines.append(
            f"| `{_md(verdict.name)}` | {_md(verdict.bug)} | "
            f"{'yes' if verdict.caught else '**no**'} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "caught: the scenario reported a violation · **MISSED**: the catalog claims the "
        "scenario catches this bug, and it stayed silent · `·`: ran, silent · empty: not run",
    ]
    return "\n".join(lines) + "\n"


def mutation_score_json(verdicts: Sequence[MutantVerdict]) -> dict[str, Any]:
    return {
        "format": "store-harness.mutation-score/1",
        "caught": sum(v.caught for v in verdicts),
        "total": len(verdicts),
        "mutants": [
            {
                "name": v.name,
                "bug": v.bug,
                "caught": v.caught,
                "expected": list(v.expected),
                "caught_by": list(v.caught_by),
                "missed": list(v.missed),
                "kinds": _total_kinds(v.result.failed),
                "runs": v.result.runs,
                "seconds": round(v.result.seconds, 3),
            }
            for v in verdicts
        ],
    }


def _total_kinds(cases: Iterable[CaseResult]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for case in cases:
        total.update(case.kinds)
    return dict(sorted(total.items()))


def write_mutation_score(verdicts: Sequence[MutantVerdict], out: str) -> tuple[str, str]:
    """Write ``mutation-score.md`` and ``mutation-score.json`` into ``out``."""
    os.makedirs(out, exist_ok=True)
    md_path = os.path.join(out, "mutation-score.md")
    json_path = os.path.join(out, "mutation-score.json")
    _write_text(md_path, mutation_score(verdicts))
    _write_text(json_path, json.dumps(mutation_score_json(verdicts), indent=2) + "\n")
    return md_path, json_path
