"""What the command line tells a person (issue 21).

* The replay diff is structural: per differing key, each differing field by its path,
  values whole -- in the terminal and in the replay file's ``diff`` field.
* The gate's per-configuration line ends with its verdict, the seeded-bug gate shows
  caught/missed as it goes, and the last line of ``explore`` and ``gate`` says whether
  a promise was broken.
* ``explore``, ``gate`` and ``report`` share one story of defaults: real temp folders,
  a bounded seeded sample of fault points, ``--full`` for every point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from harness._errors import HarnessError
from harness.cli import _explore as _cli_explore
from harness.cli import main
from harness.engine._explorer import ExploreOptions
from harness.engine._run_spec import DEFAULT_MAX_POINTS
from harness.replay._scenario_replay import _diff

ROOT = Path(__file__).resolve().parents[1]
SEED_RUN = ["-s", "update.kill", "--layout", "directory", "--max-points", "2", "-j", "1"]


def _invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, ["--no-color", *args], catch_exceptions=False)


def test_diff_names_the_differing_field_by_its_path_and_keeps_values_whole() -> None:
    prefix = "x" * 300  # longer than any cut: the difference sits after it
    expected = {
        "k": {"label": prefix + "A", "deliveryContext": {"to": "+1", "channel": "s"}, "n": 1},
        "gone": {"n": 1},
    }
    found = {"k": {"label": prefix + "B", "deliveryContext": {"to": "+2", "channel": "s"}}}
    lines = _diff(found, [expected])
    assert "~ k: 3 fields differ" in lines
    assert '    deliveryContext.to: found "+2", expected "+1"' in lines
    assert f'    label: found "{prefix}B", expected "{prefix}A"' in lines
    assert "    n: missing (expected 1)" in lines
    assert '- gone: missing (expected {"n": 1})' in lines
    # Equal fields are not shown.
    assert not any("channel" in line for line in lines)


@pytest.fixture(scope="module")
def seed_explore(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    tmp = tmp_path_factory.mktemp("explore")
    args = ["explore", *SEED_RUN, "--out", str(tmp / "out"), "--replays", str(tmp / "replays")]
    return _invoke(args), tmp / "replays"


def test_replay_files_store_the_structural_diff(seed_explore: tuple[Result, Path]) -> None:
    _result, replays = seed_explore
    files = sorted(replays.glob("*.json"))
    assert files
    for path in files:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        assert raw["diff"] == _diff(raw["found"], raw["expected"]), path.name


def test_replay_prints_the_same_diff_as_the_file(seed_explore: tuple[Result, Path]) -> None:
    _result, replays = seed_explore
    path = next(p for p in sorted(replays.glob("*.json")) if "half-applied" in p.name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["diff"]
    result = _invoke(["replay", str(path)])
    assert result.exit_code == 1, result.output
    for line in raw["diff"]:
        assert "  " + line in result.stdout.splitlines()


def test_explore_ends_with_the_promises_of_each_profile(seed_explore: tuple[Result, Path]) -> None:
    result, _replays = seed_explore
    assert result.exit_code == 0, result.output  # no --fail-on: findings do not fail
    last = result.stderr.strip().splitlines()[-1]
    hardened, seed = last.split("; ")
    assert hardened == "hardened: no promise broken"
    assert seed.startswith("seed: ") and " broken (" in seed and "half-applied" in seed


def test_explore_fail_on_exits_1_and_still_ends_with_the_promises(tmp_path: Path) -> None:
    args = ["explore", *SEED_RUN, "--profile", "seed", "--fail-on", "seed", "-q"]
    result = _invoke([*args, "--out", str(tmp_path), "--replays", str(tmp_path / "r")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-2] == "violations found for profile(s): seed"
    assert lines[-1].startswith("seed: ") and "promises broken" in lines[-1]


def test_gate_lines_end_with_the_verdict_and_the_promises(tmp_path: Path) -> None:
    args = ["gate", "--store", "reference", "--profile", "seed", *SEED_RUN]
    result = _invoke([*args, "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    progress = [line for line in lines if line.startswith("[1/1] ")]
    assert progress == [
        "[1/1] update.kill[default-directory-real]: FAILED (half-applied, leftover-temp)"
    ]
    verdict = next(line for line in lines if line.startswith("gate FAILED"))
    for name in ("gate-summary.md", "junit.xml", "gate.json"):
        assert str(tmp_path / name) in verdict
    assert f"replay files in {tmp_path / 'replays' / 'real'}/" in verdict
    assert lines[-1] == (
        "seed (held to the hardened promises): 2 promises broken (half-applied, leftover-temp)"
    )


def test_gate_mutants_show_caught_as_they_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catalog of one seeded bug, through the same loader: the whole one takes minutes.
    (tmp_path / "one_mutant_catalog.py").write_text(
        "from tests.mutants import MUTANTS as _ALL\n"
        "MUTANTS = [m for m in _ALL if m.name == 'no-journal']\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))
    args = ["gate", "--mutants", "one_mutant_catalog:MUTANTS", "--mutant-scope", "claimed"]
    args += ["--max-points", "2", "-j", "1", "--no-machines", "--no-concurrency"]
    result = _invoke([*args, "--out", str(tmp_path / "out")])
    shown = [line for line in result.stderr.splitlines() if line.startswith("[1/1] mutant ")]
    assert len(shown) == 1, result.output
    assert shown[0].startswith("[1/1] mutant no-journal: caught by update.kill")


@pytest.mark.parametrize(
    ("args", "max_points", "full"),
    [
        ([], DEFAULT_MAX_POINTS, False),
        (["--full"], 0, True),
        (["--full", "--max-points", "7"], 7, True),
        (["--max-points", "0"], 0, False),
    ],
)
def test_explore_defaults_are_real_and_bounded(
    monkeypatch: pytest.MonkeyPatch, args: list[str], max_points: int, full: bool
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(names: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise HarnessError("stop here")

    monkeypatch.setattr(_cli_explore, "run_exploration", fake_run)
    result = _invoke(["explore", *args])
    assert result.exit_code == 2
    options: ExploreOptions = seen["options"]
    assert seen["backends"] == ("real",)
    assert (options.max_points, options.full) == (max_points, full)


@pytest.mark.parametrize("command", ["explore", "gate"])
def test_help_tells_the_shared_defaults(command: str) -> None:
    text = " ".join(_invoke([command, "--help"]).output.split())
    assert "real temp folders" in text
    assert f"at most {DEFAULT_MAX_POINTS} fault points" in text
    assert "--full" in text and "every point" in text


def test_readme_documents_fail_on_next_to_the_gate() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    at = readme.index("--fail-on")
    section = " ".join(readme[at - 1500 : at + 1500].split())
    assert "gate" in section
    for word in ("`seed`, `hardened`", "exit status 1", "exit status is 0", "status 2"):
        assert word in section, word


def test_report_shows_each_seeded_bug_verdict_as_it_goes_and_returns_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli._report import _mutants_step

    (tmp_path / "report_one_mutant.py").write_text(
        "from tests.mutants import MUTANTS as _ALL\n"
        "MUTANTS = [m for m in _ALL if m.name == 'swallowed-backup-failure']\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))
    written = _mutants_step(tmp_path / "out", ref="report_one_mutant:MUTANTS", jobs=1, quiet=False)
    shown = capsys.readouterr().err.splitlines()
    assert "  [1/1] mutant swallowed-backup-failure: caught by migration.backup-failure" in shown
    assert sorted(p.name for p in written) == ["mutation-score.json", "mutation-score.md"]
    assert all(p.is_file() for p in written)


def test_report_answers_the_cold_load_question_as_it_is_asked() -> None:
    """ "How much slower is ..." is answered with "slower" (or "faster") said of the thing
    the question asks about -- judged on the committed full run's numbers."""
    from harness.report import load_results
    from harness.report._findings import cold_load

    finding = cold_load(load_results(ROOT / "reports" / "full-run" / "results.json"))
    assert finding.question.startswith("How much slower is a full cold load")
    assert "so the folder is" in finding.answer
    assert "x slower" in finding.answer and "for the one file" not in finding.answer


def test_report_lists_every_file_it_wrote_and_ends_with_the_promise_line(tmp_path: Path) -> None:
    from harness.cli._report import closing_lines
    from harness.report import ReportFiles

    files = ReportFiles(
        results=tmp_path / "results.json",
        markdown=tmp_path / "report.md",
        html=tmp_path / "index.html",
        findings=(),
        crash_summary=tmp_path / "crash-summary.json",
        micro=tmp_path / "micro-benchmarks.json",
        plots=(tmp_path / "plots" / "a.png",),
    )
    mutation = [tmp_path / "mutation-score.md", tmp_path / "mutation-score.json"]
    last = "hardened: no promise broken; seed: 3 promises broken (acked-write-lost)"
    lines = closing_lines(files, mutation, last)
    for path in (*mutation, files.results, files.markdown, files.html, *files.plots):
        assert any(line.endswith(str(path)) for line in lines), path
    assert any(line.endswith(str(files.crash_summary)) for line in lines)
    assert any(line.endswith(str(files.micro)) for line in lines)
    assert lines[-1] == last
