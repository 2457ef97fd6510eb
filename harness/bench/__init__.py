"""Contention benchmarks of the session store layouts, on real temp folders only.

Public entry points: :class:`BenchConfig` (the grid: :meth:`BenchConfig.quick`,
:meth:`BenchConfig.full_grid`, narrowed with :meth:`BenchConfig.narrowed`) and
:func:`run_bench`, which returns :class:`~harness.report.BenchResults`. The parts are
importable for tests and micro-benchmarks: the workloads, the floor, the statistics,
and the per-entry-lock directory variant.

Timings use ``time.perf_counter_ns``; pyfakefs is never used here (its times mean
nothing), and every file lives under a ``store-harness-bench-`` temp root that is
removed afterwards.
"""

from ._floor import floor_write, measure_floor
from ._grid import (
    BENCH_PROFILES,
    KEY_MODES,
    LAYOUTS,
    MODES,
    PARTS,
    BenchConfig,
    ContentionCell,
    DiagnosisCell,
    MigrationCell,
    Plan,
    SingleCell,
    bench_profile,
)
from ._locks import LockProbe, PerKeyLockDirectoryStore, TimedStoreLock, instrument_lock
from ._runner import NullProgress, ProgressSink, machine_info, run_bench
from ._stats import median_interval, percentile, ratio, summarize, throughput
from ._stores import TEMP_PREFIX, build_store, open_bench_store, temp_root
from ._workloads import (
    ENTRY_SIZES,
    encoded_size,
    entry_size_label,
    make_entry,
    make_key,
    make_keys,
    make_store,
    new_patch,
    parse_entry_size,
)

__all__ = [
    "BENCH_PROFILES",
    "ENTRY_SIZES",
    "KEY_MODES",
    "LAYOUTS",
    "MODES",
    "PARTS",
    "TEMP_PREFIX",
    "BenchConfig",
    "ContentionCell",
    "DiagnosisCell",
    "LockProbe",
    "MigrationCell",
    "NullProgress",
    "PerKeyLockDirectoryStore",
    "Plan",
    "ProgressSink",
    "SingleCell",
    "TimedStoreLock",
    "bench_profile",
    "build_store",
    "encoded_size",
    "entry_size_label",
    "floor_write",
    "instrument_lock",
    "machine_info",
    "make_entry",
    "make_key",
    "make_keys",
    "make_store",
    "measure_floor",
    "median_interval",
    "new_patch",
    "open_bench_store",
    "parse_entry_size",
    "percentile",
    "ratio",
    "run_bench",
    "summarize",
    "temp_root",
    "throughput",
]
