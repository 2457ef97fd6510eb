"""Running the grid on real temp folders, timed with ``perf_counter_ns``.

Stores are built once per on-disk format, store size and entry size, and shared by
every cell that needs that store (seed and hardened legacy share one ``sessions.json``;
hardened, hardened-nofsync and per-key-lock directories share one keyed folder): on a
slow disk, creating and deleting 10,000-file folders would otherwise cost more than
measuring them. Cells only update existing entries, so a store keeps its size and shape
from one cell to the next. A store is deleted as soon as its last cell is done.

Per single-writer cell, on a store object with a fresh cache:
1. one unrecorded ``update_entry`` (on stores of at most 1,000 entries; on larger ones a
   call costs far more than any first-call effect);
2. ``update_entry`` calls on the bare seam, which counts only the bytes written
   (:class:`WriteCountingFileSystem`; SQLite: the process's ``wchar`` around each
   call), each followed by its floor -- the bytes it just wrote, as tmp + rename on the
   bare seam, in the folder the update wrote to (see :func:`floor_path`) -- so both see
   the same state of the disk; the floor ratio is the median of these pairs' ratios,
   which cancels the slow drifts of a shared disk; the lock acquisition is timed inside
   each call; then seam calls per update, counted on a few untimed updates through a
   :class:`CountingFileSystem`;
3. ``read_updated_at`` (after one unrecorded call on stores of at most 1,000 entries),
   ``load(skip_cache=True)`` (cold; each one also refills the cache, as a real load
   does) and then ``load()`` (cached).
Each timed loop runs at least ``min_ops`` (reads and loads: ``min_loads``) and at most
``ops`` times, stopping after ``cell_seconds`` (``load_seconds``) once the minimum is
reached. Progress is drawn
only between loops, so the progress display never writes during a measurement.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import shlex
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Protocol

from reference_store import (
    CountingFileSystem,
    DirectoryStore,
    OsFileSystem,
    SessionCache,
    SessionStore,
    migrate,
)

from .._errors import HarnessError
from ..report._results import (
    SCHEMA,
    BenchResults,
    ContentionResult,
    Diagnosis,
    MachineInfo,
    MigrationResult,
    RunInfo,
    SingleResult,
)
from ._diagnose import TimingFileSystem, profile_calls, seam_rows
from ._floor import WriteCountingFileSystem, floor_write, measure_floor
from ._grid import (
    BenchConfig,
    ContentionCell,
    DiagnosisCell,
    MigrationCell,
    SingleCell,
    bench_profile,
)
from ._locks import LockProbe, instrument_lock
from ._stats import median_interval, percentile, ratio, summarize, throughput
from ._stores import (
    build_store,
    disk_bytes,
    open_bench_store,
    process_bytes_written,
    remove_tree,
    temp_root,
)
from ._workers import ProcessWriters, WriterResult, WriterSpec, run_threads
from ._workloads import make_store, new_patch

__all__ = ["NullProgress", "ProgressSink", "machine_info", "run_bench"]

#: Stores up to this many entries get one unrecorded warm-up update per cell.
WARM_UP_MAX_SIZE = 1_000


class ProgressSink(Protocol):
    def start(self, total: int) -> None: ...
    def note(self, text: str) -> None: ...
    def advance(self) -> None: ...


class NullProgress:
    def start(self, total: int) -> None:
        return None

    def note(self, text: str) -> None:
        return None

    def advance(self) -> None:
        return None


def _timed_loop(
    call: Callable[[int], int], *, max_ops: int, min_ops: int, seconds: float
) -> list[int]:
    """Run ``call(i)`` (which returns its own duration) within the loop limits."""
    timings: list[int] = []
    deadline = time.perf_counter_ns() + int(seconds * 1e9)
    while len(timings) < max_ops and (len(timings) < min_ops or time.perf_counter_ns() < deadline):
        timings.append(call(len(timings)))
    return timings


def _op_keys(keys: Sequence[str], count: int, rng: random.Random) -> list[str]:
    return [keys[rng.randrange(len(keys))] for _ in range(count)]


# --- stores shared by cells ---------------------------------------------------------------
@dataclass(frozen=True, order=True)
class StoreKey:
    size: int
    entry_bytes: int
    format: str


def store_key(layout: str, profile: str, size: int, entry_bytes: int) -> StoreKey:
    """Cells with equal keys can share one store: same files, byte for byte."""
    prof = bench_profile(profile)
    if layout in ("legacy", "sqlite"):
        fmt = layout
    else:
        fmt = "directory-" + ("keyed" if prof.keyed_files else "plain")
        fmt += "-own" if prof.own_folder else ""
    return StoreKey(size, entry_bytes, fmt)


class StorePool:
    """Builds each store on first use, in its own folder under the run's temp root."""

    def __init__(self, root: str, seed: int, progress: ProgressSink) -> None:
        self.root = root
        self.seed = seed
        self.progress = progress
        self._paths: dict[StoreKey, str] = {}

    def path(self, key: StoreKey, layout: str, profile: str) -> str:
        """The store path (``<folder>/sessions.json``) of ``key``, built if new."""
        found = self._paths.get(key)
        if found is not None:
            return found
        folder = os.path.join(self.root, f"store{len(os.listdir(self.root)):03d}")
        os.mkdir(folder)
        store_path = os.path.join(folder, "sessions.json")
        self.progress.note(f"set-up: {key.format} store of {key.size} entries")
        build_store(store_path, layout, profile, make_store(self.seed, key.size, key.entry_bytes))
        self._paths[key] = store_path
        return store_path

    def drop(self, key: StoreKey) -> None:
        path = self._paths.pop(key, None)
        if path is not None:
            remove_tree(os.path.dirname(path))


# --- single writer --------------------------------------------------------------------------
#: Name of the floor's target file. A dot name without the ``.json`` suffix: no layout's
#: load, scan or migration reads it, so it can sit in the store's own folder.
FLOOR_NAME = ".floor"


def floor_path(store: SessionStore) -> str:
    """Where the floor of ``store``'s updates writes: beside the files an update replaces
    (``sessions.d/`` for the directory layouts, the store's folder otherwise). A rename
    costs more in a folder of 10,000 names than in a folder of three, so a floor written
    elsewhere would flatter or wrong the store."""
    if isinstance(store, DirectoryStore):
        os.makedirs(store.dir, exist_ok=True)
        return os.path.join(store.dir, FLOOR_NAME)
    return os.path.join(store.folder, FLOOR_NAME)


def measure_single(
    cell: SingleCell, config: BenchConfig, store_path: str, progress: ProgressSink
) -> SingleResult:
    folder = os.path.dirname(store_path)
    mapping = make_store(config.seed, cell.size, cell.entry_bytes)
    keys = list(mapping)
    rng = random.Random(f"ops:{config.seed}:{cell}")
    store_bytes = disk_bytes(folder)
    sqlite = cell.layout == "sqlite"

    # update_entry, each call followed by its floor: the bytes it just wrote, as tmp +
    # rename on the bare seam -- interleaved, so both see the same state of the disk.
    progress.note(f"{cell.label}: update_entry and floor")
    seam = WriteCountingFileSystem()
    store = open_bench_store(
        store_path, cell.layout, cell.profile, fs=None if sqlite else seam, cache=SessionCache()
    )
    floor_fsync = store.profile.fsync and not sqlite
    bare = OsFileSystem()
    floor_file = floor_path(store)
    probe = LockProbe()
    timed_lock = instrument_lock(store, probe)
    if cell.size <= WARM_UP_MAX_SIZE:
        store.update_entry(keys[0], new_patch())  # warm-up, not recorded
    floor_write(bare, floor_file, b"f" * 1024, fsync=floor_fsync)
    probe.take()
    op_keys = _op_keys(keys, config.ops, rng)
    lock_ns: list[int] = []
    floor_ns: list[int] = []
    written: list[int] = []

    def update(i: int) -> int:
        seam.bytes_written = 0
        before = process_bytes_written() if sqlite else None
        start = time.perf_counter_ns()
        store.update_entry(op_keys[i], new_patch())
        elapsed = time.perf_counter_ns() - start
        after = process_bytes_written() if sqlite else None
        if sqlite:
            nbytes = after - before if after is not None and before is not None else 0
        else:
            nbytes = seam.bytes_written
        written.append(nbytes)
        waited = probe.take()
        if waited is not None:
            lock_ns.append(waited)
        data = b"f" * max(1, nbytes)
        floor_start = time.perf_counter_ns()
        floor_write(bare, floor_file, data, fsync=floor_fsync)
        floor_ns.append(time.perf_counter_ns() - floor_start)
        return elapsed

    updates = _timed_loop(
        update, max_ops=config.ops, min_ops=config.min_ops, seconds=config.cell_seconds
    )
    calls = {} if sqlite else _seam_calls_per_update(cell, store_path, op_keys)

    # reads and loads
    progress.note(f"{cell.label}: reads and loads")
    read_keys = _op_keys(keys, config.ops, rng)

    def read(i: int) -> int:
        start = time.perf_counter_ns()
        store.read_updated_at(read_keys[i])
        return time.perf_counter_ns() - start

    def load_cold(_i: int) -> int:
        start = time.perf_counter_ns()
        store.load(skip_cache=True)
        return time.perf_counter_ns() - start

    def load_cached(_i: int) -> int:
        start = time.perf_counter_ns()
        store.load()
        return time.perf_counter_ns() - start

    def loop(call: Callable[[int], int]) -> list[int]:
        return _timed_loop(
            call, max_ops=config.ops, min_ops=config.min_loads, seconds=config.load_seconds
        )

    if cell.size <= WARM_UP_MAX_SIZE:
        store.read_updated_at(keys[0])  # warm-up, not recorded
    reads = loop(read)
    colds = loop(load_cold)  # the last one left the map in the cache
    cached = loop(load_cached)
    store.close()
    os.unlink(floor_file)

    update_stats = summarize(updates)
    floor_stats = summarize(floor_ns)
    ratios = [ratio(u, f) for u, f in zip(updates, floor_ns, strict=True)]
    low, high = median_interval(ratios)
    ops = len(updates)
    return SingleResult(
        layout=cell.layout,
        profile=cell.profile,
        size=cell.size,
        entry_bytes=cell.entry_bytes,
        store_bytes=store_bytes,
        update=update_stats,
        throughput_ops_s=round(throughput(ops, sum(updates)), 3),
        lock_acquire=summarize(lock_ns) if timed_lock and lock_ns else None,
        bytes_per_update=round(sum(written) / ops),
        bytes_source="process" if sqlite else "seam",
        seam_calls_per_update=calls,
        floor=floor_stats,
        floor_fsync=floor_fsync,
        floor_ratio=round(percentile(ratios, 50), 3),
        read_updated_at=summarize(reads),
        load_cold=summarize(colds),
        load_cached=summarize(cached),
        floor_ratio_interval=(round(low, 3), round(high, 3)),
    )


#: Untimed updates whose seam calls are counted, per cell: at least one, at most this many,
#: stopping after ``CALL_SAMPLE_SECONDS`` (a seed update of 10,000 entries takes a second).
CALL_SAMPLE_OPS = 5
CALL_SAMPLE_SECONDS = 0.5


def _seam_calls_per_update(
    cell: SingleCell, store_path: str, op_keys: Sequence[str]
) -> dict[str, float]:
    """Seam calls per ``update_entry`` of ``cell``, counted on a few untimed updates
    through a :class:`CountingFileSystem` (on a store object of its own, so the timed
    one keeps its cache)."""
    counting = CountingFileSystem(OsFileSystem())
    store = open_bench_store(
        store_path, cell.layout, cell.profile, fs=counting, cache=SessionCache()
    )
    counting.reset()  # what opening the store did (a start-up scan) is not an update's

    def update(i: int) -> int:
        store.update_entry(op_keys[i % len(op_keys)], new_patch())
        return 0

    try:
        sample = _timed_loop(
            update, max_ops=CALL_SAMPLE_OPS, min_ops=1, seconds=CALL_SAMPLE_SECONDS
        )
    finally:
        store.close()
    return {k: round(v / len(sample), 3) for k, v in sorted(counting.counts.calls.items())}


# --- contention -----------------------------------------------------------------------------
def writer_specs(
    cell: ContentionCell, store_path: str, keys: Sequence[str], ops: int, seed: int
) -> list[WriterSpec]:
    """Each writer's calls: on distinct keys, writer ``i`` updates only keys ``j`` with
    ``j % writers == i``; on shared keys every call of every writer hits one key."""
    specs: list[WriterSpec] = []
    for index in range(cell.writers):
        rng = random.Random(f"writer:{seed}:{cell}:{index}")
        if cell.keys == "shared":
            own = [keys[0]]
        else:
            own = [k for j, k in enumerate(keys) if j % cell.writers == index] or [keys[0]]
        specs.append(
            WriterSpec(
                store_path=store_path,
                layout=cell.layout,
                profile=cell.profile,
                index=index,
                op_keys=tuple(_op_keys(own, ops, rng)),
            )
        )
    return specs


def measure_contention(
    cell: ContentionCell, config: BenchConfig, store_path: str, pool: ProcessWriters | None
) -> ContentionResult:
    keys = list(make_store(config.seed, cell.size, cell.entry_bytes))
    specs = writer_specs(cell, store_path, keys, config.contention_ops, config.seed)
    if cell.mode == "threads":
        results = run_threads(specs)
    else:
        assert pool is not None
        results = pool.run(specs)
    return contention_result(cell, results)


def contention_result(cell: ContentionCell, results: Sequence[WriterResult]) -> ContentionResult:
    latencies = [ns for r in results for ns in r.latencies_ns]
    locks = [ns for r in results for ns in r.lock_ns]
    ran = [r for r in results if r.latencies_ns or r.errors]
    wall = max(r.finished_ns for r in ran) - min(r.started_ns for r in ran) if ran else 0
    return ContentionResult(
        layout=cell.layout,
        profile=cell.profile,
        size=cell.size,
        entry_bytes=cell.entry_bytes,
        writers=cell.writers,
        mode=cell.mode,
        keys=cell.keys,
        ops=len(latencies),
        errors=sum(r.errors for r in results),
        wall_ns=wall,
        throughput_ops_s=round(throughput(len(latencies), wall), 3),
        update=summarize(latencies) if latencies else summarize([0]),
        lock_acquire=summarize(locks) if locks else None,
    )


# --- migration --------------------------------------------------------------------------------
def measure_migration(cell: MigrationCell, config: BenchConfig, folder: str) -> MigrationResult:
    """``migrate`` of a fresh legacy file, repeated within the cell's budget (at least
    once); each repetition on its own copy."""
    mapping = make_store(config.seed, cell.size, cell.entry_bytes)
    raw = json.dumps(mapping, indent=2, ensure_ascii=False).encode("utf-8")
    profile = bench_profile(cell.profile)
    timings: list[int] = []
    deadline = time.perf_counter_ns() + int(config.cell_seconds * 1e9)
    while not timings or (len(timings) < 3 and time.perf_counter_ns() < deadline):
        run_dir = os.path.join(folder, f"run{len(timings)}")
        os.mkdir(run_dir)
        store_path = os.path.join(run_dir, "sessions.json")
        with open(store_path, "wb") as handle:
            handle.write(raw)
        if profile.fsync and hasattr(os, "sync"):
            os.sync()  # the migration's first fsync should not pay for this set-up
        start = time.perf_counter_ns()
        migrated = migrate(store_path, profile)
        timings.append(time.perf_counter_ns() - start)
        remove_tree(run_dir)
        if not migrated:
            raise HarnessError(f"migrate() did nothing for {cell.label}")
    return MigrationResult(
        profile=cell.profile, size=cell.size, entry_bytes=cell.entry_bytes, time=summarize(timings)
    )


# --- diagnosis --------------------------------------------------------------------------------
def measure_diagnosis(cell: DiagnosisCell, config: BenchConfig, store_path: str) -> Diagnosis:
    """Seam time by target and call, and cProfile's top functions, for one cell's
    ``update_entry``; and the seam time of its floor, for the same bytes."""
    keys = list(make_store(config.seed, cell.size, cell.entry_bytes))
    rng = random.Random(f"diagnosis:{config.seed}:{cell}")
    ops = config.diagnosis_ops
    op_keys = _op_keys(keys, ops, rng)

    timing = TimingFileSystem(OsFileSystem())
    counting = CountingFileSystem(timing)
    store = open_bench_store(store_path, cell.layout, cell.profile, fs=counting)
    store.update_entry(keys[0], new_patch())
    timing.reset()
    counting.reset()
    start = time.perf_counter_ns()
    for key in op_keys:
        store.update_entry(key, new_patch())
    elapsed = time.perf_counter_ns() - start
    seam = seam_rows(timing, ops)
    per_update = round(counting.counts.bytes_written / ops)

    plain = open_bench_store(store_path, cell.layout, cell.profile)

    def run() -> None:
        for key in op_keys:
            plain.update_entry(key, new_patch())

    functions = profile_calls(run, ops)

    floor_timing = TimingFileSystem(OsFileSystem())
    fsync = plain.profile.fsync
    # measure_floor makes one warm-up write besides its ``ops`` timed ones: the seam
    # totals cover ops + 1 identical writes.
    floor_file = floor_path(plain)
    floor = measure_floor(
        floor_file, per_update, fsync=fsync, max_ops=ops, min_ops=ops, seconds=0, fs=floor_timing
    )
    floor_seam = seam_rows(floor_timing, ops + 1)
    os.unlink(floor_file)
    store.close()
    plain.close()
    return Diagnosis(
        layout=cell.layout,
        profile=cell.profile,
        size=cell.size,
        entry_bytes=cell.entry_bytes,
        ops=ops,
        update_ns_per_op=round(elapsed / ops),
        floor_ns_per_op=round(sum(floor) / len(floor)),
        seam=seam,
        floor_seam=floor_seam,
        functions=functions,
    )


# --- the run ------------------------------------------------------------------------------------
def _temp_mount() -> tuple[str, str]:
    """(type, options) of the file system holding the temp folder (``/proc/mounts``)."""
    temp = os.path.realpath(tempfile.gettempdir())
    best, kind, options = "", "unknown", ""
    try:
        with open("/proc/mounts", encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 4 or len(parts[1]) <= len(best):
                    continue
                if temp == parts[1] or temp.startswith(parts[1].rstrip("/") + "/"):
                    best, kind, options = parts[1], parts[2], parts[3]
    except OSError:
        return "unknown", ""
    return kind, options


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip() in ("model name", "Hardware", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor()


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 0


def machine_info() -> MachineInfo:
    fs_type, fs_options = _temp_mount()
    return MachineInfo(
        platform=platform.platform(),
        machine=platform.machine(),
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        cpu_count=os.cpu_count() or 0,
        hostname=socket.gethostname(),
        temp_fs=fs_type,
        cpu_model=_cpu_model(),
        memory_bytes=_memory_bytes(),
        kernel=platform.release(),
        temp_fs_options=fs_options,
    )


def _version() -> str:
    try:
        return metadata.version("store-harness")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare tree
        return "unknown"


_KIND_ORDER: dict[type, int] = {SingleCell: 0, ContentionCell: 1, DiagnosisCell: 2}


def _key_of(cell: SingleCell | ContentionCell | DiagnosisCell) -> StoreKey:
    return store_key(cell.layout, cell.profile, cell.size, cell.entry_bytes)


def run_bench(
    config: BenchConfig,
    *,
    argv: Sequence[str] | None = None,
    progress: ProgressSink | None = None,
) -> BenchResults:
    """Run every cell of ``config.plan()`` and return the results (nothing is written)."""
    sink = progress if progress is not None else NullProgress()
    plan = config.plan()
    args = tuple(argv) if argv is not None else ("store-harness", *sys.argv[1:])
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    begin = time.perf_counter_ns()
    single: list[SingleResult] = []
    contention: list[ContentionResult] = []
    migration: list[MigrationResult] = []
    diagnosis: list[Diagnosis] = []
    sink.start(plan.cell_count)
    process_writers = max((c.writers for c in plan.contention if c.mode == "processes"), default=0)
    with temp_root() as root, ProcessWriters(process_writers) as pool:
        stores = StorePool(root, config.seed, sink)
        # Cells grouped by the store they use, each store dropped after its last cell.
        shared: list[SingleCell | ContentionCell | DiagnosisCell] = [
            *plan.single,
            *plan.contention,
            *plan.diagnosis,
        ]
        order = sorted(
            range(len(shared)),
            key=lambda i: (_key_of(shared[i]), _KIND_ORDER[type(shared[i])], i),
        )
        last_use = {_key_of(shared[i]): i for i in order}
        for i in order:
            cell = shared[i]
            key = _key_of(cell)
            path = stores.path(key, cell.layout, cell.profile)
            sink.note(cell.label)
            if isinstance(cell, SingleCell):
                single.append(measure_single(cell, config, path, sink))
            elif isinstance(cell, ContentionCell):
                contention.append(measure_contention(cell, config, path, pool))
            else:
                diagnosis.append(measure_diagnosis(cell, config, path))
            if last_use[key] == i:
                stores.drop(key)
            sink.advance()
        for mcell in plan.migration:
            sink.note(mcell.label)
            folder = os.path.join(root, "migration")
            os.mkdir(folder)
            migration.append(measure_migration(mcell, config, folder))
            remove_tree(folder)
            sink.advance()
    single.sort(key=lambda r: (r.layout, r.profile, r.size, r.entry_bytes))
    contention.sort(key=lambda r: (r.layout, r.profile, r.size, r.mode, r.keys, r.writers))
    return BenchResults(
        schema=SCHEMA,
        run=RunInfo(
            command=shlex.join(args),
            argv=args,
            started_at=started,
            wall_ns=time.perf_counter_ns() - begin,
            harness_version=_version(),
            config=config.to_json(),
        ),
        machine=machine_info(),
        single=tuple(single),
        contention=tuple(contention),
        migration=tuple(migration),
        diagnosis=tuple(diagnosis),
        skipped=plan.skipped,
    )
