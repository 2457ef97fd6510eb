"""Start-up migration from ``sessions.json`` to the directory layout.

The promise checked by the harness: whatever crashes, fills or fails during migration,
the next start-up (which runs ``migrate`` again) loads exactly the original entries,
deduplicated by normal form; and the legacy file or a backup of it exists until the
directory is complete.

Seed steps (upstream): (1) no/empty/invalid legacy file -> ``False``; (2) remove a stale
``sessions.d.migrating/``; (3) dedupe case variants, newest ``updatedAt`` wins, a tie keeps
the first seen; (4) fresh: write staging then rename it to ``sessions.d/``; merge: write
the missing keys straight into the live folder; (5) rename the legacy file to
``sessions.json.bak.<ms>``, swallowing a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from typing import Any

from ._atomic import DIR_MODE, quarantine, remove_file, write_atomic
from ._cache import SessionCache
from ._codec import decode_json
from ._directory import DirectoryStore, directory_path
from ._keys import normalize_key, pick_newest
from ._lock import StoreLock
from ._profile import Profile, resolve_profile
from ._recovery import legacy_temp_files, settle_temp_file
from ._runtime import Runtime
from ._shapes import (
    ENTRIES,
    LOCK,
    MARKER,
    STAGING,
    STORE_FILE,
    ExplainedErrors,
    inspect_paths,
    settle_paths,
)
from .fs import FileSystem, OsFileSystem

__all__ = ["dedupe_case_variants", "migrate", "migrate_agents", "staging_path"]

STAGING_SUFFIX = ".migrating"
#: Hardened: inside the live folder, one line per legacy file already merged in (its
#: SHA-256), so a legacy file whose removal failed is never merged a second time.
MIGRATED_MARKER = ".migrated"


def staging_path(store_path: str, profile: Profile) -> str:
    return directory_path(store_path, profile) + STAGING_SUFFIX


def dedupe_case_variants(data: Mapping[str, Any], *, deterministic: bool) -> dict[str, Any]:
    """One entry per normal form, under the normalized key; newest ``updatedAt`` wins."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key, entry in data.items():
        groups.setdefault(normalize_key(key), []).append((key, entry))
    result: dict[str, Any] = {}
    for normalized, members in groups.items():
        # HAZARD(deterministic_tiebreak): the seed keeps the first seen of a tie.
        picked = pick_newest(members, normalized, deterministic=deterministic)
        assert picked is not None
        result[normalized] = picked[1]
    return result


def _backup_name(fs: FileSystem, store_path: str, profile: Profile, runtime: Runtime) -> str:
    ms = runtime.now_ms()
    if not profile.safe_backup:
        # HAZARD(safe_backup): the same pattern as 10 MB log rotation, which keeps only
        # three ``.bak.*`` files -- the migration backup can be rotated away.
        return f"{store_path}.bak.{ms}"
    # FIX(safe_backup): a name rotation never matches, never reusing an earlier one.
    name = f"{store_path}.migrated.{ms}"
    while fs.exists(name):
        ms += 1
        name = f"{store_path}.migrated.{ms}"
    return name


def migrate(
    store_path: str,
    profile: str | Profile = "seed",
    fs: FileSystem | None = None,
    *,
    runtime: Runtime | None = None,
) -> bool:
    """Migrate one legacy store to the directory layout; ``True`` when it migrated."""
    prof = resolve_profile(profile)
    seam = fs if fs is not None else OsFileSystem()
    if prof.check_own_paths:
        seam = ExplainedErrors(seam)
    rt = runtime if runtime is not None else Runtime()
    store_path = os.path.abspath(store_path)
    if prof.check_own_paths:
        _check_own_paths(seam, store_path, prof, rt)
    if not prof.safe_backup:
        # Upstream (migrateSessionStoreToDirectory) migrates under the store lock; the
        # seed does not yet (docs/fidelity.md, planned).
        return _migrate_locked(store_path, prof, seam, rt)
    # Nothing to migrate (the common start-up) is answered without the lock, so it leaves
    # no trace -- not even the lock's file; the answer is checked again under the lock.
    # A legacy temp file may be the only copy of a write whose rename never happened:
    # it is decided first, under the lock (_recovery's docstring).
    if _legacy_entries(seam, store_path) is None and not (
        prof.startup_cleanup
        and legacy_temp_files(seam, store_path, regular_only=prof.quarantine_corrupt)
    ):
        return False
    # FIX(safe_backup): hardened migrates under the store lock, so no writer of another
    # process can change either layout half-way through.
    with StoreLock(seam, store_path + ".lock", prof, rt).held():
        return _migrate_locked(store_path, prof, seam, rt)


def _check_own_paths(fs: FileSystem, store_path: str, prof: Profile, rt: Runtime) -> None:
    """FIX(check_own_paths): what the migration reads, renames or removes is first made
    sure to be missing or what the store keeps there (reference_store/_shapes.py): a
    FIFO at ``sessions.json`` would block the read for good, a link at the staging
    folder would have the stale-staging cleanup delete what it points to."""
    live = directory_path(store_path, prof)
    lock = StoreLock(fs, store_path + ".lock", prof, rt)
    owned = [
        (store_path, STORE_FILE),
        (live, ENTRIES),
        (os.path.join(live, MIGRATED_MARKER), MARKER),
        (staging_path(store_path, prof), STAGING),
        (lock.path, LOCK),
    ]
    findings = inspect_paths(fs, owned)
    if not findings:
        return
    for finding in findings:
        if finding.refused:
            raise finding.error()
    with lock.held():
        settle_paths(fs, inspect_paths(fs, owned), prof, rt)


def _legacy_entries(fs: FileSystem, store_path: str) -> tuple[bytes, dict[str, Any]] | None:
    """(raw bytes, map) of a legacy file worth migrating: one holding a non-empty object."""
    try:
        raw = fs.read_file(store_path)
    except FileNotFoundError:
        return None
    try:
        data = decode_json(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data:
        return None
    return raw, data


def _migrate_locked(store_path: str, prof: Profile, fs: FileSystem, rt: Runtime) -> bool:
    if prof.startup_cleanup:
        # FIX(startup_cleanup): decide a crashed legacy write against the file about to
        # be retired, not after it is gone (_recovery's docstring).
        for tmp in legacy_temp_files(fs, store_path, regular_only=prof.quarantine_corrupt):
            settle_temp_file(fs, tmp, prof)
    legacy = _legacy_entries(fs, store_path)
    if legacy is None:
        return False
    raw, data = legacy

    digest = hashlib.sha256(raw).hexdigest()
    # A DirectoryStore object only lends its naming and encoding; nothing is loaded.
    layout = DirectoryStore(store_path, profile=prof, fs=fs, runtime=rt, cache=SessionCache())
    live = layout.dir
    staging = staging_path(store_path, prof)
    if fs.exists(staging):
        fs.remove_tree(staging)
    deduped = dedupe_case_variants(data, deterministic=prof.deterministic_tiebreak)
    files = {
        layout.file_name(key): layout._encode_file({key: entry}) for key, entry in deduped.items()
    }
    merge = fs.is_dir(live)
    marker = os.path.join(live, MIGRATED_MARKER)
    if merge and prof.safe_backup and digest in _read_marker(fs, marker):
        # FIX(safe_backup): this exact legacy file was merged already and only its removal
        # failed; merging it again would resurrect entries deleted since.
        remove_file(fs, store_path, prof)
        return True

    if not merge or prof.staged_merge:
        fs.mkdir(staging, mode=DIR_MODE if prof.fsync else 0o777)
        for name, content in files.items():
            write_atomic(fs, os.path.join(staging, name), content, prof, rt)
        if prof.safe_backup and not merge:
            marker_in_staging = os.path.join(staging, MIGRATED_MARKER)
            write_atomic(fs, marker_in_staging, digest.encode() + b"\n", prof, rt)
        if prof.fsync:
            fs.fsync_dir(os.path.dirname(staging))

    if prof.safe_backup:
        # FIX(safe_backup): copy the legacy file aside *before* the switch; a failure
        # aborts the migration (the staging folder is removed by the next attempt).
        write_atomic(fs, _backup_name(fs, store_path, prof, rt), raw, prof, rt)

    if not merge:
        fs.replace(staging, live)
        if prof.fsync:
            fs.fsync_dir(os.path.dirname(live))
    else:
        for name, content in files.items():
            target = os.path.join(live, name)
            if fs.exists(target):
                if not (prof.quarantine_corrupt and layout._read_one(name)[1]):
                    continue  # existing files win
                # FIX(quarantine_corrupt): a name the store cannot read (corrupt, a symlink,
                # a folder) holds no entry to win with; it is moved aside, and the legacy
                # entry is merged. HAZARD: the seed skips the key, keeping it only in .bak
                # (upstream writes over a file that does not parse: docs/fidelity.md, planned).
                quarantine(fs, target, prof, rt)
            # HAZARD(staged_merge): the seed writes straight into the live folder; with
            # staged_merge the same bytes come from the complete, synced staging copy.
            write_atomic(fs, target, content, prof, rt)
        if prof.safe_backup:
            seen = _read_marker(fs, marker)
            body = "".join(f"{d}\n" for d in [*seen, digest]).encode()
            write_atomic(fs, marker, body, prof, rt)
        if prof.staged_merge:
            fs.remove_tree(staging)

    if prof.safe_backup:
        remove_file(fs, store_path, prof)
    else:
        # HAZARD(safe_backup): a failed backup rename is swallowed: the legacy file stays
        # beside sessions.d/ and every later start-up merges it in again.
        with contextlib.suppress(OSError):
            fs.replace(store_path, _backup_name(fs, store_path, prof, rt))
    return True


def _read_marker(fs: FileSystem, marker: str) -> list[str]:
    try:
        return fs.read_file(marker).decode("ascii", "replace").split()
    except FileNotFoundError:
        return []


def migrate_agents(
    state_dir: str,
    profile: str | Profile = "seed",
    fs: FileSystem | None = None,
    *,
    runtime: Runtime | None = None,
    store_name: str = "sessions.json",
) -> dict[str, bool]:
    """Migrate every ``agents/<id>/sessions/<store_name>`` under ``state_dir`` on its own."""
    seam = fs if fs is not None else OsFileSystem()
    agents_dir = os.path.join(state_dir, "agents")
    try:
        agent_ids = seam.listdir(agents_dir)
    except FileNotFoundError:
        return {}
    results: dict[str, bool] = {}
    for agent_id in agent_ids:
        path = os.path.join(agents_dir, agent_id, "sessions", store_name)
        if seam.is_dir(os.path.dirname(path)):
            results[agent_id] = migrate(path, profile, seam, runtime=runtime)
    return results
