"""``store-harness scenarios`` and ``store-harness explore``: list the catalog, and explore it
under faults (in process, or by killing real processes).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness._errors import HarnessError
from harness.cli._common import CommandError, make_console, promise_line, verbose_option
from harness.engine._explorer import ExploreResult, explore
from harness.engine._run_spec import BACKENDS, DEFAULT_MAX_POINTS, ExploreOptions
from harness.engine._summary import Summary, summarize
from harness.faults._foreignfs import FS_SEMANTICS
from harness.replay._scenario_replay import write_replays

__all__ = [
    "EXPLORE_LAYOUTS",
    "PROFILES",
    "explore_command",
    "print_summary",
    "print_violation_overview",
    "run_exploration",
    "run_timeout_option",
    "scenarios_command",
    "summary_promise_line",
    "write_summary",
]

PROFILES = ("seed", "hardened")
EXPLORE_LAYOUTS = ("legacy", "directory", "auto")


def _console() -> Console:
    return make_console(stderr=True)


def run_timeout_option(command: Callable[..., None]) -> Callable[..., None]:
    """``--run-timeout``, shared by ``explore`` and ``gate``."""
    return click.option(
        "--run-timeout",
        type=click.FloatRange(min=0.1),
        default=ExploreOptions.run_timeout,
        show_default=True,
        help="Seconds one run may take; a run still going after that (a store that "
        "hangs) is killed and reported as 'hung', and a store that kills its process is "
        "reported as 'store-crashed'. The rest of the exploration goes on.",
    )(command)


@click.command("scenarios")
@click.option("--verbose", "-v", is_flag=True, help="Also show variants and fault families.")
def scenarios_command(verbose: bool) -> None:
    """List the named scenarios: what each does and which hazards it is meant to catch."""
    import scenarios as catalog

    table = Table(title="scenarios", show_lines=verbose)
    # The name is what a reader copies into --scenario: never wrapped, and on a terminal
    # too narrow for it, folded rather than cut with an ellipsis (as every column).
    table.add_column("name", style="bold", no_wrap=True, overflow="fold")
    table.add_column("layouts", overflow="fold")
    table.add_column("faults", overflow="fold")
    table.add_column("description", overflow="fold")
    for scenario in catalog.SCENARIOS:
        description = scenario.description
        if verbose:
            variants = ", ".join(v.name for v in scenario.variants)
            description += f"\n[dim]variants: {variants}\ncatches: {'; '.join(scenario.catches)}"
        table.add_row(
            scenario.name, ", ".join(scenario.layouts), ", ".join(scenario.faults), description
        )
    make_console().print(table)


@contextlib.contextmanager
def _phase_progress(console: Console, *, quiet: bool) -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar per phase ("baselines", "fault points", ...); yields the
    ``progress(done, total, phase)`` callback the explorers take."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        # A full exploration takes minutes: say how many are left, not only how many went.
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(done: int, total: int, phase: str) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield report


def run_exploration(
    names: Sequence[str],
    *,
    layouts: Sequence[str] | None,
    profiles: Sequence[str],
    backends: Sequence[str],
    options: ExploreOptions,
    out: str,
    replays: str,
    quiet: bool = False,
    table: bool = True,
    fs_semantics: Sequence[str] = ("linux",),
    foreign_options: ExploreOptions | None = None,
    note_replaced: bool = False,
    verbose: bool = False,
) -> tuple[ExploreResult, Summary, list[str]]:
    """Explore, write ``crash-summary.json`` and replay files, print the summary table
    (``quiet``: no progress bar either); ``fs_semantics`` as ``harness.faults._foreignfs``, the
    foreign ones (all but ``linux``) explored with ``foreign_options`` when given.

    ``note_replaced``: say so (even when quiet) when ``crash-summary.json`` replaces
    one already in ``out`` -- a quick ``explore`` writes where ``make report`` does.
    ``verbose``: also list every replay file written."""
    import scenarios as catalog

    chosen = catalog.select(list(names))
    native = [fs for fs in fs_semantics if fs == "linux"]
    foreign = [fs for fs in fs_semantics if fs != "linux"]
    passes = [(native, options), (foreign, foreign_options or options)]
    if foreign_options is None:
        passes = [(list(fs_semantics), options)]
    console = _console()
    parts: list[ExploreResult] = []
    with _phase_progress(console, quiet=quiet) as report:
        for semantics, opts in passes:
            if semantics:
                parts.append(
                    explore(
                        chosen,
                        layouts=layouts,
                        profiles=profiles,
                        backends=backends,
                        options=opts,
                        progress=report,
                        fs_semantics=semantics,
                    )
                )
    result = ExploreResult.merge(parts)
    summary = summarize(result)
    summary_path = write_summary(summary, out, note_replaced=note_replaced)
    written = write_replays(replays, [*result.results, *_order_runs(result)])
    if not quiet and table:
        print_summary(summary, console)
    if verbose and not quiet:
        for path in written:
            console.print(f"  {path}", highlight=False, markup=False)
    if not quiet:
        console.print(
            f"{summary.total_runs} runs, {summary.violating_runs} with violations; "
            f"{len(written)} replay files in {replays}/; "
            f"summary in {summary_path}"
        )
    return result, summary, written


def write_summary(summary: Summary, out: str, *, note_replaced: bool) -> str:
    """Write ``out/crash-summary.json``; with ``note_replaced``, one line on stderr (even
    when quiet) when it replaces one: the summary of an earlier ``make report`` is not
    lost without a word. Returns the path."""
    path = os.path.join(out, "crash-summary.json")
    replaced = os.path.exists(path)
    summary.write(path)
    if note_replaced and replaced:
        click.echo(
            f"replaced the crash summary already in {path} (an earlier explore or report); "
            "pass --out DIR to keep it",
            err=True,
        )
    return path


def _order_runs(result: ExploreResult) -> list:  # type: ignore[type-arg]
    from dataclasses import replace

    return [replace(run, violations=(violation,)) for run, violation in result.order_violations]


def print_violation_overview(summary: Summary, console: Console | None = None) -> None:
    """One line per profile: how many runs, how many violating, of which kinds."""
    console = console or _console()
    for profile in sorted({r["profile"] for r in summary.runs}):
        rows = [r for r in summary.runs if r["profile"] == profile]
        kinds: dict[str, int] = {}
        for row in rows:
            for kind, n in row["kinds"].items():
                kinds[kind] = kinds.get(kind, 0) + n
        runs = sum(r["fault_points"] for r in rows)
        bad = sum(r["violations"] for r in rows)
        style = "red" if bad else "green"
        listed = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items())) or "none"
        console.print(
            f"[{style}]{profile}[/]: {runs} runs, {bad} with violations ({listed})",
            highlight=False,
        )


def print_summary(summary: Summary, console: Console) -> None:
    table = Table(title="crash exploration")
    # A file-names column only when some run used foreign rules (--fs-semantics).
    foreign = any(row.get("fs_semantics", "linux") != "linux" for row in summary.runs)
    columns = ["scenario", "layout", "profile", "backend"] + (["file names"] if foreign else [])
    for column in (*columns, "runs", "violating", "kinds"):
        table.add_column(
            column, justify="right" if column in ("runs", "violating") else "left", overflow="fold"
        )
    for row in summary.runs:
        style = "red" if row["violations"] else None
        kinds = ", ".join(f"{k} x{n}" for k, n in row["kinds"].items())
        table.add_row(
            row["scenario"],
            row["layout"],
            row["profile"],
            row["backend"],
            *((str(row.get("fs_semantics", "linux")),) if foreign else ()),
            str(row["fault_points"]),
            str(row["violations"]),
            kinds,
            style=style,
        )
    console.print(table)


@click.command("explore")
@click.option(
    "--scenario",
    "-s",
    "names",
    multiple=True,
    default=("all",),
    show_default=True,
    help="Scenario name or glob (migration.*); repeat for several; 'all' for every one.",
)
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    type=click.Choice(EXPLORE_LAYOUTS),
    help="Only these layouts (default: each scenario's own).",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    type=click.Choice(PROFILES),
    help="Profiles to explore (default: both).",
)
@click.option(
    "--backend",
    type=click.Choice([*BACKENDS, "both"]),
    default="real",
    show_default=True,
    help="A real temp folder (fastest; the default of gate and report too), pyfakefs, or both.",
)
@click.option(
    "--fs-semantics",
    "fs_semantics",
    multiple=True,
    type=click.Choice([*FS_SEMANTICS, "all"]),
    help="File-name rules to run under, emulated over the backend (harness/faults/_foreignfs.py, "
    "docs/foreign-fs.md): linux (case-sensitive, 255 bytes a name); macos "
    "(case-insensitive, names stored NFD); windows (case-insensitive, reserved names "
    "such as CON and characters such as ? refused, trailing dots and spaces dropped, open "
    "files pinned). Repeat for several, or 'all'. Default: linux. Replay files record it.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for sampled fault points and power-loss choices.",
)
@click.option(
    "--power-samples",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Random power-loss choices per crash point, beyond the systematic ones.",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=0),
    default=None,
    help=f"Bound on fault points per fault family and configuration, sampled with --seed "
    f"(0: every one; variants may set their own bound). Default: {DEFAULT_MAX_POINTS}, as "
    "gate and report; with --full: 0.",
)
@run_timeout_option
@click.option(
    "--full",
    is_flag=True,
    help="Every fault point (--max-points 0 unless given) and the heavy variants "
    "(1,000-entry migrations, sampled; --max-points raises their bound).",
)
@click.option(
    "--out",
    default=os.path.join("reports", "latest"),
    show_default=True,
    help="Folder for crash-summary.json.",
)
@click.option(
    "--replays",
    default=os.path.join("reports", "replays"),
    show_default=True,
    help="Folder for replay files (one per distinct violation).",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    type=click.Choice(PROFILES),
    help="Exit 1 when a run of this profile shows a violation (repeatable; default: "
    "exit 0 whatever is found, since the seed profile breaks promises by design). "
    "The last line says, per profile, whether a promise was broken.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or table.")
@verbose_option("Also list every replay file written.")
# --- real kills and tmpfs (harness/checks/_realkill.py, docs/real-kills.md) ---
@click.option(
    "--mode",
    type=click.Choice(["explore", "kill", "tmpfs", "syscall"]),
    default="explore",
    show_default=True,
    help="explore: the in-process explorer; kill: SIGKILL a child process over a real "
    "folder; tmpfs: disk full on a real tmpfs mount; syscall: the adapter under strace, "
    "SIGKILLed at its system calls on the store's folder and power-lost at the recorded "
    "ones (docs/syscall-faults.md; --max-points, --power-samples and --seed apply).",
)
@click.option(
    "--store-cmd",
    default=None,
    help="kill/tmpfs: the adapter command of the store under test, with {store_path}, "
    "{layout}, {profile} placeholders (default: the reference store's adapter).",
)
@click.option(
    "--kill-points",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="kill/tmpfs: bound on operation kill points (or tmpfs budgets) per configuration, "
    "sampled with --seed (0: every one).",
)
@click.option(
    "--random-kills",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="kill: kills at seeded random moments per configuration.",
)
def explore_command(
    names: tuple[str, ...],
    layouts: tuple[str, ...],
    profiles: tuple[str, ...],
    backend: str,
    fs_semantics: tuple[str, ...],
    jobs: int,
    seed: int,
    power_samples: int,
    max_points: int | None,
    full: bool,
    run_timeout: float,
    out: str,
    replays: str,
    fail_on: tuple[str, ...],
    quiet: bool,
    verbose: bool,
    mode: str,
    store_cmd: str | None,
    kill_points: int,
    random_kills: int,
) -> None:
    """Crash, fill and fail each scenario's workload at its I/O operations.

    Every run is checked by the oracle after a fresh store recovers the files; each
    distinct violation is written as a replay file. The same scenario, options and seed
    always give the same traces.

    Defaults, as gate and report: real temp folders and a seeded sample of at most
    25 fault points per fault family and configuration; --full explores every point
    (and the heavy variants), --backend fake or both runs on pyfakefs.

    The last line says, per profile, whether a promise was broken; --fail-on PROFILE
    turns a violation of that profile into exit status 1.

    The default --out is the folder `store-harness report` (`make report`) writes: a
    crash-summary.json already there is replaced, and a line says so.
    """
    backends = BACKENDS if backend == "both" else (backend,)
    semantics = FS_SEMANTICS if "all" in fs_semantics else fs_semantics or ("linux",)
    options = ExploreOptions(
        jobs=jobs,
        seed=seed,
        power_samples=power_samples,
        max_points=(0 if full else DEFAULT_MAX_POINTS) if max_points is None else max_points,
        full=full,
        run_timeout=run_timeout,
    )
    try:
        if (mode != "explore" or store_cmd is not None) and tuple(semantics) != ("linux",):
            raise HarnessError(
                "--fs-semantics emulates file names at the seam of the in-process explorer; "
                "--mode kill/tmpfs and --store-cmd run a child process on the real file system"
            )
        if mode == "syscall":
            summary = _run_syscall_exploration(
                names,
                layouts=layouts or None,
                profiles=profiles or PROFILES,
                store_cmd=store_cmd,
                max_points=options.max_points,
                power_samples=power_samples,
                jobs=jobs,
                seed=seed,
                out=out,
                replays=replays,
                quiet=quiet,
                verbose=verbose,
            )
        elif mode != "explore" or store_cmd is not None:
            summary = _run_real_exploration(
                names,
                layouts=layouts or None,
                profiles=profiles or PROFILES,
                mode="kill" if mode == "explore" else mode,
                store_cmd=store_cmd,
                kill_points=kill_points,
                random_kills=random_kills,
                jobs=jobs,
                seed=seed,
                out=out,
                replays=replays,
                quiet=quiet,
                verbose=verbose,
            )
        else:
            _result, summary, _written = run_exploration(
                names,
                layouts=layouts or None,
                profiles=profiles or PROFILES,
                backends=backends,
                options=options,
                out=out,
                replays=replays,
                quiet=quiet,
                fs_semantics=semantics,
                note_replaced=True,
                verbose=verbose,
            )
    except HarnessError as exc:
        raise CommandError(str(exc)) from None
    failing = [p for p in fail_on if summary.violations_for(p)]
    if failing:
        click.echo(f"violations found for profile(s): {', '.join(failing)}", err=True)
    click.echo(summary_promise_line(summary), err=True)
    if failing:
        sys.exit(1)


def summary_promise_line(summary: Summary) -> str:
    """One line: per profile explored, how many promises of the promise table it broke
    and the violation kinds found."""
    parts = []
    for profile in sorted({r["profile"] for r in summary.runs}):
        broken = {
            row["promise"]
            for row in summary.promises
            if row["profile"] == profile and row.get("kept") is False
        }
        kinds = [k for r in summary.runs if r["profile"] == profile for k in r["kinds"]]
        parts.append(promise_line(profile, len(broken), kinds))
    return "; ".join(parts) or "nothing explored"


def _run_real_exploration(
    names: Sequence[str],
    *,
    layouts: Sequence[str] | None,
    profiles: Sequence[str],
    mode: str,
    store_cmd: str | None,
    kill_points: int,
    random_kills: int,
    jobs: int,
    seed: int,
    out: str,
    replays: str,
    quiet: bool,
    verbose: bool = False,
) -> Summary:
    """``--mode kill|tmpfs``: the workloads in child processes (``harness.checks._realkill``)."""
    import scenarios as catalog
    from harness.checks._kill_spec import RealKillOptions
    from harness.checks._realkill import explore_real

    options = RealKillOptions(
        mode=mode,
        seed=seed,
        kill_points=kill_points,
        random_kills=random_kills,
        store_cmd=store_cmd,
        jobs=jobs,
    )
    console = _console()
    with _phase_progress(console, quiet=quiet) as report:
        result = explore_real(
            catalog.select(list(names)),
            layouts=layouts,
            profiles=profiles,
            options=options,
            progress=report,
        )
    summary = summarize(result)
    write_summary(summary, out, note_replaced=True)
    written = write_replays(replays, result.results)
    if not quiet:
        print_summary(summary, console)
        if verbose:
            for path in written:
                console.print(f"  {path}", highlight=False, markup=False)
        console.print(
            f"{summary.total_runs} runs ({mode}), {summary.violating_runs} with violations; "
            f"{len(written)} replay files in {replays}/"
        )
    return summary


def _run_syscall_exploration(
    names: Sequence[str],
    *,
    layouts: Sequence[str] | None,
    profiles: Sequence[str],
    store_cmd: str | None,
    max_points: int,
    power_samples: int,
    jobs: int,
    seed: int,
    out: str,
    replays: str,
    quiet: bool,
    verbose: bool = False,
) -> Summary:
    """``--mode syscall``: the adapter under strace (``harness.checks._syscall_explore``)."""
    import scenarios as catalog
    from harness.checks._syscall_explore import SyscallOptions, explore_syscall
    from harness.checks._syscall_replay import write_syscall_replays

    options = SyscallOptions(
        seed=seed,
        max_points=max_points,
        power_samples=power_samples,
        store_cmd=store_cmd,
        jobs=jobs,
    )
    console = _console()
    with _phase_progress(console, quiet=quiet) as report:
        exploration = explore_syscall(
            catalog.select(list(names)),
            layouts=layouts,
            profiles=profiles,
            options=options,
            progress=report,
        )
    summary = summarize(exploration.result)
    write_summary(summary, out, note_replaced=True)
    written = write_syscall_replays(replays, exploration)
    if not quiet:
        print_summary(summary, console)
    # Said even when quiet: a verdict is read with what the model did not account for.
    counts: dict[str, list[int]] = {}
    for run in exploration.result.results:
        spec = run.spec
        key = f"{spec.scenario}/{spec.variant} {spec.layout} {spec.profile}"
        cell = counts.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += bool(run.violations)
    for label, calls, total in exploration.calls:
        listed = exploration.unmodelled.get(label, [])
        runs, bad = counts.get(label, [0, 0])
        line = (
            f"{label}: {runs} runs, {bad} with violations; {calls} calls on the root "
            f"({total} traced), {len(listed)} unmodelled"
        )
        click.echo(line + (":" if listed else ""), err=True)
        for text in listed:
            click.echo(f"  unmodelled {text}", err=True)
    for label, why in exploration.skipped:
        click.echo(f"{label}: not run: {why}", err=True)
    if exploration.missed:
        click.echo(
            f"{len(exploration.missed)} kill(s) did not hit their call (not judged):", err=True
        )
        for label, why in exploration.missed[: 20 if verbose else 5]:
            click.echo(f"  {label}: {why}", err=True)
    if verbose and not quiet:
        for path in written:
            console.print(f"  {path}", highlight=False, markup=False)
    if not quiet:
        console.print(
            f"{summary.total_runs} runs (syscall), {summary.violating_runs} with violations; "
            f"{len(written)} replay files in {replays}/"
        )
    return summary
