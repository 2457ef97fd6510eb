"""Helpers shared by the store tests (imported as ``helpers``; ``tests/`` is on sys.path).

Everything here must stay importable in a child process started with the ``spawn``
context, which is why the process workers live here and not in a test module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Protocol

from reference_store import SessionStore, open_store
from reference_store._cache import SessionCache
from reference_store._profile import Profile
from reference_store._runtime import Runtime
from reference_store.fs import FileSystem

Entry = dict[str, Any]
#: A folder's content: relative path -> file bytes, or ``None`` for a folder.
Tree = dict[str, bytes | None]

FS_LAYOUTS = ("legacy", "directory", "auto")
PROFILE_NAMES = ("seed", "hardened")
COUNTER_KEY = "agent:main:counter"


class StoreFactory(Protocol):
    """The ``make_store`` fixture: opens a store in the test's folder."""

    def __call__(
        self,
        layout: str = "auto",
        profile: str | Profile = "seed",
        *,
        fs: FileSystem | None = None,
        runtime: Runtime | None = None,
        cache: SessionCache | None = None,
        name: str = "sessions.json",
        folder: str | None = None,
    ) -> SessionStore: ...


#: 2100-01-01 in ms: after any clock a test runs under, so ``update_entry``'s own stamp,
#: ``max(old, patch, now)`` as upstream's mergeSessionEntry computes it, keeps a patch's
#: ``updatedAt`` of LATER or more exactly.
LATER = 4_102_444_800_000


def entry(session_id: str, updated_at: int, **fields: Any) -> Entry:
    """A valid entry: the two required fields plus any opaque ones."""
    return {"sessionId": session_id, "updatedAt": updated_at, **fields}


def rich_entry(session_id: str, updated_at: int) -> Entry:
    """An entry with nested objects, unicode, numbers, nulls and lists to round-trip."""
    return entry(
        session_id,
        updated_at,
        lastChannel="telegram",
        lastTo="12345",
        lastThreadId=None,
        deliveryContext={"channel": "telegram", "to": "12345", "accountId": "acc-1"},
        origin={"label": "Zoë · 日本語 · emoji 🚀", "nested": {"deep": [1, 2.5, -3, True]}},
        skillsSnapshot={"skills": ["a", "b"], "count": 2, "ratio": 0.125},
    )


def snapshot_tree(root: str) -> Tree:
    """Every file (with its bytes) and folder under ``root``, by relative path."""
    tree: Tree = {}
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        for name in dirs:
            tree[os.path.normpath(os.path.join(rel, name))] = None
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                tree[os.path.normpath(os.path.join(rel, name))] = handle.read()
    return tree


def write_json(path: str, value: Any) -> None:
    """Write ``value`` as pretty JSON, making parent folders as needed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, ensure_ascii=False)


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped (so it names no process)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(child.stdout)


def increment(current: Entry) -> Entry:
    """The patch of one counter increment (``update_entry``)."""
    return {"count": current["count"] + 1}


def increment_with(store: SessionStore, how: str) -> None:
    """One increment of the counter entry, through ``update_entry`` or ``update``."""
    if how == "update_entry":
        store.update_entry(COUNTER_KEY, increment)
        return

    def mutate(data: dict[str, Any]) -> None:
        data[COUNTER_KEY] = {**data[COUNTER_KEY], "count": data[COUNTER_KEY]["count"] + 1}

    store.update(mutate)


class Barrier(Protocol):
    def wait(self, timeout: float | None = None) -> int: ...


def process_worker(store_path: str, layout: str, profile: str, rounds: int, start: Barrier) -> None:
    """Body of one writer process: open its own store, wait for all, increment."""
    store = open_store(store_path, layout, profile)
    try:
        start.wait(60)
        for _ in range(rounds):
            store.update_entry(COUNTER_KEY, increment)
    finally:
        store.close()
