"""The benchmark results file: its schema as frozen dataclasses, and JSON both ways.

Promise: ``BenchResults.from_json(results.to_json())`` equals ``results``; every duration
is an integer number of nanoseconds (measured with ``time.perf_counter_ns``), every size
an integer number of bytes, so the file is exact and the report formats it only at the
edge. A file of another ``schema`` is refused with a :class:`ResultsError`, never half
read.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import HarnessError

__all__ = [
    "SCHEMA",
    "BenchResults",
    "ContentionResult",
    "Diagnosis",
    "LatencyStats",
    "MachineInfo",
    "MigrationResult",
    "ProfileRow",
    "ResultsError",
    "RunInfo",
    "SeamRow",
    "SingleResult",
    "SkippedCell",
]

SCHEMA = "store-harness.bench/1"


class ResultsError(HarnessError):
    """A results file that is not (this version of) the benchmark schema."""


@dataclass(frozen=True)
class LatencyStats:
    """Summary of ``n`` timings, each in nanoseconds (percentiles interpolate linearly)."""

    n: int
    min_ns: int
    mean_ns: int
    p50_ns: int
    p99_ns: int
    max_ns: int


@dataclass(frozen=True)
class MachineInfo:
    platform: str
    machine: str
    python: str
    implementation: str
    cpu_count: int
    hostname: str
    #: File system type of the folder the temp roots were created in (``/proc/mounts``).
    temp_fs: str
    #: CPU model name (``/proc/cpuinfo``), ``""`` where unknown.
    cpu_model: str = ""
    #: Physical memory in bytes (``sysconf``), 0 where unknown.
    memory_bytes: int = 0
    #: Kernel release (``platform.release()``).
    kernel: str = ""
    #: Mount options of that file system (``discard``, ``relatime``, ...).
    temp_fs_options: str = ""


@dataclass(frozen=True)
class RunInfo:
    """How the results were produced: the exact command line and the grid it ran."""

    command: str
    argv: tuple[str, ...]
    started_at: str
    wall_ns: int
    harness_version: str
    #: The resolved grid (layouts, profiles, sizes, ...) as plain JSON values.
    config: Mapping[str, Any]


@dataclass(frozen=True)
class SingleResult:
    """One writer on one store: ``update_entry``, reads, loads, and the floor."""

    layout: str
    profile: str
    size: int
    entry_bytes: int
    #: On-disk bytes of the store after set-up (all files of the layout).
    store_bytes: int
    update: LatencyStats
    throughput_ops_s: float
    #: Time to take the store's lock (uncontended here), or ``None`` where not measurable.
    lock_acquire: LatencyStats | None
    #: Bytes written per ``update_entry``: at the seam, or by the process for SQLite.
    bytes_per_update: int
    #: Where the bytes were counted: ``"seam"`` or ``"process"`` (``/proc/self/io``).
    bytes_source: str
    #: Mean seam calls per ``update_entry`` by operation (empty for SQLite).
    seam_calls_per_update: Mapping[str, float]
    #: ``bytes_per_update`` written as tmp + rename through the bare seam.
    floor: LatencyStats
    floor_fsync: bool
    #: Median over the calls of ``update_i / floor_i`` (each call and its floor write run
    #: back to back, so both see the same state of the disk).
    floor_ratio: float
    read_updated_at: LatencyStats
    load_cold: LatencyStats
    load_cached: LatencyStats
    #: ~95% confidence interval of ``floor_ratio`` (``median_interval`` over the same
    #: per-call ratios); ``None`` in results written before it was recorded.
    floor_ratio_interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class ContentionResult:
    """Several writers at once, as threads or processes, on distinct or shared keys."""

    layout: str
    profile: str
    size: int
    entry_bytes: int
    writers: int
    mode: str
    keys: str
    ops: int
    errors: int
    wall_ns: int
    throughput_ops_s: float
    update: LatencyStats
    lock_acquire: LatencyStats | None


@dataclass(frozen=True)
class MigrationResult:
    profile: str
    size: int
    entry_bytes: int
    time: LatencyStats


@dataclass(frozen=True)
class SeamRow:
    """Time spent in one seam operation on one kind of path, per ``update_entry``."""

    target: str
    operation: str
    calls_per_op: float
    ns_per_op: int


@dataclass(frozen=True)
class ProfileRow:
    """One function of a cProfile run, per ``update_entry``."""

    function: str
    calls_per_op: float
    tottime_ns_per_op: int
    cumtime_ns_per_op: int


@dataclass(frozen=True)
class Diagnosis:
    """Where the time of one cell's ``update_entry`` goes, next to its floor."""

    layout: str
    profile: str
    size: int
    entry_bytes: int
    ops: int
    update_ns_per_op: int
    floor_ns_per_op: int
    seam: tuple[SeamRow, ...]
    floor_seam: tuple[SeamRow, ...]
    functions: tuple[ProfileRow, ...]


@dataclass(frozen=True)
class SkippedCell:
    kind: str
    cell: str
    reason: str


@dataclass(frozen=True)
class BenchResults:
    schema: str
    run: RunInfo
    machine: MachineInfo
    single: tuple[SingleResult, ...]
    contention: tuple[ContentionResult, ...]
    migration: tuple[MigrationResult, ...]
    diagnosis: tuple[Diagnosis, ...]
    skipped: tuple[SkippedCell, ...]

    # --- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))  # type: ignore[no-any-return]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BenchResults:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ResultsError(f"results file is not JSON: {exc}") from None
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Any) -> BenchResults:
        if not isinstance(raw, dict):
            raise ResultsError("results file must hold a JSON object")
        if raw.get("schema") != SCHEMA:
            raise ResultsError(f"results schema {raw.get('schema')!r} is not {SCHEMA!r}")
        try:
            return BenchResults(
                schema=SCHEMA,
                run=_run(raw["run"]),
                machine=MachineInfo(**raw["machine"]),
                single=tuple(_single(r) for r in raw["single"]),
                contention=tuple(_contention(r) for r in raw["contention"]),
                migration=tuple(
                    MigrationResult(**{**r, "time": LatencyStats(**r["time"])})
                    for r in raw["migration"]
                ),
                diagnosis=tuple(_diagnosis(r) for r in raw["diagnosis"]),
                skipped=tuple(SkippedCell(**r) for r in raw["skipped"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(f"results file does not match {SCHEMA}: {exc!r}") from None


def _plain(value: Any) -> Any:
    """Tuples to lists and mappings to dicts, so ``json`` and equality round-trip."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _stats(raw: Any) -> LatencyStats | None:
    return None if raw is None else LatencyStats(**raw)


def _run(raw: Mapping[str, Any]) -> RunInfo:
    return RunInfo(**{**raw, "argv": tuple(raw["argv"]), "config": dict(raw["config"])})


def _single(raw: Mapping[str, Any]) -> SingleResult:
    fields = dict(raw)
    for name in ("update", "floor", "read_updated_at", "load_cold", "load_cached"):
        fields[name] = LatencyStats(**raw[name])
    fields["lock_acquire"] = _stats(raw["lock_acquire"])
    fields["seam_calls_per_update"] = dict(raw["seam_calls_per_update"])
    interval = raw.get("floor_ratio_interval")
    fields["floor_ratio_interval"] = None if interval is None else (interval[0], interval[1])
    return SingleResult(**fields)


def _contention(raw: Mapping[str, Any]) -> ContentionResult:
    fields = dict(raw)
    fields["update"] = LatencyStats(**raw["update"])
    fields["lock_acquire"] = _stats(raw["lock_acquire"])
    return ContentionResult(**fields)


def _rows(raw: Sequence[Mapping[str, Any]]) -> tuple[SeamRow, ...]:
    return tuple(SeamRow(**r) for r in raw)


def _diagnosis(raw: Mapping[str, Any]) -> Diagnosis:
    fields = dict(raw)
    fields["seam"] = _rows(raw["seam"])
    fields["floor_seam"] = _rows(raw["floor_seam"])
    fields["functions"] = tuple(ProfileRow(**r) for r in raw["functions"])
    return Diagnosis(**fields)
