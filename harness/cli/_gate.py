"""``store-harness gate``: the CI front door over :mod:`harness.gate`."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from harness._errors import HarnessError, UsageError
from harness.cli._common import CommandError, eta_text, make_console, promise_line, verbose_option
from harness.cli._explore import run_timeout_option
from harness.engine._oracle import VIOLATION_KINDS
from harness.engine._run_spec import BACKENDS, DEFAULT_MAX_POINTS, ExploreOptions
from harness.gate import (
    GATE_LAYOUTS,
    PROMISE_PROFILES,
    CaseResult,
    CheckOptions,
    GateResult,
    MutantLike,
    MutantVerdict,
    Shard,
    not_explored_lines,
    run_gate,
    run_mutants,
    write_gate_reports,
    write_mutation_score,
    write_promise_table,
)

__all__ = ["gate_command", "load_mutants"]


def load_mutants(ref: str) -> Sequence[MutantLike]:
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--mutants {ref!r} is not module:attr (e.g. tests.mutants:MUTANTS)")
    # As for --store: a catalog in the current folder is importable by name.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r} for --mutants: {exc}") from None
    mutants = getattr(module, attr, None)
    if mutants is None:
        raise UsageError(f"module {module_name!r} has no attribute {attr!r}")
    found = list(mutants)
    for mutant in found:
        if not all(hasattr(mutant, a) for a in ("name", "bug", "caught_by", "target")):
            raise UsageError(f"{ref}: {mutant!r} is not a mutant (name, bug, caught_by, target)")
    return found


@click.command("gate")
@click.option(
    "--store",
    help="The store under test: module:factory (the open_store API of docs/spec.md) "
    "or a registered target name such as 'reference'.",
)
@click.option(
    "--store-cmd",
    help="A store in another process, speaking the adapter protocol "
    "(docs/adapter-protocol.md): a command template with {store_path}, {layout} and "
    "{profile}. It is SIGKILLed for real, so only scenarios with crash faults run.",
)
@click.option(
    "--mutants",
    "mutants_ref",
    help="Gate every seeded bug of a catalog instead "
    "(e.g. tests.mutants:MUTANTS) and write mutation-score.md/.json.",
)
@click.option(
    "--mutant-scope",
    type=click.Choice(["all", "claimed"]),
    default="all",
    show_default=True,
    help="With --mutants: every selected scenario, or only the "
    "scenarios each mutant claims to be caught by (fast).",
)
@click.option(
    "--scenario",
    "-s",
    "names",
    multiple=True,
    default=("all",),
    show_default=True,
    help="Scenario name or glob; repeat for several. The gate's own checks are named "
    "like scenarios: 'machine' (the Hypothesis state machine) and 'concurrency' (racing "
    "processes); 'all' is every scenario and both checks.",
)
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    type=click.Choice(GATE_LAYOUTS),
    help="Only these layouts (default: every layout of each scenario).",
)
@click.option(
    "--backend",
    type=click.Choice([*BACKENDS, "both"]),
    default="real",
    show_default=True,
    help="A real temp folder (fastest), pyfakefs, or both.",
)
@click.option(
    "--profile",
    help="Profile the store is opened with (default: hardened when the store knows it).",
)
@click.option(
    "--profile-promises",
    "promises",
    type=click.Choice(list(PROMISE_PROFILES)),
    default="hardened",
    show_default=True,
    help="The promises the store claims: "
    + "; ".join(f"{p.name}: {p.description}" for p in PROMISE_PROFILES.values()),
)
@click.option(
    "--waive",
    multiple=True,
    type=click.Choice(sorted(VIOLATION_KINDS)),
    help="A violation kind to report without failing (repeatable).",
)
@click.option(
    "--max-points",
    type=click.IntRange(min=0),
    default=None,
    help="Fault points per fault family and configuration, sampled with --seed (0: every "
    f"one). Default: {DEFAULT_MAX_POINTS}, as explore and report; with --full: 0.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Every fault point (--max-points 0 unless given) and the heavy variants "
    "(1,000-entry stores).",
)
@run_timeout_option
@click.option(
    "--machine-examples",
    type=click.IntRange(min=1),
    default=CheckOptions.machine_examples,
    show_default=True,
    help="Machine check: Hypothesis examples per layout (each a fresh real temp folder; "
    "seeded with --seed, so the same options give the same examples and shrunk failure).",
)
@click.option(
    "--machine-steps",
    type=click.IntRange(min=1),
    default=CheckOptions.machine_steps,
    show_default=True,
    help="Machine check: rule calls (save, update, crash, corrupt, restart, ...) per example.",
)
@click.option(
    "--no-machines",
    is_flag=True,
    help="Skip the machine check (the scenarios and the concurrency check still run).",
)
@click.option(
    "--concurrency-rounds",
    type=click.IntRange(min=1),
    default=CheckOptions.concurrency_rounds,
    show_default=True,
    help="Concurrency check: calls per worker process (three processes per layout: two "
    "incrementers and a cached-route writer).",
)
@click.option(
    "--no-concurrency",
    is_flag=True,
    help="Skip the concurrency check (it needs real processes and takes the store's lock).",
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
    help="Seed for sampled fault points and for the machine check's examples.",
)
@click.option(
    "--shard",
    default="1/1",
    show_default=True,
    help="Run part i of n (1-based) of the configurations (machine and concurrency "
    "checks included), for CI matrices.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    help="Seconds: start no new configuration (scenario or check) after this; the rest is "
    "reported as skipped. One that started finishes (a failing machine also shrinks).",
)
@click.option(
    "--allow-partial", is_flag=True, help="A run cut short by --budget passes if what ran passed."
)
@click.option(
    "--out",
    default=os.path.join("reports", "gate"),
    show_default=True,
    help="Folder for gate.json, gate-summary.md, junit.xml and replays/.",
)
@click.option("--junit", help="JUnit XML path (default: OUT/junit.xml).")
@click.option(
    "--promises",
    "show_promises",
    is_flag=True,
    help="Print the promise table (promise x check x faults x seeded bug, built from the "
    "code; seeded bugs from --mutants, else the project's tests/mutants) and exit: 0 when "
    "every row has a check, a fault and a seeded bug, 1 when a row has a gap.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress; only the verdict line.")
@verbose_option("Also a line per configuration that passed or was skipped (runs, seconds).")
def gate_command(
    store: str | None,
    store_cmd: str | None,
    mutants_ref: str | None,
    mutant_scope: str,
    names: tuple[str, ...],
    layouts: tuple[str, ...],
    backend: str,
    profile: str | None,
    promises: str,
    waive: tuple[str, ...],
    max_points: int | None,
    full: bool,
    run_timeout: float,
    machine_examples: int,
    machine_steps: int,
    no_machines: bool,
    concurrency_rounds: int,
    no_concurrency: bool,
    jobs: int,
    seed: int,
    shard: str,
    budget: float | None,
    allow_partial: bool,
    out: str,
    junit: str | None,
    show_promises: bool,
    quiet: bool,
    verbose: bool,
) -> None:
    """Gate a store: run every scenario against it and fail on any violation.

    Besides the scenarios, two checks of the gate's own run per layout, on real temp
    folders: 'machine' (the Hypothesis state machine of harness.machines, bounded by
    --machine-examples/--machine-steps) and 'concurrency' (worker processes racing one
    store, judged for lost updates and stale reads). --shard and --budget split and
    bound them like scenario configurations.

    Before anything runs, a pre-flight checks that the harness can drive the store: the
    profile, the signatures of open and migrate, one open and close in an empty temp
    folder. A store that fails it is a usage error.

    Defaults, as explore and report: real temp folders and a seeded sample of at most
    25 fault points per fault family and configuration; --full runs every point (and
    the heavy variants).

    \b
    Exit status: 0 passed; 1 a violation (or, with --mutants, a bug not caught);
    2 usage error (one line); 3 no violation, but --budget left configurations unrun.
    Writes OUT/junit.xml (one test case per scenario x variant x layout x backend, and
    per check x layout), OUT/gate-summary.md (also appended to $GITHUB_STEP_SUMMARY when
    set), OUT/gate.json and one replay file per distinct violation under
    OUT/replays/<backend>/ (a machine failure gives its shrunk example and the
    @reproduce_failure blob instead).
    """
    if show_promises:
        sys.exit(_print_promises(mutants_ref))
    given = [
        n
        for n, v in (("--store", store), ("--store-cmd", store_cmd), ("--mutants", mutants_ref))
        if v
    ]
    if len(given) != 1:
        raise CommandError("give exactly one of --store, --store-cmd, --mutants")
    console = make_console(stderr=True, quiet=quiet)
    try:
        part = Shard.parse(shard)
        promise_profile = PROMISE_PROFILES[promises].with_waived(waive)
        gate_kwargs: dict[str, Any] = {
            "layouts": layouts or None,
            "backends": BACKENDS if backend == "both" else (backend,),
            "profile": profile,
            "promises": promise_profile,
            "options": ExploreOptions(
                jobs=jobs,
                seed=seed,
                max_points=(0 if full else DEFAULT_MAX_POINTS)
                if max_points is None
                else max_points,
                full=full,
                run_timeout=run_timeout,
            ),
            "shard": part,
            "budget": budget,
            "allow_partial": allow_partial,
            "checks": CheckOptions(
                machines=not no_machines,
                machine_examples=machine_examples,
                machine_steps=machine_steps,
                concurrency=not no_concurrency,
                concurrency_rounds=concurrency_rounds,
            ),
        }
        replays = os.path.join(out, "replays")
        if mutants_ref:
            sys.exit(_gate_mutants(mutants_ref, mutant_scope, names, gate_kwargs, out, console))

        started = time.monotonic()

        def report(done: int, total: int, case: CaseResult) -> None:
            # markup=False: a configuration id ends in "[...]", which rich reads as a tag.
            eta = eta_text(done, total, time.monotonic() - started)
            console.print(
                f"[{done}/{total}] {case.configuration.id}: {case_verdict(case)}"
                + (f"; {eta}" if eta else ""),
                highlight=False,
                markup=False,
            )

        result = run_gate(
            store,
            store_cmd=store_cmd,
            scenarios=names,
            replays_dir=replays,
            on_case=report,
            check_store=True,
            **gate_kwargs,
        )
    except HarnessError as exc:
        raise CommandError(str(exc)) from None
    paths = write_gate_reports(
        result, out, junit=junit, step_summary=os.environ.get("GITHUB_STEP_SUMMARY") or None
    )
    _print_cases(result, console, verbose=verbose)
    click.echo(
        f"gate {result.verdict()}: {len(result.cases)} configurations, {len(result.failed)} "
        f"failed, {len(result.skipped)} skipped, {len(result.unclaimed)} not explored, "
        f"{result.runs} runs; summary {paths['markdown']}, JUnit {paths['junit']}, "
        f"verdict {paths['json']}{_replays_text(result)}",
        err=True,
    )
    click.echo(gate_promise_line(result), err=True)
    sys.exit(result.exit_code)


def _replays_text(result: GateResult) -> str:
    replays = [p for case in result.failed for p in case.replays]
    if not replays:
        return ""
    folders = sorted({os.path.dirname(p) for p in replays})
    return f", {len(replays)} replay files in {', '.join(f + '/' for f in folders)}"


def case_verdict(case: CaseResult) -> str:
    """How one configuration ended, for its progress line."""
    if case.status == "failed":
        return f"FAILED ({', '.join(sorted(case.kinds)) or case.reason or 'error'})"
    return case.status


def gate_promise_line(result: GateResult) -> str:
    """The gate's last line: how many promises of the promise table its failures broke."""
    from harness.engine._promises import PROMISES

    kinds = {kind for case in result.failed for kind in case.kinds}
    # Promises judged on every family: the power-loss row repeats their kinds.
    broken = [p for p in PROMISES if p.families is None and p.kinds & kinds]
    label = result.profile
    if result.promises.name != result.profile:
        # The store opened with one profile and held to another's promises: name both.
        label = f"{result.profile} (held to the {result.promises.name} promises)"
    return promise_line(label, len(broken), kinds)


def _print_cases(result: GateResult, console: Console, *, verbose: bool) -> None:
    """What failed, what was not explored and why; with ``verbose`` every case."""
    # Text, never markup: ids end in "[...]" and details start with "[high]", both of
    # which rich would swallow as tags.
    if verbose:
        for case in result.cases:
            if case.status != "failed":
                line = f"{case.configuration.id}: {case.runs} runs, {case.seconds:.1f} s"
                if case.reason:
                    line += f"; {case.reason}"
                console.print(Text.assemble((case.status.upper(), "dim"), " ", line))
    for case in result.failed:
        console.print(Text.assemble(("FAIL", "red"), " ", case.failure_text()))
    # One line per scenario and reason (not per configuration): a few lines at most.
    for line in not_explored_lines(result.unclaimed):
        console.print(Text.assemble(("NOT EXPLORED", "yellow"), " ", line))


def _print_promises(mutants_ref: str | None) -> int:
    """``gate --promises``: the table on stdout; exit 1 when a row has a gap."""
    from harness.gate._promise_table import (
        load_default_catalog,
        promise_rows,
        promise_table_markdown,
    )

    try:
        catalog = load_mutants(mutants_ref) if mutants_ref else load_default_catalog()
    except UsageError as exc:
        raise CommandError(str(exc)) from None
    rows = promise_rows(catalog)
    click.echo(promise_table_markdown(rows), nl=False)
    if catalog is None:
        click.echo("no catalog of seeded bugs found: pass --mutants module:attr", err=True)
    return 1 if any(r.gap for r in rows) else 0


def _gate_mutants(
    ref: str,
    scope: str,
    names: tuple[str, ...],
    gate_kwargs: dict[str, Any],
    out: str,
    console: Console,
) -> int:
    mutants = load_mutants(ref)
    started = time.monotonic()
    verdicts: list[MutantVerdict] = []
    # One mutant at a time, so that each one's verdict is shown as soon as it is known.
    for done, mutant in enumerate(mutants, 1):
        (verdict,) = run_mutants(
            [mutant],
            scope="claimed" if scope == "claimed" else "all",
            scenarios=names,
            replays_dir=os.path.join(out, "mutants"),
            **gate_kwargs,
        )
        verdicts.append(verdict)
        eta = eta_text(done, len(mutants), time.monotonic() - started)
        console.print(
            Text.assemble(
                f"[{done}/{len(mutants)}] mutant {mutant.name}: ",
                mutant_verdict(verdict),
                f"; {eta}" if eta else "",
            )
        )
    md_path, json_path = write_mutation_score(verdicts, out)
    write_promise_table(mutants, out)
    missed = [v for v in verdicts if not v.caught]
    silent = [(v.name, s) for v in verdicts for s in v.missed]
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(md_path, encoding="utf-8") as source, open(summary, "a", encoding="utf-8") as dst:
            dst.write(source.read() + "\n")
    for name, scenario in silent:
        console.print(f"[yellow]{scenario} did not catch {name}[/]", highlight=False)
    click.echo(
        f"mutation score {len(verdicts) - len(missed)}/{len(verdicts)}; "
        f"uncaught: {', '.join(v.name for v in missed) or 'none'}; {md_path}, {json_path}",
        err=True,
    )
    return 1 if missed or silent else 0


def mutant_verdict(verdict: MutantVerdict) -> Text:
    """A seeded bug's verdict in one line: caught by which checks, MISSED by which."""
    if not verdict.caught:
        return Text("MISSED (no scenario caught it)", style="red")
    text = Text(f"caught by {', '.join(verdict.caught_by)}", style="green")
    if verdict.missed:
        text.append(f"; MISSED by {', '.join(verdict.missed)}", style="yellow")
    return text
