"""Writing a report folder: ``results.json``, ``report.md`` and ``index.html``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ._crash import CRASH_SUMMARY_NAME, load_crash_summary
from ._findings import Finding, findings
from ._html import render_html
from ._markdown import render_markdown
from ._plots import plots
from ._results import BenchResults

__all__ = ["ReportFiles", "load_results", "write_report", "write_results"]


@dataclass(frozen=True)
class ReportFiles:
    results: Path
    markdown: Path
    html: Path
    findings: tuple[Finding, ...]
    crash_summary: Path | None


def _write_text(path: Path, text: str) -> None:
    """Write through a temp file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_results(results: BenchResults, path: Path) -> Path:
    _write_text(path, results.to_json())
    return path


def load_results(path: Path) -> BenchResults:
    return BenchResults.from_json(path.read_text(encoding="utf-8"))


def write_report(
    results: BenchResults, out_dir: Path, *, rendered_by: str | None = None
) -> ReportFiles:
    """Write the three files into ``out_dir``; a ``crash-summary.json`` already there is
    rendered as tables, its absence noted."""
    out_dir.mkdir(parents=True, exist_ok=True)
    crash_path = out_dir / CRASH_SUMMARY_NAME
    crash = load_crash_summary(crash_path)
    answers = findings(results)
    results_path = write_results(results, out_dir / "results.json")
    markdown_path = out_dir / "report.md"
    _write_text(markdown_path, render_markdown(results, answers, crash, rendered_by=rendered_by))
    html_path = out_dir / "index.html"
    _write_text(
        html_path, render_html(results, answers, plots(results), crash, rendered_by=rendered_by)
    )
    return ReportFiles(
        results=results_path,
        markdown=markdown_path,
        html=html_path,
        findings=tuple(answers),
        crash_summary=crash_path if crash is not None else None,
    )
