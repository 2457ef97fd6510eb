"""Layout 3: one SQLite database (the gateway's later design), the comparison baseline.

WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` for writes, ``busy_timeout`` 30 s, file
mode 0600. One row per key, with the normalized key indexed so single-key calls never
scan. Its I/O bypasses the seam (sqlite3 does its own), so it runs on real folders only
and is crash-tested with real process kills.

Promise: every call is one transaction -- all-or-nothing; with ``synchronous=NORMAL`` in
WAL mode a commit may be lost on power loss (but never corrupts the database).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from ._base import SessionStore, StoreMap, Unwritten
from ._codec import decode_json
from ._errors import StoreError, StorePathError
from ._keys import normalize_key, resolve_key
from .fs import OsFileSystem

__all__ = ["SqliteStore", "sqlite_path"]

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    norm_key TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_norm_key ON sessions(norm_key);
"""


def sqlite_path(store_path: str) -> str:
    folder, name = os.path.split(os.path.abspath(store_path))
    stem = name[: -len(".json")] if name.endswith(".json") else name
    return os.path.join(folder, stem + ".sqlite")


def _dump(entry: Any) -> str:
    return json.dumps(entry, ensure_ascii=False)


class SqliteStore(SessionStore):
    layout = "sqlite"

    def __init__(self, store_path: str, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        if not isinstance(self.fs, OsFileSystem):
            raise StoreError(
                "the sqlite layout does its own I/O and needs the real file system seam "
                f"(got {type(self.fs).__name__}); crash it with real process kills instead"
            )
        self.db_path = sqlite_path(self.store_path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    # --- connections -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._connect()
            except (OSError, sqlite3.Error) as exc:
                busy = getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED")
                if busy or not self.profile.check_own_paths:
                    raise  # HAZARD(check_own_paths): upstream lets sqlite3's error out
                # FIX(check_own_paths): say which file and what to do, not "unable to
                # open database file" (a folder, a mode-000 file, a read-only folder).
                raise StorePathError(
                    self.db_path,
                    f"SQLite cannot open the database: {exc}",
                    f"make {self.db_path} a database file, or leave it absent, that this "
                    f"user may read and write, in a folder it may write",
                    errno=exc.errno if isinstance(exc, OSError) else None,
                ) from exc
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        if not os.path.exists(self.db_path):
            fd = os.open(self.db_path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        conn = sqlite3.connect(
            self.db_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def _write_txn(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- reading ---------------------------------------------------------------------------
    def _rows(self, conn: sqlite3.Connection, norm: str | None = None) -> StoreMap:
        if norm is None:
            cursor = conn.execute("SELECT key, entry FROM sessions ORDER BY rowid")
        else:
            cursor = conn.execute(
                "SELECT key, entry FROM sessions WHERE norm_key = ? ORDER BY rowid", (norm,)
            )
        return {key: decode_json(text.encode("utf-8")) for key, text in cursor}

    def load(self, skip_cache: bool = False) -> StoreMap:
        return self._rows(self._conn())

    def read_updated_at(self, key: str) -> int | None:
        rows = self._rows(self._conn(), normalize_key(key))
        found, _ = resolve_key(rows, key, deterministic=self.profile.deterministic_tiebreak)
        entry = rows.get(found) if found is not None else None
        value = entry.get("updatedAt") if isinstance(entry, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # --- writing ---------------------------------------------------------------------------
    def _write_diff(self, conn: sqlite3.Connection, before: dict[str, str], data: StoreMap) -> None:
        for key in before:
            if key not in data:
                conn.execute("DELETE FROM sessions WHERE key = ?", (key,))
        for key, entry in data.items():
            text = _dump(entry)
            if before.get(key) != text:
                conn.execute(
                    "INSERT INTO sessions(key, norm_key, entry) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET entry = excluded.entry",
                    (key, normalize_key(key), text),
                )

    def _change_all(self, mutator: Callable[[StoreMap], T], *, full_write: bool) -> T:
        with self._write_txn() as conn:
            data = self._rows(conn)
            before = {k: _dump(v) for k, v in data.items()}
            result = self._run_mutator(data, mutator, None)
            self._write_diff(conn, before, data)
            return result

    def _change_key(self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool) -> Any:
        with self._write_txn() as conn:
            view = self._rows(conn, normalize_key(key))
            before = {k: _dump(v) for k, v in view.items()}
            result = change(view)
            if isinstance(result, Unwritten):
                return result.result
            self._write_diff(conn, before, view)
            return result
