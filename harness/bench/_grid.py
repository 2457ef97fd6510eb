"""The benchmark grid: its dimensions, the quick and full presets, and the cells a run
measures.

A *cell* is one combination of the dimensions that gets its own fresh store in its own
temp folder. :meth:`BenchConfig.plan` expands the chosen dimensions into cells and
records every combination it leaves out, with the reason, so a report can say what was
not measured instead of silently showing a gap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_store import HARDENED, SEED, Profile

from .._errors import UsageError
from ..report._results import SkippedCell
from ._workloads import ENTRY_SIZES, entry_size_label

__all__ = [
    "BENCH_PROFILES",
    "KEY_MODES",
    "LAYOUTS",
    "MODES",
    "PARTS",
    "BenchConfig",
    "ContentionCell",
    "DiagnosisCell",
    "MigrationCell",
    "Plan",
    "SingleCell",
    "bench_profile",
]

#: Layouts of the grid; ``directory-perkey`` is the hardened directory layout with one
#: lock per entry file (harness.bench._locks), measured under contention only.
LAYOUTS = ("legacy", "directory", "directory-perkey", "sqlite")
#: ``hardened-nofsync`` is ``HARDENED.with_changes(fsync=False)``: what fsync costs.
BENCH_PROFILES: dict[str, Profile] = {
    "seed": SEED,
    "hardened": HARDENED,
    "hardened-nofsync": HARDENED.with_changes(name="hardened-nofsync", fsync=False),
}
MODES = ("threads", "processes")
KEY_MODES = ("distinct", "shared")
PARTS = ("single", "contention", "migration", "diagnosis")

QUICK_SIZES = (10, 100, 1_000, 10_000)
FULL_SIZES = (10, 100, 1_000, 10_000, 100_000)
WRITERS = (1, 2, 4, 8)
#: Quick runs measure heavy entries only on stores this small.
QUICK_HEAVY_MAX_SIZE = 100
#: Stores larger than this many bytes are left out (a 10,000 x 150 KB legacy file is
#: 1.5 GB rewritten per update; upstream reports 0.5-80 MB files).
DEFAULT_MAX_STORE_MB = 300


def bench_profile(name: str) -> Profile:
    try:
        return BENCH_PROFILES[name]
    except KeyError:
        raise UsageError(
            f"unknown profile {name!r}; choose from {', '.join(BENCH_PROFILES)}"
        ) from None


@dataclass(frozen=True, order=True)
class SingleCell:
    layout: str
    profile: str
    size: int
    entry_bytes: int

    @property
    def label(self) -> str:
        return f"{self.layout}/{self.profile} {self.size}x{entry_size_label(self.entry_bytes)}"


@dataclass(frozen=True, order=True)
class ContentionCell:
    layout: str
    profile: str
    size: int
    entry_bytes: int
    writers: int
    mode: str
    keys: str

    @property
    def label(self) -> str:
        return (
            f"{self.layout}/{self.profile} {self.writers} {self.mode} {self.keys} keys "
            f"{self.size}x{entry_size_label(self.entry_bytes)}"
        )


@dataclass(frozen=True, order=True)
class MigrationCell:
    profile: str
    size: int
    entry_bytes: int

    @property
    def label(self) -> str:
        return f"migrate/{self.profile} {self.size}x{entry_size_label(self.entry_bytes)}"


@dataclass(frozen=True, order=True)
class DiagnosisCell:
    layout: str
    profile: str
    size: int
    entry_bytes: int

    @property
    def label(self) -> str:
        return (
            f"profile {self.layout}/{self.profile} {self.size}x{entry_size_label(self.entry_bytes)}"
        )


@dataclass(frozen=True)
class Plan:
    single: tuple[SingleCell, ...]
    contention: tuple[ContentionCell, ...]
    migration: tuple[MigrationCell, ...]
    diagnosis: tuple[DiagnosisCell, ...]
    skipped: tuple[SkippedCell, ...]

    @property
    def cell_count(self) -> int:
        return len(self.single) + len(self.contention) + len(self.migration) + len(self.diagnosis)


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class BenchConfig:
    """Every choice of a run. :meth:`quick` and :meth:`full` are the presets; the CLI
    narrows them with ``dataclasses.replace``."""

    full: bool = False
    layouts: tuple[str, ...] = ("legacy", "directory", "directory-perkey", "sqlite")
    profiles: tuple[str, ...] = ("seed", "hardened", "hardened-nofsync")
    sizes: tuple[int, ...] = QUICK_SIZES
    entry_sizes: tuple[int, ...] = (ENTRY_SIZES["1KB"],)
    writers: tuple[int, ...] = WRITERS
    modes: tuple[str, ...] = MODES
    keys: tuple[str, ...] = KEY_MODES
    #: Store sizes the contention cells run at.
    contention_sizes: tuple[int, ...] = (100,)
    #: Store sizes the migration cells run at.
    migration_sizes: tuple[int, ...] = (10, 100, 1_000)
    #: Largest migration of a profile that fsyncs (two fsyncs per entry file).
    migration_fsync_max_size: int = 100
    #: Largest store of the ``hardened-nofsync`` single cells (quick runs only).
    nofsync_max_size: int = 1_000
    #: Most ``update_entry`` calls per single-writer cell, and per writer under contention.
    ops: int = 200
    #: Fewest ``update_entry`` calls per cell, even past ``cell_seconds``.
    min_ops: int = 3
    #: Fewest ``read_updated_at`` calls and loads per cell, even past ``cell_seconds``.
    min_loads: int = 1
    #: Time budget of one cell's ``update_entry`` loop (and of each other timed loop).
    cell_seconds: float = 0.5
    #: Time budget of each read and load loop of a cell.
    load_seconds: float = 0.15
    #: Ops per writer in contention cells.
    contention_ops: int = 5
    seed: int = 0
    parts: tuple[str, ...] = PARTS
    max_store_bytes: int = DEFAULT_MAX_STORE_MB * 1024 * 1024
    #: Cell of the cProfile / seam-time diagnosis.
    diagnosis_size: int = 1_000
    diagnosis_ops: int = 50
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def quick(cls) -> BenchConfig:
        return cls()

    @classmethod
    def full_grid(cls) -> BenchConfig:
        return cls(
            full=True,
            sizes=FULL_SIZES,
            entry_sizes=tuple(ENTRY_SIZES.values()),
            contention_sizes=(100, 1_000),
            migration_sizes=FULL_SIZES,
            migration_fsync_max_size=10_000,
            nofsync_max_size=100_000,
            ops=1_000,
            min_ops=5,
            min_loads=3,
            cell_seconds=3.0,
            load_seconds=1.0,
            contention_ops=20,
            diagnosis_ops=300,
        )

    def narrowed(self, **changes: Any) -> BenchConfig:
        """A copy with the given dimensions replaced (``None`` values are ignored)."""
        kept = {k: v for k, v in changes.items() if v is not None and v != ()}
        config = dataclasses.replace(self, **kept)
        config.validate()
        return config

    def validate(self) -> None:
        for name, chosen, allowed in (
            ("layout", self.layouts, LAYOUTS),
            ("profile", self.profiles, tuple(BENCH_PROFILES)),
            ("mode", self.modes, MODES),
            ("keys", self.keys, KEY_MODES),
            ("part", self.parts, PARTS),
        ):
            bad = [c for c in chosen if c not in allowed]
            if bad:
                raise UsageError(f"unknown {name} {bad[0]!r}; choose from {', '.join(allowed)}")
        numbers = (*self.sizes, *self.contention_sizes, *self.migration_sizes, *self.writers)
        if any(n < 1 for n in numbers) or any(n < 1 for n in self.entry_sizes):
            raise UsageError("sizes, entry sizes and writer counts must be positive")
        if min(self.ops, self.min_ops, self.min_loads, self.contention_ops) < 1:
            raise UsageError("op counts must be positive")

    def to_json(self) -> dict[str, Any]:
        """The config as plain JSON values (lists, not tuples)."""
        plain: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            plain[f.name] = list(value) if isinstance(value, tuple) else value
        plain["extra"] = dict(self.extra)
        return plain

    # --- the cells ------------------------------------------------------------------------
    def plan(self) -> Plan:
        self.validate()
        skipped: list[SkippedCell] = []
        single: list[SingleCell] = []
        contention: list[ContentionCell] = []
        migration: list[MigrationCell] = []
        diagnosis: list[DiagnosisCell] = []

        def skip(kind: str, label: str, reason: str) -> None:
            skipped.append(SkippedCell(kind=kind, cell=label, reason=reason))

        if "single" in self.parts:
            for layout in _unique(self.layouts):
                for profile in _unique(self.profiles):
                    for size in _unique(self.sizes):
                        for entry in _unique(self.entry_sizes):
                            cell = SingleCell(layout, profile, size, entry)
                            reason = self._single_reason(cell)
                            if reason is None:
                                single.append(cell)
                            elif reason:
                                skip("single", cell.label, reason)

        if "contention" in self.parts:
            top = max(self.writers)
            for layout in _unique(self.layouts):
                for profile in _unique(self.profiles):
                    for size in _unique(self.contention_sizes):
                        for writers in sorted(set(self.writers)):
                            for mode in _unique(self.modes):
                                for keys in _unique(self.keys):
                                    ccell = ContentionCell(
                                        layout, profile, size, 1024, writers, mode, keys
                                    )
                                    reason = self._contention_reason(ccell, top)
                                    if reason is None:
                                        contention.append(ccell)
                                    elif reason:
                                        skip("contention", ccell.label, reason)

        if "migration" in self.parts:
            for profile in _unique(self.profiles):
                if profile == "hardened-nofsync" and not self.full:
                    continue
                for size in _unique(self.migration_sizes):
                    for entry in _unique(self.entry_sizes):
                        mcell = MigrationCell(profile, size, entry)
                        if not self.full and entry != 1024:
                            continue
                        if size * entry > self.max_store_bytes:
                            skip("migration", mcell.label, self._too_big(size, entry))
                            continue
                        if BENCH_PROFILES[profile].fsync and size > self.migration_fsync_max_size:
                            skip(
                                "migration",
                                mcell.label,
                                f"{2 * size:,} fsyncs (the limit is "
                                f"{self.migration_fsync_max_size:,} entries with fsync)",
                            )
                            continue
                        migration.append(mcell)

        if (
            "diagnosis" in self.parts
            and "directory" in self.layouts
            and "hardened" in self.profiles
        ):
            diagnosis.append(DiagnosisCell("directory", "hardened", self.diagnosis_size, 1024))

        return Plan(
            single=tuple(single),
            contention=tuple(contention),
            migration=tuple(migration),
            diagnosis=tuple(diagnosis),
            skipped=tuple(skipped),
        )

    def _too_big(self, size: int, entry: int) -> str:
        return (
            f"store of {size * entry / 1e6:.0f} MB exceeds the "
            f"{self.max_store_bytes / 1e6:.0f} MB cap (--max-store-mb)"
        )

    def _single_reason(self, cell: SingleCell) -> str | None:
        """``None``: measure; ``""``: leave out quietly (a preset's choice); else why not."""
        if cell.layout == "directory-perkey":
            return ""  # one writer: identical to hardened directory; contention only
        if cell.layout == "sqlite" and cell.profile == "hardened-nofsync":
            return ""  # SQLite ignores the fsync flag (WAL, synchronous=NORMAL)
        if cell.size * cell.entry_bytes > self.max_store_bytes:
            return self._too_big(cell.size, cell.entry_bytes)
        if not self.full and cell.entry_bytes != 1024 and cell.size > QUICK_HEAVY_MAX_SIZE:
            return ""
        if cell.profile == "hardened-nofsync" and cell.size > self.nofsync_max_size:
            return ""
        return None

    def _contention_reason(self, cell: ContentionCell, top_writers: int) -> str | None:
        if cell.layout == "directory-perkey" and not BENCH_PROFILES[cell.profile].keyed_files:
            return ""  # per-entry locks need keyed files (hardened profiles)
        if cell.layout == "sqlite" and cell.profile == "hardened-nofsync":
            return ""  # SQLite ignores the fsync flag (WAL, synchronous=NORMAL)
        if cell.size * cell.entry_bytes > self.max_store_bytes:
            return self._too_big(cell.size, cell.entry_bytes)
        if not self.full:
            if cell.profile == "hardened-nofsync":
                return ""
            if cell.keys == "shared" and cell.writers != top_writers:
                return ""
            if cell.profile == "seed" and (cell.writers != top_writers or cell.keys != "distinct"):
                return ""
        return None
