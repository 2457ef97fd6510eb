"""The CI gate: it passes the hardened store, fails the seed and every seeded bug, and its
shards, budget, promise profiles and reports keep what they promise."""

from __future__ import annotations

import itertools
import json
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mutants import MUTANTS, by_name

from harness.checks._mutation import Mutant
from harness.cli import main
from harness.engine._explorer import ExploreOptions
from harness.engine._target import REFERENCE, StoreTarget
from harness.gate import (
    CHECKS,
    DEFAULT_MAX_POINTS,
    PROMISE_PROFILES,
    CheckOptions,
    GateResult,
    Shard,
    junit_xml,
    markdown_summary,
    mutation_score,
    mutation_score_json,
    plan_run,
    run_gate,
    run_mutants,
    select_checks,
    select_scenarios,
    write_gate_reports,
)
from harness.replay._machine_replay import load_machine_replay

#: 5 s before a run counts as hung: these runs take milliseconds (one mutant hangs)
ONE_JOB = ExploreOptions(jobs=1, max_points=DEFAULT_MAX_POINTS, run_timeout=5.0)
#: A seed at which the gate's default machine bounds reach the torn update of
#: ``no-journal`` (they do for about half the seeds, which is why the catalog does not
#: claim it for the machine): these tests are about shrinking, reports and replays.
MACHINE_FINDS_NO_JOURNAL = ExploreOptions(seed=1)
#: cheap scenarios with several configurations, some failing on ``seed``
SMALL = ("update.kill", "case-variant-keys", "stale-staging", "io-error")


def _summary(result: GateResult) -> dict[str, tuple[str, int, dict[str, int]]]:
    return {c.configuration.id: (c.status, c.runs, dict(c.kinds)) for c in result.cases}


# --- the verdicts the issue asks for ---------------------------------------------------------
def _gate_mutant(mutant: Mutant, scenarios: tuple[str, ...], replays: Path) -> None:
    # With replay files, as the CLI writes them: a store's odd return values (a list
    # from load) must reach the file, never break the writer (found by gate --mutants).
    result = run_gate(
        mutant.target(), scenarios=scenarios, options=ONE_JOB, replays_dir=str(replays)
    )
    assert not result.passed
    assert result.exit_code == 1
    assert set(result.caught_by()) == set(scenarios), mutant.bug
    text = "\n".join(c.failure_text() for c in result.failed)
    for scenario in scenarios:
        assert scenario in text


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_gate_fails_on_every_mutant_naming_its_scenario(mutant: Mutant, tmp_path: Path) -> None:
    # The gate's own default bound, on the first scenario the catalog says catches the
    # bug: test_mutants already runs every claimed one, and the whole catalog per mutant
    # does not fit the suite's budget (the slow variant and ``gate --mutants`` do more).
    _gate_mutant(mutant, mutant.caught_by[:1], tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_gate_fails_on_every_mutant_in_every_claimed_scenario(
    mutant: Mutant, tmp_path: Path
) -> None:
    _gate_mutant(mutant, mutant.caught_by, tmp_path)


def test_gate_passes_on_the_hardened_reference_store() -> None:
    result = run_gate(REFERENCE, profile="hardened", options=ExploreOptions(jobs=1, max_points=5))
    claimed, _ = plan_run(["all"], target=REFERENCE, promises=PROMISE_PROFILES["hardened"])
    assert [c.configuration for c in result.cases] == claimed
    assert len({c.scenario for c in claimed}) >= 15 + len(CHECKS)
    # The checks come last, one per layout they run in.
    checks = [c.configuration.id for c in result.cases if c.configuration.scenario in CHECKS]
    assert checks == [
        "machine[stateful-legacy-real]",
        "machine[stateful-directory-real]",
        "machine[stateful-auto-real]",
        "concurrency[processes-legacy-real]",
        "concurrency[processes-directory-real]",
    ]
    assert [c.configuration.id for c in result.cases[-len(checks) :]] == checks
    assert result.passed, markdown_summary(result)
    assert result.exit_code == 0
    assert result.runs > len(result.cases)


def test_gate_fails_on_seed_with_reports_naming_replays(tmp_path: Path) -> None:
    replays = tmp_path / "replays"
    result = run_gate(
        "reference",
        profile="seed",
        scenarios=["update.kill", "case-variant-keys"],
        options=ExploreOptions(jobs=1, max_points=5),
        replays_dir=str(replays),
    )
    assert not result.passed
    assert result.caught_by() == ("update.kill", "case-variant-keys")
    directory = next(c for c in result.failed if c.configuration.layout == "directory")
    assert "half-applied" in directory.kinds

    summary_file = tmp_path / "step-summary.md"
    summary_file.write_text("earlier step\n", encoding="utf-8")
    paths = write_gate_reports(result, str(tmp_path / "out"), step_summary=str(summary_file))

    suites = ET.parse(paths["junit"]).getroot()
    cases = suites.findall("testsuite/testcase")
    assert len(cases) == len(result.cases)
    failures = suites.findall("testsuite/testcase/failure")
    assert len(failures) == len(result.failed) == int(suites.get("failures", "-1"))
    for failure in failures:
        lines = [line.strip() for line in (failure.text or "").splitlines()]
        named = [line for line in lines if line.startswith(str(replays))]
        assert named and all(os.path.exists(p) for p in named)
    assert any("half-applied" in (f.get("message") or "") for f in failures)

    markdown = Path(paths["markdown"]).read_text(encoding="utf-8")
    assert "store-harness gate: FAILED" in markdown
    assert "`half-applied` (high)" in markdown
    assert summary_file.read_text(encoding="utf-8") == "earlier step\n" + markdown + "\n"
    verdict = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert verdict["passed"] is False
    assert {c["id"] for c in verdict["cases"]} == {c.configuration.id for c in result.cases}


# --- the gate's own checks ----------------------------------------------------------------------
def test_checks_are_selected_by_name_beside_scenarios() -> None:
    assert select_checks(["all"]) == list(CHECKS)
    assert select_checks(["machine"]) == ["machine"]
    assert select_checks(["update.*"]) == []
    assert select_scenarios(["machine", "concurrency"]) == []
    claimed, unclaimed = plan_run(
        ["concurrency", "stale-staging"], target=REFERENCE, promises=PROMISE_PROFILES["hardened"]
    )
    assert [c.scenario for c in claimed] == ["stale-staging", "concurrency", "concurrency"]
    assert unclaimed == []
    off, _ = plan_run(
        ["all"],
        target=REFERENCE,
        promises=PROMISE_PROFILES["hardened"],
        checks=CheckOptions(machines=False, concurrency=False),
    )
    assert not {c.scenario for c in off} & set(CHECKS)


def test_a_store_in_another_process_takes_both_checks() -> None:
    claimed, unclaimed = plan_run(
        ["machine", "concurrency"],
        target=REFERENCE,
        promises=PROMISE_PROFILES["hardened"],
    )
    assert {c.scenario for c in claimed} == {"machine", "concurrency"}
    assert unclaimed == []


def test_machine_failure_is_shrunk_reported_and_replayable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mutant = by_name("no-journal")  # multi-entry updates torn by a crash
    result = run_gate(
        mutant.target(),
        scenarios=["machine"],
        layouts=["directory"],
        replays_dir=str(tmp_path),
        options=MACHINE_FINDS_NO_JOURNAL,
    )
    (case,) = result.cases
    assert case.status == "failed" and case.kinds == {"half-applied": 1}
    # Shrinking ends at the smallest multi-entry write: an update or a save.
    assert any(line.startswith(("state.update(", "state.save(")) for line in case.example)
    assert case.details[0].startswith("half-applied: the interrupted call ")
    call = case.details[0].removeprefix("half-applied: the interrupted call ").split("(")[0]
    assert call in ("update", "save")
    (replay_path,) = case.replays
    assert case.reproduce == f"store-harness replay {replay_path}"
    markdown = markdown_summary(result)
    assert "### Machine failures (shrunk by Hypothesis)" in markdown
    assert f"`{replay_path}`" in markdown

    replay = load_machine_replay(replay_path)
    assert (replay.target, replay.layout, replay.run.kind) == (
        "mutant:no-journal",
        "directory",
        "half-applied",
    )
    crashes = (replay.run.crash or {}).get("crashes")
    assert crashes and crashes[-1]["trace"], "the crash's trace travels in the replay file"

    # From the project folder, as a user would after a gate run: the mutant is rebuilt
    # from the module the file names, the blob replays the shrunk example, exit 1.
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    again = CliRunner().invoke(main, ["replay", replay_path])
    assert again.exit_code == 1, again.output
    assert f"half-applied: the interrupted call {call}(" in again.output
    assert "seeded search" not in again.output  # the blob, not a new search
    assert f"crash in {call}(" in again.output


def test_machine_replay_of_a_fixed_store_passes(tmp_path: Path) -> None:
    mutant = by_name("no-journal")
    failed = run_gate(
        mutant.target(),
        scenarios=["machine"],
        layouts=["directory"],
        replays_dir=str(tmp_path),
        options=MACHINE_FINDS_NO_JOURNAL,
    )
    (replay_path,) = failed.cases[0].replays
    raw = json.loads(Path(replay_path).read_text(encoding="utf-8"))
    raw["target"] = "reference"  # the same failure, replayed on the hardened store
    raw["target_source"] = None
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps(raw), encoding="utf-8")
    again = CliRunner().invoke(main, ["replay", str(fixed)])
    assert again.exit_code == 0, again.output
    assert "no longer reproduces" in again.output


def test_concurrency_check_fails_a_store_without_the_lock() -> None:
    result = run_gate(by_name("update-entry-unlocked").target(), scenarios=["concurrency"])
    assert [c.status for c in result.cases] == ["failed", "failed"]
    assert all("lost-update" in c.kinds for c in result.cases)
    assert all("ok increments" in c.reason for c in result.cases)


# --- shards ------------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_every_configuration(count: int) -> None:
    claimed, _ = plan_run(
        ["all"],
        target=REFERENCE,
        backends=("fake", "real"),
        promises=PROMISE_PROFILES["hardened"],
        full=True,
    )
    parts = [Shard(i, count).select(claimed) for i in range(1, count + 1)]
    flat = [c.id for part in parts for c in part]
    assert len(flat) == len(set(flat))
    assert sorted(flat) == sorted(c.id for c in claimed)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_sharded_runs_together_are_the_whole_run() -> None:
    options = ExploreOptions(jobs=1, max_points=2)
    whole = run_gate("reference", profile="seed", scenarios=SMALL, options=options)
    parts = [
        run_gate("reference", profile="seed", scenarios=SMALL, options=options, shard=Shard(i, 3))
        for i in (1, 2, 3)
    ]
    ids = [c.configuration.id for part in parts for c in part.cases]
    assert len(ids) == len(set(ids))
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(_summary(part))
    assert merged == _summary(whole)
    assert whole.failed


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_shard_rejects_nonsense(text: str) -> None:
    from harness._errors import UsageError

    with pytest.raises(UsageError):
        Shard.parse(text)


# --- budget and promises -----------------------------------------------------------------------
def _ticking(step: float) -> Callable[[], float]:
    counter = itertools.count()
    return lambda: next(counter) * step


def test_budget_skips_the_rest_and_fails_unless_partial_is_allowed() -> None:
    options = ExploreOptions(jobs=1, max_points=2)
    kwargs: dict[str, Any] = {"scenarios": SMALL, "options": options, "budget": 25.0}
    # The clock is read once at the start and once before each configuration: with ten
    # seconds per read, two configurations start before the budget is spent.
    cut = run_gate(REFERENCE, clock=_ticking(10.0), **kwargs)
    assert [c.status for c in cut.cases[:2]] == ["passed", "passed"]
    assert len(cut.skipped) == len(cut.cases) - 2 > 0
    assert all("budget of 25 s" in c.reason for c in cut.skipped)
    assert not cut.passed and cut.exit_code == 3 and cut.verdict() == "INCOMPLETE"
    assert "Skipped: budget of 25 s spent" in markdown_summary(cut)
    skipped = ET.fromstring(junit_xml(cut)).findall("testsuite/testcase/skipped")
    assert len(skipped) == len(cut.skipped)

    allowed = run_gate(REFERENCE, clock=_ticking(10.0), allow_partial=True, **kwargs)
    assert allowed.passed and allowed.exit_code == 0


def test_no_power_loss_promises_leave_power_loss_scenarios_out() -> None:
    mutant = by_name("no-fsync")
    result = run_gate(mutant.target(), scenarios=["power-loss.*"], promises="no-power-loss")
    assert result.cases == ()
    assert {c.scenario for c in result.unclaimed} == {
        "power-loss.update",
        "power-loss.save",
        "power-loss.migration",
    }
    assert result.passed
    assert "Not explored (promises `no-power-loss`" in markdown_summary(result)


def test_waived_kinds_are_reported_but_do_not_fail() -> None:
    strict = run_gate(
        "reference",
        profile="seed",
        scenarios=["stale-staging", "update.kill"],
        options=ExploreOptions(jobs=1, max_points=3),
    )
    found = {k for c in strict.failed for k in c.kinds}
    assert found
    lenient = run_gate(
        "reference",
        profile="seed",
        scenarios=["stale-staging", "update.kill"],
        options=ExploreOptions(jobs=1, max_points=3),
        promises=PROMISE_PROFILES["hardened"].with_waived(found),
    )
    assert lenient.passed
    assert {k for c in lenient.cases for k in c.waived} == found
    assert "Waived by the promise profile" in markdown_summary(lenient)


def test_a_store_that_breaks_the_harness_fails_its_configurations_only() -> None:
    def open_broken(*_args: object, **_kwargs: object) -> object:
        raise TypeError("open_store() got an unexpected keyword argument 'runtime'")

    target = StoreTarget(name="test-gate:broken", open=open_broken, layouts=("legacy",))
    result = run_gate(target, scenarios=["update.kill"], options=ExploreOptions(jobs=1))
    assert [c.status for c in result.cases] == ["failed"]
    assert "unexpected keyword argument" in result.cases[0].failure_text()


def test_store_cmd_gates_an_adapter_process_by_real_kills() -> None:
    command = f"{sys.executable} -m reference_store.adapter --store-path {{store_path}} "
    command += "--layout {layout} --profile {profile} --no-sync"
    result = run_gate(
        None,
        store_cmd=command,
        scenarios=["stale-staging", "power-loss.save"],
        options=ExploreOptions(jobs=1, max_points=2),
    )
    assert [c.configuration.id for c in result.cases] == ["stale-staging[default-auto-kill]"]
    assert result.passed and result.runs > 1
    assert {c.scenario for c in result.unclaimed} == {"power-loss.save"}


# --- mutation score ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Claim:
    """A "mutant" that is the hardened store itself: no scenario can catch it."""

    name: str
    bug: str
    caught_by: tuple[str, ...]

    def target(self) -> StoreTarget:
        return REFERENCE


def test_mutation_score_tables_bugs_against_catching_scenarios() -> None:
    mutants = [by_name("order-tiebreak"), by_name("no-staging-cleanup")]
    clean = _Claim("nothing-wrong", "the hardened store", ("stale-staging",))
    verdicts = run_mutants([*mutants, clean], scope="claimed", options=ONE_JOB)
    table = mutation_score(verdicts)
    assert "Mutation score: 2/3 seeded bugs caught (67%)" in table
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if "| `" in line}
    assert "caught" in rows["`order-tiebreak`"]
    assert rows["`order-tiebreak`"].count("caught") == 1
    assert "**MISSED**" in rows["`nothing-wrong`"] and "**no**" in rows["`nothing-wrong`"]
    raw = mutation_score_json(verdicts)
    assert (raw["caught"], raw["total"]) == (2, 3)
    by = {m["name"]: m for m in raw["mutants"]}
    assert by["no-staging-cleanup"]["caught_by"] == ["stale-staging"]
    assert by["nothing-wrong"]["missed"] == ["stale-staging"]


# --- the command line --------------------------------------------------------------------------
def _gate(args: list[str], **env: str) -> Any:
    return CliRunner().invoke(main, ["gate", *args], env=env or None, catch_exceptions=False)


def test_cli_gate_fails_on_seed_and_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = tmp_path / "summary.md"
    common = ["--store", "reference", "-s", "update.kill", "--max-points", "3", "-j", "1"]
    failed = _gate(
        [*common, "--profile", "seed", "--out", str(out), "-q"],
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert failed.exit_code == 1, failed.output
    assert "gate FAILED" in failed.output
    assert {p.name for p in out.iterdir()} >= {"gate.json", "gate-summary.md", "junit.xml"}
    assert list((out / "replays" / "real").glob("update.kill--*.json"))
    assert "store-harness gate: FAILED" in summary.read_text(encoding="utf-8")

    passed = _gate([*common, "--out", str(tmp_path / "ok"), "--junit", str(tmp_path / "j.xml")])
    assert passed.exit_code == 0, passed.output
    assert (tmp_path / "j.xml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of"),
        (["--store", "reference", "--shard", "4/3"], "shard 4/3"),
        (["--store", "no_such_module_x:open"], "cannot import"),
    ],
)
def test_cli_gate_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = _gate([*args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_gate_mutants_writes_the_mutation_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gate_cli_catalog.py").write_text(
        "from mutants import by_name\n"
        "MUTANTS = (by_name('order-tiebreak'), by_name('swallowed-backup-failure'))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = _gate(
        [
            "--mutants",
            "gate_cli_catalog:MUTANTS",
            "--mutant-scope",
            "claimed",
            "-j",
            "1",
            "--out",
            "out",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "mutation score 2/2" in result.output
    table = (tmp_path / "out" / "mutation-score.md").read_text(encoding="utf-8")
    assert "`swallowed-backup-failure`" in table and "`migration.backup-failure`" in table
    raw = json.loads((tmp_path / "out" / "mutation-score.json").read_text(encoding="utf-8"))
    assert raw["caught"] == 2
