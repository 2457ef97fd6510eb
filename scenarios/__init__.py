"""The named scenario catalogue: workloads plus the faults to explore on each.

``SCENARIOS`` lists them; :func:`get` finds one by name; :func:`select` expands ``all``
and glob patterns (``migration.*``).
"""

from __future__ import annotations

import fnmatch

from harness._errors import UsageError
from harness.engine._scenario import Scenario

from ._catalog import SCENARIOS, make_entries

__all__ = ["SCENARIOS", "get", "make_entries", "names", "select"]


def names() -> list[str]:
    return [s.name for s in SCENARIOS]


def get(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise UsageError(f"no scenario named {name!r}; known: {', '.join(names())}")


def select(patterns: list[str] | tuple[str, ...]) -> list[Scenario]:
    """Scenarios matching any of the names or glob patterns (``all`` matches every one)."""
    chosen: list[Scenario] = []
    for pattern in patterns:
        if pattern == "all":
            matched = list(SCENARIOS)
        else:
            matched = [s for s in SCENARIOS if fnmatch.fnmatchcase(s.name, pattern)]
        if not matched:
            raise UsageError(f"no scenario matches {pattern!r}; known: {', '.join(names())}")
        chosen += [s for s in matched if s not in chosen]
    return chosen
