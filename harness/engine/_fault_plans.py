"""The fault plans of one scenario: which crashes, budgets, errors and power losses to run.

Exhaustive where it can be (SQLite's anomaly loop): a baseline run counts the workload's
operations N, then the workload is crashed before operation 1, 2, ..., N, each in a fresh
copy of the setup; disk-full budgets are taken at every write boundary and mid-write;
injected errors at every chosen operation. Power loss is sampled: at the end of each call
the unsynced effects are dropped all, none, one at a time, torn, then a seeded sample.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness._errors import UsageError
from harness.engine._run_once import _backend_root, _run_in_root, run_once
from harness.engine._run_spec import ExploreOptions, RunResult, RunSpec
from harness.engine._scenario import Scenario, Variant, Workload
from harness.faults._durability import Effect, PowerLossChoice, power_loss_choices
from harness.faults._faultfs import (
    FaultPlan,
)

__all__ = [
    "fault_family",
    "plans_for",
]


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
            probe = run_once(scenario, replace(base, plan=FaultPlan(non_atomic_replace=True)))
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
                probe = run_once(scenario, replace(base, plan=FaultPlan(errors=errors)))
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
