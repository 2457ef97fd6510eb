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

Outcomes, for the same oracle as the explorer (:mod:`harness.engine._oracle`): a step answered
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
that is power loss (:mod:`harness.faults._durability`). Hence the reference child runs with
``--no-sync`` (syncs still numbered and announced, so operation k is the same k), and with
``--clock-ms`` (the explorer's deterministic clock and temp names), which makes operation
``k`` of a real kill operation ``k`` of the simulated crash of the same run.

``tmpfs`` mode: disk full on a real kernel. Each run mounts a small tmpfs, writes the
setup, shrinks the mount to leave ``free_pages`` pages, runs the workload to the end (the
kernel answers ``ENOSPC``), then grows the mount again -- the operator freed space --
and recovers and checks. See :mod:`harness.faults._tmpfs` for what a machine must allow.

``_kill_spec`` says what a run is, ``_kill_run`` runs one; this module plans and runs many.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from harness._errors import UsageError
from harness.checks._kill_run import _Measured, _run
from harness.checks._kill_spec import REAL_MODES, KillPoint, RealKillOptions, RealSpec
from harness.engine._explorer import ExploreResult
from harness.engine._fault_plans import _bounded
from harness.engine._scenario import Scenario, Workload
from harness.engine._target import REFERENCE
from harness.engine._workload import Migrate
from harness.faults import _tmpfs
from harness.faults._faultfs import FaultPlan

__all__ = [
    "eligible",
    "explore_real",
    "kill_specs",
]


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
