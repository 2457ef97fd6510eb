"""Reports built from a tiny bench run: the Markdown holds the JSON's numbers, the HTML
is self-contained, the crash summary is rendered when present, and every answer is
computed from the numbers (the same code says "met" or "not met" as they change)."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.bench import BenchConfig, run_bench
from harness.cli._report import report_command
from harness.engine._summary import Summary
from harness.report import (
    CRASH_SUMMARY_NAME,
    MICRO_NAME,
    SCHEMA,
    BenchResults,
    CrashSummary,
    LatencyStats,
    SingleResult,
    findings,
    load_crash_summary,
    load_micro,
    write_report,
)
from harness.report._html import render_html
from harness.report._markdown import render_markdown
from harness.report._plots import PLOTTERS


@pytest.fixture(scope="module")
def tiny_results() -> BenchResults:
    """Two layouts, ten entries, a few calls of each kind (about a second)."""
    config = BenchConfig.quick().narrowed(
        layouts=("legacy", "directory"),
        profiles=("seed", "hardened"),
        sizes=(10,),
        contention_sizes=(10,),
        migration_sizes=(10,),
        writers=(1, 2),
        modes=("threads",),
        keys=("distinct",),
        ops=4,
        min_ops=3,
        min_loads=2,
        cell_seconds=0.0,
        load_seconds=0.0,
        contention_ops=2,
        diagnosis_size=10,
        diagnosis_ops=3,
    )
    return run_bench(config, argv=("store-harness", "report", "--tiny"))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory, tiny_results: BenchResults) -> Path:
    """The three files, rendered once (matplotlib takes a second or more per page)."""
    folder = tmp_path_factory.mktemp("report")
    write_report(tiny_results, folder)
    return folder


def _table(markdown: str, title: str) -> list[dict[str, str]]:
    """Rows of the Markdown table under the heading ``title``, as header -> cell."""
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


def _number(text: str) -> float:
    # "*" and "~" mark cells resting on few samples (harness/report/_tables.py)
    return float(text.replace(",", "").rstrip("*~").rstrip("x"))


def _close_ms(cell: str, ns: int) -> bool:
    """A table's milliseconds against the JSON's nanoseconds, within the rounding."""
    value = ns / 1e6
    return abs(_number(cell) - value) <= max(0.0005, 0.005 * abs(value)) + 1e-9


def test_markdown_single_table_matches_json(report_dir: Path, tiny_results: BenchResults) -> None:
    rows = _table((report_dir / "report.md").read_text(), "update_entry, one writer")
    assert len(rows) == len(tiny_results.single) == 4
    saved = BenchResults.from_json((report_dir / "results.json").read_text())
    assert saved == tiny_results
    for r in saved.single:
        (row,) = [
            x
            for x in rows
            if (x["layout"], x["profile"], x["entries"]) == (r.layout, r.profile, str(r.size))
        ]
        assert int(row["n"].rstrip("*")) == r.update.n
        for header, ns in (
            ("p50 ms", r.update.p50_ns),
            ("p99 ms", r.update.p99_ns),
            ("max ms", r.update.max_ns),
            ("floor p50 ms", r.floor.p50_ns),
            ("read_updated_at p50 ms", r.read_updated_at.p50_ns),
            ("load cold p50 ms", r.load_cold.p50_ns),
            ("load cached p50 ms", r.load_cached.p50_ns),
        ):
            assert _close_ms(row[header], ns), (header, row[header], ns)
        assert int(row["bytes/update"].replace(",", "")) == r.bytes_per_update
        ratio = _number(row["update/floor"])
        assert abs(ratio - r.floor_ratio) <= 0.005 * r.floor_ratio + 0.005


def test_markdown_contention_and_migration_match_json(
    report_dir: Path, tiny_results: BenchResults
) -> None:
    markdown = (report_dir / "report.md").read_text()
    rows = _table(markdown, "update_entry under contention")
    assert len(rows) == len(tiny_results.contention) >= 4
    for c in tiny_results.contention:
        key = (c.layout, c.profile, str(c.writers))
        (row,) = [x for x in rows if (x["layout"], x["profile"], x["writers"]) == key]
        assert int(row["ops"]) == c.ops
        assert _close_ms(row["p99 ms"], c.update.p99_ns)
    (migration,) = _table(markdown, "migrate (legacy → directory)")[:1]
    first = tiny_results.migration[0]
    assert migration["profile"] == first.profile
    assert _close_ms(migration["p50 ms"], first.time.p50_ns)


def test_markdown_names_the_command_and_machine(
    report_dir: Path, tiny_results: BenchResults
) -> None:
    markdown = (report_dir / "report.md").read_text()
    assert "`store-harness report --tiny`" in markdown
    assert tiny_results.machine.hostname in markdown
    assert tiny_results.machine.platform in markdown


def test_html_is_self_contained_with_every_plot(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    assert page.count('<img alt="') == len(PLOTTERS)
    assert page.count('src="data:image/png;base64,') == len(PLOTTERS)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page
    assert re.search(r"\bsrc=\"(?!data:)", page) is None


def _render(results: BenchResults, crash: CrashSummary | None) -> tuple[str, str]:
    """Markdown and HTML without plots (the plots are tested once, above)."""
    answers = findings(results)
    return render_markdown(results, answers, crash), render_html(results, answers, [], crash)


def test_crash_summary_is_rendered_when_present(tmp_path: Path, tiny_results: BenchResults) -> None:
    summary = {
        "runs": [
            {
                "scenario": "migration.kill",
                "layout": "directory",
                "profile": "seed",
                "backend": "fake",
                "fault_points": 41,
                "violations": 3,
                "kinds": {"lost-ack": 2, "resurrected": 1},
            },
            {"scenario": "broken row"},
        ],
        "promises": [
            {"promise": "durable", "layout": "directory", "profile": "hardened", "kept": True},
            {"promise": "durable", "layout": "directory", "profile": "seed", "kept": False},
            {"promise": "atomic-update", "layout": "legacy", "profile": "seed", "kept": None},
        ],
    }
    path = tmp_path / CRASH_SUMMARY_NAME
    path.write_text(json.dumps(summary))
    crash = load_crash_summary(path)
    assert crash is not None and crash.skipped_rows == 1
    markdown, page = _render(tiny_results, crash)
    runs = _table(markdown, "Crash scenarios")
    assert runs == [
        {
            "scenario": "migration.kill",
            "layout": "directory",
            "profile": "seed",
            "backend": "fake",
            "runs": "41",
            "violating runs": "3",
            "violations": "3",
            "kinds": "lost-ack: 2, resurrected: 1",
        }
    ]
    promises = {row["promise"]: row for row in _table(markdown, "Promises x layouts x profiles")}
    assert promises["durable"]["directory/hardened"] == "kept"
    assert promises["durable"]["directory/seed"] == "BROKEN"
    assert promises["atomic-update"]["legacy/seed"] == "-"
    assert promises["atomic-update"]["directory/seed"] == "-"
    assert "1 malformed rows" in markdown
    assert "migration.kill" in page and "BROKEN" in page


def test_crash_summary_absent_or_unreadable(tmp_path: Path, tiny_results: BenchResults) -> None:
    path = tmp_path / CRASH_SUMMARY_NAME
    assert load_crash_summary(path) is None
    assert "No crash-summary.json" in _render(tiny_results, None)[0]
    path.write_text("{not json")
    crash = load_crash_summary(path)
    assert crash is not None and crash.error
    markdown, page = _render(tiny_results, crash)
    assert "could not be read" in markdown and "could not be read" in page


def test_write_report_reads_the_crash_summary_beside_it(
    report_dir: Path, tiny_results: BenchResults
) -> None:
    assert "No crash-summary.json" in (report_dir / "report.md").read_text()


def test_report_command_from_json(
    report_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.report._write.plots", lambda results: [])  # drawn above
    out = tmp_path / "rendered"
    result = CliRunner().invoke(
        report_command,
        ["--no-explore", "--from-json", str(report_dir / "results.json"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and (out / "report.md").is_file()
    markdown = (out / "report.md").read_text()
    assert "`store-harness report --tiny`" in markdown  # the run that produced the numbers
    assert "Rendered by" in markdown
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    result = CliRunner().invoke(
        report_command, ["--no-explore", "--from-json", str(bad), "--out", str(out)]
    )
    assert result.exit_code != 0 and "schema" in result.output
    unknown = CliRunner().invoke(
        report_command, ["--fs-semantics", "linux,beos", "--no-explore", "--out", str(out)]
    )
    assert unknown.exit_code == 2 and "beos: choose from linux, macos, windows" in unknown.output


# --- answers computed from numbers ---------------------------------------------------------------


def _stats(ms: float) -> LatencyStats:
    ns = round(ms * 1e6)
    return LatencyStats(n=5, min_ns=ns, mean_ns=ns, p50_ns=ns, p99_ns=ns, max_ns=ns)


def _cell(
    layout: str, profile: str, size: int, update_ms: float, floor_ratio: float = 1.2
) -> SingleResult:
    return SingleResult(
        layout=layout,
        profile=profile,
        size=size,
        entry_bytes=1024,
        store_bytes=size * 1024,
        update=_stats(update_ms),
        throughput_ops_s=1000 / update_ms,
        lock_acquire=None,
        bytes_per_update=1300,
        bytes_source="seam",
        seam_calls_per_update={"read_file": 1.0},
        floor=_stats(update_ms / floor_ratio),
        floor_fsync=True,
        floor_ratio=floor_ratio,
        read_updated_at=_stats(0.05),
        load_cold=_stats(size * 0.1),
        load_cached=_stats(size * 0.05),
    )


@pytest.mark.parametrize(
    ("directory_ms", "verdict", "gain"),
    [(2.0, "met", "500x"), (5.0, "not met", "200x"), (3.3333333, "met", "300x")],
)
def test_gain_goal_verdict_follows_the_numbers(
    tiny_results: BenchResults, directory_ms: float, verdict: str, gain: str
) -> None:
    results = dataclasses.replace(
        tiny_results,
        single=(
            _cell("legacy", "hardened", 10_000, 1000.0),
            _cell("legacy", "seed", 10_000, 900.0),
            _cell("directory", "hardened", 10_000, directory_ms),
        ),
    )
    answer = next(f for f in findings(results) if f.key == "hardened-gain")
    assert answer.verdict == verdict
    assert gain in answer.answer


def test_faster_or_slower_is_computed(tiny_results: BenchResults) -> None:
    results = dataclasses.replace(
        tiny_results,
        single=(
            _cell("legacy", "seed", 100, 10.0),
            _cell("directory", "seed", 100, 5.0),
            _cell("legacy", "seed", 1_000, 100.0),
            _cell("directory", "seed", 1_000, 400.0),
        ),
    )
    answer = next(f for f in findings(results) if f.key == "seed-directory-vs-legacy")
    assert answer.answer.startswith("Faster at 100 entries; slower at 1,000 entries.")
    assert "2.00x faster" in answer.answer and "4.00x slower" in answer.answer


def test_floor_goal_and_missing_cells(tiny_results: BenchResults) -> None:
    within = dataclasses.replace(
        tiny_results,
        single=(_cell("directory", "hardened", 10, 2.0, floor_ratio=1.4),),
        diagnosis=(),
    )
    outside = dataclasses.replace(
        tiny_results,
        single=(_cell("directory", "hardened", 10, 2.0, floor_ratio=1.6),),
        diagnosis=(),
    )
    assert next(f for f in findings(within) if f.key == "floor").verdict == "met"
    assert next(f for f in findings(outside) if f.key == "floor").verdict == "not met"
    assert "cannot tell" not in next(f for f in findings(outside) if f.key == "floor").answer
    # A point estimate over the line whose interval reaches below it is named as such;
    # the verdict still follows the point estimate.
    close = dataclasses.replace(
        tiny_results,
        single=(
            dataclasses.replace(
                _cell("directory", "hardened", 10, 2.0, floor_ratio=1.52),
                floor_ratio_interval=(1.47, 1.58),
            ),
        ),
        diagnosis=(),
    )
    finding = next(f for f in findings(close) if f.key == "floor")
    assert finding.verdict == "not met"
    assert "crosses 1.5x at 10 x 1 KB (1.47x to 1.58x)" in finding.answer
    empty = dataclasses.replace(tiny_results, single=(), contention=(), migration=(), diagnosis=())
    assert all(f.answer.startswith("Not measured") for f in findings(empty))


# --- what else a report folder holds ------------------------------------------------------------


def test_plots_are_written_beside_the_markdown_and_linked(report_dir: Path) -> None:
    markdown = (report_dir / "report.md").read_text()
    page = (report_dir / "index.html").read_text()
    links = re.findall(r"!\[[^\]]+\]\((plots/[\w.-]+\.png)\)", markdown)
    assert len(links) == len(set(links)) == len(PLOTTERS)
    for link in links:
        data = (report_dir / link).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert base64.b64encode(data).decode("ascii") in page  # the same image, embedded


def _micro_file() -> dict[str, object]:
    """A pytest-benchmark JSON file as ``--benchmark-json`` writes it (fields trimmed),
    plus one malformed benchmark."""

    def stats(base: float, rounds: int) -> dict[str, float | int]:
        return {
            "min": base,
            "max": base * 3,
            "mean": base * 1.4,
            "stddev": base / 10,
            "rounds": rounds,
            "median": base * 1.2,
            "iqr": base / 5,
            "q1": base * 1.1,
            "q3": base * 1.3,
            "iqr_outliers": 0,
            "stddev_outliers": 1,
            "outliers": "1;0",
            "ld15iqr": base,
            "hd15iqr": base * 3,
            "ops": 1 / (base * 1.4),
            "total": base * 1.4 * rounds,
            "iterations": 1,
        }

    return {
        "machine_info": {"node": "vm", "processor": "x86_64"},
        "commit_info": {"id": "abc", "dirty": True},
        "benchmarks": [
            {
                "group": None,
                "name": "test_update_entry[directory/hardened]",
                "fullname": "tests/benchmarks/test_store_micro.py::test_update_entry[...]",
                "params": {"store_1k": ["directory", "hardened"]},
                "param": "directory/hardened",
                "extra_info": {},
                "options": {"disable_gc": False, "timer": "perf_counter"},
                "stats": stats(0.00212345, 181),
            },
            {
                "group": None,
                "name": "test_floor[1KB-fsync]",
                "fullname": "tests/benchmarks/test_store_micro.py::test_floor[1KB-fsync]",
                "params": {"nbytes": 1024, "fsync": True},
                "param": "1KB-fsync",
                "extra_info": {},
                "options": {},
                "stats": stats(0.00098765, 402),
            },
            {"name": "test_broken", "stats": {"min": "fast"}},
        ],
        "datetime": "2026-01-01T00:00:00.000000+00:00",
        "version": "5.1.0",
    }


def test_micro_benchmarks_beside_the_report_are_rendered(
    tmp_path: Path, tiny_results: BenchResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.report._write.plots", lambda results: [])  # drawn above
    raw = _micro_file()
    (tmp_path / MICRO_NAME).write_text(json.dumps(raw))
    files = write_report(tiny_results, tmp_path)
    assert files.micro == tmp_path / MICRO_NAME
    markdown = files.markdown.read_text()
    table = _table(markdown, "Micro-benchmarks (pytest-benchmark)")
    rows = {row["benchmark"]: row for row in table}
    benchmarks = raw["benchmarks"]
    assert isinstance(benchmarks, list)
    assert set(rows) == {b["name"] for b in benchmarks[:2]}
    for bench in benchmarks[:2]:
        row, stats = rows[bench["name"]], bench["stats"]
        assert int(row["rounds"]) == stats["rounds"]
        for header, name in (
            ("min ms", "min"),
            ("median ms", "median"),
            ("mean ms", "mean"),
            ("max ms", "max"),
        ):
            assert _close_ms(row[header], round(stats[name] * 1e9)), (header, row[header])
        assert abs(_number(row["ops/s"]) - stats["ops"]) <= 0.005 * stats["ops"] + 0.05
    assert "1 malformed rows of micro-benchmarks.json were left out." in markdown
    assert "test_update_entry[directory/hardened]" in files.html.read_text()


def test_micro_benchmarks_absent_or_not_pytest_benchmark(tmp_path: Path) -> None:
    path = tmp_path / MICRO_NAME
    assert load_micro(path) is None
    path.write_text('{"runs": []}')
    summary = load_micro(path)
    assert summary is not None and "not a pytest-benchmark" in summary.error
    path.write_text("[1,")
    summary = load_micro(path)
    assert summary is not None and summary.error.startswith("not JSON")


def test_the_mutation_score_beside_the_report_is_rendered(
    tmp_path: Path, tiny_results: BenchResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutants import by_name

    from harness.engine._explorer import ExploreOptions
    from harness.engine._target import REFERENCE
    from harness.gate import mutation_score_json, run_mutants, write_mutation_score

    class Clean:  # claims a catch, but is the hardened store itself: must show MISSED
        name, bug, caught_by = "nothing-wrong", "the hardened store", ("stale-staging",)

        def target(self) -> object:
            return REFERENCE

    monkeypatch.setattr("harness.report._write.plots", lambda results: [])
    verdicts = run_mutants(
        [by_name("order-tiebreak"), Clean()],  # type: ignore[list-item]
        options=ExploreOptions(jobs=1, max_points=3),
    )
    write_mutation_score(verdicts, str(tmp_path))
    raw = mutation_score_json(verdicts)
    rows = {
        r["bug"]: r
        for r in _table(
            write_report(tiny_results, tmp_path).markdown.read_text(), "Seeded bugs: 1 of 2 caught"
        )
    }
    assert set(rows) == {m["name"] for m in raw["mutants"]}
    assert rows["order-tiebreak"]["caught"] == "yes"
    assert "case-variant-keys" in rows["order-tiebreak"]["caught by"].split(", ")
    assert rows["nothing-wrong"]["caught"] == "NO"
    assert rows["nothing-wrong"]["MISSED by"] == "stale-staging"
    assert "Seeded bugs: 1 of 2 caught" in (tmp_path / "index.html").read_text()


def test_the_report_gates_a_catalog_it_can_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import click

    from harness.cli._report import _mutants_step

    (tmp_path / "report_catalog.py").write_text(
        "from mutants import by_name\nMUTANTS = (by_name('order-tiebreak'),)\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _mutants_step(tmp_path / "out", ref="report_catalog:MUTANTS", jobs=1, quiet=True)
    raw = json.loads((tmp_path / "out" / "mutation-score.json").read_text(encoding="utf-8"))
    assert (raw["caught"], raw["total"]) == (1, 1)
    # The promise table of that catalog beside it: one bug proves one row only.
    table = (tmp_path / "out" / "promise-table.md").read_text(encoding="utf-8")
    assert "`order-tiebreak`" in table and "**no seeded bug**" in table
    with pytest.raises(click.BadParameter, match="cannot import 'no_such_catalog'"):
        _mutants_step(tmp_path / "out", ref="no_such_catalog:MUTANTS", jobs=1, quiet=True)


def test_the_promise_table_beside_the_report_is_rendered(
    tmp_path: Path, tiny_results: BenchResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mutants import MUTANTS

    from harness.gate import promise_rows, promise_table_markdown, write_promise_table

    monkeypatch.setattr("harness.report._write.plots", lambda results: [])
    assert "No promise-table.md" in write_report(tiny_results, tmp_path).markdown.read_text()
    write_promise_table(MUTANTS, str(tmp_path))
    markdown = write_report(tiny_results, tmp_path).markdown.read_text()
    assert promise_table_markdown(promise_rows(MUTANTS)).rstrip() in markdown
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<td>P-modes: files the store creates are 0600, folders 0700</td>" in html
    assert "<code>folders-by-umask</code>" in html


def test_a_missing_or_broken_mutation_score_is_said_so(
    tmp_path: Path, tiny_results: BenchResults, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.report._write.plots", lambda results: [])
    assert "No mutation-score.json" in write_report(tiny_results, tmp_path).markdown.read_text()
    (tmp_path / "mutation-score.json").write_text(
        json.dumps({"format": "store-harness.mutation-score/1", "mutants": [{"name": "x"}]})
    )
    markdown = write_report(tiny_results, tmp_path).markdown.read_text()
    assert "1 malformed rows of mutation-score.json were left out." in markdown
    (tmp_path / "mutation-score.json").write_text("[")
    assert (
        "could not be read (not JSON" in write_report(tiny_results, tmp_path).markdown.read_text()
    )


def test_the_explorers_own_summary_file_is_rendered(tmp_path: Path) -> None:
    """``harness.engine._summary.Summary.write`` (what ``store-harness explore`` writes) and the
    report's reader agree on the schema, extra top-level counts included."""
    summary = Summary(
        runs=[
            {
                "scenario": "power-loss.update",
                "layout": "directory",
                "profile": "seed",
                "backend": "fake",
                "fault_points": 12,
                "violations": 4,
                "kinds": {"acked-write-lost": 4},
            }
        ],
        promises=[
            {
                "promise": "acknowledged writes survive power loss",
                "layout": "directory",
                "profile": "seed",
                "kept": False,
            }
        ],
        total_runs=12,
        violating_runs=4,
    )
    path = tmp_path / CRASH_SUMMARY_NAME
    summary.write(str(path))
    crash = load_crash_summary(path)
    assert crash is not None and not crash.error and crash.skipped_rows == 0
    markdown = render_markdown(_empty_results(), [], crash)
    (run,) = _table(markdown, "Crash scenarios")
    assert (run["scenario"], run["runs"], run["violating runs"]) == (
        "power-loss.update",
        "12",
        "4",
    )
    (promise,) = _table(markdown, "Promises x layouts x profiles")
    assert promise["directory/seed"] == "BROKEN"


def _empty_results() -> BenchResults:
    return BenchResults.from_dict(
        {
            "schema": SCHEMA,
            "run": {
                "command": "store-harness bench",
                "argv": ["store-harness", "bench"],
                "started_at": "2026-01-01T00:00:00+00:00",
                "wall_ns": 1,
                "harness_version": "0",
                "config": {},
            },
            "machine": {
                "platform": "p",
                "machine": "m",
                "python": "3",
                "implementation": "CPython",
                "cpu_count": 1,
                "hostname": "h",
                "temp_fs": "ext4",
            },
            "single": [],
            "contention": [],
            "migration": [],
            "diagnosis": [],
            "skipped": [],
        }
    )


def test_finding_tables_hold_the_json_numbers(report_dir: Path, tiny_results: BenchResults) -> None:
    """The answers' tables, not only the raw ones, carry the run's numbers."""
    markdown = (report_dir / "report.md").read_text()
    rows = _table(markdown, "Directory update_entry against the floor (p50)")
    directory = [r for r in tiny_results.single if r.layout == "directory"]
    assert len(rows) == len(directory) > 0
    for r in directory:
        (row,) = [x for x in rows if (x["profile"], x["entries"]) == (r.profile, str(r.size))]
        assert _close_ms(row["update ms"], r.update.p50_ns)
        assert _close_ms(row["floor ms"], r.floor.p50_ns)
        assert abs(_number(row["update / floor"]) - r.floor_ratio) <= 0.005 * r.floor_ratio + 0.005
        assert row["within 1.5x"] == ("yes" if r.floor_ratio <= 1.5 else "no")
        assert r.floor_ratio_interval is not None
        low, high = (_number(x) for x in row["95% interval"].split(" to "))
        assert abs(low - r.floor_ratio_interval[0]) <= 0.005 * low + 0.005
        assert abs(high - r.floor_ratio_interval[1]) <= 0.005 * high + 0.005
        assert low <= _number(row["update / floor"]) <= high


def test_results_written_before_the_floor_interval_still_render(tiny_results: BenchResults) -> None:
    """Results saved before ``floor_ratio_interval`` existed still load, and the interval
    shows as "-" rather than a made-up number."""
    raw = tiny_results.to_dict()
    for cell in raw["single"]:
        del cell["floor_ratio_interval"]
    old = BenchResults.from_dict(raw)
    assert all(r.floor_ratio_interval is None for r in old.single)
    floor = next(f for f in findings(old) if f.key == "floor")
    (table,) = floor.tables
    column = table.headers.index("95% interval")
    assert {row[column] for row in table.rows} == {"-"}
    assert BenchResults.from_dict(tiny_results.to_dict()) == tiny_results
