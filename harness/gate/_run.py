"""The whole gate: every configuration of the plan against one store, one verdict.

:func:`run_gate` explores each *configuration* (a scenario, a variant group, a layout, a
backend) of the catalog against a store, then runs the gate's own checks -- ``machine``
(the Hypothesis state machine of :mod:`harness.machines`, bounded, one configuration per
layout) and ``concurrency`` (worker processes racing one store, judged by
:func:`harness.checks._concurrency.check_history`, one per layout) -- and returns a
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
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness._errors import UsageError
from harness.checks._contract import declared_by
from harness.engine._run_spec import DEFAULT_MAX_POINTS, ExploreOptions
from harness.engine._scenario import Scenario
from harness.engine._target import StoreTarget, resolve_target
from harness.gate._cases import CaseResult, run_case
from harness.gate._plan import (
    KILL_BACKEND,
    CheckOptions,
    Configuration,
    NotExplored,
    PromiseProfile,
    Shard,
    plan_run,
    promise_profile,
    select_scenarios,
)

__all__ = [
    "GateResult",
    "default_profile",
    "run_gate",
]


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


def _command_target(command: str, timeout_s: float) -> StoreTarget:
    """The store behind ``command`` as the plan sees it: the layouts and profiles its
    adapter declares in ``ping`` (asked once, of an adapter started on an empty folder)."""

    def in_another_process(*_args: object, **_kwargs: object) -> object:
        raise UsageError("a --store-cmd store runs in its own process, never in-process")

    declared = declared_by(command, timeout_s)
    # A name only: nothing opens it in-process, and it is not registered.
    return StoreTarget(
        name=f"store-cmd: {command}",
        open=in_another_process,
        migrate=in_another_process,  # the adapter's own migrate op, in its process
        layouts=declared.layouts,
        profiles=declared.profiles,
        description=declared.implementation,
    )


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

    ``check_store``: before anything runs, the pre-flight of :mod:`harness.engine._preflight`
    (profile, signatures, one open and close in a temp root) raises :class:`UsageError`
    for a store the harness cannot drive at all; without it such a store fails every
    configuration, each as a store regression (the front doors turn it on).

    ``on_case(done, total, case)`` is called after each configuration that ran, with
    its verdict (``progress`` only names the configuration).
    """
    if store_cmd is not None:
        target = _command_target(store_cmd, (options or ExploreOptions()).run_timeout)
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
    )
    mine = part.select(claimed)
    if check_store and store_cmd is None:
        from harness.engine._preflight import preflight

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
