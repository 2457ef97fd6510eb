"""The micro-benchmarks' results (pytest-benchmark's ``--benchmark-json`` file), as tables.

``make bench ARGS="--benchmark-json=reports/latest/micro-benchmarks.json"`` writes the
file; :func:`~harness.report.write_report` renders one it finds beside the report, the
way it renders ``crash-summary.json``. Only the fields pytest-benchmark has written
since its 3.x releases are read (``benchmarks[].name``, ``.params``, ``.stats`` with
seconds as floats), and a benchmark missing any of them is counted and left out, never
guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._format import fmt_ms, fmt_rate
from ._sidecar import parse_rows, read_sidecar
from ._tables import Table

__all__ = ["MICRO_NAME", "MicroBenchmark", "MicroSummary", "load_micro", "micro_tables"]

MICRO_NAME = "micro-benchmarks.json"


@dataclass(frozen=True)
class MicroBenchmark:
    """One pytest-benchmark result; durations in nanoseconds, rounded."""

    name: str
    group: str
    rounds: int
    min_ns: int
    median_ns: int
    mean_ns: int
    max_ns: int
    ops: float


@dataclass(frozen=True)
class MicroSummary:
    benchmarks: tuple[MicroBenchmark, ...] = ()
    #: When the run was made (pytest-benchmark's ``datetime``), ``""`` when absent.
    datetime: str = ""
    #: pytest-benchmark's version, ``""`` when absent.
    version: str = ""
    skipped_rows: int = 0
    #: Set when the file could not be read at all.
    error: str = ""


def _ns(stats: Mapping[str, Any], name: str) -> int:
    value = stats[name]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeError(f"{name} is not a number")
    return round(value * 1e9)


def _benchmark(raw: Any) -> MicroBenchmark:
    stats = raw["stats"]
    rounds = stats["rounds"]
    if not isinstance(rounds, int):
        raise TypeError("rounds is not an integer")
    return MicroBenchmark(
        name=str(raw["name"]),
        group=str(raw.get("group") or ""),
        rounds=rounds,
        min_ns=_ns(stats, "min"),
        median_ns=_ns(stats, "median"),
        mean_ns=_ns(stats, "mean"),
        max_ns=_ns(stats, "max"),
        ops=float(stats.get("ops") or 0.0),
    )


def load_micro(path: Path) -> MicroSummary | None:
    """The file at ``path``; ``None`` when there is none, ``error`` set when unreadable."""
    found = read_sidecar(path)
    if found is None:
        return None
    raw, error = found
    if error:
        return MicroSummary(error=error)
    if not isinstance(raw, dict) or not isinstance(raw.get("benchmarks"), list):
        return MicroSummary(error="no 'benchmarks' list: not a pytest-benchmark JSON file")
    kept, skipped = parse_rows(raw["benchmarks"], _benchmark)
    return MicroSummary(
        benchmarks=tuple(sorted(kept, key=lambda b: b.name)),
        datetime=str(raw.get("datetime") or ""),
        version=str(raw.get("version") or ""),
        skipped_rows=skipped,
    )


def micro_tables(summary: MicroSummary) -> list[Table]:
    if not summary.benchmarks:
        return []
    made = f" ({summary.datetime}, pytest-benchmark {summary.version})" if summary.datetime else ""
    return [
        Table(
            title="Micro-benchmarks (pytest-benchmark)",
            headers=("benchmark", "rounds", "min ms", "median ms", "mean ms", "max ms", "ops/s"),
            rows=tuple(
                (
                    b.name,
                    str(b.rounds),
                    fmt_ms(b.min_ns),
                    fmt_ms(b.median_ns),
                    fmt_ms(b.mean_ns),
                    fmt_ms(b.max_ns),
                    fmt_rate(b.ops),
                )
                for b in summary.benchmarks
            ),
            note=(
                "tests/benchmarks/, 1,000 x 1 KB stores on real temp folders, run on their "
                f"own{made}; a separate run from the tables above."
            ),
        )
    ]
