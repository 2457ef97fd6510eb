"""``store-harness report``: run a bench (or read one) and write the report folder."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from ._cli_bench import command_line, config_from_options, grid_options, run_with_progress
from .report import ResultsError, load_results, write_report

__all__ = ["report_command"]

DEFAULT_DIR = Path("reports") / "latest"


@click.command("report")
@grid_options
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Folder of results.json, report.md and index.html.",
)
@click.option(
    "--from-json",
    "from_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Render these results instead of running a bench.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def report_command(
    ctx: click.Context, /, out: Path, from_json: Path | None, quiet: bool, **options: Any
) -> None:
    """Benchmark the layouts and write results.json, report.md and index.html.

    \b
    By default a quick bench runs first (--full: the whole grid); --from-json renders
    results of an earlier run without running anything. A crash-summary.json already
    in the output folder is rendered too.
    """
    argv = command_line(ctx)
    if from_json is not None:
        try:
            results = load_results(from_json)
        except (ResultsError, OSError) as exc:
            raise click.ClickException(f"cannot read {from_json}: {exc}") from None
    else:
        results = run_with_progress(config_from_options(**options), argv, quiet=quiet)
    files = write_report(results, out, rendered_by=shlex.join(argv))
    for finding in files.findings:
        verdict = f" [goal {finding.verdict}]" if finding.verdict else ""
        click.echo(f"- {finding.question}\n  {finding.answer}{verdict}")
    click.echo(f"\nresults: {files.results}\nreport:  {files.markdown}\nhtml:    {files.html}")
    if files.crash_summary is not None:
        click.echo(f"crash summary: {files.crash_summary}")
