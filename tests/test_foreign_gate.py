"""The gate on stores it reaches only through ``--store-cmd``, and replays that say only
what they know.

The foreign stores are the reference store's own adapter (correct: no false alarm
allowed) and seeded bugs served by ``tests/mutant_adapter.py`` (each must fail with the
right kind, and its replay must exit 1). A replay exits 0 only when the same fault ran
and nothing was found; when the fault cannot run again it exits 3.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness._errors import UsageError
from harness.checks._kill_spec import KillPoint, RealSpec
from harness.cli import main
from harness.engine._explorer import ExploreOptions
from harness.engine._run_once import is_temp_name
from harness.engine._run_spec import RunResult, RunSpec
from harness.faults._faultfs import FaultPlan, Operation
from harness.gate import CheckOptions, run_gate
from harness.replay._verdict import (
    EXIT_NOT_SAME_FAULT,
    fault_fired,
    first_difference,
    landing_kills,
)
from tests.mutant_adapter import command as mutant_command
from tests.test_cli_errors import VALID

pytestmark = pytest.mark.real_only

REFERENCE_CMD = (
    f"{shlex.quote(sys.executable)} -m reference_store.adapter --store-path {{store_path}} "
    "--layout {layout} --profile {profile} --no-sync"
)
QUICK = ExploreOptions(jobs=1, max_points=1)


def _kinds(result: Any) -> set[str]:
    return {k for case in result.cases for k in case.kinds}


# --- no false alarm on a correct foreign store --------------------------------------------
def test_the_reference_adapter_passes_keys_hostile_by_real_kills() -> None:
    # Kill runs carry no fault plan; a call cut short by a kill refused nothing, so the
    # scenario's "every key is filed" rule must not call it a baseline failure.
    result = run_gate(
        None,
        store_cmd=REFERENCE_CMD,
        scenarios=["keys.hostile"],
        layouts=["directory"],
        options=QUICK,
    )
    assert result.cases and result.passed, [c.failure_text() for c in result.cases]


def _kill_kind(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["spec"]["kill"]["kind"])


def test_a_foreign_store_that_refuses_a_valid_key_fails_and_replays_honestly(
    tmp_path: Path,
) -> None:
    result = run_gate(
        None,
        store_cmd=mutant_command("refuses-backslash-keys", "--no-sync"),
        scenarios=["keys.hostile"],
        layouts=["directory"],
        options=QUICK,
        replays_dir=str(tmp_path),
    )
    assert not result.passed
    assert _kinds(result) == {"baseline"}
    replays = sorted((tmp_path / "kill").glob("*.json"))
    timed = [p for p in replays if _kill_kind(p) in ("request", "random")]
    assert timed, "a kill by timing saw the refusal too"
    # Re-run where the kill landed: the refusal happens again, so it still reproduces.
    outcome = CliRunner().invoke(main, ["replay", str(timed[0])])
    assert outcome.exit_code == 1, outcome.output
    assert "lands by timing" in outcome.output
    # The same file, its store "fixed" (the reference adapter): green only if this run's
    # operations up to the landing point are the recorded ones; otherwise exit 3.
    raw = json.loads(timed[0].read_text(encoding="utf-8"))
    raw["spec"]["store_cmd"] = REFERENCE_CMD
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(raw), encoding="utf-8")
    outcome = CliRunner().invoke(main, ["replay", str(fixed)])
    assert outcome.exit_code in (0, EXIT_NOT_SAME_FAULT), outcome.output
    if outcome.exit_code == 0:
        assert "no violation at either place" in outcome.output
    else:
        assert "nothing is concluded" in outcome.output


# --- replays conclude only from the same fault ---------------------------------------------
def test_a_crash_that_no_longer_fires_is_exit_3_not_fixed(tmp_path: Path) -> None:
    raw = copy.deepcopy(VALID)
    raw["spec"]["plan"]["crash_at"] = 9_999  # far past the last operation of the workload
    raw["spec"]["family"] = "crash"
    path = tmp_path / "beyond.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    outcome = CliRunner().invoke(main, ["replay", str(path)])
    assert outcome.exit_code == EXIT_NOT_SAME_FAULT, outcome.output
    assert "did not fire" in outcome.output and "9999" in outcome.output


def _spec(plan: FaultPlan) -> RunSpec:
    return RunSpec("update.kill", "default", "legacy", "hardened", "fake", plan)


def _result(spec: RunSpec, *outcomes: str) -> RunResult:
    trace = tuple(Operation(n, "write", "f", None, 1, o) for n, o in enumerate(outcomes, 1))
    return RunResult(spec, trace, (), (), None, (), {}, len(trace))


@pytest.mark.parametrize(
    ("plan", "outcomes", "fired"),
    [
        (FaultPlan(), ("ok",), True),
        (FaultPlan(crash_at=2), ("ok", "crash"), True),
        (FaultPlan(crash_at=5), ("ok", "ok"), False),
        (FaultPlan(crash_at=2, torn_bytes=1), ("ok", "torn:1"), True),
        (FaultPlan(errors=((1, "EIO"),)), ("error:EIO",), True),
        (FaultPlan(errors=((9, "EIO"),)), ("ok",), False),
        (FaultPlan(enospc_budget=3), ("ok", "enospc:0"), True),
        (FaultPlan(enospc_budget=99), ("ok",), False),
    ],
)
def test_fault_fired_reads_the_trace(
    plan: FaultPlan, outcomes: tuple[str, ...], fired: bool
) -> None:
    spec = _spec(plan)
    assert fault_fired(spec, _result(spec, *outcomes)).fired is fired


def test_an_op_kill_fired_only_when_the_child_paused_there() -> None:
    spec = RealSpec(
        "update.kill", "default", "legacy", "hardened", "kill", kill=KillPoint("op", at=4)
    )
    assert not fault_fired(spec, _result(spec, "ok", "ok")).fired
    assert fault_fired(spec, _result(spec, "ok", "ok", "ok", "killed")).fired


def test_a_timing_kill_lands_between_two_announced_operations() -> None:
    spec = RealSpec("u", "d", "legacy", "hardened", "kill", kill=KillPoint("random", delay_ms=3.0))
    recorded = [{"n": 1, "name": "read", "path": "a"}, {"n": 2, "name": "stat", "path": "b"}]
    assert [s.kill for s in landing_kills(spec, recorded)] == [
        KillPoint("op", at=2),
        KillPoint("op", at=3),
    ]
    assert [s.kill for s in landing_kills(spec, [])] == [KillPoint("op", at=1)]


def test_traces_are_compared_by_shape_not_by_random_suffixes() -> None:
    recorded = [
        {"n": 1, "name": "open_write", "path": "store/sessions.json.4242.1a2b3c4d5e.tmp"},
        {"n": 2, "name": "replace", "path": "store/sessions.json.4242.1a2b3c4d5e.tmp"},
    ]
    same = (
        Operation(1, "open_write", "store/sessions.json.77.ffee0011aa.tmp"),
        Operation(2, "replace", "store/sessions.json.77.ffee0011aa.tmp"),
    )
    assert first_difference(recorded, same, 2) is None
    other = (same[0], Operation(2, "unlink", "store/sessions.json"))
    assert first_difference(recorded, other, 2) == 2


def test_the_gate_plans_only_the_layouts_the_adapter_declares() -> None:
    command = mutant_command("hardened", "--only-layouts", "legacy", "--no-sync")
    result = run_gate(None, store_cmd=command, scenarios=["update.kill"], options=QUICK)
    assert {c.configuration.layout for c in result.cases} == {"legacy"}
    skipped = {c.layout: c.reason for c in result.unclaimed}
    assert "directory" in skipped and "declares the layouts legacy only" in skipped["directory"]
    assert result.passed


def test_an_adapter_that_does_not_answer_ping_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="did not answer ping"):
        run_gate(None, store_cmd=f"{shlex.quote(sys.executable)} -c 'pass'", options=QUICK)


def test_temp_files_a_foreign_store_leaves_in_its_tmpdir_are_leftovers() -> None:
    command = mutant_command("leaks-tmpdir", "--no-sync")
    leaky = run_gate(
        None, store_cmd=command, scenarios=["update.kill"], layouts=["legacy"], options=QUICK
    )
    assert "leftover-temp" in _kinds(leaky)
    details = [v for c in leaky.cases for v in c.failure_text().splitlines() if "tmpdir/" in v]
    assert details, [c.failure_text() for c in leaky.cases]


@pytest.mark.parametrize(
    ("path", "temp"),
    [
        ("store/sessions.json.tmp", True),
        ("store/sessions.json.4242.1a2b.tmp", True),
        ("store/sessions.json.tmp.1234", True),
        ("store/tmpk3j_x9ab", True),  # Python's mkstemp
        ("tmpdir/anything", True),
        ("tmpdir/", False),  # the folder is the harness's own
        ("store/sessions.json", False),
        ("store/sessions.d/agent%3Amain%3Ax.tmp.json", False),  # a key that says tmp
        ("store/sessions.json.flock", False),
    ],
)
def test_what_counts_as_a_temp_file(path: str, temp: bool) -> None:
    assert is_temp_name(path) is temp


# --- the gate's own checks through the adapter -----------------------------------------------
def test_the_machine_check_drives_a_store_command_and_passes_the_reference_adapter() -> None:
    result = run_gate(
        None,
        store_cmd=REFERENCE_CMD,
        scenarios=["machine"],
        checks=CheckOptions(machine_examples=4, machine_steps=10, concurrency=False),
        options=QUICK,
    )
    assert {c.configuration.layout for c in result.cases} == {"legacy", "directory", "auto"}
    assert result.passed, [c.failure_text() for c in result.cases]


def test_the_machine_check_catches_an_in_place_write_a_foreign_store_drops(
    tmp_path: Path,
) -> None:
    result = run_gate(
        None,
        store_cmd=mutant_command("in-place-change-dropped", "--no-sync"),
        scenarios=["machine"],
        layouts=["directory"],
        checks=CheckOptions(concurrency=False),
        options=QUICK,
        replays_dir=str(tmp_path),
    )
    assert _kinds(result) == {"acked-write-lost"}
    (replay,) = (tmp_path / "real").glob("machine--*.json")
    assert json.loads(replay.read_text(encoding="utf-8"))["store_cmd"]
    outcome = CliRunner().invoke(main, ["replay", str(replay)])
    assert outcome.exit_code == 1, outcome.output


# --- the store contract: what a store declares it does on purpose ---------------------------
def test_a_declared_normalization_is_expected_and_an_undeclared_one_is_a_violation() -> None:
    declared = run_gate(
        None,
        store_cmd=mutant_command("normalizes-declared", "--no-sync"),
        scenarios=["update.kill"],
        layouts=["legacy"],
        options=QUICK,
    )
    assert declared.passed, [c.failure_text() for c in declared.cases]
    undeclared = run_gate(
        None,
        store_cmd=mutant_command("normalizes-undeclared", "--no-sync"),
        scenarios=["update.kill"],
        layouts=["legacy"],
        options=QUICK,
    )
    assert not undeclared.passed
    assert _kinds(undeclared) & {"acked-write-lost", "stale-read", "mismatch"}


def test_the_concurrency_check_races_adapter_processes() -> None:
    clean = run_gate(
        None,
        store_cmd=REFERENCE_CMD,
        scenarios=["concurrency"],
        layouts=["legacy"],
        checks=CheckOptions(machines=False),
        options=QUICK,
    )
    assert [c.status for c in clean.cases] == ["passed"], [c.failure_text() for c in clean.cases]
    unlocked = run_gate(
        None,
        store_cmd=mutant_command("update-entry-unlocked", "--no-sync"),
        scenarios=["concurrency"],
        layouts=["legacy"],
        checks=CheckOptions(machines=False),
        options=QUICK,
    )
    assert "lost-update" in _kinds(unlocked)
