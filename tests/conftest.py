"""Shared fixtures of the whole test suite.

* Hypothesis profiles: ``ci`` (derandomized, no example database; loaded when ``CI`` is
  set), ``dev`` (the default) and ``deep`` (long runs); ``HYPOTHESIS_PROFILE`` picks one.
* Every test starts with an empty process-wide session cache, so no test sees another
  test's cached map.
* ``backend`` / ``store_dir``: one folder per test, on pyfakefs (``fake``) or in a real
  temp folder (``real``). Tests marked ``real_only`` (other processes, file modes) and
  the ``sqlite`` layout (it does its own I/O, which pyfakefs cannot see) are deselected
  on the ``fake`` backend, so they run once, on ``real``.
* ``counting_fs``: a :class:`reference_store.CountingFileSystem` over the real seam, which
  works on both backends because pyfakefs patches ``os``.
* ``make_store``: opens stores in ``store_dir`` and closes them all at teardown (SQLite
  connections left open would leak a ``ResourceWarning``, an error here).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import StoreFactory
from hypothesis import settings
from pyfakefs.fake_filesystem_unittest import Patcher

import reference_store
from reference_store import CountingFileSystem, FileSystem, SessionStore, open_store
from reference_store._cache import SessionCache
from reference_store._profile import Profile
from reference_store._runtime import Runtime

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=50, print_blob=True
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("deep", deadline=None, max_examples=2000)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

BACKENDS = ("fake", "real")
FAKE_ROOT = "/data/store"


@pytest.fixture(autouse=True)
def _fresh_process_cache() -> None:
    """No test may see a map another test left in the process-wide cache."""
    reference_store.PROCESS_CACHE.clear()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``fake`` (pyfakefs) or ``real`` (a temp folder): where ``store_dir`` lives."""
    return str(request.param)


@pytest.fixture
def store_dir(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty folder for one store: ``/data/store`` on pyfakefs, or a real temp folder."""
    if backend == "real":
        folder = tmp_path / "store"
        folder.mkdir()
        yield str(folder)
        return
    # Objects an earlier test left for the garbage collector (a multiprocessing
    # semaphore's finalizer closes a real descriptor) must go now, with the real ``os``:
    # collected under the patch, their os.close reaches pyfakefs and fails with EBADF.
    gc.collect()
    patcher = Patcher()
    patcher.setUp()
    try:
        assert patcher.fs is not None
        patcher.fs.create_dir(FAKE_ROOT)
        yield FAKE_ROOT
    finally:
        patcher.tearDown()


@pytest.fixture
def counting_fs(store_dir: str) -> CountingFileSystem:
    """A seam that counts every call (on whichever backend ``store_dir`` uses)."""
    return CountingFileSystem()


@pytest.fixture
def make_store(store_dir: str) -> Iterator[StoreFactory]:
    """Open stores (default: ``<store_dir>/sessions.json``); all are closed at teardown."""
    opened: list[SessionStore] = []

    def factory(
        layout: str = "auto",
        profile: str | Profile = "seed",
        *,
        fs: FileSystem | None = None,
        runtime: Runtime | None = None,
        cache: SessionCache | None = None,
        name: str = "sessions.json",
        folder: str | None = None,
    ) -> SessionStore:
        path = os.path.join(folder if folder is not None else store_dir, name)
        store = open_store(path, layout, profile, fs, runtime=runtime, cache=cache)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``fake`` backend of tests that need a real file system."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
        on_fake = params.get("backend") == "fake"
        needs_real = item.get_closest_marker("real_only") is not None
        if on_fake and (needs_real or params.get("layout") == "sqlite"):
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
