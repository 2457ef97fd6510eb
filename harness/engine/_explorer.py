"""The explorer: run a scenario under every fault plan it names, and check each run.

``_fault_plans`` chooses the plans, ``_run_once`` runs one, ``_run_spec`` holds the records.
Runs are independent, so they are spread over worker processes (``jobs``; ``fork``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from harness.engine._contain import run_contained
from harness.engine._fault_plans import plans_for
from harness.engine._oracle import (
    Violation,
)
from harness.engine._run_once import _run_in_root, run_once
from harness.engine._run_spec import ExploreOptions, RunResult, RunSpec
from harness.engine._scenario import Scenario
from harness.engine._target import REFERENCE, StoreTarget, resolve_target
from harness.engine._workload import canonical
from harness.faults._foreignfs import semantics

__all__ = [
    "ExploreResult",
    "explore",
    "run_contained_once",
]

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
    """The result of a run whose process hung or died (``harness.engine._contain``)."""
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
    """:func:`run_once` in a child process that may hang or die (``harness.engine._contain``)."""
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
    semantics (``harness.faults._foreignfs``) of one target."""
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
