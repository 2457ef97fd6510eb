"""``report.md``: the report as Markdown tables a reviewer can paste into a pull request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from harness.engine._promises import PROMISE_TABLE_NAME

from ._crash import (
    GLOSSARY,
    CrashSummary,
    crash_headline,
    crash_tables,
    findings_table,
    replay_groups,
)
from ._findings import Finding
from ._format import fmt_seconds
from ._micro import MICRO_NAME, MicroSummary, micro_tables
from ._mutation import MUTATION_NAME, MutationScore, mutation_tables
from ._results import BenchResults
from ._tables import (
    FEW_NOTE,
    Table,
    contention_table,
    diagnosis_tables,
    migration_table,
    single_table,
    skipped_table,
)

__all__ = [
    "TITLE",
    "PlotFile",
    "crash_intro",
    "data_tables",
    "grid_name",
    "markdown_table",
    "micro_section",
    "mutation_section",
    "render_markdown",
    "run_facts",
    "whole_run",
]


TITLE = "Session store report: crash findings, seeded bugs, benchmarks"


def grid_name(results: BenchResults) -> str:
    return "full grid" if results.run.config.get("full") else "quick grid"


def whole_run(results: BenchResults, phases: Sequence[tuple[str, int]]) -> str:
    """The wall time of everything this report comes from: every step the command ran
    (``phases``: step name, nanoseconds), or, for a report rendered from saved results,
    the benchmark alone, said so."""
    if not phases:
        return (
            f"{fmt_seconds(results.run.wall_ns)} wall time for the benchmarks "
            "(rendered from saved results: the crash exploration and the seeded bugs, if "
            "any, were timed by the runs that wrote their files)"
        )
    total = sum(ns for _name, ns in phases)
    steps = ", ".join(f"{name} {fmt_seconds(ns)}" for name, ns in phases)
    return f"{fmt_seconds(total)} wall time ({steps})"


def crash_intro(crash: CrashSummary | None) -> list[str]:
    """Paragraphs that open the report: each profile's violations, or why there are none."""
    if crash is None:
        return ["No crash-summary.json beside this report: no crash runs to summarize."]
    if crash.error:
        return [f"crash-summary.json could not be read ({crash.error})."]
    if not crash.runs:
        return ["crash-summary.json holds no runs."]
    return crash_headline(crash)


class PlotFile(NamedTuple):
    """A plot written beside the report: its path relative to ``report.md``."""

    path: str
    title: str
    caption: str


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table, *, level: int = 3) -> str:
    lines = [f"{'#' * level} {table.title}", ""]
    lines.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    if not table.rows:
        lines.append("| " + " | ".join("-" for _ in table.headers) + " |")
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines)


def run_facts(results: BenchResults, rendered_by: str | None) -> list[tuple[str, str]]:
    """(label, value) pairs naming the exact command and machine of the run."""
    m, run = results.machine, results.run
    facts = [
        ("Command", run.command),
        ("Benchmarks started", run.started_at),
        ("Benchmark wall time", fmt_seconds(run.wall_ns)),
        ("Grid", "full" if run.config.get("full") else "quick"),
        (
            "Machine",
            f"{m.hostname}: {m.platform} ({m.machine}), {m.cpu_count} CPUs, "
            f"{m.implementation} {m.python}",
        ),
        ("CPU", m.cpu_model or "unknown"),
        ("Memory", f"{m.memory_bytes / 2**30:.1f} GiB" if m.memory_bytes else "unknown"),
        ("Kernel", m.kernel or "unknown"),
        (
            "Temp folder file system",
            f"{m.temp_fs} ({m.temp_fs_options})" if m.temp_fs_options else m.temp_fs,
        ),
        ("store-harness", run.harness_version),
    ]
    if rendered_by and rendered_by != run.command:
        facts.append(("Rendered by", rendered_by))
    return facts


def data_tables(results: BenchResults) -> list[Table]:
    tables = [single_table(results.single)]
    if results.contention:
        tables.append(contention_table(results.contention))
    if results.migration:
        tables.append(migration_table(results))
    tables += diagnosis_tables(results)
    if results.skipped:
        tables.append(skipped_table(results))
    return tables


def _verdict(finding: Finding, grid: str) -> str:
    return f" **Goal {finding.verdict} ({grid}).**" if finding.verdict else ""


def _sidecar_section(
    name: str,
    *,
    error: str,
    empty: str | None,
    skipped_rows: int,
    tables: Callable[[], list[Table]],
) -> tuple[list[str], list[Table]]:
    """(paragraphs, tables) for a JSON file found beside the report: why it could not be
    read, or what it holds none of (``empty``, ``None`` when it holds some) and how many
    malformed rows were left out, then its tables."""
    if error:
        return [f"{name} could not be read ({error})."], []
    text = [] if empty is None else [f"{name} holds no {empty}."]
    if skipped_rows:
        text.append(f"{skipped_rows} malformed rows of {name} were left out.")
    return text, tables()


def mutation_section(score: MutationScore | None) -> tuple[list[str], list[Table]]:
    """(paragraphs, tables) of the seeded-bug section, shared with the HTML page."""
    if score is None:
        return (
            [
                f"No {MUTATION_NAME} beside this report: `store-harness report` writes "
                "one unless --no-mutants, and `store-harness gate --mutants "
                "tests.mutants:MUTANTS --out <this folder>` does too."
            ],
            [],
        )
    return _sidecar_section(
        MUTATION_NAME,
        error=score.error,
        empty=None if score.mutants else "seeded bugs",
        skipped_rows=score.skipped_rows,
        tables=lambda: mutation_tables(score),
    )


def micro_section(micro: MicroSummary | None) -> tuple[list[str], list[Table]]:
    """(paragraphs, tables) of the micro-benchmark section, shared with the HTML page."""
    if micro is None:
        return (
            [
                f"No {MICRO_NAME} beside this report. Run `make bench "
                f'ARGS="--benchmark-json=<this folder>/{MICRO_NAME}"` and render '
                "again to include them."
            ],
            [],
        )
    return _sidecar_section(
        MICRO_NAME,
        error=micro.error,
        empty=None if micro.benchmarks else "benchmarks",
        skipped_rows=micro.skipped_rows,
        tables=lambda: micro_tables(micro),
    )


def _link(path: str) -> str:
    return f"[{path.rsplit('/', 1)[-1]}]({path.replace(' ', '%20')})"


def render_markdown(
    results: BenchResults,
    findings: Sequence[Finding],
    crash: CrashSummary | None,
    *,
    rendered_by: str | None = None,
    plots: Sequence[PlotFile] = (),
    micro: MicroSummary | None = None,
    mutation: MutationScore | None = None,
    promise_table: str | None = None,
    phases: Sequence[tuple[str, int]] = (),
) -> str:
    grid = grid_name(results)
    out: list[str] = [f"# {TITLE}", ""]
    out += [f"- **Whole run:** {whole_run(results, phases)}", ""]
    out += ["## Crash findings", ""]
    for line in crash_intro(crash):
        out += [f"- {line}"]
    out += [""]
    usable = crash is not None and not crash.error
    if usable:
        assert crash is not None
        table = findings_table(crash)
        if table is not None:
            out += [markdown_table(table, level=3), ""]
        groups = replay_groups(crash)
        if groups:
            out += ["### Replay files", ""]
            for label, files in groups:
                out += [f"- **{label}** ({len(files)}): " + ", ".join(_link(f.link) for f in files)]
            out += [""]
    out += ["### Counting words", ""]
    out += [f"- **{term}**: {meaning}." for term, meaning in GLOSSARY]
    out += [""]
    if usable:
        assert crash is not None
        for table in crash_tables(crash):
            out += [markdown_table(table), ""]
        if crash.skipped_rows:
            out += [f"{crash.skipped_rows} malformed rows of crash-summary.json were left out.", ""]
    out += ["## Seeded bugs", ""]
    paragraphs, tables = mutation_section(mutation)
    for paragraph in paragraphs:
        out += [paragraph, ""]
    for table in tables:
        out += [markdown_table(table), ""]
    out += ["## Promises: which check judges what, proven by which seeded bug", ""]
    if promise_table is None:
        out += [
            f"No {PROMISE_TABLE_NAME} beside this report: the seeded-bug step of "
            "`store-harness report` (and `gate --mutants`) writes it; `store-harness gate "
            "--promises` prints it.",
            "",
        ]
    else:
        out += [promise_table.rstrip(), ""]
    out += ["## Benchmark run", ""]
    for label, value in run_facts(results, rendered_by):
        shown = f"`{value}`" if label in ("Command", "Rendered by") else value
        out.append(f"- **{label}:** {shown}")
    out += [
        "",
        "All durations are wall-clock milliseconds from `time.perf_counter_ns`, on real "
        "temp folders; p50/p99 interpolate linearly between ranks. See docs/benchmarks.md "
        f"for what each number measures. Verdicts are those of this run's {grid}. " + FEW_NOTE,
        "",
        "## Answers",
        "",
    ]
    for finding in findings:
        out += [f"### {finding.question}", "", finding.answer + _verdict(finding, grid), ""]
        for table in finding.tables:
            out += [markdown_table(table, level=4), ""]
    if plots:
        out += ["## Plots", ""]
        for plot in plots:
            out += [f"![{plot.title}]({plot.path})", "", f"_{plot.title}: {plot.caption}_", ""]
    out += ["## Micro-benchmarks", ""]
    paragraphs, tables = micro_section(micro)
    for paragraph in paragraphs:
        out += [paragraph, ""]
    for table in tables:
        out += [markdown_table(table), ""]
    out += ["## All measurements", ""]
    for table in data_tables(results):
        out += [markdown_table(table), ""]
    return "\n".join(out).rstrip() + "\n"
