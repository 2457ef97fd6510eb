"""Real kills (``harness.checks._realkill``): workloads in child processes, SIGKILLed, judged.

Every kill point is an *announced operation* (``--pause-at``) or a request boundary, never
a sleep; random-moment kills use a seeded delay, and their assertions hold wherever the
kill lands (the oracle must accept whatever it left). Every child is reaped by the code
under test (``AdapterClient.kill``); :func:`_no_children_left` checks it after each test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import scenarios
from harness.checks._kill_run import run_real
from harness.checks._kill_spec import (
    ENV_LAYOUT,
    ENV_PAUSE_AT,
    ENV_STORE_PATH,
    StoreCommand,
    spec_from_json,
)
from harness.checks._realkill import KillPoint, RealKillOptions, RealSpec, _run, explore_real
from harness.cli import main as cli
from harness.engine._explorer import RunResult
from harness.faultfs import FaultPlan
from harness.faults._tmpfs import probe
from harness.replay._scenario_replay import load_replay, write_replays

pytestmark = pytest.mark.real_only

#: the every-k test is split into this many items, so xdist spreads them over workers
CHUNKS = 8
MIGRATION = scenarios.get("migration.kill")
UPDATE = scenarios.get("update.kill")


def _children() -> set[int]:
    """Live or unreaped children of this process (Linux /proc; empty elsewhere)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                found |= {int(pid) for pid in handle.read().split()}
    return found


@pytest.fixture(autouse=True)
def _no_children_left() -> Iterator[None]:
    # Only this test's children count: an earlier test in the same xdist worker may
    # have left a long-lived helper (multiprocessing's resource tracker, a pool).
    before = _children()
    yield
    assert _children() <= before, "a child process of this test was left running or unreaped"


def _spec(scenario: str, variant: str, layout: str, profile: str, **kw: object) -> RealSpec:
    return replace(RealSpec(scenario, variant, layout, profile, "kill"), **kw)  # type: ignore[arg-type]


def _op_kill(base: RealSpec, k: int) -> RealSpec:
    return replace(base, family="kill", kill=KillPoint("op", k), plan=FaultPlan(crash_at=k))


def _show(result: RunResult) -> str:
    return f"{result.spec.describe()}: {[v.detail for v in result.violations]}"


@pytest.fixture(scope="module")
def migration_ops() -> int:
    """Seam operations of a hardened 50-entry migration, start-up open included."""
    base = _spec("migration.kill", "fresh-50", "auto", "hardened")
    baseline = _run(MIGRATION, base, 60.0).result
    assert not baseline.violations, _show(baseline)
    return baseline.op_count


# --- every k of a 50-entry migration (hardened) ----------------------------------------------
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_hardened_migration_survives_a_kill_at_every_operation(
    chunk: int, migration_ops: int
) -> None:
    base = _spec("migration.kill", "fresh-50", "auto", "hardened")
    assert migration_ops > 200  # a real migration, not a no-op
    for k in range(1 + chunk, migration_ops + 1, CHUNKS):
        result = run_real(MIGRATION, _op_kill(base, k))
        assert not result.violations, _show(result)
        # The kill landed exactly before operation k: the child announced it and stopped.
        assert result.trace[-1].n == k
        assert result.trace[-1].outcome == "killed"


# --- the seed under the same kind of kills ------------------------------------------------------
def test_seed_shows_violations_under_real_kills_with_a_replay_file(tmp_path: Path) -> None:
    base = _spec("update.kill", "default", "directory", "seed")
    baseline = _run(UPDATE, base, 60.0).result
    assert not baseline.violations, _show(baseline)
    # Killing before each rename or unlink tears the multi-entry update of the seed,
    # whose directory layout renames one file at a time.
    points = [op.n for op in baseline.trace if op.name in ("replace", "unlink")]
    results = [run_real(UPDATE, _op_kill(base, k)) for k in points]
    violating = [r for r in results if r.violations]
    assert violating, "no kill before a rename or unlink broke the seed"
    kinds = {v.kind for r in violating for v in r.violations}
    assert kinds & {"half-applied", "leftover-temp", "acked-write-lost"}, kinds

    written = write_replays(str(tmp_path), violating)
    assert written
    recorded = json.loads(Path(written[0]).read_text(encoding="utf-8"))
    assert recorded["spec"]["backend"] == "kill"
    assert recorded["spec"]["kill"]["kind"] == "op"
    assert recorded["spec"]["kill"]["at"] == recorded["trace"][-1]["n"]
    assert "SIGKILL before seam operation" in recorded["fault"]

    # Same spec, same trace: the child runs on the explorer's deterministic clock.
    spec = spec_from_json(load_replay(written[0]).raw["spec"])
    again = run_real(UPDATE, spec)
    assert [op.to_json() for op in again.trace] == recorded["trace"]
    assert again.violations

    # ``store-harness replay`` re-runs it through the adapter; exit 1: still reproduces.
    outcome = CliRunner().invoke(cli, ["replay", written[0]])
    assert outcome.exit_code == 1, outcome.output
    assert "SIGKILL before seam operation" in outcome.output
    assert "identical to the recorded trace" in outcome.output


# --- the real-kill scenarios through the adapter, as a foreign store --------------------------
def test_kill_scenarios_through_a_store_command(tmp_path: Path) -> None:
    """``--store-cmd``: the reference adapter driven as if it were a foreign store (the
    setup and the recovery go through new adapter processes too)."""
    command = (
        f"{shlex.quote(sys.executable)} -m reference_store.adapter --store-path {{store_path}} "
        "--layout {layout} --profile {profile} --no-sync"
    )
    options = RealKillOptions(kill_points=4, random_kills=1, request_kills=False, store_cmd=command)
    result = explore_real([UPDATE], layouts=("directory",), profiles=("hardened",), options=options)
    runs = result.results
    assert {r.spec.family for r in runs} == {"baseline", "kill", "random-kill"}
    assert all(r.spec.target == "store-cmd" for r in runs)
    bad = [_show(r) for r in runs if r.violations]
    assert not bad


def test_cli_kill_mode_runs_a_scenario_and_writes_a_summary(tmp_path: Path) -> None:
    out, replays = tmp_path / "out", tmp_path / "replays"
    outcome = CliRunner().invoke(
        cli,
        [
            "explore",
            "--mode",
            "kill",
            "-s",
            "update.kill",
            "--layout",
            "legacy",
            "--profile",
            "hardened",
            "--kill-points",
            "3",
            "--random-kills",
            "1",
            "-j",
            "1",
            "-q",
            "--out",
            str(out),
            "--replays",
            str(replays),
            "--fail-on",
            "hardened",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    summary = json.loads((out / "crash-summary.json").read_text(encoding="utf-8"))
    assert {row["backend"] for row in summary["runs"]} == {"kill"}
    assert summary["violating_runs"] == 0


def test_store_command_fills_placeholders_and_environment() -> None:
    command = StoreCommand("node adapter.js --db {store_path} --mode={layout}")
    argv = command.argv("/t/s.json", "directory", "seed", announce=True, pause_at=7)
    assert argv == [
        "node",
        "adapter.js",
        "--db",
        "/t/s.json",
        "--mode=directory",
        "--announce",
        "--pause-at",
        "7",
    ]
    env = command.env("/t/s.json", "directory", "seed", announce=True, pause_at=7)
    assert env is not None
    assert (env[ENV_STORE_PATH], env[ENV_LAYOUT], env[ENV_PAUSE_AT]) == (
        "/t/s.json",
        "directory",
        "7",
    )
    assert command.opens_itself
    assert not StoreCommand("./my-adapter").opens_itself


# --- SQLite: no seam, so killed at request boundaries and random moments ---------------------
def test_sqlite_hardened_survives_request_boundary_and_random_kills() -> None:
    options = RealKillOptions(random_kills=6, seed=7)
    result = explore_real([UPDATE], layouts=("sqlite",), profiles=("hardened",), options=options)
    families = [r.spec.family for r in result.results]
    assert families.count("random-kill") == 6
    assert "kill" not in families  # SQLite announces no seam operation to pause at
    assert families.count("request-kill") == 2 * len(result.baselines[0].outcomes)
    bad = [_show(r) for r in result.results if r.violations]
    assert not bad


# --- disk full on a real kernel (tmpfs) ---------------------------------------------------------
def _need_tmpfs() -> None:
    support = probe()
    if not support.allowed:
        print(f"tmpfs tests skipped: {support.reason}")
        pytest.skip(support.reason)


def test_tmpfs_disk_full_hardened_keeps_every_promise() -> None:
    _need_tmpfs()
    options = RealKillOptions(mode="tmpfs", kill_points=5)
    result = explore_real(
        [scenarios.get("update.disk-full"), scenarios.get("migration.disk-full")],
        layouts=("directory", "auto"),
        profiles=("hardened",),
        options=options,
    )
    assert {r.spec.family for r in result.results} == {"baseline", "tmpfs-enospc"}
    failed = [o for r in result.results for o in r.outcomes if o.status == "failed"]
    assert any("ENOSPC" in (o.error or "") for o in failed)  # the kernel did say no
    bad = [_show(r) for r in result.results if r.violations]
    assert not bad


def test_tmpfs_disk_full_with_no_free_page_breaks_the_seed() -> None:
    _need_tmpfs()
    spec = replace(
        _spec("update.disk-full", "default", "legacy", "seed"),
        backend="tmpfs",
        family="tmpfs-enospc",
        kill=KillPoint("enospc"),
        free_pages=0,
    )
    result = run_real(scenarios.get("update.disk-full"), spec)
    # Its lock file is created, then its content does not fit: the empty lock is never
    # taken over, so every later write times out.
    assert {v.kind for v in result.violations} & {"unwritable", "leftover-lock"}, _show(result)
