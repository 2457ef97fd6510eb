"""Profiles: which of the seed design's hazards a store keeps.

``SEED`` is the proposal as written (every hazard of docs/spec.md present); ``HARDENED`` fixes
each one. Each flag names one fix, and the store code tests the flag at the exact place
the hazard lives, so ``grep`` for a flag finds the hazard. A profile with one flag flipped
is how the mutation catalogue builds a store with exactly one defect.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ._errors import UnsupportedLayoutError

__all__ = ["HARDENED", "PROFILES", "SEED", "Profile", "resolve_profile"]


@dataclass(frozen=True)
class Profile:
    name: str
    #: fsync file data before each rename, and the folder after each create/rename/unlink.
    fsync: bool
    #: corrupt or unparsable files are moved aside (``*.corrupt.<ms>``), never dropped,
    #: overwritten or deleted.
    quarantine_corrupt: bool
    #: on ENOENT during an atomic write, fall back to writing the target in place (seed).
    enoent_fallback: bool
    #: merge-mode migration writes through staging with per-file atomic copies.
    staged_merge: bool
    #: migration backup under a name log rotation never touches, taken *before* the switch;
    #: a failed backup aborts the migration instead of being swallowed.
    safe_backup: bool
    #: the store lock is an OS lock (flock) the kernel drops when its holder dies, never a
    #: lock file judged stale by age and taken over from a live holder (reference_store/_lock.py).
    lock_dies_with_holder: bool
    #: ``update_last_route`` reads the entry fresh under the lock instead of via the cache.
    fresh_route_read: bool
    #: ties on ``updatedAt`` between case variants are broken by content, not input order.
    deterministic_tiebreak: bool
    #: directory layout: one file per *normalized* key holding the exact keys, under a safe
    #: (hashed when needed) name; single-key calls touch only that file, never scan.
    keyed_files: bool
    #: the directory layout is named after the store file (``a.json`` -> ``a.d/``), so two
    #: store paths in one folder never share it (upstream: always ``sessions.d/``).
    own_folder: bool
    #: directory layout: a call touching several files writes an intent journal first, so
    #: it is all-or-nothing like the legacy file.
    journal: bool
    #: bad entries or keys raise :class:`StoreError` instead of being stored or dropped.
    validate_input: bool
    #: startup removes the temp files a crashed writer left (and rolls its journal forward).
    startup_cleanup: bool
    #: an ``update_entry`` patch function that changes its argument in place and returns
    #: ``None`` has its change kept (upstream drops it: a null patch saves nothing).
    keep_in_place_patch: bool
    #: start-up looks at every path the store owns before reading any: what cannot hold
    #: its data is moved aside, a link or a busy lock is refused with a StorePathError,
    #: and permission errors say which path (reference_store/_shapes.py).
    check_own_paths: bool

    def with_changes(self, **changes: object) -> Profile:
        """A copy with some flags flipped (how a one-defect mutant is made)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


SEED = Profile(
    name="seed",
    fsync=False,
    quarantine_corrupt=False,
    enoent_fallback=True,
    staged_merge=False,
    safe_backup=False,
    lock_dies_with_holder=False,
    fresh_route_read=False,
    deterministic_tiebreak=False,
    keyed_files=False,
    own_folder=False,
    journal=False,
    validate_input=False,
    startup_cleanup=False,
    keep_in_place_patch=False,
    check_own_paths=False,
)

HARDENED = Profile(
    name="hardened",
    fsync=True,
    quarantine_corrupt=True,
    enoent_fallback=False,
    staged_merge=True,
    safe_backup=True,
    lock_dies_with_holder=True,
    fresh_route_read=True,
    deterministic_tiebreak=True,
    keyed_files=True,
    own_folder=True,
    journal=True,
    validate_input=True,
    startup_cleanup=True,
    keep_in_place_patch=True,
    check_own_paths=True,
)

PROFILES: dict[str, Profile] = {"seed": SEED, "hardened": HARDENED}


def resolve_profile(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise UnsupportedLayoutError(
            f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}"
        ) from None
