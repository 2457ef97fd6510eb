"""A faithful Python re-implementation of a chat gateway's on-disk session store.

Three layouts (``legacy`` sessions.json, ``directory`` sessions.d/, ``sqlite``) and two
profiles (``seed``: the proposal with its hazards; ``hardened``: every hazard fixed).
Every byte of legacy and directory I/O passes through the seam in
:mod:`reference_store.fs`, where the harness injects its faults.
"""

from ._base import Problem, SessionStore
from ._cache import PROCESS_CACHE, SessionCache
from ._directory import DirectoryStore, directory_path
from ._errors import (
    InvalidEntryError,
    InvalidKeyError,
    LockTimeoutError,
    StoreError,
    StorePathError,
    UnsupportedLayoutError,
)
from ._keys import keyed_file_name, normalize_key, sanitize_key, unsanitize_key
from ._legacy import LegacyStore
from ._migration import dedupe_case_variants, migrate, migrate_agents, staging_path
from ._open import LAYOUTS, AutoStore, crash_leftovers, open_store, recover
from ._profile import HARDENED, PROFILES, SEED, Profile
from ._runtime import ManualClock, Runtime, deterministic_runtime
from ._sqlite import SqliteStore, sqlite_path
from .fs import CountingFileSystem, FileSystem, FileSystemWrapper, OsFileSystem

__all__ = [
    "HARDENED",
    "LAYOUTS",
    "PROCESS_CACHE",
    "PROFILES",
    "SEED",
    "AutoStore",
    "CountingFileSystem",
    "DirectoryStore",
    "FileSystem",
    "FileSystemWrapper",
    "InvalidEntryError",
    "InvalidKeyError",
    "LegacyStore",
    "LockTimeoutError",
    "ManualClock",
    "OsFileSystem",
    "Problem",
    "Profile",
    "Runtime",
    "SessionCache",
    "SessionStore",
    "SqliteStore",
    "StoreError",
    "StorePathError",
    "UnsupportedLayoutError",
    "crash_leftovers",
    "dedupe_case_variants",
    "deterministic_runtime",
    "directory_path",
    "keyed_file_name",
    "migrate",
    "migrate_agents",
    "normalize_key",
    "open_store",
    "recover",
    "sanitize_key",
    "sqlite_path",
    "staging_path",
    "unsanitize_key",
]
