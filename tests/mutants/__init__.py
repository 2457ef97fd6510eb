"""The catalog of seeded bugs: the hardened reference store with one defect each.

Every entry names the gate checks that must catch it -- scenarios of the catalog, or the
gate's own ``machine`` (Hypothesis state machines) and ``concurrency`` (racing
processes) checks; ``tests/test_mutants.py`` runs each mutant through those checks and
fails if any of them stays silent. The gate and the report's mutation-score table use the
same catalog (``MUTANTS``).

Issue 8's list, and where each bug is:

* ``update_entry`` without the lock: ``update-entry-unlocked``;
* lock released before the write: ``lock-released-before-write``;
* rename before the write completes: ``rename-before-write``;
* non-atomic fallback used always: ``write-in-place`` (the seed's fallback *is* an
  in-place write of the target; using it for every write is exactly that mutant);
* ``%`` not encoded first (seed key encoding): not a mutant of ``hardened``. Hardened
  names a file by the *normalized* key with every byte outside ``[a-z0-9._-]``
  percent-encoded in upper-case hex, and keeps the exact keys inside the file, so the
  order of encoding cannot make two keys share a name on a case-sensitive file system,
  and names are never decoded; the seed names are only decoded when reading files an
  older version wrote, which no scenario sets up;
* backup overwrites an earlier backup: not catchable yet. The oracle judges the entries,
  not backups, and no workload migrates twice with different legacy files, so an
  overwritten backup is never observed (``swallowed-backup-failure`` covers the seed's
  shared backup names as part of ``safe_backup``).

Lock mutants patch the stores' call sites of ``self.lock.held()`` (``_change_key``,
``_change_all``), never the lock itself, whose implementation may change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import stat as stat_module
import time
from collections.abc import Callable
from typing import Any

from harness.checks._mutation import Mutant
from reference_store._atomic import TMP_SUFFIX
from reference_store._errors import InvalidKeyError
from reference_store._keys import keyed_file_name
from reference_store.fs import FileStat, FileSystemWrapper

__all__ = ["MUTANTS", "by_name"]


# --- seam wrappers: bugs in how the store does its I/O ---------------------------------------
class _NoFolderSync(FileSystemWrapper):
    """Never fsyncs a folder: renames and unlinks are not durable."""

    def fsync_dir(self, path: str) -> None:
        return None


class _KeepRemovedEntries(FileSystemWrapper):
    """Forgets to unlink the files of removed entries."""

    def unlink(self, path: str) -> None:
        if os.path.basename(os.path.dirname(path)).endswith(".d") and path.endswith(".json"):
            return
        self.inner.unlink(path)


class _DeleteLegacyEarly(FileSystemWrapper):
    """Removes sessions.json as soon as the migration has read it, before the new layout
    is complete."""

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        if path.endswith(".d.migrating"):
            with contextlib.suppress(FileNotFoundError):
                self.inner.unlink(path[: -len(".d.migrating")] + ".json")
        self.inner.mkdir(path, mode=mode)


class _UncheckedWrites(FileSystemWrapper):
    """Ignores a failed write (ENOSPC, EIO), as C code that never checks ``write()``'s
    result does: the file silently keeps only what fit."""

    def write(self, handle: int, data: bytes) -> int:
        try:
            return self.inner.write(handle, data)
        except OSError:
            return len(data)

    def close(self, handle: int) -> None:
        with contextlib.suppress(OSError):
            self.inner.close(handle)

    def fsync(self, handle: int) -> None:
        with contextlib.suppress(OSError):
            self.inner.fsync(handle)


class _NoStagingCleanup(FileSystemWrapper):
    """Never removes a staging folder (a stale one from an earlier crash stays)."""

    def remove_tree(self, path: str) -> None:
        if path.endswith(".migrating"):
            return
        self.inner.remove_tree(path)


class _StatFollowsLinks(FileSystemWrapper):
    """Answers ``stat`` for what a link points to, as ``os.stat`` does (the seam's is
    ``lstat``): the link is still looked at through the seam, so the trace is the same."""

    def stat(self, path: str) -> FileStat:
        found = self.inner.stat(path)
        if not stat_module.S_ISLNK(found.mode):
            return found
        try:
            target = os.stat(path)
        except FileNotFoundError:
            return found  # dangling: there is nothing else to see
        return FileStat(size=target.st_size, mtime_ns=target.st_mtime_ns, mode=target.st_mode)


# --- patches: bugs in the store's logic --------------------------------------------------------
def _keep_oldest(_original: Any) -> Callable[..., Any]:
    def pick(candidates: Any, normalized: str, *, deterministic: bool) -> Any:
        items = list(candidates)
        if not items:
            return None
        return min(items, key=lambda kv: kv[1].get("updatedAt", 0))

    return pick


def _write_in_place(_original: Any) -> Callable[..., None]:
    """Truncates the target and writes it (no temp file, no rename): the torn-file bug."""

    def write(fs: Any, path: str, data: bytes, profile: Any, _runtime: Any, **_kw: Any) -> None:
        fs.write_file(path, data, mode=0o600, sync=profile.fsync)

    return write


_IN_PLACE = {
    f"reference_store.{module}:write_atomic": _write_in_place
    for module in ("_legacy", "_directory", "_migration")
}


def _rename_before_write(_original: Any) -> Callable[..., None]:
    """Publishes the temp file under the target's name, then writes into it: a crash in
    between leaves the target empty or torn."""

    def write(
        fs: Any, path: str, data: bytes, profile: Any, runtime: Any, *, chmod: bool = False
    ) -> None:
        tmp = f"{path}.{runtime.new_token()}{TMP_SUFFIX}"
        handle = fs.open_write(tmp, mode=0o600)
        try:
            if chmod:
                fs.chmod(tmp, 0o600)
            fs.replace(tmp, path)
            fs.write(handle, data)
            if profile.fsync:
                fs.fsync(handle)
        finally:
            fs.close(handle)
        if profile.fsync:
            fs.fsync_dir(os.path.dirname(path))

    return write


_RENAME_FIRST = {
    f"reference_store.{module}:write_atomic": _rename_before_write
    for module in ("_legacy", "_directory", "_migration")
}


class _NoLock:
    """Stands in for a store's lock: ``held()`` holds nothing."""

    def held(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def _update_entry_unlocked(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_entry(self: Any, key: str, patch_fn: Any) -> Any:
        real = self.lock
        self.lock = _NoLock()
        try:
            return original(self, key, patch_fn)
        finally:
            self.lock = real

    return update_entry


#: The methods that persist a change, called under the lock by ``_change_*``.
_WRITERS = ("_persist", "_apply", "_seed_diff_write", "_seed_full_write")


def _release_before_write(original: Callable[..., Any]) -> Callable[..., Any]:
    """Reads and changes under the lock, but persists after releasing it: the writes are
    recorded during the locked part and replayed once ``original`` has returned."""

    def change(self: Any, *args: Any, **kwargs: Any) -> Any:
        deferred: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        present = [name for name in _WRITERS if hasattr(self, name)]
        for name in present:
            real = getattr(self, name)

            def record(*call_args: Any, _real: Any = real) -> None:
                deferred.append((_real, call_args))

            setattr(self, name, record)  # an instance attribute shadows the method
        try:
            result = original(self, *args, **kwargs)
        finally:
            for name in present:
                delattr(self, name)
        for write, call_args in deferred:
            write(*call_args)
        return result

    return change


_LOCK_RELEASED_EARLY = {
    f"reference_store.{module}:{cls}.{method}": _release_before_write
    for module, cls in (("_legacy", "LegacyStore"), ("_directory", "DirectoryStore"))
    for method in ("_change_key", "_change_all")
}


def _never_invalidate(_original: Any) -> Callable[..., None]:
    def invalidate(self: Any, key: str) -> None:
        return None

    return invalidate


def _read_errors_as_missing(original: Callable[..., Any]) -> Callable[..., Any]:
    def read_raw(self: Any, name: str) -> Any:
        try:
            return original(self, name)
        except OSError:
            return None, True, None  # an EIO'd file is treated as corrupt and skipped

    return read_raw


def _load_returns_a_list(original: Callable[..., Any]) -> Callable[..., Any]:
    """A fresh load hands back the entries as a list (their keys lost): a store answering
    in a shape of its own. The store's own cached reads keep working."""

    def load(self: Any, skip_cache: bool = False) -> Any:
        found = original(self, skip_cache)
        return list(found.values()) if skip_cache else found

    return load


def _update_entry_returns_none(original: Callable[..., Any]) -> Callable[..., Any]:
    """Writes the patched entry but answers ``None``, as for a missing key."""

    def update_entry(self: Any, key: str, patch_fn: Any) -> Any:
        original(self, key, patch_fn)
        return None

    return update_entry


def _diff_by_objects(_original: Callable[..., Any]) -> Callable[..., Any]:
    """Finds the files a whole-map call changed by comparing entry objects before and
    after the mutator; the two share every entry, so a change made in place is equal
    on both sides and never written (the bug the hardened store once had)."""

    def keyed_ops(self: Any, before: Any, _raws: Any, data: Any) -> dict[str, bytes | None]:
        after: dict[str, dict[str, Any]] = {}
        for key, entry in data.items():
            after.setdefault(keyed_file_name(key), {})[key] = entry
        ops: dict[str, bytes | None] = {}
        for name in sorted(set(before) | set(after)):
            old, new = before.get(name), after.get(name)
            if not new:
                if old is not None:
                    ops[name] = None
            elif old != new:
                ops[name] = self._encode_file(dict(sorted(new.items())))
        return ops

    return keyed_ops


def _wait_for_whole_file(original: Callable[..., Any]) -> Callable[..., Any]:
    """A file that looks half-written (JSON cut off inside its object) is read again
    until the writer finishes -- which, for a file torn by a crash, never happens."""

    def parse(self: Any, name: str, raw: bytes) -> Any:
        while True:
            try:
                return original(self, name, raw)
            except ValueError:
                if not raw.lstrip().startswith(b"{") or raw.rstrip().endswith(b"}"):
                    raise
            time.sleep(0.01)
            raw = self.fs.read_file(self.path_of(name))

    return parse


def _crash_on_bad_utf8(original: Callable[..., Any]) -> Callable[..., Any]:
    """A parser that dies on bytes that are not UTF-8 (as a C extension that reads past
    its buffer does): the whole process goes, not just the call."""

    def parse(self: Any, name: str, raw: bytes) -> Any:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            os.kill(os.getpid(), signal.SIGSEGV)
        return original(self, name, raw)

    return parse


def _skip_slash_keys(original: Callable[..., Any]) -> Callable[..., Any]:
    def dedupe(data: Any, *, deterministic: bool) -> Any:
        kept = {k: v for k, v in data.items() if "/" not in k}
        return original(kept, deterministic=deterministic)

    return dedupe


def _refuse_backslash(original: Callable[..., Any]) -> Callable[..., Any]:
    def check(key: Any) -> None:
        if isinstance(key, str) and "\\" in key:
            raise InvalidKeyError(f"session key {key!r} contains a backslash")
        original(key)

    return check


# --- bugs only a promise of its own catches (issue 22: one seeded bug per promise row) ---------
def _round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_floats(v) for v in value]
    return value


def _floats_rounded(original: Callable[..., bytes]) -> Callable[..., bytes]:
    """Writes floats with six significant digits (a ``%g`` formatter): 0.1 survives,
    1234.5678 comes back as 1234.57."""

    def encode(value: Any) -> bytes:
        return original(_round_floats(value))

    return encode


def _swallow_mutator_errors(original: Callable[..., Any]) -> Callable[..., Any]:
    """A mutator that raises is logged and ignored: the store then writes the half-changed
    map and returns as if the call had worked."""

    def run(self: Any, data: Any, mutator: Any, snapshot: Any) -> Any:
        def forgiving(current: Any) -> Any:
            try:
                return mutator(current)
            except Exception:
                return None

        return original(self, data, forgiving, snapshot)

    return run


class _RecreatedTemp(FileSystemWrapper):
    """Opens its temp file once more after renaming it (a cleanup that reopens the path
    with O_CREAT to close it): every write leaves an empty temp file until the next
    start-up removes it."""

    def replace(self, source: str, target: str) -> None:
        self.inner.replace(source, target)
        if source.endswith(TMP_SUFFIX):
            self.inner.close(self.inner.open_write(source, mode=0o600))


class _FoldersByUmask(FileSystemWrapper):
    """Creates folders with mode 0777, so the umask decides (0755 here): others can list
    and read every session file's name."""

    def mkdir(self, path: str, *, mode: int = 0o777) -> None:
        self.inner.mkdir(path, mode=0o777)


def _route_clock_behind(original: Callable[..., Any]) -> Callable[..., Any]:
    """Stamps routes from a clock an hour behind (local time read as UTC)."""

    def update_last_route(self: Any, key: str, **kwargs: Any) -> Any:
        real = self.runtime
        self.runtime = dataclasses.replace(real, now_ms=lambda: real.now_ms() - 3_600_000)
        try:
            return original(self, key, **kwargs)
        finally:
            self.runtime = real

    return update_last_route


def _exact_key_read(_original: Any) -> Callable[..., Any]:
    """``read_updated_at`` looks the key up as given: no trimming, no case variants."""

    def read_updated_at(self: Any, key: str) -> int | None:
        entry = self.load(skip_cache=True).get(key)
        value = entry.get("updatedAt") if isinstance(entry, dict) else None
        return value if isinstance(value, int) else None

    return read_updated_at


MUTANTS: tuple[Mutant, ...] = (
    # Bugs in how the store writes.
    Mutant(
        "write-in-place",
        "writes entry files and sessions.json in place instead of tmp + rename",
        # Not migration.disk-full: a torn file the hardened merge leaves in the live
        # folder is unreadable, so the next start-up moves it aside and merges the legacy
        # entry again -- repaired, not lost. Not the machine either: at the gate's bounds
        # it tears an in-place write for one seed in four, so claiming it was luck.
        ("update.kill", "update.disk-full"),
        breaks=("P-durable-crash",),
        patches=_IN_PLACE,
    ),
    Mutant(
        "no-fsync",
        "renames a temp file into place without fsyncing it or its folder",
        ("power-loss.update", "power-loss.save", "power-loss.migration"),
        breaks=("P-durable-power",),
        profile_changes={"fsync": False},
    ),
    Mutant(
        "no-folder-fsync",
        "fsyncs file data but never the folder, so a rename is not durable",
        ("power-loss.update", "power-loss.migration"),
        breaks=("P-durable-power",),
        seam=_NoFolderSync,
    ),
    Mutant(
        "enoent-fallback",
        "falls back to an in-place write when the rename fails with ENOENT",
        ("update.non-atomic-rename",),
        breaks=("P-durable-crash",),
        profile_changes={"enoent_fallback": True},
    ),
    Mutant(
        "no-journal",
        "a multi-entry update renames its files one by one with no intent journal",
        # Not the machine: at the gate's bounds (20 examples of 25 steps) its crash lands
        # between two renames of one update for about half the seeds (measured: which
        # seeds find it changed each time a rule or a draw was added), so claiming it
        # was luck.
        ("update.kill", "update.disk-full"),
        breaks=("P-atomic-call",),
        profile_changes={"journal": False},
    ),
    Mutant(
        "no-startup-cleanup",
        "start-up leaves the temp files of a crashed writer for good",
        ("update.kill", "migration.non-atomic-rename"),
        breaks=("P-no-leftovers",),
        profile_changes={"startup_cleanup": False},
    ),
    Mutant(
        "rename-before-write",
        "renames the temp file into place before writing its data",
        ("update.kill", "update.disk-full"),
        breaks=("P-durable-crash",),
        patches=_RENAME_FIRST,
    ),
    Mutant(
        "keep-removed-entries",
        "forgets to unlink the files of removed entries",
        ("update.kill", "machine"),
        breaks=("P-deletes-stick",),
        seam=_KeepRemovedEntries,
    ),
    Mutant(
        "read-errors-as-missing",
        "an entry file that fails to read (EIO) is skipped as if absent",
        ("io-error",),
        breaks=("P-untouched-kept",),
        patches={"reference_store._directory:DirectoryStore._read_raw": _read_errors_as_missing},
    ),
    Mutant(
        "in-place-change-dropped",
        "a whole-map update diffs entry objects it shares with the mutator, so entries "
        "changed in place are never written",
        ("update.kill", "machine"),
        breaks=("P-in-place-kept",),
        patches={"reference_store._directory:DirectoryStore._keyed_ops": _diff_by_objects},
    ),
    Mutant(
        "load-returns-a-list",
        "a fresh load returns the entries as a list instead of a map of keys to entries",
        ("update.kill",),
        breaks=("P-recovers",),
        patches={
            f"reference_store.{module}.load": _load_returns_a_list
            for module in ("_legacy:LegacyStore", "_directory:DirectoryStore")
        },
    ),
    Mutant(
        "update-entry-returns-none",
        "update_entry writes the patched entry but returns None, as for a missing key",
        ("concurrency", "machine"),
        breaks=("P-results",),
        patches={"reference_store._base:SessionStore.update_entry": _update_entry_returns_none},
    ),
    Mutant(
        "cache-not-invalidated",
        "a write does not invalidate the cached map: later loads return stale data",
        ("update.kill",),
        breaks=("P-fresh-reads",),
        patches={"reference_store._cache:SessionCache.invalidate": _never_invalidate},
    ),
    Mutant(
        "corrupt-deleted",
        "a full save deletes (or overwrites) files it could not parse",
        ("corrupt-entry",),
        breaks=("P-corrupt-kept",),
        profile_changes={"quarantine_corrupt": False},
    ),
    # Bugs that take the process down with them: the explorer runs each in a child
    # process, stops it after --run-timeout, and reports the run (harness.engine._contain).
    Mutant(
        "wait-for-whole-file",
        "waits for a torn entry file to be completed by its writer, forever",
        ("corrupt-entry",),
        breaks=("P-returns",),
        patches={"reference_store._directory:DirectoryStore._parse": _wait_for_whole_file},
    ),
    Mutant(
        "crash-on-bad-utf8",
        "its parser kills the process (SIGSEGV) on a file that is not UTF-8",
        ("corrupt-entry",),
        breaks=("P-returns",),
        patches={"reference_store._directory:DirectoryStore._parse": _crash_on_bad_utf8},
    ),
    # Bugs in locking: only racing writers show them.
    Mutant(
        "update-entry-unlocked",
        "update_entry reads, changes and writes its entry without taking the lock",
        ("concurrency",),
        breaks=("P-lock-excludes",),
        patches={"reference_store._base:SessionStore.update_entry": _update_entry_unlocked},
    ),
    Mutant(
        "lock-released-before-write",
        "the lock is released after the read-modify step, before the write lands",
        ("concurrency",),
        breaks=("P-lock-excludes",),
        patches=_LOCK_RELEASED_EARLY,
    ),
    # Bugs in the migration.
    Mutant(
        "dedup-keeps-oldest",
        "case-variant dedup keeps the oldest entry instead of the newest",
        ("migration.kill", "case-variant-keys"),
        breaks=("P-migration-lossless",),
        patches={"reference_store._migration:pick_newest": _keep_oldest},
    ),
    Mutant(
        "order-tiebreak",
        "a tie on updatedAt between case variants keeps whichever came first",
        ("case-variant-keys",),
        breaks=("P-order-independent",),
        profile_changes={"deterministic_tiebreak": False},
    ),
    Mutant(
        "delete-legacy-early",
        "sessions.json is removed once read, before the new layout is complete",
        ("migration.kill",),
        breaks=("P-migration-lossless",),
        seam=_DeleteLegacyEarly,
    ),
    Mutant(
        "unchecked-writes",
        "a failed write or close (disk full) is ignored and the short file kept",
        ("migration.disk-full", "update.disk-full"),
        breaks=("P-migration-lossless",),
        seam=_UncheckedWrites,
    ),
    Mutant(
        "no-staging-cleanup",
        "a stale staging folder from an earlier crash is never removed",
        ("stale-staging",),
        breaks=("P-recovers",),
        seam=_NoStagingCleanup,
    ),
    Mutant(
        "swallowed-backup-failure",
        "a failed backup rename is swallowed; the legacy file is merged in again later",
        ("migration.backup-failure",),
        breaks=(
            "P-backups-kept",
            "P-deletes-stick",
        ),
        profile_changes={"safe_backup": False},
    ),
    Mutant(
        "migration-skips-slash-keys",
        "the migration drops entries whose key contains '/'",
        ("keys.hostile",),
        breaks=("P-migration-lossless",),
        patches={"reference_store._migration:dedupe_case_variants": _skip_slash_keys},
    ),
    Mutant(
        "refuses-backslash-keys",
        "a valid key with a backslash is refused (the store cannot file it)",
        ("keys.hostile",),
        breaks=("P-names-safe",),
        patches={
            "reference_store._base:check_key_encodable": _refuse_backslash,
            "reference_store._codec:check_key_encodable": _refuse_backslash,
        },
    ),
    # Bugs in how the store meets the shapes of its own paths.
    Mutant(
        "own-paths-unchecked",
        "start-up reads its own paths as it finds them: a file named sessions.d raises a "
        "bare NotADirectoryError, a FIFO blocks the read, permission errors come out bare",
        ("disk-shapes",),
        breaks=("P-errors-explained",),
        profile_changes={"check_own_paths": False},
    ),
    Mutant(
        "stat-follows-links",
        "looks at its paths through links (stat, not lstat): a link to a folder outside "
        "passes for a stale staging folder, and the cleanup deletes what it points to",
        ("disk-shapes",),
        breaks=("P-paths-inside",),
        seam=_StatFollowsLinks,
    ),
    # One bug per promise the scenarios above do not reach (issue 22).
    Mutant(
        "floats-rounded",
        "writes floats with six significant digits, so 1234.5678 loads back as 1234.57",
        ("machine",),
        breaks=("P-roundtrip",),
        patches={
            f"reference_store.{module}:encode_json": _floats_rounded
            for module in ("_legacy", "_directory")
        },
    ),
    Mutant(
        "refused-update-stored",
        "an update whose mutator raises is swallowed: the half-changed map is written and "
        "the call returns",
        ("machine",),
        breaks=("P-refused-changes-nothing",),
        patches={"reference_store._base:SessionStore._run_mutator": _swallow_mutator_errors},
    ),
    Mutant(
        "temp-recreated",
        "reopens its temp file after the rename: an empty temp file stays after every "
        "write, until the next start-up's cleanup",
        ("machine",),
        breaks=("P-no-leftovers",),
        seam=_RecreatedTemp,
    ),
    Mutant(
        "folders-by-umask",
        "creates its folders with mode 0777, so the umask decides (0755): other users can "
        "list the sessions",
        ("machine",),
        breaks=("P-modes",),
        seam=_FoldersByUmask,
    ),
    Mutant(
        "route-clock-behind",
        "update_last_route stamps updatedAt from a clock an hour behind",
        ("machine",),
        breaks=("P-updatedAt-monotonic",),
        patches={"reference_store._base:SessionStore.update_last_route": _route_clock_behind},
    ),
    Mutant(
        "read-exact-key-only",
        "read_updated_at looks a key up exactly as given, so a trimmed or case-variant key "
        "finds nothing the writes would resolve it to",
        ("machine",),
        breaks=("P-reads-agree",),
        patches={
            f"reference_store.{module}.read_updated_at": _exact_key_read
            for module in ("_legacy:LegacyStore", "_directory:DirectoryStore")
        },
    ),
)


def by_name(name: str) -> Mutant:
    for mutant in MUTANTS:
        if mutant.name == name:
            return mutant
    raise KeyError(name)
