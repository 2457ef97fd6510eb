"""``report.md``: the report as Markdown tables a reviewer can paste into a pull request."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ._crash import CrashSummary, crash_tables
from ._findings import Finding
from ._format import fmt_seconds
from ._micro import MICRO_NAME, MicroSummary, micro_tables
from ._mutation import MUTATION_NAME, MutationScore, mutation_tables
from ._results import BenchResults
from ._tables import (
    Table,
    contention_table,
    diagnosis_tables,
    migration_table,
    single_table,
    skipped_table,
)

__all__ = [
    "PlotFile",
    "data_tables",
    "markdown_table",
    "micro_section",
    "mutation_section",
    "render_markdown",
    "run_facts",
]


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
        ("Started", run.started_at),
        ("Wall time", fmt_seconds(run.wall_ns)),
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


def _verdict(finding: Finding) -> str:
    return f" **Goal {finding.verdict}.**" if finding.verdict else ""


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


def render_markdown(
    results: BenchResults,
    findings: Sequence[Finding],
    crash: CrashSummary | None,
    *,
    rendered_by: str | None = None,
    plots: Sequence[PlotFile] = (),
    micro: MicroSummary | None = None,
    mutation: MutationScore | None = None,
) -> str:
    out: list[str] = ["# Session store benchmarks", ""]
    for label, value in run_facts(results, rendered_by):
        shown = f"`{value}`" if label in ("Command", "Rendered by") else value
        out.append(f"- **{label}:** {shown}")
    out += [
        "",
        "All durations are wall-clock milliseconds from `time.perf_counter_ns`, on real "
        "temp folders; p50/p99 interpolate linearly between ranks. See docs/benchmarks.md "
        "for what each number measures.",
        "",
        "## Answers",
        "",
    ]
    for finding in findings:
        out += [f"### {finding.question}", "", finding.answer + _verdict(finding), ""]
        for table in finding.tables:
            out += [markdown_table(table, level=4), ""]
    if plots:
        out += ["## Plots", ""]
        for plot in plots:
            out += [f"![{plot.title}]({plot.path})", "", f"_{plot.title}: {plot.caption}_", ""]
    out += ["## Crash scenarios", ""]
    if crash is None:
        out += ["No crash-summary.json beside this report: no crash runs to summarize.", ""]
    elif crash.error:
        out += [f"crash-summary.json could not be read ({crash.error}).", ""]
    else:
        tables = crash_tables(crash)
        if not tables:
            out += ["crash-summary.json holds no runs and no promises.", ""]
        for table in tables:
            out += [markdown_table(table), ""]
        if crash.skipped_rows:
            out += [f"{crash.skipped_rows} malformed rows of crash-summary.json were left out.", ""]
    out += ["## Seeded bugs", ""]
    paragraphs, tables = mutation_section(mutation)
    for paragraph in paragraphs:
        out += [paragraph, ""]
    for table in tables:
        out += [markdown_table(table), ""]
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
