"""``store-harness bench``: contention benchmarks on real temp folders, results as JSON.

The grid options are shared with ``store-harness report`` (:func:`grid_options`), so both
commands accept the same narrowing of the quick or full grid.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from harness._errors import UsageError
from harness.bench import (
    BENCH_PROFILES,
    KEY_MODES,
    LAYOUTS,
    MODES,
    PARTS,
    BenchConfig,
    NullProgress,
    ProgressSink,
    parse_entry_size,
    run_bench,
)
from harness.cli._common import make_console
from harness.report import BenchResults, write_results

__all__ = ["RichProgress", "bench_command", "command_line", "config_from_options", "grid_options"]

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_OUT = Path("reports") / "latest" / "results.json"


class RichProgress:
    """Progress bars on stderr, redrawn only when the runner reports a step.

    ``auto_refresh`` is off: no drawing thread runs, so nothing writes to the terminal
    while a measurement is in progress.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console if console is not None else make_console(stderr=True),
            auto_refresh=False,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, total: int) -> None:
        self._task = self.progress.add_task("bench", total=total)
        self.progress.refresh()

    def note(self, text: str) -> None:
        if self._task is not None:
            self.progress.update(self._task, description=text)
            self.progress.refresh()

    def advance(self) -> None:
        if self._task is not None:
            self.progress.advance(self._task)
            self.progress.refresh()


def _sizes(values: Sequence[str]) -> tuple[int, ...]:
    out: list[int] = []
    for value in values:
        try:
            out.append(int(value.replace(",", "").replace("_", "")))
        except ValueError:
            raise click.BadParameter(f"{value!r} is not a whole number") from None
    return tuple(out)


def grid_options(func: F) -> F:
    """The options that choose and narrow the grid (shared by bench and report)."""
    options = [
        click.option(
            "--full", is_flag=True, help="The whole grid (sizes up to 100,000, all entry sizes)."
        ),
        click.option(
            "--layout",
            "-l",
            "layouts",
            multiple=True,
            type=click.Choice(LAYOUTS),
            help="Layouts to measure (repeat).",
        ),
        click.option(
            "--profile",
            "-p",
            "profiles",
            multiple=True,
            type=click.Choice(tuple(BENCH_PROFILES)),
            help="Profiles to measure (repeat).",
        ),
        click.option(
            "--size", "-s", "sizes", multiple=True, help="Store sizes in entries (repeat)."
        ),
        click.option(
            "--entry-size",
            "entry_sizes",
            multiple=True,
            help="Entry sizes: 1KB, 25KB, 150KB or bytes (repeat).",
        ),
        click.option(
            "--writers",
            "-w",
            "writers",
            multiple=True,
            type=click.IntRange(1, 64),
            help="Writer counts under contention (repeat).",
        ),
        click.option(
            "--mode",
            "modes",
            multiple=True,
            type=click.Choice(MODES),
            help="Writers as threads and/or processes.",
        ),
        click.option(
            "--keys",
            "key_modes",
            multiple=True,
            type=click.Choice(KEY_MODES),
            help="Writers on distinct and/or shared keys.",
        ),
        click.option(
            "--contention-size",
            "contention_sizes",
            multiple=True,
            help="Store sizes of the contention cells (repeat).",
        ),
        click.option(
            "--migration-size",
            "migration_sizes",
            multiple=True,
            help="Store sizes of the migration cells (repeat).",
        ),
        click.option(
            "--part",
            "parts",
            multiple=True,
            type=click.Choice(PARTS),
            help="Parts of the run (default: all).",
        ),
        click.option(
            "--ops",
            type=click.IntRange(1),
            default=None,
            help="Most update_entry calls per single-writer cell.",
        ),
        click.option(
            "--contention-ops",
            type=click.IntRange(1),
            default=None,
            help="update_entry calls per writer under contention.",
        ),
        click.option(
            "--cell-seconds",
            type=click.FloatRange(0),
            default=None,
            help="Time budget of each cell's update loop.",
        ),
        click.option(
            "--seed", type=int, default=None, help="Seed of the generated stores and key choices."
        ),
        click.option(
            "--max-store-mb",
            type=click.IntRange(1),
            default=None,
            help="Leave out stores larger than this.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def config_from_options(**options: Any) -> BenchConfig:
    """The quick or full preset, narrowed by the grid options given."""
    base = BenchConfig.full_grid() if options.get("full") else BenchConfig.quick()
    try:
        entry_sizes = tuple(parse_entry_size(v) for v in options.get("entry_sizes") or ())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--entry-size") from None
    max_mb = options.get("max_store_mb")
    try:
        return base.narrowed(
            layouts=tuple(options.get("layouts") or ()),
            profiles=tuple(options.get("profiles") or ()),
            sizes=_sizes(options.get("sizes") or ()),
            entry_sizes=entry_sizes,
            writers=tuple(options.get("writers") or ()),
            modes=tuple(options.get("modes") or ()),
            keys=tuple(options.get("key_modes") or ()),
            contention_sizes=_sizes(options.get("contention_sizes") or ()),
            migration_sizes=_sizes(options.get("migration_sizes") or ()),
            parts=tuple(options.get("parts") or ()),
            ops=options.get("ops"),
            contention_ops=options.get("contention_ops"),
            cell_seconds=options.get("cell_seconds"),
            seed=options.get("seed"),
            max_store_bytes=max_mb * 1024 * 1024 if max_mb else None,
        )
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None


def command_line(ctx: click.Context) -> tuple[str, ...]:
    """The command as typed: ``sys.argv`` when this process is the ``store-harness``
    program, else (embedded, e.g. under a test runner) rebuilt from the parsed options."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if program in ("store-harness", "store-harness.exe"):
        return ("store-harness", *sys.argv[1:])
    args: list[str] = ["store-harness", ctx.info_name or "bench"]
    for name, value in sorted(ctx.params.items()):
        flag = "--" + name.replace("_", "-")
        if value is None or value is False or value == ():
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, tuple):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return tuple(args)


def run_with_progress(config: BenchConfig, argv: Sequence[str], *, quiet: bool) -> BenchResults:
    sink: ProgressSink
    if quiet:
        return run_bench(config, argv=argv, progress=NullProgress())
    with RichProgress() as sink:
        return run_bench(config, argv=argv, progress=sink)


@click.command("bench")
@grid_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Where to write the results JSON.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def bench_command(ctx: click.Context, /, out: Path, quiet: bool, **options: Any) -> None:
    """Contention benchmarks of every layout on real temp folders.

    \b
    The quick grid (default) finishes in about a minute on 2 cores; --full runs the
    whole grid. Results: JSON with the machine and this exact command line; render
    them with `store-harness report --from-json PATH`.
    """
    config = config_from_options(**options)
    argv = command_line(ctx)
    began = time.perf_counter()
    results = run_with_progress(config, argv, quiet=quiet)
    replaced = out.exists()
    path = write_results(results, out)
    if replaced:
        # The default is the results.json of `make report`: not lost without a word.
        click.echo(
            f"replaced the results already in {path}; pass --out PATH to keep them", err=True
        )
    click.echo(
        f"{len(results.single)} single-writer, {len(results.contention)} contention and "
        f"{len(results.migration)} migration cells in {time.perf_counter() - began:.1f} s; "
        f"results: {path}"
    )
    click.echo(f"command: {shlex.join(argv)}")
