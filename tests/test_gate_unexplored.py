"""What a gate run leaves out is said, with the reason, wherever its verdict is read.

A store without ``migrate`` cannot take the ``auto`` layout; a ``StoreTarget`` may
declare only some layouts. Those configurations used to vanish from the plan, so a
store that takes almost nothing passed almost everything without a word. They are now
listed -- in the terminal, the Markdown summary, ``gate.json`` and the JUnit XML -- as
not explored, each with its reason.
"""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.engine._explorer import ExploreOptions
from harness.engine._target import REFERENCE, StoreTarget
from harness.gate import (
    PROMISE_PROFILES,
    GateResult,
    NotExplored,
    junit_xml,
    markdown_summary,
    plan_run,
    run_gate,
)
from reference_store import migrate, open_store

pytest_plugins = ["pytester"]

HARDENED = PROMISE_PROFILES["hardened"]
NO_MIGRATE = StoreTarget(name="test-unexplored:no-migrate", open=open_store)
DIRECTORY_ONLY = StoreTarget(
    name="test-unexplored:directory-only", open=open_store, migrate=migrate, layouts=("directory",)
)
#: a factory without a migrate() beside it, as a user would write one
NO_MIGRATE_MODULE = textwrap.dedent(
    """
    from reference_store import open_store as _open

    def open_store(store_path, layout, profile, fs, *, runtime, cache):
        return _open(store_path, layout, profile, fs, runtime=runtime, cache=cache)
    """
)


def _reasons(unclaimed: list[NotExplored]) -> dict[str, str]:
    return {c.id: c.reason for c in unclaimed}


def test_every_auto_configuration_of_a_store_without_migrate_is_listed() -> None:
    claimed, unclaimed = plan_run(["all"], target=NO_MIGRATE, promises=HARDENED)
    full, _ = plan_run(["all"], target=REFERENCE, promises=HARDENED)
    assert not [c for c in claimed if c.layout == "auto"]
    expected = {c.id for c in full if c.layout == "auto"}
    assert set(_reasons(unclaimed)) == expected
    assert "machine[stateful-auto-real]" in expected  # the machine check's auto layout too
    assert all("no migrate()" in why for why in _reasons(unclaimed).values())
    # Nothing vanishes: what runs and what is listed is the reference store's whole plan.
    assert {c.id for c in claimed} | expected == {c.id for c in full}


def test_layouts_a_store_target_leaves_out_are_listed() -> None:
    claimed, unclaimed = plan_run(
        ["update.kill", "stale-staging", "concurrency"], target=DIRECTORY_ONLY, promises=HARDENED
    )
    assert {c.layout for c in claimed} == {"directory"}
    reasons = _reasons(unclaimed)
    assert set(reasons) == {
        "update.kill[default-legacy-real]",
        "stale-staging[default-auto-real]",
        "concurrency[processes-legacy-real]",
    }
    assert all("declares the layouts directory only" in why for why in reasons.values())


def test_promises_that_claim_no_fault_give_their_reason() -> None:
    _, unclaimed = plan_run(
        ["power-loss.save"], target=REFERENCE, promises=PROMISE_PROFILES["no-power-loss"]
    )
    assert unclaimed
    assert all("promises no-power-loss claim none of its faults" in c.reason for c in unclaimed)


@pytest.fixture(scope="module")
def no_migrate_result() -> GateResult:
    return run_gate(
        NO_MIGRATE,
        scenarios=["stale-staging", "update.kill"],
        options=ExploreOptions(jobs=1, max_points=2),
    )


def test_the_reports_list_what_was_not_explored_and_why(no_migrate_result: GateResult) -> None:
    result = no_migrate_result
    assert [c.configuration.id for c in result.cases] == [
        "update.kill[default-legacy-real]",
        "update.kill[default-directory-real]",
    ]
    assert [c.id for c in result.unclaimed] == ["stale-staging[default-auto-real]"]

    markdown = markdown_summary(result)
    assert "### Not explored" in markdown
    assert "- stale-staging (auto): the store has no migrate()" in markdown

    raw = result.to_json()
    assert raw["unclaimed"][0]["id"] == "stale-staging[default-auto-real]"
    assert "no migrate()" in raw["unclaimed"][0]["reason"]

    suites = ET.fromstring(junit_xml(result))
    (skipped,) = suites.findall("testsuite/testcase/skipped")
    assert (skipped.get("message") or "").startswith("not explored: the store has no migrate()")
    assert suites.get("skipped") == "1"


def test_the_terminal_lists_what_was_not_explored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "unexplored_store.py").write_text(NO_MIGRATE_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    args = ["gate", "--store", "unexplored_store:open_store", "-s", "stale-staging"]
    result = CliRunner().invoke(
        main, [*args, "-s", "update.kill", "--max-points", "2", "-j", "1", "--out", "out"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "NOT EXPLORED stale-staging (auto): the store has no migrate(): the auto layout needs "
        "its start-up migration"
    ) in lines
    # The verdict line, then the last one: whether a promise was broken.
    assert "1 not explored" in lines[-2]
    assert lines[-1] == "hardened: no promise broken"
    summary = (tmp_path / "out" / "gate-summary.md").read_text(encoding="utf-8")
    assert "stale-staging (auto): the store has no migrate()" in summary
    verdict = json.loads((tmp_path / "out" / "gate.json").read_text(encoding="utf-8"))
    assert [c["scenario"] for c in verdict["unclaimed"]] == ["stale-staging"]


def test_the_plugin_header_lists_what_is_not_explored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(unexplored_store=NO_MIGRATE_MODULE)
    result = pytester.runpytest_subprocess(
        "-p",
        "store_harness",
        "--store-impl",
        "unexplored_store:open_store",
        "--store-scenario",
        "stale-staging",
        "--collect-only",
    )
    result.stdout.fnmatch_lines(
        ["store-harness: not explored: stale-staging (auto): the store has no migrate()*"]
    )
