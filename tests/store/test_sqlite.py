"""Layout 3, SQLite: the settings docs/spec.md names, and what only this layout does. (The API
contract itself is checked for SQLite with the other layouts in ``test_api.py``.)"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat

import pytest
from helpers import LATER, PROFILE_NAMES, StoreFactory, entry

from reference_store import CountingFileSystem, SqliteStore, StoreError, open_store, sqlite_path

pytestmark = [pytest.mark.real_only, pytest.mark.parametrize("profile", PROFILE_NAMES)]


def open_sqlite(make_store: StoreFactory, profile: str) -> SqliteStore:
    store = make_store("sqlite", profile)
    assert isinstance(store, SqliteStore)
    return store


def test_database_file_and_settings(make_store: StoreFactory, store_dir: str, profile: str) -> None:
    store = open_sqlite(make_store, profile)
    store.save({"agent:a": entry("a", 1)})

    assert store.db_path == sqlite_path(os.path.join(store_dir, "sessions.json"))
    assert store.db_path == os.path.join(store_dir, "sessions.sqlite")
    assert stat.S_IMODE(os.stat(store.db_path).st_mode) == 0o600
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert not os.path.exists(os.path.join(store_dir, "sessions.json"))
    assert not os.path.exists(os.path.join(store_dir, "sessions.d"))


def test_rows_are_readable_by_any_sqlite_client(make_store: StoreFactory, profile: str) -> None:
    store = open_sqlite(make_store, profile)
    store.save({"Agent:Main:X": entry("a", 1, note="ü")})

    with contextlib.closing(sqlite3.connect(store.db_path)) as conn:
        rows = conn.execute("SELECT key, norm_key, entry FROM sessions").fetchall()
    assert rows == [
        ("Agent:Main:X", "agent:main:x", '{"sessionId": "a", "updatedAt": 1, "note": "ü"}')
    ]


def test_needs_the_real_seam(store_dir: str, profile: str) -> None:
    with pytest.raises(StoreError, match="real file system seam"):
        open_store(
            os.path.join(store_dir, "sessions.json"), "sqlite", profile, CountingFileSystem()
        )


def test_close_then_reuse(make_store: StoreFactory, profile: str) -> None:
    store = open_sqlite(make_store, profile)
    store.save({"agent:a": entry("a", 1)})
    store.close()
    store.close()  # idempotent

    assert store.load() == {"agent:a": entry("a", 1)}  # a new connection on demand


def test_a_failing_update_is_rolled_back(make_store: StoreFactory, profile: str) -> None:
    store = open_sqlite(make_store, profile)
    store.save({"agent:a": entry("a", 1), "agent:b": entry("b", 2)})

    def half_then_fail(data: dict[str, object]) -> None:
        data["agent:a"] = entry("a", 10)
        del data["agent:b"]
        raise RuntimeError("mutator failed")

    with pytest.raises(RuntimeError, match="mutator failed"):
        store.update(half_then_fail)

    assert store.load() == {"agent:a": entry("a", 1), "agent:b": entry("b", 2)}
    store.update_entry("agent:a", lambda e: {"updatedAt": LATER})  # not left in a transaction
    assert store.read_updated_at("agent:a") == LATER
