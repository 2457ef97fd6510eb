"""Summaries of an exploration: per-configuration counts and the promise table.

The promises are those of ``harness.engine._promises`` (one row per promise and
configuration: kept, broken, or not judged by the families explored).

The JSON written here (``crash-summary.json``) is what ``store-harness report`` renders.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.engine._explorer import ExploreResult
from harness.engine._oracle import Violation
from harness.engine._promises import PROMISES, Promise
from harness.engine._run_spec import RunResult

__all__ = ["PROMISES", "Promise", "Summary", "summarize"]


@dataclass
class Summary:
    runs: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)
    #: every fault family explored, in the order the promise tables show them
    families: list[str] = field(default_factory=list)
    total_runs: int = 0
    violating_runs: int = 0
    total_violations: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "promises": self.promises,
            "total_runs": self.total_runs,
            "violating_runs": self.violating_runs,
            "total_violations": self.total_violations,
            "families": self.families,
        }

    def write(self, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")

    def violations_for(self, profile: str) -> int:
        """Violating runs of ``profile`` (the name predates the glossary's words)."""
        return sum(r["violations"] for r in self.runs if r["profile"] == profile)


def _all_violations(result: ExploreResult) -> Iterable[tuple[RunResult, Violation]]:
    for run in result.results:
        for violation in run.violations:
            yield run, violation
    yield from result.order_violations


def _count(
    per_family: dict[str, dict[str, Any]],
    family: str,
    found: Sequence[Violation],
    *,
    new_run: bool,
) -> None:
    cell = per_family.setdefault(
        family, {"runs": 0, "violating_runs": 0, "violations": 0, "kinds": Counter()}
    )
    cell["runs"] += new_run
    cell["violating_runs"] += bool(found)
    cell["violations"] += len(found)
    cell["kinds"].update(v.kind for v in found)


def summarize(
    result: ExploreResult, *, layouts_profiles: Sequence[tuple[str, str]] | None = None
) -> Summary:
    summary = Summary(total_runs=len(result.results))
    # Rows and promise columns are per file-system semantics too (harness.faults._foreignfs).
    groups: dict[tuple[str, str, str, str, str], list[RunResult]] = {}
    for run in result.results:
        spec = run.spec
        key = (spec.scenario, spec.layout, spec.profile, spec.backend, spec.semantics)
        groups.setdefault(key, []).append(run)
    extra_runs: dict[tuple[str, str, str, str, str], list[tuple[RunResult, Violation]]] = {}
    for run, violation in result.order_violations:
        spec = run.spec
        key = (spec.scenario, spec.layout, spec.profile, spec.backend, spec.semantics)
        extra_runs.setdefault(key, []).append((run, violation))
    for (scenario, layout, profile, backend, fs), runs in sorted(groups.items()):
        kinds: Counter[str] = Counter()
        per_family: dict[str, dict[str, Any]] = {}
        violating = 0
        for run in runs:
            violating += bool(run.violations)
            kinds.update(v.kind for v in run.violations)
            _count(per_family, run.spec.family, run.violations, new_run=True)
        # An input-order check compares two baselines: one violating run more, judged
        # under its run's family, so the family counts add up to the row's.
        for run, violation in extra_runs.get((scenario, layout, profile, backend, fs), []):
            violating += 1
            kinds[violation.kind] += 1
            _count(per_family, run.spec.family, [violation], new_run=False)
        summary.violating_runs += violating
        summary.total_violations += sum(kinds.values())
        summary.runs.append(
            {
                "scenario": scenario,
                "layout": layout,
                "profile": profile,
                "backend": backend,
                "fs_semantics": fs,
                # one run per fault point explored; kept for readers of the first schema
                "fault_points": len(runs),
                "runs": len(runs),
                # violating runs (the old name); "violation_count" counts violations
                "violations": violating,
                "violating_runs": violating,
                "violation_count": sum(kinds.values()),
                "kinds": dict(sorted(kinds.items())),
                "families": {
                    family: {**cell, "kinds": dict(sorted(cell["kinds"].items()))}
                    for family, cell in sorted(per_family.items(), key=lambda i: _family_key(i[0]))
                },
            }
        )
    summary.families = sorted({r.spec.family for r in result.results}, key=_family_key)
    every_fs = sorted({r.spec.semantics for r in result.results}) or ["linux"]
    configs = sorted(
        {(r.spec.layout, r.spec.profile, r.spec.semantics) for r in result.results}
        if layouts_profiles is None
        else {(layout, profile, fs) for layout, profile in layouts_profiles for fs in every_fs}
    )
    by_config: dict[tuple[str, str, str], list[tuple[RunResult, Sequence[Violation]]]] = {}
    for run in result.results:
        key3 = (run.spec.layout, run.spec.profile, run.spec.semantics)
        by_config.setdefault(key3, []).append((run, run.violations))
    order_by_config: dict[tuple[str, str, str], list[tuple[RunResult, Violation]]] = {}
    for run, violation in result.order_violations:
        key3 = (run.spec.layout, run.spec.profile, run.spec.semantics)
        order_by_config.setdefault(key3, []).append((run, violation))
    for promise in PROMISES:
        for layout, profile, fs in configs:
            explored = by_config.get((layout, profile, fs), [])
            families: dict[str, dict[str, int]] = {}
            for run, found in explored:
                cell = families.setdefault(
                    run.spec.family, {"runs": 0, "violating_runs": 0, "violations": 0}
                )
                mine = [v for v in found if v.kind in promise.kinds]
                cell["runs"] += 1
                cell["violating_runs"] += bool(mine)
                cell["violations"] += len(mine)
            for run, violation in order_by_config.get((layout, profile, fs), []):
                if violation.kind in promise.kinds:
                    cell = families.setdefault(
                        run.spec.family, {"runs": 0, "violating_runs": 0, "violations": 0}
                    )
                    cell["violating_runs"] += 1
                    cell["violations"] += 1
            judged = {f: c for f, c in families.items() if promise.judged_under(f)}
            kept = None if not judged else not any(c["violations"] for c in judged.values())
            summary.promises.append(
                {
                    "promise": promise.name,
                    "id": promise.id,
                    "layout": layout,
                    "profile": profile,
                    "fs_semantics": fs,
                    # judged on the families the promise is made for (see Promise)
                    "kept": kept,
                    "judged_families": sorted(judged, key=_family_key),
                    # every family, judged or not: what the per-family table shows
                    "families": {f: families[f] for f in sorted(families, key=_family_key)},
                }
            )
    return summary


#: the order a reader meets the fault families in: the process crash first, power loss
#: (the harshest, and outside most promises) last
_FAMILY_ORDER = (
    "baseline",
    "crash",
    "torn",
    "enospc",
    "enospc-close",
    "non-atomic",
    "enoent-then-crash",
)


def _family_key(family: str) -> tuple[int, str]:
    if family in _FAMILY_ORDER:
        return _FAMILY_ORDER.index(family), family
    if family == "power-loss":
        return len(_FAMILY_ORDER) + 2, family
    return len(_FAMILY_ORDER) + (0 if family.startswith("error:") else 1), family
