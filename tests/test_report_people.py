"""The report as people read it (issue 21): crash findings first, one promise table per
fault family, one set of counting words, and benchmark numbers that say how much rests
on them. Every check reads the written files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.bench import BenchConfig, run_bench
from harness.engine._explorer import ExploreResult, RunResult, RunSpec
from harness.engine._oracle import VIOLATION_KINDS, Violation
from harness.engine._summary import PROMISES, summarize
from harness.report import CRASH_SUMMARY_NAME, BenchResults, write_report
from harness.report._crash import GLOSSARY

ROOT = Path(__file__).resolve().parent.parent


def _run(layout: str, profile: str, family: str, kinds: tuple[str, ...] = ()) -> RunResult:
    spec = RunSpec("migration.kill", "fresh", layout, profile, "real", family=family)
    return RunResult(
        spec=spec,
        trace=(),
        outcomes=(),
        violations=tuple(Violation(kind, "seeded by the test") for kind in kinds),
        found=None,
        expected=(),
        files_after_fault={},
        op_count=0,
    )


def _exploration() -> ExploreResult:
    """seed/auto loses entries only under power loss (two runs, three violations, one
    of them a leftover temp file besides); hardened/auto keeps everything."""
    results = [
        _run("auto", "seed", "baseline"),
        _run("auto", "seed", "crash"),
        _run("auto", "seed", "crash", ("leftover-temp",)),
        _run("auto", "seed", "power-loss", ("migration-lost", "migration-lost")),
        _run("auto", "seed", "power-loss", ("migration-lost", "leftover-temp")),
        _run("auto", "hardened", "baseline"),
        _run("auto", "hardened", "crash"),
        _run("auto", "hardened", "power-loss"),
    ]
    return ExploreResult(results=results, baselines=[], order_violations=[])


@pytest.fixture(scope="module")
def tiny_results() -> BenchResults:
    """Legacy, directory and SQLite, ten entries, a few calls each (about a second)."""
    config = BenchConfig.quick().narrowed(
        layouts=("legacy", "directory", "sqlite"),
        profiles=("hardened",),
        sizes=(10,),
        parts=("single",),
        ops=4,
        min_ops=3,
        min_loads=2,
        cell_seconds=0.0,
        load_seconds=0.0,
    )
    return run_bench(config, argv=("store-harness", "report", "--tiny"))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory, tiny_results: BenchResults) -> Path:
    folder = tmp_path_factory.mktemp("people")
    out, replays = folder / "latest", folder / "replays"
    replays.mkdir()
    summarize(_exploration()).write(str(out / CRASH_SUMMARY_NAME))
    for name in (
        "migration.kill--fresh--auto--seed--power-loss--migration-lost.json",
        "migration.kill--fresh--auto--seed--crash--leftover-temp.json",
        # an earlier exploration's file whose violation this one did not find
        "migration.kill--fresh--auto--seed--torn--half-applied.json",
    ):
        (replays / name).write_text("{}", encoding="utf-8")
    phases = (("crash exploration", 3_000_000_000), ("benchmarks", 2_000_000_000))
    write_report(tiny_results, out, replays=replays, phases=phases)
    return out


def _table(markdown: str, title: str) -> list[dict[str, str]]:
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip() == title)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    header, _rule, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


# --- 1. findings first ------------------------------------------------------------------------
def test_the_markdown_leads_with_what_broke_then_the_benchmarks(written: Path) -> None:
    markdown = (written / "report.md").read_text(encoding="utf-8")
    title = markdown.splitlines()[0]
    assert "crash findings" in title and "benchmarks" in title
    order = [
        markdown.index(heading)
        for heading in ("## Crash findings", "## Seeded bugs", "## Benchmark run", "## Answers")
    ]
    assert order == sorted(order)
    # the whole run's wall time: every step, not the benchmark's alone
    assert "**Whole run:** 5.0 s wall time (crash exploration 3.0 s, benchmarks 2.0 s)" in markdown
    assert "- hardened: 0 violations in 3 runs." in markdown
    assert "- seed: 5 violations, in 3 violating runs of 5 runs" in markdown
    table = _table(markdown, "What broke, per profile and layout")
    rows = {r["profile / layout"]: r for r in table}
    assert list(rows) == ["hardened / auto", "seed / auto"]
    assert rows["seed / auto"] == {
        "profile / layout": "seed / auto",
        "runs": "5",
        "violating runs": "3",
        "violations": "5",
        "by severity and kind": "critical 3 (migration-lost 3); low 2 (leftover-temp 2)",
        "replay files": "2",
    }
    assert rows["hardened / auto"]["violations"] == "0"


def test_the_replay_links_point_at_this_runs_files(written: Path) -> None:
    markdown = (written / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((\.\./replays/[^)]+\.json)\)", markdown)
    assert sorted(Path(link).name for link in links) == [
        "migration.kill--fresh--auto--seed--crash--leftover-temp.json",
        "migration.kill--fresh--auto--seed--power-loss--migration-lost.json",
    ]
    assert all((written / link).is_file() for link in links)
    page = (written / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{link}"' in page for link in links)
    assert "torn--half-applied" not in markdown + page


def test_the_html_page_leads_with_the_findings_and_wraps_long_tables(written: Path) -> None:
    page = (written / "index.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings[:4] == [
        "Crash findings",
        "Seeded bugs",
        "Promises: which check judges what, proven by which seeded bug",
        "Benchmark run",
    ]
    assert page.index("What broke, per profile and layout") < page.index("<h2>Answers</h2>")
    assert "Whole run:</strong> 5.0 s wall time" in page
    findings_at = page.index("What broke, per profile and layout")
    table_start = page.rindex("<table", 0, findings_at)
    assert page[table_start:findings_at].startswith('<table class="wrap">')
    assert "table.wrap td" in page and "overflow-wrap" in page


def test_the_seeded_bug_table_lists_checks_instead_of_a_column_each(
    tmp_path: Path, tiny_results: BenchResults
) -> None:
    checks = [f"scenario-number-{i}" for i in range(30)]
    (tmp_path / "mutation-score.json").write_text(
        json.dumps(
            {
                "format": "store-harness.mutation-score/1",
                "mutants": [
                    {
                        "name": "wide",
                        "bug": "claimed by thirty checks",
                        "caught": True,
                        "expected": checks,
                        "caught_by": checks[:29],
                        "missed": checks[29:],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    markdown = write_report(tiny_results, tmp_path).markdown.read_text(encoding="utf-8")
    (row,) = _table(markdown, "Seeded bugs: 1 of 1 caught")
    assert list(row) == ["bug", "what is wrong", "caught", "caught by", "MISSED by"]
    assert row["caught by"] == ", ".join(checks[:29]) and row["MISSED by"] == checks[29]
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    at = page.index("Seeded bugs: 1 of 1 caught")
    assert page[page.rindex("<table", 0, at) : at].startswith('<table class="wrap">')


# --- 2. promises x fault families -------------------------------------------------------------
def test_a_promise_broken_only_under_power_loss_shows_in_its_column(written: Path) -> None:
    raw = json.loads((written / CRASH_SUMMARY_NAME).read_text(encoding="utf-8"))
    (migration,) = [
        p
        for p in raw["promises"]
        if p["promise"] == "migration keeps every entry" and p["profile"] == "seed"
    ]
    assert migration["kept"] is True  # the crash promise is not made under power loss
    assert "power-loss" not in migration["judged_families"]
    assert migration["families"]["power-loss"] == {
        "runs": 2,
        "violating_runs": 2,
        "violations": 3,
    }
    assert raw["families"] == ["baseline", "crash", "power-loss"]
    markdown = (written / "report.md").read_text(encoding="utf-8")
    rows = {
        (r["promise"], r["layout/profile"]): r
        for r in _table(markdown, "Promises x fault families")
    }
    row = rows[("migration keeps every entry", "auto/seed")]
    assert (row["verdict"], row["no fault"], row["crash"], row["power loss"]) == (
        "kept",
        "kept",
        "kept",
        "(broken 3)",
    )
    power = rows[("acknowledged writes survive power loss", "auto/seed")]
    assert (power["verdict"], power["power loss"]) == ("BROKEN", "BROKEN 3")
    leftovers = rows[("no temp or lock file is left for good", "auto/seed")]
    assert (leftovers["crash"], leftovers["power loss"]) == ("BROKEN 1", "(broken 1)")
    assert rows[("migration keeps every entry", "auto/hardened")]["power loss"] == "(kept)"


def test_the_family_counts_add_up_to_the_rows() -> None:
    summary = summarize(_exploration())
    for row in summary.runs:
        families = row["families"].values()
        assert sum(f["runs"] for f in families) == row["runs"] == row["fault_points"]
        assert sum(f["violating_runs"] for f in families) == row["violating_runs"]
        assert sum(f["violations"] for f in families) == row["violation_count"]
        assert row["violation_count"] == sum(row["kinds"].values())
    assert summary.total_violations == 5 and summary.violating_runs == 3


def test_every_registered_kind_has_a_row_in_the_promise_table() -> None:
    named = set().union(*(p.kinds for p in PROMISES))
    assert set(VIOLATION_KINDS) <= named


# --- 3. counting words ------------------------------------------------------------------------
def test_the_counting_words_are_defined_in_the_report_and_the_readme(written: Path) -> None:
    markdown = (written / "report.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Counting words" in readme
    for term, _meaning in GLOSSARY:
        assert f"- **{term}**:" in markdown
        assert f"* **{term}**:" in readme
    (scenario,) = [r for r in _table(markdown, "Crash scenarios") if r["profile"] == "seed"]
    assert (scenario["runs"], scenario["violating runs"], scenario["violations"]) == ("5", "3", "5")
    assert "2 configurations, 8 runs (one per fault point), 3 violating runs, 5 violations" in (
        markdown
    )


# --- 4. honest numbers ------------------------------------------------------------------------
def test_few_samples_are_marked_and_sqlite_has_no_floor(written: Path) -> None:
    markdown = (written / "report.md").read_text(encoding="utf-8")
    rows = _table(markdown, "update_entry, one writer")
    assert {r["layout"] for r in rows} == {"legacy", "directory", "sqlite"}
    for row in rows:
        # four calls a cell: every median and p99 rests on fewer than ten samples
        assert row["n"].endswith("*") and row["p50 ms"].endswith("*")
        assert row["p99 ms"].endswith("*")
    (sqlite,) = [r for r in rows if r["layout"] == "sqlite"]
    assert (sqlite["floor p50 ms"], sqlite["update/floor"]) == ("n/a", "n/a")
    assert "fewer than 10 samples" in markdown and "fewer than 100 calls" in markdown


def test_verdicts_say_which_grid_they_come_from(written: Path) -> None:
    markdown = (written / "report.md").read_text(encoding="utf-8")
    verdicts = re.findall(r"\*\*Goal [^*]+\*\*", markdown)
    assert verdicts and all(v.endswith("(quick grid).**") for v in verdicts)


def test_the_readme_quotes_the_median_of_the_committed_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    full_run = (ROOT / "reports" / "full-run" / "README.md").read_text(encoding="utf-8")
    row = next(line for line in full_run.splitlines() if "vs hardened legacy" in line)
    gains = sorted(int(g) for g in re.findall(r"(\d+)x", row))
    assert len(gains) == 5
    median = gains[len(gains) // 2]
    times, dash = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
    assert f"median **{median}{times}**" in readme
    assert f"range {gains[0]}{dash}{gains[-1]}{times}" in readme
    assert "five full runs" in readme


def test_the_command_times_every_step_and_names_the_grid_of_its_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from harness.cli._report import report_command

    # the seeded bugs are gated elsewhere; here only that the step is timed matters
    monkeypatch.setattr("harness.cli._report._mutants_step", lambda out, **kw: [])
    out = tmp_path / "out"
    grid = ["-l", "directory", "-p", "hardened", "-s", "10", "--part", "single", "--ops", "3"]
    result = CliRunner().invoke(
        report_command,
        ["--no-explore", *grid, "--cell-seconds", "0", "--out", str(out), "-q"],
    )
    assert result.exit_code == 0, result.output
    markdown = (out / "report.md").read_text(encoding="utf-8")
    whole = next(line for line in markdown.splitlines() if line.startswith("- **Whole run:**"))
    assert re.fullmatch(
        r"- \*\*Whole run:\*\* [\d.]+ \w+ wall time \(seeded bugs [\d.]+ \w+, "
        r"benchmarks [\d.]+ \w+\)",
        whole,
    ), whole
    verdicts = [line for line in result.output.splitlines() if "[goal" in line]
    assert verdicts and all(line.endswith(", quick grid]") for line in verdicts)
