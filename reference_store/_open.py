"""``open_store``: pick a layout, wire the seam, and (hardened) recover from a crash.

``auto`` decides per call (upstream checks on every operation): the directory layout
when its folder exists, else the legacy file -- so a fresh install starts in legacy mode
and a migration switches live stores over without reopening them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._atomic import TMP_SUFFIX
from ._base import Entry, Problem, SessionStore, StoreMap
from ._cache import PROCESS_CACHE, SessionCache
from ._directory import DirectoryStore
from ._errors import UnsupportedLayoutError
from ._legacy import LegacyStore
from ._lock import StoreLock
from ._profile import Profile, resolve_profile
from ._recovery import legacy_temp_files, settle_temp_file
from ._runtime import Runtime
from ._shapes import (
    DATABASE,
    ENTRIES,
    JOURNAL,
    LOCK,
    STORE_FILE,
    ExplainedErrors,
    inspect_paths,
    settle_paths,
)
from ._sqlite import SqliteStore
from .fs import FileSystem, OsFileSystem

__all__ = ["LAYOUTS", "AutoStore", "check_own_paths", "open_store", "own_paths"]

T = TypeVar("T")
LAYOUTS = ("auto", "legacy", "directory", "sqlite")


class AutoStore(SessionStore):
    """Legacy until the directory layout's folder exists, then directory."""

    layout = "auto"

    def __init__(self, store_path: str, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.legacy = LegacyStore(store_path, **kwargs)
        self.directory = DirectoryStore(store_path, **kwargs)
        self.problems = self.legacy.problems  # one list, whichever layout reports
        self.directory.problems = self.problems

    def active(self) -> SessionStore:
        return self.directory if self.fs.is_dir(self.directory.dir) else self.legacy

    def load(self, skip_cache: bool = False) -> StoreMap:
        return self.active().load(skip_cache)

    def read_updated_at(self, key: str) -> int | None:
        return self.active().read_updated_at(key)

    def save(self, mapping: StoreMap) -> None:
        self.active().save(mapping)

    def update(self, mutator: Callable[[StoreMap], T]) -> T:
        return self.active().update(mutator)

    def update_entry(self, key: str, patch_fn: Callable[[Entry], Entry | None]) -> Entry | None:
        return self.active().update_entry(key, patch_fn)

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> Entry:
        return self.active().update_last_route(
            key, channel=channel, to=to, account_id=account_id, thread_id=thread_id
        )

    def _change_all(self, mutator: Callable[[StoreMap], T], *, full_write: bool) -> T:
        raise NotImplementedError  # every public call is delegated above

    def _change_key(self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool) -> Any:
        raise NotImplementedError


def crash_leftovers(store: SessionStore) -> list[str]:
    """Temp files a crashed writer of this store left behind (paths), and the journal."""
    fs = store.fs
    found = legacy_temp_files(fs, store.store_path, regular_only=store.profile.quarantine_corrupt)
    directory = store.directory if isinstance(store, AutoStore) else store
    if isinstance(directory, DirectoryStore):
        found += directory.leftovers()
        journal = directory.journal_path
        if fs.exists(journal):
            found.append(journal)
    return found


def own_paths(store: SessionStore) -> list[tuple[str, str]]:
    """Every ``(path, role)`` the store owns, a folder before what it holds."""
    if isinstance(store, SqliteStore):
        return [(store.db_path + suffix, DATABASE) for suffix in ("", "-wal", "-shm")]
    legacy = store.legacy if isinstance(store, AutoStore) else store
    directory = store.directory if isinstance(store, AutoStore) else store
    owned: list[tuple[str, str]] = []
    if isinstance(legacy, LegacyStore):
        owned.append((store.store_path, STORE_FILE))
    if isinstance(directory, DirectoryStore):
        owned.append((directory.dir, ENTRIES))
        if store.profile.journal:
            owned.append((directory.journal_path, JOURNAL))
    lock = _lock_of(store)
    if lock is not None:
        owned.append((lock.path, LOCK))
    return owned


def _lock_of(store: SessionStore) -> StoreLock | None:
    directory = store.directory if isinstance(store, AutoStore) else store
    if isinstance(directory, (DirectoryStore, LegacyStore)):
        return directory.lock
    return None


def check_own_paths(store: SessionStore) -> list[str]:
    """FIX(check_own_paths): before anything reads them, make sure each of the store's
    own paths is missing or what the store keeps there (reference_store/_shapes.py):
    move aside what holds none of its data, refuse the rest with a StorePathError.
    Returns the paths moved aside (each is also named in ``problems``)."""
    findings = inspect_paths(store.fs, own_paths(store))
    if not findings:
        return []
    for finding in findings:
        if finding.refused:
            raise finding.error()  # before the lock: the lock may be what is refused
    lock = _lock_of(store)
    assert lock is not None  # only a database is ever refused without a lock
    with lock.held():
        moved = settle_paths(
            store.fs, inspect_paths(store.fs, own_paths(store)), store.profile, store.runtime
        )
    for finding, aside in moved:
        store.problems.append(
            Problem(
                finding.path,
                f"{finding.found} where the store keeps its {finding.role}; moved aside to {aside}",
            )
        )
    return [finding.path for finding, _aside in moved]


def recover(store: SessionStore) -> list[str]:
    """FIX(startup_cleanup): finish what a crashed writer left, under the lock (so no
    live writer's temp file is touched), and return the paths it handled.

    * (FIX(check_own_paths)) first, what sits at one of the store's own paths without
      being what the store keeps there is moved aside or refused (:func:`check_own_paths`);
    * an intent journal is rolled forward;
    * a temp file whose target is missing or unreadable is the only complete copy left
      by a rename that was not atomic (or never happened): if it parses, it is promoted
      into place; otherwise, and whenever the target is fine, the temp file is removed.

    The seed does none of this: its temp files accumulate for good.
    """
    handled = check_own_paths(store) if store.profile.check_own_paths else []
    if not store.profile.startup_cleanup or isinstance(store, SqliteStore):
        return handled
    leftovers = crash_leftovers(store)
    if not leftovers:
        return handled
    directory = store.directory if isinstance(store, AutoStore) else store
    lock = _lock_of(store)
    assert lock is not None
    with lock.held():
        for path in crash_leftovers(store):
            if path.endswith(TMP_SUFFIX):
                settle_temp_file(store.fs, path, store.profile)
        if isinstance(directory, DirectoryStore):
            directory._replay_journal()
    return handled + leftovers


def open_store(
    store_path: str,
    layout: str = "auto",
    profile: str | Profile = "seed",
    fs: FileSystem | None = None,
    *,
    runtime: Runtime | None = None,
    cache: SessionCache | None = None,
) -> SessionStore:
    """Open the session store at ``store_path`` (the legacy file's path).

    ``runtime`` (clock, tokens, pid) and ``cache`` default to this process's; the harness
    passes its own to make runs deterministic and to simulate a restart.
    """
    prof = resolve_profile(profile)
    seam = fs if fs is not None else OsFileSystem()
    if prof.check_own_paths and layout != "sqlite":  # SQLite does its own I/O
        seam = ExplainedErrors(seam)
    kwargs: dict[str, Any] = {
        "profile": prof,
        "fs": seam,
        "runtime": runtime if runtime is not None else Runtime(),
        "cache": cache if cache is not None else PROCESS_CACHE,
    }
    classes: dict[str, type[SessionStore]] = {
        "auto": AutoStore,
        "legacy": LegacyStore,
        "directory": DirectoryStore,
        "sqlite": SqliteStore,
    }
    try:
        cls = classes[layout]
    except KeyError:
        raise UnsupportedLayoutError(
            f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}"
        ) from None
    store = cls(store_path, **kwargs)
    recover(store)
    return store
