"""The benchmark grid, its statistics, workloads and instruments, on tiny inputs.

Everything here is fast: stores of ten entries, a handful of calls, real temp folders.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from harness._errors import UsageError
from harness.bench import (
    ENTRY_SIZES,
    TEMP_PREFIX,
    BenchConfig,
    LockProbe,
    PerKeyLockDirectoryStore,
    build_store,
    encoded_size,
    floor_write,
    instrument_lock,
    make_key,
    make_keys,
    make_store,
    median_interval,
    new_patch,
    open_bench_store,
    percentile,
    run_bench,
    summarize,
    temp_root,
)
from harness.bench._floor import WriteCountingFileSystem
from harness.bench._runner import floor_path, store_key
from harness.cli._bench import bench_command, config_from_options
from harness.report import BenchResults
from reference_store import CountingFileSystem, OsFileSystem, SessionCache, normalize_key
from reference_store.fs import FileSystem

# --- statistics -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear(seed: int, q: float) -> None:
    rng = random.Random(seed)
    values = [rng.uniform(0, 1e6) for _ in range(rng.randint(1, 40))]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)), rel=1e-12)


def test_percentile_small_inputs() -> None:
    assert percentile([7], 99) == 7
    assert percentile([1, 3], 50) == 2  # mean of the middle two
    assert percentile([4, 1, 3, 2], 0) == 1
    assert percentile([4, 1, 3, 2], 100) == 4
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_summarize_rounds_to_whole_nanoseconds() -> None:
    stats = summarize([5, 1, 4, 2, 3])
    assert (stats.n, stats.min_ns, stats.max_ns, stats.mean_ns, stats.p50_ns) == (5, 1, 5, 3, 3)
    assert stats.p99_ns == 5  # 4.96 rounded
    assert summarize([10, 20]).p50_ns == 15
    with pytest.raises(ValueError):
        summarize([])


def test_median_interval_uses_the_binomial_order_statistics() -> None:
    # n = 100: ranks floor(50 - 9.8) = 40 and ceil(1 + 50 + 9.8) = 61 (1-based).
    assert median_interval([float(v) for v in range(1, 101)]) == (40.0, 61.0)
    assert median_interval([3.0, 1.0, 2.0]) == (1.0, 3.0)  # few values: the whole range
    with pytest.raises(ValueError):
        median_interval([])


@pytest.mark.parametrize("seed", range(3))
def test_median_interval_covers_the_true_median_about_95_percent_of_the_time(seed: int) -> None:
    """Samples of an exponential (median ln 2): the interval holds it in about 95% of
    400 samples of 200 -- a wrong rank would give ~70% or ~100%."""
    rng = random.Random(seed)
    true_median = 0.6931471805599453
    covered = 0
    for _ in range(400):
        low, high = median_interval([rng.expovariate(1.0) for _ in range(200)])
        covered += low <= true_median <= high
    assert 0.90 <= covered / 400 <= 0.99


# --- the grid ---------------------------------------------------------------------------------


def test_quick_grid_is_small_and_full_grid_is_whole() -> None:
    quick = BenchConfig.quick().plan()
    assert {c.size for c in quick.single} == {10, 100, 1_000, 10_000}
    assert {c.entry_bytes for c in quick.single} == {1024}
    assert {c.layout for c in quick.single} == {"legacy", "directory", "sqlite"}
    assert not any(c.layout == "sqlite" and c.profile == "hardened-nofsync" for c in quick.single)
    assert all(c.size <= 1_000 for c in quick.single if c.profile == "hardened-nofsync")
    # contention: one store size; shared keys and the seed profile only at 8 writers
    assert {c.size for c in quick.contention} == {100}
    assert {c.writers for c in quick.contention} == {1, 2, 4, 8}
    assert all(c.writers == 8 for c in quick.contention if c.keys == "shared")
    assert all(c.writers == 8 for c in quick.contention if c.profile == "seed")
    assert not any(c.layout == "directory-perkey" and c.profile == "seed" for c in quick.contention)
    assert {(c.mode, c.keys) for c in quick.contention if c.layout == "directory-perkey"} == {
        ("threads", "distinct"),
        ("threads", "shared"),
        ("processes", "distinct"),
        ("processes", "shared"),
    }
    full = BenchConfig.full_grid().plan()
    assert 100_000 in {c.size for c in full.single}
    assert {c.entry_bytes for c in full.single} == set(ENTRY_SIZES.values())
    assert len(full.contention) > len(quick.contention)
    # the cap leaves out huge stores, with a reason a report can show
    too_big = [s for s in full.skipped if "cap" in s.reason]
    assert any(s.cell == "legacy/seed 100000x150KB" for s in too_big)


def test_narrowing_the_grid() -> None:
    config = BenchConfig.quick().narrowed(
        layouts=("legacy",), profiles=("seed",), sizes=(10, 100), parts=("single",)
    )
    plan = config.plan()
    assert [(c.layout, c.profile, c.size) for c in plan.single] == [
        ("legacy", "seed", 10),
        ("legacy", "seed", 100),
    ]
    assert not plan.contention and not plan.migration and not plan.diagnosis
    # None and () leave a dimension as it was
    assert BenchConfig.quick().narrowed(layouts=(), ops=None) == BenchConfig.quick()
    with pytest.raises(UsageError):
        BenchConfig.quick().narrowed(layouts=("btree",))
    with pytest.raises(UsageError):
        BenchConfig.quick().narrowed(sizes=(0,))


def test_migration_with_fsync_is_capped() -> None:
    plan = BenchConfig.quick().narrowed(parts=("migration",), migration_sizes=(10, 1_000)).plan()
    cells = {(c.profile, c.size) for c in plan.migration}
    assert ("seed", 1_000) in cells and ("hardened", 10) in cells
    assert ("hardened", 1_000) not in cells
    assert any("fsyncs" in s.reason for s in plan.skipped)


def test_cli_options_build_the_config() -> None:
    config = config_from_options(
        layouts=("sqlite",), sizes=("1,000",), entry_sizes=("25KB",), writers=(2,), seed=7
    )
    assert config.layouts == ("sqlite",)
    assert config.sizes == (1000,)
    assert config.entry_sizes == (25 * 1024,)
    assert (config.writers, config.seed) == ((2,), 7)
    assert config_from_options(full=True).full


def test_config_json_round_trips_as_plain_values() -> None:
    plain = BenchConfig.quick().to_json()
    assert json.loads(json.dumps(plain)) == plain
    assert plain["sizes"] == [10, 100, 1_000, 10_000]


# --- workloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(ENTRY_SIZES.values()))
def test_entries_have_spec_fields_and_exact_size(size: int) -> None:
    store = make_store(3, 12, size)
    for key, entry in store.items():
        assert encoded_size(entry) == size
        assert isinstance(entry["sessionId"], str) and isinstance(entry["updatedAt"], int)
        assert {"lastChannel", "deliveryContext", "skillsSnapshot", "systemPromptReport"} <= set(
            entry
        )
        assert normalize_key(key) == key
    assert make_store(3, 12, size) == store  # deterministic


def test_keys_are_unique_and_realistic() -> None:
    keys = make_keys(2_000)
    assert len(set(keys)) == 2_000
    assert all(k.startswith("agent:") for k in keys)
    assert make_key(1).count(":thread:") == 1


def test_patches_always_change_the_entry() -> None:
    entry = make_store(0, 1, 1024)[make_key(0)]
    first, second = new_patch()(entry), new_patch()(entry)
    assert first != second
    assert first["updatedAt"] != entry["updatedAt"]
    assert first["deliveryContext"]["to"] == first["lastTo"]


def test_stores_are_shared_by_cells_with_the_same_files() -> None:
    assert store_key("legacy", "seed", 10, 1024) == store_key("legacy", "hardened", 10, 1024)
    keyed = store_key("directory", "hardened", 10, 1024)
    assert keyed == store_key("directory", "hardened-nofsync", 10, 1024)
    assert keyed == store_key("directory-perkey", "hardened", 10, 1024)
    assert keyed != store_key("directory", "seed", 10, 1024)
    assert keyed != store_key("directory", "hardened", 100, 1024)


# --- instruments on real temp folders ----------------------------------------------------------


def test_temp_root_is_real_prefixed_and_removed() -> None:
    with temp_root() as root:
        assert os.path.basename(os.path.dirname(root)).startswith(TEMP_PREFIX)
        os.makedirs(os.path.join(root, "a", "b"))
        Path(root, "a", "b", "f.json").write_text("{}")
    assert not os.path.exists(os.path.dirname(root))


def test_floor_write_replaces_atomically() -> None:
    with temp_root() as root:
        path = os.path.join(root, "floor.json")
        for fsync in (False, True):
            floor_write(OsFileSystem(), path, b"x" * 100, fsync=fsync)
        assert Path(path).read_bytes() == b"x" * 100
        assert os.listdir(root) == ["floor.json"]


def test_the_timed_seam_is_the_bare_seam_plus_a_byte_count() -> None:
    """Timed updates run on the seam the floor runs on: every primitive but ``write`` is
    :class:`OsFileSystem`'s own, so no instrument sits between the store and the kernel."""
    primitives = sorted(FileSystem.__abstractmethods__)
    assert [
        m for m in primitives if getattr(WriteCountingFileSystem, m) is not getattr(OsFileSystem, m)
    ] == ["write"]
    with temp_root() as root:
        path = os.path.join(root, "sessions.json")
        build_store(path, "directory", "hardened", make_store(0, 3, 1024))
        seam = WriteCountingFileSystem()
        store = open_bench_store(path, "directory", "hardened", fs=seam, cache=SessionCache())
        store.update_entry(make_key(1), new_patch())
        written = os.path.getsize(store.path_of(store.file_name(make_key(1))))
        assert seam.bytes_written == written > 1024


@pytest.mark.parametrize(
    ("layout", "profile"),
    [("legacy", "seed"), ("directory", "seed"), ("directory", "hardened"), ("sqlite", "hardened")],
)
def test_floor_sits_beside_the_updated_files_and_no_load_sees_it(layout: str, profile: str) -> None:
    """The floor renames in the folder the update renames in, and stays invisible."""
    mapping = make_store(0, 10, 1024)
    with temp_root() as root:
        path = os.path.join(root, "sessions.json")
        build_store(path, layout, profile, mapping)
        counting = CountingFileSystem(OsFileSystem())
        seam = None if layout == "sqlite" else counting  # SQLite does its own I/O
        store = open_bench_store(path, layout, profile, fs=seam, cache=SessionCache())
        try:
            target = floor_path(store)
            for _ in range(2):
                store.update_entry(make_key(1), new_patch())
                floor_write(OsFileSystem(), target, b"f" * 1300, fsync=True)
            replaced = {os.path.dirname(dst) for _src, dst in counting.counts.replaced}
            if layout != "sqlite":
                assert replaced == {os.path.dirname(target)}
            assert os.path.basename(target) == ".floor" and os.path.isfile(target)
            assert store.load(skip_cache=True).keys() == mapping.keys()
            assert not store.problems
            reopened = open_bench_store(path, layout, profile, cache=SessionCache())
            try:
                assert reopened.load().keys() == mapping.keys()
            finally:
                reopened.close()
        finally:
            store.close()


@pytest.mark.parametrize("layout", ["legacy", "directory", "directory-perkey", "sqlite"])
def test_lock_probe_times_each_update(layout: str) -> None:
    mapping = make_store(0, 10, 1024)
    with temp_root() as root:
        path = os.path.join(root, "sessions.json")
        build_store(path, layout, "hardened", mapping)
        store = open_bench_store(path, layout, "hardened", cache=SessionCache())
        try:
            probe = LockProbe()
            assert instrument_lock(store, probe)
            key = make_key(3)
            store.update_entry(key, new_patch())
            waited = probe.take()
            assert waited is not None and waited > 0
            assert probe.take() is None
            assert store.load(skip_cache=True)[key]["lastTo"] != mapping[key]["lastTo"]
        finally:
            store.close()


def test_per_key_locks_need_keyed_files_and_use_one_lock_per_key() -> None:
    mapping = make_store(0, 10, 1024)
    with temp_root() as root:
        path = os.path.join(root, "sessions.json")
        with pytest.raises(UsageError):
            open_bench_store(path, "directory-perkey", "seed")
        build_store(path, "directory-perkey", "hardened", mapping)
        store = open_bench_store(path, "directory-perkey", "hardened")
        assert isinstance(store, PerKeyLockDirectoryStore)
        first, second = make_key(1), make_key(2)
        assert store.key_lock(first) is store.key_lock(first.upper())
        assert store.key_lock(first).path != store.key_lock(second).path
        store.update_entry(first, new_patch())
        assert store.load(skip_cache=True).keys() == mapping.keys()
        # The hardened lock files stay (reference_store._lock); released means that
        # another open file can take each of them at once.
        names = os.listdir(store.locks_dir)
        assert names and all(n.endswith(".flock") for n in names)
        for name in names:
            handle = store.fs.try_lock(os.path.join(store.locks_dir, name))
            assert handle is not None, f"{name} is still locked"
            store.fs.unlock(handle)


# --- tiny runs ------------------------------------------------------------------------------------


def _tiny(**changes: object) -> BenchConfig:
    base = BenchConfig.quick().narrowed(
        sizes=(10,),
        contention_sizes=(10,),
        migration_sizes=(10,),
        ops=3,
        min_ops=2,
        min_loads=1,
        cell_seconds=0.0,
        load_seconds=0.0,
        contention_ops=2,
        diagnosis_size=10,
        diagnosis_ops=2,
    )
    return base.narrowed(**changes)


def test_tiny_run_measures_every_part_and_round_trips() -> None:
    config = _tiny(
        layouts=("legacy", "directory", "sqlite"),
        profiles=("hardened",),
        writers=(2,),
        modes=("threads",),
        keys=("distinct",),
    )
    results = run_bench(config, argv=("store-harness", "bench", "--tiny"))
    assert {(r.layout, r.size) for r in results.single} == {
        ("legacy", 10),
        ("directory", 10),
        ("sqlite", 10),
    }
    for r in results.single:
        assert r.update.n >= 2 and r.floor.n == r.update.n
        assert r.bytes_per_update > 0 and r.floor_ratio > 0
        assert r.floor_fsync == (r.layout != "sqlite")
    directory = next(r for r in results.single if r.layout == "directory")
    calls = directory.seam_calls_per_update
    # Hardened keyed files: the update touches its own file only -- no listdir, no scan.
    assert "listdir" not in calls and calls["read_file"] <= 2
    assert calls["replace"] == 1 and calls["fsync"] >= 1 and calls["fsync_dir"] >= 1
    assert {(c.layout, c.writers, c.ops) for c in results.contention} == {
        ("legacy", 2, 4),
        ("directory", 2, 4),
        ("sqlite", 2, 4),
    }
    assert [m.size for m in results.migration] == [10]
    assert len(results.diagnosis) == 1 and results.diagnosis[0].seam
    assert results.run.command == "store-harness bench --tiny"
    assert results.machine.cpu_count >= 1
    assert BenchResults.from_json(results.to_json()) == results


def test_process_writers_run_against_one_store() -> None:
    config = _tiny(
        layouts=("sqlite",),
        profiles=("hardened",),
        writers=(2,),
        modes=("processes",),
        keys=("shared",),
        parts=("contention",),
    )
    (cell,) = run_bench(config).contention
    assert (cell.mode, cell.writers, cell.ops, cell.errors) == ("processes", 2, 4, 0)
    assert cell.wall_ns > 0 and cell.throughput_ops_s > 0


def test_bench_command_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "out" / "results.json"
    result = CliRunner().invoke(
        bench_command,
        [
            "--quiet",
            "--part",
            "single",
            "-l",
            "legacy",
            "-p",
            "seed",
            "-s",
            "10",
            "--ops",
            "2",
            "--cell-seconds",
            "0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    results = BenchResults.from_json(out.read_text())
    assert [(r.layout, r.profile, r.size) for r in results.single] == [("legacy", "seed", 10)]
    assert results.run.argv[:2] == ("store-harness", "bench")
    assert "--ops 2" in results.run.command
