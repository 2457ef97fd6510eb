"""Hardened file modes: entry, legacy, journal, backup and lock files 0600, folders 0700.

Checked after every write path (save, update, update_entry, update_last_route, a
migration, a save beside a corrupt file) on a real folder, with a permissive umask so
that only the store's own modes can keep others out. The lock file is looked at while it
is held, since a released lock is gone.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_store import SessionCache, migrate, open_store

pytestmark = pytest.mark.real_only

ENTRY = {"sessionId": "s", "updatedAt": 1}


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    modes = {}
    for path in [root, *root.rglob("*")]:
        modes[str(path.relative_to(root)) or "."] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def _assert_private(root: Path) -> None:
    for rel, mode in _modes(root).items():
        if rel == ".":
            continue  # the folder the caller gave us is theirs
        full = root / rel
        expected = 0o700 if full.is_dir() else 0o600
        assert mode == expected, f"{rel}: {oct(mode)}, expected {oct(expected)}"


WRITES: dict[str, Callable[[Any], Any]] = {
    "save": lambda s: s.save({"a": dict(ENTRY), "b": dict(ENTRY)}),
    "update": lambda s: s.update(lambda m: m.update({"c": dict(ENTRY), "d": dict(ENTRY)})),
    "update_entry": lambda s: s.update_entry("a", lambda _e: {"updatedAt": 2}),
    "update_last_route": lambda s: s.update_last_route("a", channel="slack", to="1"),
}


@pytest.mark.parametrize("layout", ["legacy", "directory"])
@pytest.mark.parametrize("call", sorted(WRITES))
def test_every_write_path_leaves_private_modes(tmp_path: Path, layout: str, call: str) -> None:
    store = open_store(str(tmp_path / "sessions.json"), layout, "hardened", cache=SessionCache())
    store.save({"a": dict(ENTRY)})
    WRITES[call](store)
    store.close()
    _assert_private(tmp_path)


def test_the_lock_file_is_private_while_held(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "sessions.json"), "directory", "hardened")
    seen: list[int] = []

    def mutator(current: dict[str, Any]) -> None:
        lock = tmp_path / "sessions.json.flock"  # the hardened lock's file
        seen.append(stat.S_IMODE(lock.stat().st_mode))
        current["a"] = dict(ENTRY)

    store.update(mutator)
    store.close()
    assert seen == [0o600]


def test_migration_and_quarantine_leave_private_modes(tmp_path: Path) -> None:
    legacy = tmp_path / "sessions.json"
    legacy.write_text('{"a": {"sessionId": "s", "updatedAt": 1}}', encoding="utf-8")
    os.chmod(legacy, 0o600)
    assert migrate(str(legacy), "hardened")
    store = open_store(str(legacy), "directory", "hardened", cache=SessionCache())
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    broken = folder / "broken.json"
    broken.write_bytes(b"{not json")
    os.chmod(broken, 0o600)
    store.save({"b": dict(ENTRY)})  # leaves or moves the corrupt file aside, never deletes it
    store.close()
    assert any(p.name.startswith("broken.json") for p in folder.iterdir())
    _assert_private(tmp_path)
