"""Tables of a report, built once and rendered as Markdown and as HTML alike.

Durations are in milliseconds (the unit is in each header), ratios end in ``x``, and
every figure comes straight from a :class:`BenchResults` value through
:mod:`harness.report._format` -- the tables compute nothing the JSON does not hold,
except the ratios their headers name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._format import fmt_count, fmt_ms, fmt_rate, fmt_ratio
from ._results import BenchResults, ContentionResult, LatencyStats, SingleResult

__all__ = [
    "Table",
    "contention_table",
    "diagnosis_tables",
    "entry_label",
    "migration_table",
    "single_table",
    "skipped_table",
]


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(f"row {row!r} does not fit headers {self.headers!r}")


def entry_label(entry_bytes: int) -> str:
    if entry_bytes % 1024 == 0:
        return f"{entry_bytes // 1024} KB"
    return f"{entry_bytes} B"


def _lock(stats_p50: int | None) -> str:
    return fmt_ms(stats_p50) if stats_p50 is not None else "-"


#: Below these, a median or a p99 says little: a p50 of 3 calls is one call's time, and
#: a p99 of fewer than 100 calls lies between the two largest (docs/benchmarks.md).
FEW_SAMPLES = 10
FEW_FOR_P99 = 100
#: the marks, explained in every note of a table that uses them
FEW_MARK = "*"
P99_MARK = "~"
FEW_NOTE = (
    f"{FEW_MARK}: fewer than {FEW_SAMPLES} samples behind the cell; "
    f"{P99_MARK}: a p99 of fewer than {FEW_FOR_P99} calls, which is about the maximum."
)


def p50(stats: LatencyStats) -> str:
    return fmt_ms(stats.p50_ns) + (FEW_MARK if stats.n < FEW_SAMPLES else "")


def p99(stats: LatencyStats) -> str:
    mark = FEW_MARK if stats.n < FEW_SAMPLES else P99_MARK if stats.n < FEW_FOR_P99 else ""
    return fmt_ms(stats.p99_ns) + mark


def _floor_cells(r: SingleResult) -> tuple[str, str]:
    if r.layout == "sqlite":
        # SQLite writes through its own pager, never the seam's tmp + rename.
        return "n/a", "n/a"
    return p50(r.floor), fmt_ratio(r.floor_ratio)


def single_table(rows: Sequence[SingleResult]) -> Table:
    return Table(
        title="update_entry, one writer",
        headers=(
            "layout",
            "profile",
            "entries",
            "entry",
            "n",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ops/s",
            "lock p50 ms",
            "bytes/update",
            "floor p50 ms",
            "update/floor",
            "read_updated_at p50 ms",
            "load cold p50 ms",
            "load cached p50 ms",
        ),
        rows=tuple(
            (
                r.layout,
                r.profile,
                fmt_count(r.size),
                entry_label(r.entry_bytes),
                str(r.update.n) + (FEW_MARK if r.update.n < FEW_SAMPLES else ""),
                p50(r.update),
                p99(r.update),
                fmt_ms(r.update.max_ns),
                fmt_rate(r.throughput_ops_s),
                _lock(r.lock_acquire.p50_ns if r.lock_acquire else None),
                fmt_count(r.bytes_per_update),
                *_floor_cells(r),
                p50(r.read_updated_at),
                p50(r.load_cold),
                p50(r.load_cached),
            )
            for r in rows
        ),
        note=(
            "ops/s is one writer's rate (calls / time inside them). bytes/update is counted "
            "at the seam (SQLite: bytes the process wrote, page-sized WAL frames). The floor "
            "writes the same bytes as tmp + rename on the bare seam, with the profile's "
            "fsync, right after each call; n/a for SQLite, which does its own I/O. " + FEW_NOTE
        ),
    )


def contention_table(rows: Sequence[ContentionResult]) -> Table:
    return Table(
        title="update_entry under contention",
        headers=(
            "layout",
            "profile",
            "entries",
            "writers",
            "as",
            "keys",
            "ops",
            "errors",
            "p50 ms",
            "p99 ms",
            "max ms",
            "ops/s",
            "lock p50 ms",
            "lock p99 ms",
        ),
        rows=tuple(
            (
                r.layout,
                r.profile,
                fmt_count(r.size),
                str(r.writers),
                r.mode,
                r.keys,
                str(r.ops),
                str(r.errors),
                p50(r.update),
                p99(r.update),
                fmt_ms(r.update.max_ns),
                fmt_rate(r.throughput_ops_s),
                _lock(r.lock_acquire.p50_ns if r.lock_acquire else None),
                _lock(r.lock_acquire.p99_ns if r.lock_acquire else None),
            )
            for r in rows
        ),
        note=(
            "ops/s: all writers' calls over the cell's wall time (first start to last end). "
            "Lock: time to take the store lock (SQLite: BEGIN IMMEDIATE). " + FEW_NOTE
        ),
    )


def migration_table(results: BenchResults) -> Table:
    return Table(
        title="migrate (legacy → directory)",
        headers=("profile", "entries", "entry", "runs", "p50 ms", "max ms"),
        rows=tuple(
            (
                m.profile,
                fmt_count(m.size),
                entry_label(m.entry_bytes),
                str(m.time.n),
                p50(m.time),
                fmt_ms(m.time.max_ns),
            )
            for m in results.migration
        ),
        note=FEW_NOTE,
    )


def diagnosis_tables(results: BenchResults) -> list[Table]:
    tables: list[Table] = []
    for d in results.diagnosis:
        label = f"{d.layout}/{d.profile}, {d.size:,} x {entry_label(d.entry_bytes)}, {d.ops} calls"
        seam_total = sum(r.ns_per_op for r in d.seam)
        tables.append(
            Table(
                title=f"Seam time per update_entry ({label})",
                headers=("target", "call", "calls/update", "ms/update", "share of update"),
                rows=(
                    *(
                        (
                            r.target,
                            r.operation,
                            f"{r.calls_per_op:g}",
                            fmt_ms(r.ns_per_op),
                            f"{100 * r.ns_per_op / d.update_ns_per_op:.1f}%",
                        )
                        for r in d.seam
                    ),
                    (
                        "all",
                        "seam total",
                        "",
                        fmt_ms(seam_total),
                        f"{100 * seam_total / d.update_ns_per_op:.1f}%",
                    ),
                    (
                        "all",
                        "update_entry",
                        "",
                        fmt_ms(d.update_ns_per_op),
                        "100.0%",
                    ),
                ),
            )
        )
        tables.append(
            Table(
                title=f"Seam time per floor write (same bytes, {label})",
                headers=("target", "call", "calls/write", "ms/write"),
                rows=tuple(
                    (r.target, r.operation, f"{r.calls_per_op:g}", fmt_ms(r.ns_per_op))
                    for r in d.floor_seam
                ),
            )
        )
        tables.append(
            Table(
                title=f"cProfile, top functions by own time ({label})",
                headers=("function", "calls/update", "own ms/update", "cumulative ms/update"),
                rows=tuple(
                    (
                        f.function,
                        f"{f.calls_per_op:g}",
                        fmt_ms(f.tottime_ns_per_op),
                        fmt_ms(f.cumtime_ns_per_op),
                    )
                    for f in d.functions
                ),
                note="Times under cProfile are inflated by the profiler; compare shares.",
            )
        )
    return tables


def skipped_table(results: BenchResults) -> Table:
    return Table(
        title="Cells left out",
        headers=("part", "cell", "reason"),
        rows=tuple((s.kind, s.cell, s.reason) for s in results.skipped),
    )
