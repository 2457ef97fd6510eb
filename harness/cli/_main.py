"""``store-harness``: the command line front door.

Each subcommand lives in its own ``harness/_cli_<name>.py`` module and is imported only
when the command runs, so ``--help`` stays fast and one broken command cannot break the
others.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from harness.cli._common import COLOR_KEY

__all__ = ["main"]

#: command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "scenarios": ("harness.cli._explore", "scenarios_command", "List the named scenarios."),
    "explore": ("harness.cli._explore", "explore_command", "Crash, fill and fail a workload."),
    "replay": ("harness.cli._replay", "replay_command", "Re-run one replay file."),
    "bench": ("harness.cli._bench", "bench_command", "Contention benchmarks on real folders."),
    "report": ("harness.cli._report", "report_command", "Run the harness and write a report."),
    "gate": ("harness.cli._gate", "gate_command", "CI gate: every scenario on a store."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    @staticmethod
    def _available(name: str) -> bool:
        module, _attr, _help = COMMANDS[name]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not self._available(cmd_name):
            return None
        module, attr, _help = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="store-harness")
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the output, or do not (default: colour on a terminal only, none when "
    "NO_COLOR is set). Output that is not a terminal is never cut or wrapped.",
)
@click.pass_context
def main(ctx: click.Context, /, color: bool | None) -> None:
    """Break session stores on purpose, measure them, and gate changes to them.

    \b
    Typical runs:
      store-harness scenarios                      list what can be explored
      store-harness explore --scenario all         crash every workload at its I/O
      store-harness replay reports/replays/X.json  re-run one failure, show its trace
      store-harness bench                          contention benchmarks (real folders)
      store-harness report                         all of the above into reports/latest/
    """
    # Read by every subcommand's consoles (harness.cli._common); click's own output
    # (echo, help) follows ctx.color.
    ctx.meta[COLOR_KEY] = color
    if color is not None:
        ctx.color = color
