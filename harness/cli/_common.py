"""What every subcommand shares: its consoles, its one-line errors, ``--verbose``.

Output is for people and for CI logs alike, so:

* **Not a terminal** (a pipe, a file, a CI log): nothing is cut or wrapped. A rich
  console there gets a width no line reaches and soft wrapping, so a scenario name, a
  replay path or a violation kind stays whole and copy-pastable, however long.
* **Colour**: ``--color``/``--no-color`` on the root command win; otherwise ``NO_COLOR``
  (https://no-color.org: set and not empty) turns colour off; otherwise colour is on
  for a terminal and off for anything else.
* **Errors the user can fix** (a malformed replay file, a store the harness cannot
  drive, a bad name) are one line, ``Error: ...``, and exit status 2, the status click
  gives a usage error; no usage banner, no traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "COLOR_KEY",
    "NOT_A_TERMINAL_WIDTH",
    "CommandError",
    "color_choice",
    "eta_text",
    "make_console",
    "promise_line",
    "verbose_option",
]

#: where the root command leaves ``--color``/``--no-color`` (``ctx.meta`` is shared by
#: every context of one invocation): True, False, or None (not given)
COLOR_KEY = "store_harness.color"
#: the width of a console that is not a terminal: wider than any line the harness
#: prints, so rich never wraps or truncates one (rich's own default there is 80)
NOT_A_TERMINAL_WIDTH = 100_000

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A usage error told in one line (``Error: ...``), exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # One line: a log reader greps for "Error:" and gets all of it.
        super().__init__(" ".join(part.strip() for part in message.splitlines() if part.strip()))


def color_choice() -> bool | None:
    """``--color`` (True), ``--no-color`` (False), else ``NO_COLOR`` (False), else None
    (the console decides: colour on a terminal only)."""
    ctx = click.get_current_context(silent=True)
    chosen = None if ctx is None else ctx.meta.get(COLOR_KEY)
    if chosen is not None:
        return bool(chosen)
    if os.environ.get("NO_COLOR", ""):
        return False
    return None


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def make_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A rich console on stdout (or stderr) that follows the module's rules."""
    # Imported here: the root command imports this module, and --help stays fast.
    from rich.console import Console

    terminal = _is_terminal(sys.stderr if stderr else sys.stdout)
    color = color_choice()
    options: dict[str, Any] = {"stderr": stderr, "quiet": quiet, "soft_wrap": True}
    if not terminal:
        options["width"] = NOT_A_TERMINAL_WIDTH
    if color is False:
        options["color_system"] = None
    elif color is True:
        # rich drops colour when the output is not a terminal unless it is told which
        # colours to use; 16 colours are what CI log viewers render.
        options["color_system"] = "auto" if terminal else "standard"
        options["no_color"] = False
    return Console(**options)


def verbose_option(help_text: str) -> Callable[[F], F]:
    """``-v/--verbose``, with what it adds for this command."""
    return click.option("--verbose", "-v", is_flag=True, help=help_text)


def promise_line(profile: str, broken: int, kinds: Iterable[str]) -> str:
    """The last line of ``explore`` and ``gate``: whether ``profile`` broke a promise,
    for a reader who looks at nothing else (and a CI log's tail)."""
    listed = ", ".join(sorted(set(kinds)))
    if broken:
        plural = "promise" if broken == 1 else "promises"
        return f"{profile}: {broken} {plural} broken ({listed})"
    if listed:
        # Violations no promise is judged on here (a kind under power loss, say).
        return f"{profile}: no promise broken (violations outside the promises: {listed})"
    return f"{profile}: no promise broken"


def eta_text(done: int, total: int, elapsed: float) -> str:
    """``ETA 1m20s`` from the pace so far; empty before the first item is done."""
    if done <= 0 or done >= total:
        return ""
    left = elapsed / done * (total - done)
    minutes, seconds = divmod(round(left), 60)
    return f"ETA {minutes}m{seconds:02d}s" if minutes else f"ETA {seconds}s"
