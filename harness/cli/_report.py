"""``store-harness report``: run a bench (or read one) and write the report folder."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from harness.cli._bench import command_line, config_from_options, grid_options, run_with_progress
from harness.report import ReportFiles, ResultsError, load_results, write_report

__all__ = ["report_command"]

DEFAULT_DIR = Path("reports") / "latest"
#: fault points per family and configuration in a quick report: every scenario and
#: configuration still runs, with a seeded sample where a family has more points
QUICK_MAX_POINTS = 25
#: the same under macOS and Windows file-name rules (harness/faults/_foreignfs.py): those runs
#: are about names, which the fault-free baseline and a few crash points already reach
QUICK_FOREIGN_MAX_POINTS = 8


def _explore_step(
    out: Path,
    *,
    replays: str,
    backend: str,
    max_points: int,
    foreign_max_points: int,
    fs_semantics: tuple[str, ...],
    full: bool,
    jobs: int,
    quiet: bool,
) -> str:
    """Explore every scenario; returns the line saying which promises broke."""
    from harness.cli._explore import (
        PROFILES,
        print_violation_overview,
        run_exploration,
        summary_promise_line,
    )
    from harness.engine._run_spec import BACKENDS, ExploreOptions

    def bound(points: int) -> str:
        return f"at most {points} fault points per family" if points else "every fault point"

    if not quiet:
        foreign = [fs for fs in fs_semantics if fs != "linux"]
        click.echo(
            f"exploring every scenario on {', '.join(PROFILES)} ({backend} backend, "
            f"{bound(max_points)})"
            + (
                f", and under {'/'.join(foreign)} file-name rules ({bound(foreign_max_points)})"
                if foreign
                else ""
            ),
            err=True,
        )
    _result, summary, _written = run_exploration(
        ("all",),
        layouts=None,
        profiles=PROFILES,
        backends=BACKENDS if backend == "both" else (backend,),
        options=ExploreOptions(jobs=jobs, max_points=max_points, full=full),
        foreign_options=ExploreOptions(jobs=jobs, max_points=foreign_max_points, full=full),
        fs_semantics=fs_semantics,
        out=str(out),
        replays=replays,
        quiet=quiet,
        table=False,
    )
    if not quiet:
        print_violation_overview(summary)
    return summary_promise_line(summary)


DEFAULT_MUTANTS = "tests.mutants:MUTANTS"
#: fault points per family when gating the seeded bugs (at 10, enoent-fallback escapes)
MUTANT_MAX_POINTS = QUICK_MAX_POINTS


def _mutants_step(out: Path, *, ref: str, jobs: int, quiet: bool) -> list[Path]:
    """Gate every seeded bug on the checks it claims; write mutation-score.md/.json and
    return their paths. Each bug's verdict is shown as soon as it is known."""
    from harness._errors import UsageError
    from harness.cli._common import eta_text
    from harness.cli._gate import load_mutants, mutant_verdict
    from harness.engine._run_spec import ExploreOptions
    from harness.gate import run_mutants, write_mutation_score, write_promise_table

    try:
        mutants = load_mutants(ref)
    except UsageError as exc:
        if ref != DEFAULT_MUTANTS:
            raise click.BadParameter(str(exc), param_hint="--mutants") from None
        # The catalog ships with the project's tests, not with the package.
        click.echo(f"no seeded bugs: {exc} (run from the project folder)", err=True)
        return []
    if not quiet:
        click.echo(f"gating {len(mutants)} seeded bugs on the checks each claims", err=True)
    # The seeded bugs' runs take milliseconds; the one that hangs would otherwise hold
    # the report for the default two minutes.
    options = ExploreOptions(jobs=jobs, max_points=MUTANT_MAX_POINTS, run_timeout=10.0)
    verdicts = []
    started = time.monotonic()
    for done, mutant in enumerate(mutants, 1):
        (verdict,) = run_mutants([mutant], scope="claimed", options=options)
        verdicts.append(verdict)
        if not quiet:
            said = mutant_verdict(verdict).plain
            eta = eta_text(done, len(mutants), time.monotonic() - started)
            click.echo(
                f"  [{done}/{len(mutants)}] mutant {mutant.name}: {said}"
                + (f"; {eta}" if eta else ""),
                err=True,
            )
    md_path, json_path = write_mutation_score(verdicts, str(out))
    write_promise_table(mutants, str(out))
    missed = [v.name for v in verdicts if not v.caught or v.missed]
    if not quiet:
        click.echo(
            f"seeded bugs caught: {sum(v.caught for v in verdicts)}/{len(verdicts)}"
            + (f"; claims not met: {', '.join(missed)}" if missed else ""),
            err=True,
        )
    return [Path(md_path), Path(json_path)]


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
@click.option(
    "--explore/--no-explore",
    "run_explore",
    default=True,
    show_default=True,
    help="Crash-explore every scenario on both profiles first (--no-explore keeps the "
    "crash-summary.json already in the output folder).",
)
@click.option(
    "--backend",
    type=click.Choice(["fake", "real", "both"]),
    default=None,
    help="Where the explorer runs (default: real; with --full: both).",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=0),
    default=None,
    help=f"Fault points per fault family and configuration, seeded sample beyond it "
    f"(default: {QUICK_MAX_POINTS}; with --full: 0, every one).",
)
@click.option(
    "--mutants",
    "mutants_ref",
    default=DEFAULT_MUTANTS,
    show_default=True,
    help="The seeded-bug catalog (module:attr) gated for the report's mutation-score "
    "table: each bug on the scenarios and checks it claims. The default catalog lives in "
    "the project's tests and is skipped with a note when it does not import.",
)
@click.option("--no-mutants", is_flag=True, help="Skip the seeded bugs (keep an earlier score).")
@click.option(
    "--fs-semantics",
    "fs_semantics",
    default="linux,macos,windows",
    show_default=True,
    callback=lambda _ctx, _param, value: _semantics_list(value),
    help="Comma-separated file-name rules the explorer runs under (harness/faults/_foreignfs.py, "
    "docs/foreign-fs.md); macos and windows get a promise table of their own, with at "
    f"most {QUICK_FOREIGN_MAX_POINTS} fault points per family unless --full or "
    "--max-points says otherwise.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Explorer worker processes.",
)
@click.option(
    "--replays",
    default=os.path.join("reports", "replays"),
    show_default=True,
    help="Folder for the explorer's replay files.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def report_command(
    ctx: click.Context,
    /,
    out: Path,
    from_json: Path | None,
    run_explore: bool,
    backend: str | None,
    max_points: int | None,
    mutants_ref: str,
    no_mutants: bool,
    fs_semantics: tuple[str, ...],
    jobs: int,
    replays: str,
    quiet: bool,
    **options: Any,
) -> None:
    """The main job: explore, benchmark, and write report.md, index.html and JSON.

    \b
    1. the crash explorer over every scenario on the seed and hardened profiles
       (quick: a seeded sample of fault points on real folders; --full: every point,
       the 1,000-entry migrations, pyfakefs and real folders), under Linux, macOS and
       Windows file-name rules (--fs-semantics), writing crash-summary.json and one
       replay file per distinct violation;
    2. the seeded bugs of tests/mutants, each gated on what it claims to be caught by,
       writing mutation-score.json (--no-mutants skips it);
    3. the contention benchmarks (quick grid; --full: the whole grid);
    4. the report: results.json, report.md (tables) and index.html (plots).
    --from-json renders benchmark results of an earlier run instead of running one (and
    skips the explorer, rendering the crash-summary.json already in the output folder).
    """
    argv = command_line(ctx)
    full = bool(options.get("full"))
    phases: list[tuple[str, int]] = []
    started = time.perf_counter_ns()

    def lap(name: str) -> None:
        # the report's wall time covers every step, not only the benchmark's own
        nonlocal started
        now = time.perf_counter_ns()
        phases.append((name, now - started))
        started = now

    # Re-rendering earlier results must not run (and overwrite) a new exploration.
    promise_summary = ""
    mutation_files: list[Path] = []
    if run_explore and from_json is None:
        points = (0 if full else QUICK_MAX_POINTS) if max_points is None else max_points
        promise_summary = _explore_step(
            out,
            replays=replays,
            backend=backend or ("both" if full else "real"),
            max_points=points,
            foreign_max_points=points
            if full or max_points is not None
            else QUICK_FOREIGN_MAX_POINTS,
            fs_semantics=fs_semantics,
            full=full,
            jobs=jobs,
            quiet=quiet,
        )
        lap("crash exploration")
    if not no_mutants and from_json is None:
        mutation_files = _mutants_step(out, ref=mutants_ref, jobs=jobs, quiet=quiet)
        lap("seeded bugs")
    if from_json is not None:
        try:
            results = load_results(from_json)
        except (ResultsError, OSError) as exc:
            raise click.ClickException(f"cannot read {from_json}: {exc}") from None
    else:
        results = run_with_progress(config_from_options(**options), argv, quiet=quiet)
        lap("benchmarks")
    files = write_report(
        results,
        out,
        rendered_by=shlex.join(argv),
        replays=Path(replays),
        # a render of saved results has no steps of its own worth a wall time
        phases=phases if from_json is None else (),
    )
    grid = "full grid" if results.run.config.get("full") else "quick grid"
    for finding in files.findings:
        verdict = f" [goal {finding.verdict}, {grid}]" if finding.verdict else ""
        click.echo(f"- {finding.question}\n  {finding.answer}{verdict}")
    click.echo("\n" + "\n".join(closing_lines(files, mutation_files, promise_summary)))


def closing_lines(
    files: ReportFiles, mutation_files: Sequence[Path], promise_summary: str
) -> list[str]:
    """Every file the report wrote, then -- last, for a reader who looks at nothing else
    (and a CI log's tail) -- whether a promise was broken."""
    lines = [f"results: {files.results}", f"report:  {files.markdown}", f"html:    {files.html}"]
    if files.crash_summary is not None:
        lines.append(f"crash summary: {files.crash_summary}")
    lines += [f"seeded bugs: {path}" for path in mutation_files]
    if files.micro is not None:
        lines.append(f"micro-benchmarks: {files.micro}")
    lines += [f"plot: {path}" for path in files.plots]
    if promise_summary:
        lines.append(promise_summary)
    return lines


def _semantics_list(text: str) -> tuple[str, ...]:
    from harness.faults._foreignfs import FS_SEMANTICS

    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [name for name in chosen if name not in FS_SEMANTICS]
    if unknown or not chosen:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing'}: choose from {', '.join(FS_SEMANTICS)}",
            param_hint="--fs-semantics",
        )
    return chosen
