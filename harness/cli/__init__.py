"""The command line, ``store-harness``: the front door people and CI scripts use.

Layer: the top. It may import every layer below and the scenario catalog; nothing in the
harness imports it. ``_main`` holds the click group and loads each subcommand's module only
when that subcommand runs, so ``store-harness --help`` stays fast; one module a command
family (``_explore``: scenarios and explore; ``_replay``; ``_gate``; ``_bench``; ``_report``) and
the shared options and console in ``_common``.
"""

from harness.cli._main import main

__all__ = ["main"]
