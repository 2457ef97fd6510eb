"""Command-line output for people and for CI logs.

* Output that is not a terminal is never cut or wrapped: names, ids, kinds and replay
  paths stay whole and copy-pastable.
* ``--color``/``--no-color`` on the root command, and ``NO_COLOR``, decide the colours.
* Running a command leaves no untracked files (every default output folder is in
  ``.gitignore``), and a quick run that replaces the summary of an earlier one says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import scenarios as catalog
from harness.cli import main
from harness.engine._oracle import VIOLATION_KINDS

ROOT = Path(__file__).resolve().parents[1]
ANSI = "\x1b["


def _invoke(args: list[str], **env: str) -> Result:
    return CliRunner().invoke(main, args, env=env or None, catch_exceptions=False)


def test_scenarios_piped_prints_every_row_whole() -> None:
    # A real pipe (``store-harness scenarios | cat``), not click's test streams.
    piped = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "scenarios"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "80"},
    )
    lines = piped.stdout.splitlines()
    assert "…" not in piped.stdout
    assert any("power-loss.migration" in line for line in lines)
    for scenario in catalog.SCENARIOS:
        # One line per scenario holds its name and its whole description.
        assert any(scenario.name in line and scenario.description in line for line in lines), (
            scenario.name
        )
    assert ANSI not in piped.stdout


def test_gate_failures_keep_ids_kinds_and_replay_paths_whole(tmp_path: Path) -> None:
    out = tmp_path / ("a-long-folder-name-for-the-reports-of-this-gate-run" * 2) / "out"
    args = ["gate", "--store", "reference", "--profile", "seed", "-s", "update.kill"]
    result = _invoke(
        [*args, "--layout", "directory", "--max-points", "3", "-j", "1", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    fail = [line for line in lines if line.startswith("FAIL ")]
    # The id keeps its "[...]" (rich markup would swallow it) and the kinds follow it.
    assert fail and fail[0].startswith("FAIL update.kill[default-directory-real]: ")
    replays = sorted((out / "replays" / "real").glob("*.json"))
    assert replays
    for path in replays:
        assert len(str(path)) > 80
        assert f"  {path}" in lines, f"{path} is not printed whole on a line of its own"
    kinds = fail[0].split("violate promises: ", 1)[1]
    assert any(kind in kinds for kind in VIOLATION_KINDS), fail[0]


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, False),  # not a terminal: no colour unless asked
        (["--color"], {}, True),
        (["--color"], {"NO_COLOR": "1"}, True),  # the flag wins
        (["--no-color"], {}, False),
        ([], {"NO_COLOR": "1"}, False),
        ([], {"NO_COLOR": ""}, False),
    ],
)
def test_color_flags_and_no_color(args: list[str], env: dict[str, str], coloured: bool) -> None:
    result = _invoke([*args, "scenarios"], **env)
    assert result.exit_code == 0, result.output
    assert (ANSI in result.output) is coloured
    assert "power-loss.migration" in result.output


@pytest.mark.parametrize("command", ["gate", "explore", "replay", "scenarios"])
def test_commands_have_verbose(command: str) -> None:
    result = _invoke([command, "--help"])
    assert result.exit_code == 0
    assert "-v, " in result.output and "--verbose" in result.output


def _default(command: str, option: str) -> str:
    found = main.get_command(click.Context(main), command)
    assert found is not None
    (param,) = [p for p in found.params if p.name == option]
    return str(param.default)


def test_every_default_output_folder_is_ignored() -> None:
    defaults = {
        "explore --out": _default("explore", "out"),
        "explore --replays": _default("explore", "replays"),
        "report --out": _default("report", "out"),
        "report --replays": _default("report", "replays"),
        "gate --out": _default("gate", "out"),
        "bench --out": str(Path(_default("bench", "out")).parent),
        "the plugin's replays without a cache": ".store-harness-replays",
    }
    patterns = [
        line.strip().strip("/")
        for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for what, folder in defaults.items():
        posix = Path(folder).as_posix()
        assert any(posix == p or posix.startswith(p + "/") for p in patterns), what


def test_explore_says_when_it_replaces_an_earlier_summary(tmp_path: Path) -> None:
    out = tmp_path / "latest"
    args = ["explore", "-s", "update.kill", "--profile", "hardened", "--layout", "legacy"]
    args += ["--max-points", "1", "-j", "1", "--out", str(out), "--replays", str(tmp_path)]
    first = _invoke([*args, "-q"])
    assert first.exit_code == 0, first.output
    assert "replaced" not in first.output
    second = _invoke([*args, "-q"])
    assert second.exit_code == 0, second.output
    assert f"replaced the crash summary already in {out / 'crash-summary.json'}" in second.stderr


def test_bench_says_when_it_replaces_earlier_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    args = ["bench", "-l", "legacy", "-p", "hardened", "-s", "10", "--entry-size", "1KB"]
    args += ["--part", "single", "--ops", "2", "--cell-seconds", "0.01", "--out", str(out), "-q"]
    first = _invoke(args)
    assert first.exit_code == 0, first.output
    assert "replaced" not in first.output
    second = _invoke(args)
    assert second.exit_code == 0, second.output
    assert f"replaced the results already in {out}" in second.stderr
