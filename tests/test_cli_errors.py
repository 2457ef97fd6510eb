"""Errors a user can fix are one line and exit status 2, never a traceback or a verdict.

* ``store-harness replay`` checks every field of a replay file before it runs anything:
  a malformed file is not "still reproduces" (1) nor "fixed" (0);
* ``store-harness gate`` and the pytest plugin run a pre-flight (profile, signatures,
  one open and close in a temp root) before any configuration: a store the harness
  cannot drive is a usage error, not a store regression in every configuration.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harness._errors import UsageError
from harness.cli import main
from harness.engine._preflight import preflight
from harness.engine._target import REFERENCE, StoreTarget, resolve_target

pytest_plugins = ["pytester"]

#: a replay of the fault-free run of update.kill on the hardened store: valid, and it
#: does not reproduce (the hardened store passes its baseline), so it exits 0
VALID: dict[str, Any] = {
    "format": "store-harness.replay/1",
    "id": "update.kill--default--legacy--hardened--baseline--baseline",
    "spec": {
        "scenario": "update.kill",
        "variant": "default",
        "layout": "legacy",
        "profile": "hardened",
        "backend": "fake",
        "plan": {
            "crash_at": None,
            "torn_bytes": None,
            "enospc_budget": None,
            "enospc_at_close": False,
            "errors": [],
            "error_every": [],
            "non_atomic_replace": False,
        },
        "family": "baseline",
        "power": None,
        "seed": 0,
        "target": "reference",
        "fs_semantics": "linux",
    },
    "target_source": None,
    "violation": {"kind": "baseline", "severity": "high", "detail": "test", "key": None},
    "trace": [],
}


def _invoke(args: list[str], **env: str) -> Result:
    return CliRunner().invoke(main, args, env=env or None, catch_exceptions=False)


def _assert_one_line_usage_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _with(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(raw: dict[str, Any]) -> Any:
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return raw

    return change


def _without(*path: str) -> Callable[[dict[str, Any]], Any]:
    def change(raw: dict[str, Any]) -> Any:
        target = raw
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return raw

    return change


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "format-only": (lambda _raw: {"format": "store-harness.replay/1"}, "spec is missing"),
    "spec-missing": (_without("spec"), "spec is missing"),
    "plan-not-object": (_with(("spec", "plan"), [1, 2]), "spec.plan must be an object"),
    "plan-missing": (_without("spec", "plan"), "spec.plan is missing"),
    "crash-at-negative": (
        _with(("spec", "plan", "crash_at"), -5),
        "spec.plan.crash_at must be an operation number >= 1, not -5",
    ),
    "crash-at-zero": (_with(("spec", "plan", "crash_at"), 0), "spec.plan.crash_at"),
    "crash-at-bool": (_with(("spec", "plan", "crash_at"), True), "not a boolean"),
    "crash-at-string": (_with(("spec", "plan", "crash_at"), "3"), "not a string"),
    "torn-without-crash": (_with(("spec", "plan", "torn_bytes"), 4), "needs crash_at"),
    "budget-negative": (_with(("spec", "plan", "enospc_budget"), -1), "enospc_budget"),
    "errors-shape": (_with(("spec", "plan", "errors"), [[3]]), "spec.plan.errors[0]"),
    "errno-unknown": (
        _with(("spec", "plan", "errors"), [[3, "EWHAT"]]),
        "spec.plan.errors[0][1] is 'EWHAT'",
    ),
    "error-every-shape": (_with(("spec", "plan", "error_every"), ["x"]), "error_every[0]"),
    "flag-not-bool": (_with(("spec", "plan", "non_atomic_replace"), "yes"), "true or false"),
    "seed-string": (_with(("spec", "seed"), "0"), "spec.seed must be an integer"),
    "layout-unknown": (_with(("spec", "layout"), "flat"), "spec.layout is 'flat'"),
    "layout-not-of-scenario": (_with(("spec", "layout"), "auto"), "runs in legacy, directory"),
    "backend-unknown": (_with(("spec", "backend"), "cloud"), "spec.backend"),
    "scenario-unknown": (_with(("spec", "scenario"), "no-such"), "spec.scenario"),
    "variant-unknown": (_with(("spec", "variant"), "no-such"), "spec.variant"),
    "semantics-unknown": (_with(("spec", "fs_semantics"), "beos"), "spec.fs_semantics"),
    "power-survive": (
        _with(("spec", "power"), {"label": "x", "survive": [-1], "torn": []}),
        "spec.power.survive[0]",
    ),
    "violation-missing": (_without("violation"), "violation is missing"),
    "violation-kind-unknown": (_with(("violation", "kind"), "oops"), "violation.kind is 'oops'"),
    "source-not-object": (_with(("target_source",), "tests.mutants"), "target_source"),
    "trace-not-array": (_with(("trace",), {}), "trace must be an array"),
    "format-unknown": (_with(("format",), "store-harness.replay/9"), "format is"),
    "format-missing": (_without("format"), "format is missing"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_replay_file_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    change, needle = MALFORMED[case]
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(change(copy.deepcopy(VALID))), encoding="utf-8")
    _assert_one_line_usage_error(_invoke(["replay", str(path)]), str(path), needle)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("", "not JSON"),
        ('{"format": "store-harness.machine-replay/1"}', "target is missing"),
        (
            json.dumps(
                {
                    "format": "store-harness.machine-replay/1",
                    "target": "reference",
                    "layout": "directory",
                    "profile": "hardened",
                    "search": {"seed": 0, "examples": 0, "steps": 3},
                }
            ),
            "search.examples must be an integer >= 1, not 0",
        ),
    ],
)
def test_unreadable_replay_files_are_one_line_and_exit_2(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "replay.json"
    path.write_text(content, encoding="utf-8")
    _assert_one_line_usage_error(_invoke(["replay", str(path)]), str(path), needle)


def test_a_missing_replay_file_or_a_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.json"
    _assert_one_line_usage_error(_invoke(["replay", str(missing)]), str(missing))
    _assert_one_line_usage_error(_invoke(["replay", str(tmp_path)]), str(tmp_path), "folder")


def test_a_valid_replay_file_still_runs(tmp_path: Path) -> None:
    # The control: the checks accept what the harness writes; this run does not reproduce.
    path = tmp_path / "valid.json"
    path.write_text(json.dumps(VALID), encoding="utf-8")
    result = _invoke(["replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "no longer reproduces" in result.output


def test_replay_files_the_gate_writes_pass_the_checks(tmp_path: Path) -> None:
    from harness.engine._explorer import ExploreOptions
    from harness.gate import run_gate

    # The seed design tears and leaves files behind when update.kill crashes it.
    result = run_gate(
        "reference",
        profile="seed",
        scenarios=["update.kill"],
        layouts=["directory"],
        options=ExploreOptions(jobs=1, max_points=3),
        replays_dir=str(tmp_path),
    )
    written = [path for case in result.failed for path in case.replays]
    assert written, "the seed must fail update.kill: replay files expected"
    for path in written:
        replayed = _invoke(["replay", path])
        assert replayed.exit_code in (0, 1), replayed.output  # reproduces, or no longer
        assert "oracle" in replayed.output


# --- the gate's pre-flight -----------------------------------------------------------------
STORES = textwrap.dedent(
    """
    import os

    from reference_store import open_store as _open

    def raises(store_path, layout, profile, fs, *, runtime, cache):
        raise RuntimeError("no database configured")

    def not_a_store(store_path, layout, profile, fs, **kwargs):
        return "a string"

    def dies(store_path, layout, profile, fs, *, runtime, cache):
        os._exit(3)

    def good(store_path, layout, profile, fs, *, runtime, cache):
        return _open(store_path, layout, "hardened", fs, runtime=runtime, cache=cache)
    """
)
BAD_MIGRATE = textwrap.dedent(
    """
    from reference_store import open_store

    def migrate(store_path):
        return False
    """
)


@pytest.fixture
def store_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cli_error_stores.py").write_text(STORES, encoding="utf-8")
    (tmp_path / "cli_error_badmigrate.py").write_text(BAD_MIGRATE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--store", "reference", "--profile", "nosuch"], ("'nosuch'", "seed, hardened")),
        (["--store", "os.path:join"], ("os.path:join", "runtime")),
        (["--store", "cli_error_stores:raises"], ("RuntimeError", "no database configured")),
        (["--store", "cli_error_stores:not_a_store"], ("has no load",)),
        (["--store", "cli_error_stores:dies"], ("killed its process",)),
        (["--store", "cli_error_badmigrate:open_store"], ("migrate(store_path, profile",)),
        (["--store", "reference_store:open_store", "--profile", "nosuch"], ("nosuch",)),
    ],
)
def test_gate_preflight_refuses_a_store_it_cannot_drive(
    store_modules: Path, args: list[str], needles: tuple[str, ...]
) -> None:
    out = store_modules / "out"
    result = _invoke(["gate", *args, "-s", "update.kill", "-j", "1", "--out", str(out)])
    _assert_one_line_usage_error(result, *needles)
    assert not out.exists(), "nothing may run or be written before the pre-flight passes"


def test_preflight_lets_a_store_it_can_drive_through(store_modules: Path) -> None:
    preflight(REFERENCE, profile="seed", layouts=["auto"])
    # A plain factory declares no profiles: it is opened with whatever it is given.
    good = resolve_target("cli_error_stores:good")
    preflight(good, profile="its-own-profile", layouts=["directory"])
    preflight(good, profile="hardened", layouts=[])  # nothing to open: signatures only
    with pytest.raises(UsageError, match="has no profile 'seed'"):
        preflight(StoreTarget("x", good.open, profiles=("hardened",)), profile="seed", layouts=[])


def test_gate_passes_the_preflight_with_a_good_store(store_modules: Path) -> None:
    out = store_modules / "out"
    args = ["gate", "--store", "cli_error_stores:good", "-s", "update.kill"]
    result = _invoke([*args, "--max-points", "2", "-j", "1", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "gate.json").exists()


def test_the_plugin_runs_the_same_preflight(pytester: pytest.Pytester) -> None:
    joined = pytester.runpytest_subprocess("-p", "store_harness", "--store-impl", "os.path:join")
    assert joined.ret == pytest.ExitCode.USAGE_ERROR
    joined.stderr.fnmatch_lines(["*--store-impl: *cannot be called as the harness calls it*"])
    assert "Traceback" not in joined.stderr.str()

    profile = pytester.runpytest_subprocess(
        "-p", "store_harness", "--store-impl", "reference", "--store-profile", "nosuch"
    )
    assert profile.ret == pytest.ExitCode.USAGE_ERROR
    profile.stderr.fnmatch_lines(["*--store-impl: store 'reference' has no profile 'nosuch'*"])
