"""The questions a report answers, answered from the numbers of one run.

Every sentence here is computed: which layout is faster, by how much, whether a goal is
met -- all from :class:`BenchResults`, so the same code says "faster" on one machine
and "slower" on another. A question whose cells were not measured says so and names the
cells it needs, instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._finding import FLOOR_GOAL, GAIN_GOAL, Finding
from ._findings_costs import (
    cached_load,
    floor_ratio,
    fsync_cost,
    lock_granularity,
    sqlite_comparison,
)
from ._findings_layouts import (
    cold_load,
    hardened_gain,
    p99_processes,
    seed_directory_vs_legacy,
)
from ._results import BenchResults

__all__ = [
    "FLOOR_GOAL",
    "GAIN_GOAL",
    "Finding",
    "cached_load",
    "cold_load",
    "findings",
    "floor_ratio",
    "fsync_cost",
    "hardened_gain",
    "lock_granularity",
    "p99_processes",
    "seed_directory_vs_legacy",
    "sqlite_comparison",
]


def findings(results: BenchResults) -> list[Finding]:
    """Every question of the report, in reading order."""
    makers: Iterable[Callable[[BenchResults], Finding]] = (
        seed_directory_vs_legacy,
        hardened_gain,
        cold_load,
        p99_processes,
        lock_granularity,
        fsync_cost,
        sqlite_comparison,
        floor_ratio,
        cached_load,
    )
    return [make(results) for make in makers]
