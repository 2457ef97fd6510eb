"""Micro-benchmarks of single store calls (pytest-benchmark), on real temp folders.

Run them alone and serially: ``pytest tests/benchmarks -n 0 --benchmark-only``
(``make bench``). The parallel suite passes ``--benchmark-skip``, which skips every test
here at collection, before any store is built; importing this module does no work, so
collecting it under xdist is cheap and cannot fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.bench import (
    build_store,
    floor_write,
    make_store,
    new_patch,
    open_bench_store,
    temp_root,
)
from reference_store import OsFileSystem, SessionCache, SessionStore

ENTRIES = 1_000
ENTRY_BYTES = 1024
CELLS = [
    ("legacy", "seed"),
    ("legacy", "hardened"),
    ("directory", "seed"),
    ("directory", "hardened"),
    ("sqlite", "hardened"),
]


@dataclass
class OpenStore:
    store: SessionStore
    keys: list[str]
    folder: str


@pytest.fixture(params=CELLS, ids=["/".join(c) for c in CELLS])
def store_1k(request: pytest.FixtureRequest) -> Iterator[OpenStore]:
    """A 1,000 x 1 KB store of one layout and profile in a fresh real temp root."""
    layout, profile = request.param
    mapping = make_store(0, ENTRIES, ENTRY_BYTES)
    with temp_root() as root:
        path = os.path.join(root, "sessions.json")
        build_store(path, layout, profile, mapping)
        store = open_bench_store(path, layout, profile, cache=SessionCache())
        try:
            yield OpenStore(store, list(mapping), root)
        finally:
            store.close()


def test_update_entry(benchmark: BenchmarkFixture, store_1k: OpenStore) -> None:
    keys = itertools.cycle(store_1k.keys[::7])

    def update() -> None:
        store_1k.store.update_entry(next(keys), new_patch())

    benchmark(update)


def test_load_cold(benchmark: BenchmarkFixture, store_1k: OpenStore) -> None:
    loaded = benchmark(store_1k.store.load, skip_cache=True)
    assert len(loaded) == ENTRIES


def test_load_cached(benchmark: BenchmarkFixture, store_1k: OpenStore) -> None:
    store_1k.store.load()
    loaded = benchmark(store_1k.store.load)
    assert len(loaded) == ENTRIES


def test_read_updated_at(benchmark: BenchmarkFixture, store_1k: OpenStore) -> None:
    keys = itertools.cycle(store_1k.keys[::7])
    assert store_1k.store.read_updated_at(store_1k.keys[0]) is not None
    benchmark(lambda: store_1k.store.read_updated_at(next(keys)))


@pytest.mark.parametrize("fsync", [False, True], ids=["no-fsync", "fsync"])
@pytest.mark.parametrize("nbytes", [1024, 1_150_000], ids=["1KB", "1.1MB"])
def test_floor(benchmark: BenchmarkFixture, fsync: bool, nbytes: int) -> None:
    """The bare-seam floor: tmp + rename of ``nbytes`` (a hardened directory update
    writes ~1.3 KB; a legacy update of 1,000 x 1 KB entries ~1.1 MB)."""
    data = b"f" * nbytes
    seam = OsFileSystem()
    with temp_root() as root:
        path = os.path.join(root, "floor.json")
        benchmark(floor_write, seam, path, data, fsync=fsync)
        assert os.path.getsize(path) == nbytes
