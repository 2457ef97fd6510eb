"""Writing a report folder: ``results.json``, ``report.md``, ``index.html`` and the plots
as PNG files (``plots/<key>.png``, linked from ``report.md``; the HTML page embeds the
same images and needs nothing beside it)."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.engine._promises import PROMISE_TABLE_NAME

from ._crash import CRASH_SUMMARY_NAME, find_replays, load_crash_summary
from ._findings import Finding, findings
from ._html import render_html
from ._markdown import PlotFile, render_markdown
from ._micro import MICRO_NAME, load_micro
from ._mutation import MUTATION_NAME, load_mutation_score
from ._plots import plots
from ._results import BenchResults

PLOTS_DIR = "plots"

__all__ = ["ReportFiles", "load_results", "write_report", "write_results"]


@dataclass(frozen=True)
class ReportFiles:
    results: Path
    markdown: Path
    html: Path
    findings: tuple[Finding, ...]
    crash_summary: Path | None
    micro: Path | None = None
    plots: tuple[Path, ...] = ()


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _write_text(path: Path, text: str) -> None:
    """Write through a temp file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_results(results: BenchResults, path: Path) -> Path:
    _write_text(path, results.to_json())
    return path


def load_results(path: Path) -> BenchResults:
    return BenchResults.from_json(path.read_text(encoding="utf-8"))


def write_report(
    results: BenchResults,
    out_dir: Path,
    *,
    rendered_by: str | None = None,
    replays: Path | None = None,
    phases: Sequence[tuple[str, int]] = (),
) -> ReportFiles:
    """Write the report files into ``out_dir``. A ``crash-summary.json``, a
    ``mutation-score.json`` and a ``micro-benchmarks.json`` already there are rendered as
    tables, their absence noted. ``replays``: the folder of the exploration's replay
    files, linked from the findings; ``phases``: (step, nanoseconds) of every step of the
    command, for the whole run's wall time."""
    out_dir.mkdir(parents=True, exist_ok=True)
    crash_path = out_dir / CRASH_SUMMARY_NAME
    crash = load_crash_summary(crash_path)
    if crash is not None and replays is not None and not crash.error:
        crash = dataclasses.replace(crash, replays=find_replays(crash, replays, out_dir))
    micro_path = out_dir / MICRO_NAME
    micro = load_micro(micro_path)
    mutation = load_mutation_score(out_dir / MUTATION_NAME)
    promise_table = _read_optional(out_dir / PROMISE_TABLE_NAME)
    answers = findings(results)
    results_path = write_results(results, out_dir / "results.json")
    drawn = plots(results)
    plot_paths: list[Path] = []
    plot_files: list[PlotFile] = []
    for plot in drawn:
        relative = f"{PLOTS_DIR}/{plot.key}.png"
        path = out_dir / PLOTS_DIR / f"{plot.key}.png"
        _write_bytes(path, base64.b64decode(plot.png_base64))
        plot_paths.append(path)
        plot_files.append(PlotFile(relative, plot.title, plot.caption))
    markdown_path = out_dir / "report.md"
    _write_text(
        markdown_path,
        render_markdown(
            results,
            answers,
            crash,
            rendered_by=rendered_by,
            plots=plot_files,
            micro=micro,
            mutation=mutation,
            promise_table=promise_table,
            phases=phases,
        ),
    )
    html_path = out_dir / "index.html"
    _write_text(
        html_path,
        render_html(
            results,
            answers,
            drawn,
            crash,
            rendered_by=rendered_by,
            micro=micro,
            mutation=mutation,
            promise_table=promise_table,
            phases=phases,
        ),
    )
    return ReportFiles(
        results=results_path,
        markdown=markdown_path,
        html=html_path,
        findings=tuple(answers),
        crash_summary=crash_path if crash is not None else None,
        micro=micro_path if micro is not None else None,
        plots=tuple(plot_paths),
    )
