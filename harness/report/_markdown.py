"""``report.md``: the report as Markdown tables a reviewer can paste into a pull request."""

from __future__ import annotations

from collections.abc import Sequence

from ._crash import CrashSummary, crash_tables
from ._findings import Finding
from ._format import fmt_seconds
from ._results import BenchResults
from ._tables import (
    Table,
    contention_table,
    diagnosis_tables,
    migration_table,
    single_table,
    skipped_table,
)

__all__ = ["data_tables", "markdown_table", "render_markdown", "run_facts"]


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
        ("Temp folder file system", m.temp_fs),
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


def render_markdown(
    results: BenchResults,
    findings: Sequence[Finding],
    crash: CrashSummary | None,
    *,
    rendered_by: str | None = None,
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
    out += ["## All measurements", ""]
    for table in data_tables(results):
        out += [markdown_table(table), ""]
    return "\n".join(out).rstrip() + "\n"
