"""What a machine runs on: its clock, its simulated processes and their seams, the
strategies it draws from, and where failure files go.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from harness.checks._machine_model import CLOCK_START_MS, FAILURE_ENV, StoreMap
from harness.checks._strategies import (
    case_variant,
    entries,
    machine_entries,
    machine_keys,
    machine_patches,
    machine_routes,
)
from harness.faults._faultfs import FaultPlan
from reference_store import (
    AutoStore,
    DirectoryStore,
    LegacyStore,
    SessionCache,
)
from reference_store._runtime import Runtime
from reference_store.fs import FileSystem, FileSystemWrapper

__all__ = [
    "MachineClock",
    "NoSyncFileSystem",
    "StoreContext",
    "failure_dir",
    "reference_file_of",
]


# --- processes, clock, seam -----------------------------------------------------------------
class MachineClock:
    """Milliseconds that stand still during a call and move when slept on or advanced."""

    def __init__(self, start_ms: int = CLOCK_START_MS) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += max(1, round(seconds * 1000))

    def advance(self, ms: int) -> None:
        self.ms += ms


class _SwitchableSeam(FileSystemWrapper):
    """A process's seam: the plain one, or for one call a fault filesystem over it."""

    def __init__(self, plain: FileSystem) -> None:
        super().__init__(plain)
        self.plain = plain

    @contextlib.contextmanager
    def using(self, fs: FileSystem) -> Iterator[None]:
        self.inner = fs
        try:
            yield
        finally:
            self.inner = self.plain


@dataclass(frozen=True)
class StoreContext:
    """Everything a store opened by a machine should use.

    ``fs`` is the seam to do all file I/O through (crash rules work only if the store
    does); ``runtime`` gives the clock and fresh tokens; ``cache`` is this simulated
    process's cache (a restart gets a new one).
    """

    store_path: str
    fs: FileSystem
    runtime: Runtime
    cache: SessionCache
    process: int


@dataclass
class _Process:
    index: int
    seam: _SwitchableSeam
    store: Any = None
    cache: SessionCache = field(default_factory=SessionCache)
    window: list[StoreMap] = field(default_factory=list)
    armed: FaultPlan | None = None


@dataclass
class _Crash:
    step: int
    call: str
    plan: FaultPlan
    trace: list[dict[str, Any]]
    files: dict[str, int]


class NoSyncFileSystem(FileSystemWrapper):
    """A seam whose ``fsync`` and folder ``fsync`` do nothing (but still count as
    operations for crash points).

    Machines model process crashes, after which the page cache survives, so a sync
    changes nothing they can observe; on a slow shared disk it is most of the run time.
    Power loss, where a sync matters, is the crash explorer's business.
    """

    def fsync(self, handle: int) -> None:
        return None

    def fsync_dir(self, path: str) -> None:
        return None


@functools.lru_cache(maxsize=32)
def _cached_strategies(size: str, hostile: bool) -> dict[str, st.SearchStrategy[Any]]:
    # Built once: Hypothesis describes every new strategy object (lambdas included),
    # which costs more than the draws themselves when done on every step.
    return {
        "keys": machine_keys(hostile=hostile),
        "key_lists": st.lists(machine_keys(hostile=hostile), max_size=3, unique=True),
        "entry": machine_entries() if size == "tiny" else entries(size),
        "patch": st.one_of(st.none(), machine_patches()),
        "route": machine_routes(),
    }


_KEY_KINDS = st.sampled_from(["existing", "variant", "new"])


@functools.lru_cache(maxsize=256)
def _index(n: int) -> st.SearchStrategy[int]:
    return st.integers(0, n - 1)


_BITS = st.integers(0, 2**16 - 1)


def _draw_key(data: st.DataObject, existing: list[str], new: st.SearchStrategy[str]) -> str:
    """An existing key, a case variant of one, or a key from ``new``.

    Few, cached strategies and one integer per choice: drawing is most of a step's
    cost, and a short choice sequence is what lets failures shrink fast.
    """
    kind = data.draw(_KEY_KINDS, label="key kind") if existing else "new"
    if kind == "new":
        key: str = data.draw(new, label="key")
        return key
    key = existing[data.draw(_index(len(existing)), label="key index")]
    if kind == "variant":
        key = case_variant(key, data.draw(_BITS, label="case bits"))
    return key


def failure_dir() -> str:
    return os.environ.get(FAILURE_ENV) or os.path.join(
        tempfile.gettempdir(), "store-harness-machine-failures"
    )


def _on(name: str) -> Callable[[Any], bool]:
    def enabled(self: Any) -> bool:
        return bool(self._rule_on(name))

    return enabled


def reference_file_of(store: Any, key: str) -> str | None:
    """The file that holds ``key`` in a reference store (or a wrapper of one that sets
    ``__wrapped__``, as a mutant's does); ``None`` for SQLite or a store of another kind."""
    store = getattr(store, "__wrapped__", store)
    active = store.active() if isinstance(store, AutoStore) else store
    if isinstance(active, LegacyStore):
        return active.store_path
    if isinstance(active, DirectoryStore):
        return active.path_of(active.file_name(key))
    return None


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."
