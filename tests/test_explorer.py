"""The explorer over the scenario catalog: hardened clean, seed hazards found, replays.

Runs are bounded (a seeded sample of fault points per family) so the whole file stays a
small part of the suite; ``store-harness explore`` runs every point.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import scenarios
from harness.engine._explorer import ExploreOptions, RunSpec, explore, run_once
from harness.faultfs import FaultPlan
from harness.replay._scenario_replay import load_replay, write_replays

BOUND = 25


def _explore(name: str, profile: str, backend: str, bound: int = BOUND) -> list:  # type: ignore[type-arg]
    result = explore(
        [scenarios.get(name)],
        profiles=(profile,),
        backends=(backend,),
        options=ExploreOptions(jobs=1, max_points=bound),
    )
    runs = list(result.results)
    from dataclasses import replace

    runs += [replace(run, violations=(v,)) for run, v in result.order_violations]
    return runs


@pytest.mark.parametrize("backend", ["fake", "real"])
@pytest.mark.parametrize("name", scenarios.names())
def test_hardened_keeps_every_promise(name: str, backend: str) -> None:
    # pyfakefs runs cost ~7x a real folder's: a smaller seeded sample there.
    runs = _explore(name, "hardened", backend, bound=BOUND if backend == "real" else 6)
    assert runs
    bad = [(r.spec.describe(), [v.kind for v in r.violations]) for r in runs if r.violations]
    assert not bad, bad[:5]


#: The seed hazards of docs/spec.md inside this fault model, the scenario that shows each, and the
#: violation kinds that are the hazard's signature.
SEED_HAZARDS = [
    ("non-atomic ENOENT fallback", "update.non-atomic-rename", {"acked-write-lost"}),
    ("corrupt files deleted by a full save", "corrupt-entry", {"corrupt-destroyed"}),
    ("swallowed backup failure", "migration.backup-failure", {"resurrected"}),
    ("torn multi-entry update in directory mode", "update.kill", {"half-applied"}),
    ("input-order tie-break", "case-variant-keys", {"order-dependent"}),
    ("no fsync: renamed file empty after power loss", "power-loss.update", {"acked-write-lost"}),
    ("no fsync: migration lost to power loss", "power-loss.migration", {"migration-lost"}),
    ("encoded names over 255 bytes", "keys.hostile", {"half-applied"}),
]


@pytest.mark.parametrize(
    ("hazard", "name", "kinds"), SEED_HAZARDS, ids=[h for h, _n, _k in SEED_HAZARDS]
)
def test_seed_hazard_is_found_with_a_replay_file(
    hazard: str, name: str, kinds: set[str], tmp_path: Path
) -> None:
    runs = _explore(name, "seed", "real", bound=0 if name == "case-variant-keys" else 40)
    hits = [r for r in runs if {v.kind for v in r.violations} & kinds]
    assert hits, f"{name} did not show {hazard} ({kinds}) on seed"
    written = write_replays(str(tmp_path), hits)
    assert written
    replay = load_replay(written[0])
    if replay.spec.family != "baseline" or not replay.spec.variant.startswith("reverse"):
        rerun = run_once(scenarios.get(replay.spec.scenario), replay.spec)
        again, recorded = [op.to_json() for op in rerun.trace], replay.raw["trace"]
        first = next(
            (i for i, (a, b) in enumerate(zip(again, recorded, strict=False)) if a != b), None
        )
        assert again == recorded, (
            replay.spec.describe(),
            (len(again), len(recorded)),
            None if first is None else (again[first], recorded[first]),
        )


def test_merge_hazard_leaves_temp_files_in_the_live_folder() -> None:
    runs = _explore("migration.kill", "seed", "real", bound=20)
    merge = [r for r in runs if r.spec.variant.startswith("merge")]
    details = [v.detail for r in merge for v in r.violations if v.kind == "leftover-temp"]
    assert any("sessions.d/" in d for d in details), details[:3]


@pytest.mark.parametrize("profile", ["seed", "hardened"])
def test_same_spec_gives_byte_identical_traces_on_both_backends(profile: str) -> None:
    scenario = scenarios.get("update.kill")
    spec = RunSpec("update.kill", "default", "directory", profile, "real", FaultPlan(crash_at=30))
    first = run_once(scenario, spec)
    again = run_once(scenario, spec)
    fake = run_once(scenario, RunSpec(**{**spec.__dict__, "backend": "fake"}))

    def dump(result: object) -> str:
        return json.dumps([op.to_json() for op in result.trace])  # type: ignore[attr-defined]

    assert dump(first) == dump(again) == dump(fake)
    assert first.violations == again.violations == fake.violations


def test_a_trace_does_not_depend_on_the_pid_of_the_process_that_ran_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replay runs in another process than its recording (a forked child, a shell);
    the seed writes its pid into the lock file, so with real pids of different lengths
    the two traces differed."""
    scenario = scenarios.get("update.kill")
    spec = RunSpec("update.kill", "default", "directory", "seed", "real", FaultPlan(crash_at=30))
    here = run_once(scenario, spec)
    monkeypatch.setattr(os, "getpid", lambda: 12_345_678)
    elsewhere = run_once(scenario, spec)
    assert [op.to_json() for op in here.trace] == [op.to_json() for op in elsewhere.trace]
    assert here.violations == elsewhere.violations


def test_sampling_is_seeded() -> None:
    def points(seed: int) -> list[str]:
        result = explore(
            [scenarios.get("update.kill")],
            layouts=("directory",),
            profiles=("seed",),
            backends=("real",),
            options=ExploreOptions(jobs=1, max_points=5, seed=seed),
        )
        return [r.spec.describe() for r in result.results]

    assert points(3) == points(3)
    assert points(3) != points(4)


def test_explore_counts_every_crash_point_up_to_the_untouched_run() -> None:
    scenario = scenarios.get("update.kill")
    baseline = run_once(scenario, RunSpec("update.kill", "default", "legacy", "hardened", "real"))
    result = explore(
        [scenario],
        layouts=("legacy",),
        profiles=("hardened",),
        backends=("real",),
        options=ExploreOptions(jobs=1),
    )
    crashes = sorted(
        r.spec.plan.crash_at
        for r in result.results
        if r.spec.family == "crash" and r.spec.plan.crash_at is not None
    )
    assert crashes == list(range(1, baseline.op_count + 1))
