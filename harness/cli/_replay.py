"""``store-harness replay``: re-run one replay file -- a scenario run or a machine failure --
and show its trace, the files after the fault and what the oracle expected.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from harness._errors import HarnessError
from harness.cli._common import CommandError, make_console
from harness.cli._explore import run_timeout_option
from harness.engine._explorer import run_contained_once
from harness.faults._faultfs import Operation
from harness.replay._scenario_replay import load_replay
from harness.replay._verdict import (
    EXIT_FIXED,
    EXIT_NOT_SAME_FAULT,
    EXIT_REPRODUCES,
    fault_fired,
    first_difference,
    landing_kills,
    last_announced,
    timing_kill,
)

if TYPE_CHECKING:
    from rich.console import Console

    from harness.checks._kill_spec import RealSpec
    from harness.engine._run_spec import RunResult
    from harness.engine._scenario import Scenario
    from harness.engine._target import StoreTarget
    from harness.replay._machine_replay import MachineReplay

__all__ = [
    "replay_command",
]


@click.command("replay")
@click.argument("replay_file", type=click.Path())
@click.option(
    "--full-trace",
    "--verbose",
    "-v",
    "full_trace",
    is_flag=True,
    help="Print every operation, not only the last 40.",
)
@run_timeout_option
@click.option(
    "--target-source",
    metavar="MODULE",
    help="Import MODULE to define the replay's store target, when the file's own "
    "target_source does not import here (e.g. tests.mutants for a 'mutant:<name>' "
    "target; the current folder is on the import path).",
)
def replay_command(
    replay_file: str, full_trace: bool, run_timeout: float, target_source: str | None
) -> None:
    """Re-run one replay file: the trace up to the fault, the files after it, the diff.

    A store given as module:factory is imported again (from the current folder); a
    seeded-bug mutant ('mutant:<name>') is rebuilt from the module recorded in the file
    (its target_source), so run this from the folder the gate ran in.

    A machine replay file (written by the gate's 'machine' check) re-runs its shrunk
    Hypothesis example from the recorded blob, or, under another Hypothesis version,
    the whole seeded search; it prints the calls and the crash details.

    A kill that landed by timing (as a call starts, or after a random delay) is re-run
    where it landed: as a kill before the last operation the recorded child announced,
    and before the next one.

    Exits 1 when the violation still reproduces; 0 when it no longer does and the same
    fault ran (fixed); 3 when the recorded fault did not fire in this run, or the kill
    point has no equivalent in it (nothing is concluded); 2 when the file is not a valid
    replay file (every field is checked before anything runs; one line names the file
    and the field) or its store target cannot be built.
    """
    import scenarios as catalog
    from harness.checks._syscall_replay import is_syscall_replay
    from harness.replay._machine_replay import is_machine_replay, load_machine_replay
    from harness.replay._scenario_replay import read_replay_json, replay_target
    from harness.replay._validate import check_configuration

    try:
        raw = read_replay_json(replay_file)
        if is_syscall_replay(raw):  # --mode syscall: its own format (strace, an adapter)
            _replay_syscall(replay_file, raw, run_timeout)
        if is_machine_replay(raw):
            machine = load_machine_replay(replay_file, raw)
            if machine.store_cmd is not None:  # a store behind --store-cmd: start it again
                from harness.checks._adapter_target import command_target

                target = command_target(machine.store_cmd)
            else:
                target = replay_target(machine.target, machine.source, target_source)
                _check_profile(replay_file, target, machine.profile)
            _replay_machine(machine, target, full_trace)
        replay = load_replay(replay_file, raw)
        try:
            scenario = catalog.get(replay.spec.scenario)
        except HarnessError as exc:
            raise HarnessError(f"{replay_file}: spec.scenario: {exc}") from None
        check_configuration(replay_file, replay.raw["spec"], scenario)
        if replay.spec.backend not in ("kill", "tmpfs"):  # those name an adapter command
            target = replay_target(replay.spec.target, replay.source, target_source)
            _check_profile(replay_file, target, replay.spec.profile)
    except HarnessError as exc:
        raise CommandError(str(exc)) from None
    console = make_console()
    spec = replay.spec
    console.print(
        f"[bold]{spec.scenario}[/] / {spec.variant} — layout {spec.layout}, profile "
        f"{spec.profile}, backend {spec.backend}, seed {spec.seed}"
    )
    recorded = list(replay.raw.get("trace", []))
    if spec.backend in ("kill", "tmpfs"):  # a real-kill run: re-run it in a child process
        from harness.checks._kill_run import run_real
        from harness.checks._kill_spec import spec_from_json

        spec = spec_from_json(replay.raw["spec"])
        console.print(f"fault: {spec.describe()}")
        if timing_kill(spec):
            _replay_timing_kill(console, scenario, spec, recorded, full_trace)
        result = run_real(scenario, spec)
    else:
        console.print(f"fault: {spec.describe()}")
        # In a child process: the run may hang or kill its process, as it did when found.
        result = run_contained_once(scenario, spec, timeout_s=run_timeout)
    _show_run(console, result, recorded, full_trace)
    console.print("\n[bold]oracle[/]")
    if result.violations:
        _show_violations(console, result)
        sys.exit(EXIT_REPRODUCES)
    fired = fault_fired(spec, result)
    if not fired.fired:
        console.print(
            f"  no violation, but the recorded fault did not fire: {fired.why}; "
            "nothing is concluded (exit 3)",
            style="yellow",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_NOT_SAME_FAULT)
    console.print("  no violation: this replay no longer reproduces", style="green")
    sys.exit(EXIT_FIXED)


def _replay_syscall(path: str, raw: dict[str, Any], timeout: float) -> NoReturn:
    """A ``--mode syscall`` replay file: record the workload under strace again, then the
    same kill or power-loss state; exits as every replay does (1, 0, 3; 2 for the file)."""
    import scenarios as catalog
    from harness.checks._syscall_replay import (
        replay_syscall,
        syscall_replay_effects,
        syscall_replay_spec,
    )

    spec = syscall_replay_spec(path, raw)
    try:
        scenario = catalog.get(spec.scenario)
    except HarnessError as exc:
        raise HarnessError(f"{path}: spec.scenario: {exc}") from None
    effects = syscall_replay_effects(path, raw)
    console = make_console()
    console.print(
        f"[bold]{spec.scenario}[/] / {spec.variant} — layout {spec.layout}, profile "
        f"{spec.profile}, backend {spec.backend}, seed {spec.seed}"
    )
    console.print(f"fault: {spec.describe()}", highlight=False, markup=False)
    run = replay_syscall(scenario, spec, effects=effects, timeout=timeout)
    if run.result is None:
        console.print(
            f"  the recorded fault has no equivalent in this run: {run.why_not}; "
            "nothing is concluded (exit 3)",
            style="yellow",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_NOT_SAME_FAULT)
    result = run.result
    console.print("\n[bold]calls[/]")
    for outcome in result.outcomes:
        error = f" ({outcome.error})" if outcome.error else ""
        console.print(f"  {outcome.call}: {outcome.status}{error}", highlight=False, markup=False)
    if result.unsynced:
        console.print("\n[bold]unsynced effects at the power loss[/]")
        for effect in result.unsynced:
            console.print(f"  {effect}", highlight=False, markup=False)
    console.print("\n[bold]files on disk after the fault[/] (before recovery)")
    for file, size in sorted(result.files_after_fault.items()):
        shown = f"  {file}" + ("" if file.endswith("/") else f"  {size} B")
        console.print(shown, highlight=False, markup=False)
    console.print("\n[bold]oracle[/]")
    if result.violations:
        _show_violations(console, result)
        sys.exit(EXIT_REPRODUCES)
    console.print("  no violation: this replay no longer reproduces", style="green")
    sys.exit(EXIT_FIXED)


def _replay_timing_kill(
    console: Console,
    scenario: Scenario,
    spec: RealSpec,
    recorded: list[dict[str, Any]],
    full_trace: bool,
) -> NoReturn:
    """A kill that landed by timing, re-run as the operation kills it may have been."""
    from harness.checks._kill_run import run_real

    places = landing_kills(spec, recorded)
    console.print(
        "this kill lands by timing, not at a place: re-running it where it landed, as "
        + " and ".join(p.kill.describe() for p in places),
        highlight=False,
    )
    result = None
    for place in places:
        result = run_real(scenario, place)
        if result.violations:
            console.print(f"\n[bold]{place.kill.describe()}[/]", highlight=False)
            _show_run(console, result, recorded, full_trace)
            console.print("\n[bold]oracle[/]")
            _show_violations(console, result)
            sys.exit(EXIT_REPRODUCES)
    assert result is not None
    differs = first_difference(recorded, result.trace, last_announced(recorded))
    console.print("\n[bold]oracle[/]")
    if differs is not None:
        console.print(
            f"  no violation at either place, but this run's operations differ from the "
            f"recording at #{differs}, so the recorded kill point has no equivalent here; "
            "nothing is concluded (exit 3): gate the change to judge it",
            style="yellow",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_NOT_SAME_FAULT)
    console.print(
        "  no violation at either place the kill may have landed: this replay no longer reproduces",
        style="green",
    )
    sys.exit(EXIT_FIXED)


def _show_run(
    console: Console, result: RunResult, recorded: list[dict[str, Any]], full_trace: bool
) -> None:
    trace = list(result.trace)
    same = [op.to_json() for op in trace] == recorded
    shown = trace if full_trace else trace[-40:]
    console.print(
        f"\n[bold]trace[/] ({len(trace)} operations"
        f"{'' if full_trace or len(trace) <= 40 else ', last 40'}; "
        f"{'identical to' if same else 'DIFFERENT from'} the recorded trace)"
    )
    for op in shown:
        style = "red" if op.outcome != "ok" else None
        console.print("  " + op.describe(), style=style, highlight=False, markup=False)
    console.print("\n[bold]calls[/]")
    for outcome in result.outcomes:
        error = f" ({outcome.error})" if outcome.error else ""
        console.print(f"  {outcome.call}: {outcome.status}{error}", highlight=False, markup=False)
    if result.unsynced:
        console.print("\n[bold]unsynced effects at the power loss[/]")
        for effect in result.unsynced:
            console.print(f"  {effect}", highlight=False, markup=False)
    console.print("\n[bold]files on disk after the fault[/] (before recovery)")
    for path, size in sorted(result.files_after_fault.items()):
        console.print(
            f"  {path}" + ("" if path.endswith("/") else f"  {size} B"),
            highlight=False,
            markup=False,
        )


def _show_violations(console: Console, result: RunResult) -> None:
    from harness.replay._scenario_replay import _diff

    for violation in result.violations:
        console.print(
            f"  [{violation.severity}] {violation.kind}: {violation.detail}",
            style="red",
            highlight=False,
            markup=False,
        )
    for line in _diff(result.found, result.expected):
        console.print("  " + line, highlight=False, markup=False)


def _check_profile(path: str, target: StoreTarget, profile: str) -> None:
    if target.declares_profiles and profile not in target.profiles:
        raise HarnessError(
            f"{path}: profile {profile!r} is not a profile of store {target.name!r} "
            f"({', '.join(target.profiles)})"
        )


def _replay_machine(replay: MachineReplay, target: StoreTarget, full_trace: bool) -> NoReturn:
    """Re-run a machine replay file; exits 1 while it fails, 0 once it passes."""
    from harness.replay._machine_replay import replay_machine

    console = make_console()
    recorded = replay.run
    console.print(
        f"[bold]machine[/] — store {replay.target}, layout {replay.layout}, profile "
        f"{replay.profile}; found with seed {recorded.seed}, {recorded.examples} examples x "
        f"{recorded.steps} steps: {recorded.kind}",
        highlight=False,
    )
    console.print("re-running the shrunk example (Hypothesis blob) ...", highlight=False)
    run, how = replay_machine(replay, target)
    if how == "search":
        console.print(
            "the blob does not replay here (another Hypothesis version, or the machine "
            "changed): re-ran the seeded search",
            highlight=False,
        )
    if run.passed:
        console.print("no violation: this replay no longer reproduces", style="green")
        sys.exit(0)
    for line in run.message.splitlines():
        console.print("  " + line, highlight=False, markup=False)
    if run.example:
        console.print("\n[bold]shrunk example[/] (Hypothesis)")
        for line in run.example:
            console.print("  " + line, highlight=False, markup=False)
    for crash in (run.crash or {}).get("crashes", []):
        trace = list(crash.get("trace", []))
        shown = trace if full_trace else trace[-40:]
        console.print("\n[bold]crash[/]", end=" ")
        console.print(
            f"in {crash.get('call')}: {crash.get('fault')} "
            f"({len(trace)} operations{'' if full_trace or len(trace) <= 40 else ', last 40'})",
            highlight=False,
            markup=False,
        )
        for op in shown:
            console.print(f"  {Operation.from_json(op).describe()}", highlight=False, markup=False)
        console.print("[bold]files after the crash[/]")
        for path, size in sorted(crash.get("files_after_crash", {}).items()):
            console.print(f"  {path}  {size} B", highlight=False, markup=False)
    sys.exit(1)
