"""Summaries of an exploration: per-configuration counts and the promise table.

The JSON written here (``crash-summary.json``) is what ``store-harness report`` renders.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._explorer import ExploreResult, RunResult
from ._oracle import Violation

__all__ = ["PROMISES", "Promise", "Summary", "summarize"]


@dataclass(frozen=True)
class Promise:
    name: str
    kinds: frozenset[str]
    #: fault families the promise is judged on (``None``: every family but power loss)
    families: frozenset[str] | None = None


_DATA_LOSS = frozenset(
    {
        "acked-write-lost",
        "silently-dropped",
        "half-applied",
        "unloadable",
        "migration-lost",
        "changed-entry",
        "phantom-entry",
        "resurrected",
    }
)

PROMISES: tuple[Promise, ...] = (
    Promise("acknowledged writes survive a process crash", frozenset({"acked-write-lost"})),
    Promise("every call is all-or-nothing", frozenset({"half-applied"})),
    Promise(
        "no entry is dropped or changed silently",
        frozenset({"silently-dropped", "changed-entry", "phantom-entry"}),
    ),
    Promise("migration keeps every entry", frozenset({"migration-lost"})),
    Promise("deleted entries stay deleted", frozenset({"resurrected"})),
    Promise("unreadable files are never destroyed", frozenset({"corrupt-destroyed"})),
    Promise("the store loads and writes after any fault", frozenset({"unloadable", "unwritable"})),
    Promise("no temp or lock file is left for good", frozenset({"leftover-temp", "leftover-lock"})),
    Promise("case-variant ties do not depend on input order", frozenset({"order-dependent"})),
    Promise("every valid key is stored without a fault", frozenset({"baseline"})),
    Promise("every call returns: no hang, no dead process", frozenset({"hung", "store-crashed"})),
    Promise("acknowledged writes survive power loss", _DATA_LOSS, frozenset({"power-loss"})),
)


def _judged(promise: Promise, family: str) -> bool:
    if promise.families is None:
        return family != "power-loss"
    return family in promise.families


@dataclass
class Summary:
    runs: list[dict[str, Any]] = field(default_factory=list)
    promises: list[dict[str, Any]] = field(default_factory=list)
    total_runs: int = 0
    violating_runs: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "promises": self.promises,
            "total_runs": self.total_runs,
            "violating_runs": self.violating_runs,
        }

    def write(self, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")

    def violations_for(self, profile: str) -> int:
        return sum(r["violations"] for r in self.runs if r["profile"] == profile)


def _all_violations(result: ExploreResult) -> Iterable[tuple[RunResult, Violation]]:
    for run in result.results:
        for violation in run.violations:
            yield run, violation
    yield from result.order_violations


def summarize(
    result: ExploreResult, *, layouts_profiles: Sequence[tuple[str, str]] | None = None
) -> Summary:
    summary = Summary(total_runs=len(result.results))
    # Rows and promise columns are per file-system semantics too (harness.foreignfs).
    groups: dict[tuple[str, str, str, str, str], list[RunResult]] = {}
    for run in result.results:
        spec = run.spec
        key = (spec.scenario, spec.layout, spec.profile, spec.backend, spec.semantics)
        groups.setdefault(key, []).append(run)
    extra: dict[tuple[str, str, str, str, str], list[Violation]] = {}
    for run, violation in result.order_violations:
        spec = run.spec
        key = (spec.scenario, spec.layout, spec.profile, spec.backend, spec.semantics)
        extra.setdefault(key, []).append(violation)
    for (scenario, layout, profile, backend, fs), runs in sorted(groups.items()):
        kinds: Counter[str] = Counter()
        violating = 0
        for run in runs:
            if run.violations:
                violating += 1
            kinds.update(v.kind for v in run.violations)
        for violation in extra.get((scenario, layout, profile, backend, fs), []):
            violating += 1
            kinds[violation.kind] += 1
        summary.violating_runs += violating
        summary.runs.append(
            {
                "scenario": scenario,
                "layout": layout,
                "profile": profile,
                "backend": backend,
                "fs_semantics": fs,
                "fault_points": len(runs),
                "violations": violating,
                "kinds": dict(sorted(kinds.items())),
            }
        )
    every_fs = sorted({r.spec.semantics for r in result.results}) or ["linux"]
    configs = sorted(
        {(r.spec.layout, r.spec.profile, r.spec.semantics) for r in result.results}
        if layouts_profiles is None
        else {(layout, profile, fs) for layout, profile in layouts_profiles for fs in every_fs}
    )
    for promise in PROMISES:
        for layout, profile, fs in configs:
            judged = [
                r
                for r in result.results
                if (r.spec.layout, r.spec.profile, r.spec.semantics) == (layout, profile, fs)
                and _judged(promise, r.spec.family)
            ]
            if not judged:
                kept: bool | None = None
            else:
                broken = any(v.kind in promise.kinds for r in judged for v in r.violations)
                broken |= any(
                    v.kind in promise.kinds
                    for r, v in result.order_violations
                    if (r.spec.layout, r.spec.profile, r.spec.semantics) == (layout, profile, fs)
                )
                kept = not broken
            summary.promises.append(
                {
                    "promise": promise.name,
                    "layout": layout,
                    "profile": profile,
                    "fs_semantics": fs,
                    "kept": kept,
                }
            )
    return summary
