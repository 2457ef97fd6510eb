"""``store-harness explore --mode syscall`` (``harness.checks._syscall_explore``).

The reference adapter runs ``update.kill`` under strace in temp roots the harness makes
(``harness._roots``); replay files go to pytest's ``tmp_path``. Bounds are small (a few
kills and power-loss states a configuration), so each test makes a few dozen runs. The
checks are shown to fail: the ``seed`` profile (no fsync) loses acknowledged writes in
some power-loss state, ``hardened`` never does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import scenarios as catalog
from harness.checks import _syscall_explore as syscall
from harness.checks._syscall_drive import Driven, power_outcomes
from harness.checks._syscall_explore import (
    FAMILY_KILL,
    FAMILY_POWER,
    SyscallExploration,
    SyscallOptions,
    explore_syscall,
)
from harness.checks._syscall_replay import (
    is_syscall_replay,
    replay_syscall,
    syscall_replay_effects,
    syscall_replay_spec,
    write_syscall_replays,
)
from harness.cli import main
from harness.engine._oracle import Outcome
from harness.faults._syscall_run import InjectionSupport, injection_support

needs_strace = pytest.mark.skipif(
    not injection_support().usable, reason=f"strace unusable: {injection_support().reason}"
)

#: Small bounds: a few points a family, one random power-loss choice a point.
SMALL = SyscallOptions(max_points=4, power_samples=1, seed=3)


def explore(profile: str, options: SyscallOptions = SMALL) -> SyscallExploration:
    return explore_syscall(
        catalog.select(["update.kill"]),
        layouts=["directory"],
        profiles=[profile],
        options=options,
    )


def kinds(exploration: SyscallExploration, family: str) -> set[str]:
    return {
        v.kind for r in exploration.result.results if r.spec.family == family for v in r.violations
    }


@pytest.fixture(scope="module")
def seed_run() -> SyscallExploration:
    """One small seed exploration, shared (each xdist worker makes its own at most)."""
    return explore("seed")


@needs_strace
@pytest.mark.real_only
def test_the_seed_store_loses_acknowledged_writes_in_power_loss_states(
    seed_run: SyscallExploration,
) -> None:
    exploration = seed_run
    assert exploration.missed == []  # every kill hit the call it was aimed at
    assert exploration.unmodelled == {}  # the directory layout makes no unmodelled call
    families = {r.spec.family for r in exploration.result.results}
    assert families == {"baseline", FAMILY_KILL, FAMILY_POWER}
    assert kinds(exploration, "baseline") == set()
    assert kinds(exploration, FAMILY_POWER) & {"acked-write-lost", "half-applied"}


@needs_strace
@pytest.mark.real_only
def test_the_hardened_store_keeps_every_promise_at_every_point() -> None:
    exploration = explore("hardened")
    assert exploration.missed == []
    runs = exploration.result.results
    assert {r.spec.family for r in runs} == {"baseline", FAMILY_KILL, FAMILY_POWER}
    assert [(r.spec.describe(), r.violations) for r in runs if r.violations] == []


def first_replay(tmp_path: Path, exploration: SyscallExploration, family: str) -> Path:
    written = write_syscall_replays(str(tmp_path), exploration)
    for path in written:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw["spec"]["family"] == family:
            return Path(path)
    raise AssertionError(f"no {family} replay among {written}")


@needs_strace
@pytest.mark.real_only
def test_a_power_loss_replay_reproduces_through_the_cli(
    tmp_path: Path, seed_run: SyscallExploration
) -> None:
    path = first_replay(tmp_path, seed_run, FAMILY_POWER)
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert is_syscall_replay(raw)
    assert raw["fault"]["kind"] == "power-loss" and raw["fault"]["choice"]["label"]
    assert "{root}" in " ".join(raw["argv"])  # the argv, without this run's temp folder
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 1, result.output
    assert raw["violation"]["kind"] in result.output


@needs_strace
@pytest.mark.real_only
def test_a_kill_replay_reproduces(tmp_path: Path) -> None:
    # update.kill's seed store half-applies a multi-key update killed inside it; this
    # seeded sample of kill points holds one such point (sampling is deterministic).
    opts = SyscallOptions(max_points=5, seed=0, families=(FAMILY_KILL,))
    exploration = explore("seed", opts)
    path = first_replay(tmp_path, exploration, FAMILY_KILL)
    raw = json.loads(path.read_text(encoding="utf-8"))
    spec = syscall_replay_spec(str(path), raw)
    run = replay_syscall(catalog.get(spec.scenario), spec, effects=None)
    assert run.result is not None, run.why_not
    assert raw["violation"]["kind"] in {v.kind for v in run.result.violations}


@needs_strace
@pytest.mark.real_only
def test_a_replay_whose_effects_differ_concludes_nothing(
    tmp_path: Path, seed_run: SyscallExploration
) -> None:
    path = first_replay(tmp_path, seed_run, FAMILY_POWER)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["fault"]["effects"] = ["data somewhere/else"]
    path.write_text(json.dumps(raw), encoding="utf-8")
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 3, result.output
    assert syscall_replay_effects(str(path), raw) == ["data somewhere/else"]


def test_without_ptrace_the_mode_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        syscall, "injection_support", lambda: InjectionSupport(False, "ptrace is not permitted")
    )
    result = CliRunner().invoke(main, ["explore", "--mode", "syscall", "-s", "update.kill", "-q"])
    assert result.exit_code == 2
    assert "ptrace is not permitted" in result.output
    assert "default mode" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_power_loss_keeps_only_the_answers_sent_before_it() -> None:
    steps = ["save", "update", "load"]
    driven = Driven(
        opening_ids=[1],
        ids=[2, 3, 4],
        outcomes=[Outcome(i, call, "ok") for i, call in enumerate(steps)],
        results=[None, None, {"a": 1}],
        unexpected=[],
    )
    outcomes, _ = power_outcomes(driven, {1, 2})
    assert [o.status for o in outcomes] == ["ok", "indeterminate", "not-run"]
    outcomes, _ = power_outcomes(driven, set())  # during start-up
    assert [o.status for o in outcomes] == ["not-run"] * 3
    outcomes, results = power_outcomes(driven, {1, 2, 3, 4})
    assert [o.status for o in outcomes] == ["ok"] * 3 and results[2] == {"a": 1}
