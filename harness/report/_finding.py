"""One finding of a report (a question, its computed answer, its tables), the goals the
answers are held to, and the phrasing helpers every finding shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._format import fmt_ratio
from ._results import BenchResults, SingleResult
from ._tables import Table

__all__ = [
    "FLOOR_GOAL",
    "GAIN_GOAL",
    "KB",
    "Finding",
]

#: Goal: hardened directory ``update_entry`` at least this many times faster than legacy
#: at 10,000 x 1 KB.
GAIN_GOAL = 300.0
#: Goal: directory ``update_entry`` within this factor of the bare-seam floor.
FLOOR_GOAL = 1.5
KB = 1024


@dataclass(frozen=True)
class Finding:
    key: str
    question: str
    answer: str
    tables: tuple[Table, ...] = ()
    #: ``"met"`` / ``"not met"`` for questions with a goal; ``None`` otherwise.
    verdict: str | None = None


def _single(
    results: BenchResults, layout: str, profile: str, size: int, entry: int = KB
) -> SingleResult | None:
    for r in results.single:
        if (r.layout, r.profile, r.size, r.entry_bytes) == (layout, profile, size, entry):
            return r
    return None


def _sizes(results: BenchResults, entry: int = KB) -> list[int]:
    return sorted({r.size for r in results.single if r.entry_bytes == entry})


def _faster(slow_ns: float, fast_ns: float) -> str:
    """``"3.2x faster"`` / ``"1.5x slower"`` for the second time against the first."""
    if fast_ns <= slow_ns:
        return f"{fmt_ratio(slow_ns / fast_ns)} faster"
    return f"{fmt_ratio(fast_ns / slow_ns)} slower"


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
