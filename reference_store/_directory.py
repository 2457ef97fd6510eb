"""Layout 2: ``sessions.d/``, one JSON file per session (the seed's proposal).

Seed files hold one bare entry named ``<sanitize_key(key)>.json``. Hardened files
(``keyed_files``) hold ``{"format": KEYED_FORMAT, "entries": {exact key: entry}}`` for every
key of one normal form, named by :func:`keyed_file_name`.

Promises: seed -- each file is replaced atomically, but a call touching several files is
*not* atomic (each rename lands on its own), and nothing survives power loss for sure.
Hardened -- a call touching several files first publishes an intent journal
(``<folder>/.journal``) and is rolled forward after a crash, so every call is
all-or-nothing, and with ``fsync`` durable once it returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ._atomic import TMP_SUFFIX, ensure_dir, quarantine, remove_file, write_atomic
from ._base import Problem, SessionStore, StoreMap, Unwritten
from ._cache import cache_ttl_ms
from ._codec import KEYED_FORMAT, decode_json, decode_json_lenient, encode_json
from ._keys import (
    ENTRY_SUFFIX,
    desanitize_key,
    keyed_file_name,
    normalize_key,
    resolve_key,
    sanitize_key,
    unsanitize_key,
)
from ._lock import StoreLock
from ._profile import Profile
from ._recovery import is_settleable
from ._shapes import kind_of

__all__ = ["JOURNAL_FORMAT", "JOURNAL_NAME", "DirectoryStore", "directory_path"]

T = TypeVar("T")
JOURNAL_NAME = ".journal"
JOURNAL_FORMAT = "store-harness.journal/1"
#: The hardened migration's marker inside the live folder (``_migration.MIGRATED_MARKER``;
#: repeated here because the migration imports this module).
MIGRATED_MARKER_NAME = ".migrated"
Files = dict[str, dict[str, Any]]  # file name -> {key: entry}


def directory_path(store_path: str, profile: Profile) -> str:
    """Where the directory layout of ``store_path`` lives."""
    folder, name = os.path.split(os.path.abspath(store_path))
    if profile.own_folder:
        stem = name[: -len(".json")] if name.endswith(".json") else name
        return os.path.join(folder, stem + ".d")
    # HAZARD(own_folder): upstream always uses sessions.d/, so a.json and b.json in one
    # folder share (and overwrite) one directory store.
    return os.path.join(folder, "sessions.d")


def _is_own_temp_name(name: str) -> bool:
    """Whether ``name`` is one :func:`write_atomic` makes in this folder:
    ``<entry>.json.<token>.tmp``, or the journal's or migration marker's temp file."""
    if not name.endswith(TMP_SUFFIX):
        return False
    target, _dot, token = name[: -len(TMP_SUFFIX)].rpartition(".")
    if not token or not target:
        return False
    return target.endswith(ENTRY_SUFFIX) or target in (JOURNAL_NAME, MIGRATED_MARKER_NAME)


def _hidden(name: str) -> bool:
    """Whether upstream's folder listing skips ``name`` (a seed scan and full save do).

    HAZARD(keyed_files): a key starting with ``.`` (or the empty key) has a seed file
    name starting with ``.``, so its entry is written and never read back; hardened
    names never start with a dot, and hardened still reads such a file when it finds one.
    """
    return name.startswith(".")


class DirectoryStore(SessionStore):
    layout = "directory"

    def __init__(self, store_path: str, **kwargs: Any) -> None:
        super().__init__(store_path, **kwargs)
        self.dir = directory_path(self.store_path, self.profile)
        self._dir_prefix = os.path.join(self.dir, "")
        self.journal_path = self.path_of(JOURNAL_NAME)
        # Upstream keys its cache by the store path in both layouts: two store paths that
        # share the seed's sessions.d/ each keep a view of their own, which the other's
        # writes leave stale until the TTL runs out. The layout is part of the key so an
        # auto store's legacy and directory views never meet.
        self.cache_key = f"{self.store_path} (directory)"
        self.lock = StoreLock(self.fs, self.store_path + ".lock", self.profile, self.runtime)

    # --- names and parsing -----------------------------------------------------------------
    def file_name(self, key: str) -> str:
        if self.profile.keyed_files:
            return keyed_file_name(key)
        return sanitize_key(key) + ENTRY_SUFFIX

    def path_of(self, name: str) -> str:
        # ``os.path.join`` without its checks: a name here never holds a separator.
        return self._dir_prefix + name

    def _parse(self, name: str, raw: bytes) -> dict[str, Any]:
        """Entries held by one file; ``ValueError`` when it is not a valid store file."""
        # HAZARD(quarantine_corrupt): upstream reads entry files leniently too: bytes that
        # are not UTF-8 inside a string become U+FFFD, written back by the next save.
        data = (decode_json if self.profile.quarantine_corrupt else decode_json_lenient)(raw)
        if not isinstance(data, dict):
            raise ValueError(f"top level is {type(data).__name__}, not an object")
        if self.profile.keyed_files and data.get("format") == KEYED_FORMAT:
            entries = data.get("entries")
            if not isinstance(entries, dict):
                raise ValueError("keyed file without an 'entries' object")
            return entries
        stem = name[: -len(ENTRY_SUFFIX)]
        if not self.profile.keyed_files:
            # HAZARD(keyed_files): upstream decodes only upper-case escapes, so a name
            # holding ``%3a`` loads under a key whose own file has another name.
            return {desanitize_key(stem): data}
        return {unsanitize_key(stem): data}

    def _encode_file(self, entries: dict[str, Any]) -> bytes:
        if self.profile.keyed_files:
            return encode_json({"format": KEYED_FORMAT, "entries": entries})
        ((_key, entry),) = entries.items()
        return encode_json(entry)

    def _read_one(self, name: str) -> tuple[dict[str, Any] | None, bool]:
        """(entries or None when missing, corrupt?) for one file."""
        entries, bad, _raw = self._read_raw(name)
        return entries, bad

    def _read_raw(self, name: str) -> tuple[dict[str, Any] | None, bool, bytes | None]:
        """(entries or None when missing, corrupt?, the bytes parsed) for one file."""
        path = self.path_of(name)
        if self.profile.quarantine_corrupt:
            # FIX(quarantine_corrupt): the folder may hold what no store wrote. Reading a
            # symlink reads outside the folder, opening a FIFO blocks for good; so only a
            # regular file is read, and anything else is reported and handled like an
            # unreadable file (kept; moved aside only when its own name is written).
            # HAZARD(quarantine_corrupt): upstream reads through whatever the name is.
            # The seam has no O_NOFOLLOW read, so this costs one lstat per file read.
            try:
                found = self.fs.stat(path)
            except FileNotFoundError:
                return None, False, None
            if not found.is_file:
                self._problem(path, f"not a regular file ({kind_of(found.mode)}), not followed")
                return None, True, None
        try:
            raw = self.fs.read_file(path)
        except FileNotFoundError:
            return None, False, None
        except IsADirectoryError as exc:  # a folder named *.json: not ours, never touched
            self._problem(path, f"unreadable: {exc.strerror or exc}")
            return None, True, None
        except OSError as exc:
            if self.profile.quarantine_corrupt:
                # FIX(quarantine_corrupt): EIO or EACCES says nothing about what the file
                # holds, so the call fails instead of acting as if the entry were absent
                # (a save would then leave it behind, a load would drop it unannounced);
                # the file is named in ``problems`` as well as in the error.
                self._problem(path, f"unreadable: {exc.strerror or exc}")
                raise
            # HAZARD(quarantine_corrupt): upstream skips the file like a corrupt one.
            self._problem(path, f"unreadable: {exc.strerror or exc}")
            return None, True, None
        try:
            return self._parse(name, raw), False, raw
        except ValueError as exc:
            reason = "empty file" if not raw else f"not a store file: {exc}"
            self._problem(path, reason)
            return None, True, None

    def _problem(self, path: str, reason: str) -> None:
        # HAZARD(quarantine_corrupt): upstream skips such files without a word (and a later
        # full save deletes them); hardened reports them and never deletes them.
        if self.profile.quarantine_corrupt:
            self.problems.append(Problem(path, reason))

    def _scan(self, raws: dict[str, bytes] | None = None) -> tuple[Files, set[str], list[str]]:
        """(valid files, corrupt names, all names) of the whole folder; ``raws``, when
        given, receives the bytes each valid file held."""
        try:
            names = self.fs.listdir(self.dir)
        except FileNotFoundError:
            return {}, set(), []
        files: Files = {}
        corrupt: set[str] = set()
        for name in names:
            if not name.endswith(ENTRY_SUFFIX):
                continue  # temp files, quarantined files, the journal
            if not self.profile.keyed_files and _hidden(name):
                continue
            entries, bad, raw = self._read_raw(name)
            if bad:
                corrupt.add(name)
            elif entries is not None:
                files[name] = entries
                if raws is not None and raw is not None:
                    raws[name] = raw
        if self.profile.journal and JOURNAL_NAME in names:
            self._overlay_journal(files)
            if raws is not None:
                raws.clear()  # the journal's effects are not on disk: compare nothing
        return files, corrupt, names

    @staticmethod
    def _flatten(files: Files) -> StoreMap:
        data: StoreMap = {}
        for entries in files.values():
            data.update(entries)
        return data

    # --- reading ---------------------------------------------------------------------------
    def load(self, skip_cache: bool = False) -> StoreMap:
        # Directory hits rely on the TTL alone (upstream): no mtime to check.
        if not skip_cache:
            hit = self.cache.get(self.cache_key, self.runtime.now_ms(), cache_ttl_ms())
            if hit is not None:
                return hit
        data = self._flatten(self._scan()[0])
        if cache_ttl_ms() > 0:
            self.cache.put(self.cache_key, self.runtime.now_ms(), data, None)
        return data

    def read_updated_at(self, key: str) -> int | None:
        # Reads only the file of the normalized key (upstream's fast path). HAZARD(seed):
        # an entry stored under a non-normalized key has another file and is not found.
        name = self.file_name(normalize_key(key))
        entries, _bad = self._read_one(name)
        if self.profile.journal:
            entries = self._journal_view(name, entries)
        if not entries:
            return None
        found, _ = resolve_key(entries, key, deterministic=self.profile.deterministic_tiebreak)
        entry = entries.get(found) if found is not None else None
        value = entry.get("updatedAt") if isinstance(entry, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    # --- writing ---------------------------------------------------------------------------
    def _change_all(self, mutator: Callable[[StoreMap], T], *, full_write: bool) -> T:
        with self.lock.held():
            self._replay_journal()
            raws: dict[str, bytes] = {}
            files, corrupt, names = self._scan(raws)
            data = self._flatten(files)
            snapshot = {k: encode_json(v) for k, v in data.items()}
            result = self._run_mutator(data, mutator, snapshot)
            if self.profile.keyed_files:
                self._apply(self._keyed_ops(files, raws, data), corrupt)
            elif full_write:
                self._seed_full_write(data, names)
            else:
                self._seed_diff_write(snapshot, data)
            return result

    def _change_key(self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool) -> Any:
        with self.lock.held():
            self._replay_journal()
            if self.profile.keyed_files:
                return self._change_keyed_file(key, change, fresh=fresh)
            # HAZARD(keyed_files): upstream loads the whole folder to resolve one key, so
            # an update of one entry costs a read of every entry.
            data = self._flatten(self._scan()[0]) if fresh else self.load()
            snapshot = {k: encode_json(v) for k, v in data.items()}
            result = change(data)
            if isinstance(result, Unwritten):
                return result.result
            self._seed_diff_write(snapshot, data)
            return result

    def _change_keyed_file(
        self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool
    ) -> Any:
        """FIX(keyed_files): one file holds every variant of the key; touch only it."""
        name = keyed_file_name(key)
        if fresh:
            entries, bad, before = self._read_raw(name)
            # A file just found (readable or not) proves the folder, and the lock keeps
            # every other writer out: no mkdir needed, one syscall less per update.
            # A cached view proves nothing about the folder.
            found_file = bad or entries is not None
        else:
            normalized = normalize_key(key)
            cached = self.load()
            entries = {k: v for k, v in cached.items() if normalize_key(k) == normalized}
            before = self._encode_file(dict(sorted(entries.items()))) if entries else None
            bad = found_file = False
        view: StoreMap = dict(entries or {})
        result = change(view)
        if isinstance(result, Unwritten):
            return result.result
        # Only this file's keys: the view is not grouped by file (keys of others dropped).
        mine = {k: v for k, v in view.items() if keyed_file_name(k) == name}
        ops: dict[str, bytes | None] = {}
        self._diff_file(ops, name, before, mine)
        self._apply(ops, {name} if bad else set(), folder_exists=found_file)
        return result

    def _seed_full_write(self, data: StoreMap, names: Iterable[str]) -> None:
        """Upstream ``save``: rewrite every entry, then unlink every other ``*.json``."""
        ensure_dir(self.fs, self.dir, self.profile)
        self.cache.invalidate(self.cache_key)
        written: set[str] = set()
        for key, entry in data.items():
            name = self.file_name(key)
            path = self.path_of(name)
            write_atomic(self.fs, path, encode_json(entry), self.profile, self.runtime)
            written.add(name)
        for name in names:
            if name.endswith(ENTRY_SUFFIX) and not _hidden(name) and name not in written:
                # HAZARD(quarantine_corrupt): this deletes files the load skipped as corrupt.
                remove_file(self.fs, self.path_of(name), self.profile)
        self.cache.invalidate(self.cache_key)

    def _seed_diff_write(self, snapshot: dict[str, bytes], data: StoreMap) -> None:
        """Upstream diff write: changed/new entries, then removed ones; one file at a time.

        HAZARD(journal): each rename lands on its own, so a crash between two of them
        leaves a multi-entry ``update`` half applied.
        """
        changed = [k for k, v in data.items() if snapshot.get(k) != encode_json(v)]
        removed = [k for k in snapshot if k not in data]
        if not changed and not removed:
            return
        ensure_dir(self.fs, self.dir, self.profile)
        self.cache.invalidate(self.cache_key)
        try:
            for key in changed:
                path = self.path_of(self.file_name(key))
                write_atomic(self.fs, path, encode_json(data[key]), self.profile, self.runtime)
            for key in removed:
                remove_file(self.fs, self.path_of(self.file_name(key)), self.profile)
        finally:
            self.cache.invalidate(self.cache_key)

    # --- hardened: per-file operations and the intent journal --------------------------------
    def _keyed_ops(
        self, before: Files, raws: dict[str, bytes], data: StoreMap
    ) -> dict[str, bytes | None]:
        """File name -> new content (``None``: delete) turning ``before`` into ``data``.

        Changes are found by comparing bytes with ``raws`` (what each file held), never
        the entry objects: ``data`` shares them with ``before``, so an entry the mutator
        changed in place looks unchanged to any object comparison. A file in ``before``
        without raw bytes (the journal's view) is written again.
        """
        after: Files = {}
        for key, entry in data.items():
            after.setdefault(keyed_file_name(key), {})[key] = entry
        ops: dict[str, bytes | None] = {}
        for name in sorted(set(before) | set(after)):
            held = raws.get(name, b"") if name in before else None
            self._diff_file(ops, name, held, after.get(name))
        return ops

    def _diff_file(
        self,
        ops: dict[str, bytes | None],
        name: str,
        before: bytes | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Add to ``ops`` what turns file ``name`` from the bytes ``before`` (``None``: no
        file) into the entries ``after`` (``None`` or empty: no file): a delete, new
        content, or nothing."""
        if not after:
            if before is not None:
                ops[name] = None
            return
        content = self._encode_file(dict(sorted(after.items())))
        if content != before:
            ops[name] = content

    def _apply(
        self, ops: dict[str, bytes | None], corrupt: set[str], *, folder_exists: bool = False
    ) -> None:
        if not ops:
            return
        if not folder_exists:
            ensure_dir(self.fs, self.dir, self.profile)
        self.cache.invalidate(self.cache_key)
        try:
            journaled = self.profile.journal and len(ops) > 1
            if journaled:
                self._write_journal(ops)
            for name, content in ops.items():
                path = self.path_of(name)
                if name in corrupt and self.profile.quarantine_corrupt:
                    # FIX(quarantine_corrupt): never overwrite a file we could not read.
                    with contextlib.suppress(FileNotFoundError):
                        quarantine(self.fs, path, self.profile, self.runtime)
                if content is None:
                    remove_file(self.fs, path, self.profile)
                else:
                    write_atomic(self.fs, path, content, self.profile, self.runtime)
            if journaled:
                remove_file(self.fs, self.journal_path, self.profile)
        finally:
            self.cache.invalidate(self.cache_key)

    def _write_journal(self, ops: dict[str, bytes | None]) -> None:
        body = {
            "format": JOURNAL_FORMAT,
            "ops": {
                name: None if content is None else content.decode("utf-8")
                for name, content in ops.items()
            },
        }
        write_atomic(self.fs, self.journal_path, encode_json(body), self.profile, self.runtime)

    def _read_journal(self) -> dict[str, bytes | None] | None:
        try:
            raw = self.fs.read_file(self.journal_path)
        except FileNotFoundError:
            return None
        try:
            body = decode_json(raw)
            ops = body["ops"]
            return {
                str(name): None if text is None else str(text).encode("utf-8")
                for name, text in ops.items()
            }
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A journal is published by rename, so it is never torn by a process crash;
            # one that is unreadable anyway is reported and left for a human.
            self._problem(self.journal_path, f"unreadable journal: {exc}")
            return None

    def _replay_journal(self) -> None:
        """Roll an interrupted multi-file call forward (under the lock)."""
        if not self.profile.journal:
            return
        ops = self._read_journal()
        if ops is None:
            return
        for name, content in ops.items():
            path = self.path_of(name)
            _entries, bad = self._read_one(name)
            if bad and self.profile.quarantine_corrupt:
                # FIX(quarantine_corrupt): the interrupted call would have moved this
                # unreadable file aside before replacing it; the replay must too.
                with contextlib.suppress(FileNotFoundError):
                    quarantine(self.fs, path, self.profile, self.runtime)
            if content is None:
                remove_file(self.fs, path, self.profile)
            else:
                write_atomic(self.fs, path, content, self.profile, self.runtime)
        remove_file(self.fs, self.journal_path, self.profile)
        self.cache.invalidate(self.cache_key)

    def _overlay_journal(self, files: Files) -> None:
        """What readers see while a journal awaits replay: its effects applied."""
        ops = self._read_journal() or {}
        for name, content in ops.items():
            if content is None:
                files.pop(name, None)
            else:
                try:
                    files[name] = self._parse(name, content)
                except ValueError:
                    continue

    def _journal_view(self, name: str, entries: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            self.fs.stat(self.journal_path)
        except FileNotFoundError:
            return entries
        ops = self._read_journal() or {}
        if name not in ops:
            return entries
        content = ops[name]
        return None if content is None else self._parse(name, content)

    # --- start-up --------------------------------------------------------------------------
    def leftovers(self) -> list[str]:
        """Temp files of this store left by a crashed writer (paths)."""
        found: list[str] = []
        try:
            names = self.fs.listdir(self.dir)
        except (FileNotFoundError, NotADirectoryError):
            names = []
        for name in names:
            if not _is_own_temp_name(name):
                continue  # a foreign *.tmp: neither read, promoted nor removed
            path = self.path_of(name)
            # FIX(quarantine_corrupt): start-up cleanup reads, renames or unlinks what this
            # returns, so a symlink, folder, FIFO or unreadable file wearing a temp name is
            # left alone.
            if self.profile.quarantine_corrupt and not is_settleable(self.fs, path):
                continue
            found.append(path)
        return found
