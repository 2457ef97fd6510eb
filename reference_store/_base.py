"""What every layout shares: the public API, key resolution, and the per-key calls.

A layout provides four things: ``load``, ``read_updated_at``, and two ways to change the
store under the lock -- ``_change_all`` (the whole map; ``update`` and ``save``) and
``_change_key`` (a *view* holding at least every stored key with the normal form of one
key; ``update_entry`` and ``update_last_route``). The per-key logic lives here once, so
the layouts can only differ in how they read and persist.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ._cache import SessionCache
from ._codec import encode_json as encode_entry
from ._codec import validate_entry, validate_map
from ._errors import InvalidEntryError, StoreError
from ._keys import check_key_encodable, normalize_key, resolve_key, updated_at_of
from ._profile import Profile
from ._runtime import Runtime
from .fs import FileSystem

__all__ = ["Problem", "SessionStore", "Unwritten"]

T = TypeVar("T")
Entry = dict[str, Any]
StoreMap = dict[str, Any]


@dataclass(frozen=True)
class Unwritten:
    """What a per-key change returns when nothing may be written: the call's result.

    Upstream returns from ``updateSessionStoreEntry`` before saving when the key is
    missing or the patch is null, so nothing reaches the disk -- not even a change the
    patch function made to its argument (HAZARD keep_in_place_patch).
    """

    result: Any


@dataclass(frozen=True)
class Problem:
    """Something a load found wrong on disk and did not return (a corrupt file)."""

    path: str
    reason: str


class SessionStore(ABC):
    """A session store over one ``store_path``; see docs/spec.md for every promise."""

    layout: str = "abstract"

    def __init__(
        self,
        store_path: str,
        *,
        profile: Profile,
        fs: FileSystem,
        runtime: Runtime,
        cache: SessionCache,
    ) -> None:
        self.store_path = os.path.abspath(store_path)
        self.folder = os.path.dirname(self.store_path)
        self.profile = profile
        self.fs = fs
        self.runtime = runtime
        self.cache = cache
        #: Corrupt files the last loads met (hardened reports them; seed drops silently).
        self.problems: list[Problem] = []

    # --- the API -------------------------------------------------------------------------
    @abstractmethod
    def load(self, skip_cache: bool = False) -> StoreMap:
        """The whole map (a copy the caller may change freely)."""

    @abstractmethod
    def read_updated_at(self, key: str) -> int | None:
        """``updatedAt`` of the entry the key resolves to, or ``None``."""

    def save(self, mapping: StoreMap) -> None:
        """Replace the whole store with ``mapping``."""
        if self.profile.validate_input:
            validate_map(mapping)
        replacement = dict(mapping)

        def replace_all(current: StoreMap) -> None:
            current.clear()
            current.update(replacement)

        self._change_all(replace_all, full_write=True)

    def update(self, mutator: Callable[[StoreMap], T]) -> T:
        """Run ``mutator`` on the freshly loaded map under the lock, then persist it."""
        return self._change_all(mutator, full_write=False)

    def update_entry(self, key: str, patch_fn: Callable[[Entry], Entry | None]) -> Entry | None:
        """Shallow-merge ``patch_fn(entry)`` into the entry ``key`` resolves to."""
        self._check_key(key)
        normalized = normalize_key(key)

        def change(view: StoreMap) -> Entry | Unwritten:
            found, variants = resolve_key(
                view, key, deterministic=self.profile.deterministic_tiebreak
            )
            if found is None:
                return Unwritten(None)
            entry = view[found]
            # The argument is a shallow copy, so its nested objects are the view's own:
            # what patch_fn changes in place is seen only by comparing encodings.
            before = encode_entry(entry) if self.profile.keep_in_place_patch else None
            argument = dict(entry) if isinstance(entry, dict) else entry
            patch = patch_fn(argument)
            if patch is None:
                if before is None or encode_entry(argument) == before:
                    # HAZARD(keep_in_place_patch): upstream returns the entry unsaved
                    # when the patch is null, so changes made to it in place are lost.
                    copied = dict(argument) if isinstance(argument, dict) else argument
                    return Unwritten(copied)
                patch = {}
            if self.profile.validate_input and not isinstance(patch, dict):
                raise InvalidEntryError(
                    f"patch for {key!r} must be a dict or None, got {type(patch).__name__}"
                )
            # Upstream merges into the very object its patch function got, so a field the
            # function set in place survives beside the returned patch (mergeSessionEntry).
            merged = {**argument, **patch}
            if self.profile.validate_input:
                # The caller's change is judged before the store's own stamp below, which
                # would otherwise hide a bad updatedAt or sessionId the patch set.
                validate_entry(normalized, merged)
            # It also stamps the entry: updatedAt never goes back and is at least now, and
            # a missing sessionId is kept from the entry or minted (both keep their place).
            now = self.runtime.now_ms()
            merged["updatedAt"] = max(updated_at_of(entry), updated_at_of(patch), now)
            if merged.get("sessionId") is None:
                kept = entry.get("sessionId") if isinstance(entry, dict) else None
                merged["sessionId"] = kept if kept is not None else self.runtime.new_token()
            self._store_resolved(view, normalized, [found, *variants], merged)
            return dict(merged)

        result: Entry | None = self._change_key(key, change, fresh=True)
        return result

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> Entry:
        """Record where the last message of a session came from; creates the entry."""
        self._check_key(key)
        normalized = normalize_key(key)

        def change(view: StoreMap) -> Entry:
            found, variants = resolve_key(
                view, key, deterministic=self.profile.deterministic_tiebreak
            )
            now = self.runtime.now_ms()
            existing = view.get(found) if found is not None else None
            entry: Entry = (
                dict(existing)
                if isinstance(existing, dict)
                else {"sessionId": self.runtime.new_token(), "updatedAt": now}
            )
            entry["lastChannel"] = channel
            entry["lastTo"] = to
            if account_id is not None:
                entry["lastAccountId"] = account_id
            if thread_id is not None:
                entry["lastThreadId"] = thread_id
            entry["deliveryContext"] = {
                "channel": channel,
                "to": to,
                "accountId": account_id,
                "threadId": thread_id,
            }
            old = entry.get("updatedAt")
            entry["updatedAt"] = max(old if isinstance(old, int) else 0, now)
            self._store_resolved(view, normalized, [k for k in [found, *variants] if k], entry)
            return dict(entry)

        # HAZARD(fresh_route_read): the seed reads the route's entry through the cache, so
        # a write based on a stale copy can undo another process's change.
        routed: Entry = self._change_key(key, change, fresh=self.profile.fresh_route_read)
        return routed

    def close(self) -> None:
        """Release resources (only the SQLite layout holds any)."""
        return None

    # --- what layouts implement ----------------------------------------------------------
    @abstractmethod
    def _change_all(self, mutator: Callable[[StoreMap], T], *, full_write: bool) -> T:
        """Under the lock: load fresh, run ``mutator`` on the map, persist the result."""

    @abstractmethod
    def _change_key(self, key: str, change: Callable[[StoreMap], Any], *, fresh: bool) -> Any:
        """Under the lock: run ``change`` on a view holding every variant of ``key``, then
        persist the view -- unless ``change`` returned :class:`Unwritten`, whose result
        is then returned with nothing written."""

    # --- shared helpers --------------------------------------------------------------------
    def _check_key(self, key: str) -> None:
        if self.profile.validate_input:
            check_key_encodable(key)
        elif not isinstance(key, str):
            raise StoreError(f"session key must be a string, got {type(key).__name__}")

    def _store_resolved(
        self, view: StoreMap, normalized: str, old_keys: list[str], entry: Entry
    ) -> None:
        """A write stores under the normalized key and drops the variants it found."""
        if self.profile.validate_input:
            validate_entry(normalized, entry)
        for old in old_keys:
            if old != normalized:
                view.pop(old, None)
        view[normalized] = entry

    def _run_mutator(
        self, data: StoreMap, mutator: Callable[[StoreMap], T], snapshot: dict[str, bytes] | None
    ) -> T:
        """Run a whole-map mutator; in hardened, reject bad entries it added or changed.

        ``snapshot`` maps each key to its encoded entry before the call (layouts that diff
        already have one); without it, one is taken here when validation needs it.
        """
        if self.profile.validate_input and snapshot is None:
            snapshot = {k: encode_entry(v) for k, v in data.items()}
        result = mutator(data)
        if self.profile.validate_input and snapshot is not None:
            for key, entry in data.items():
                if snapshot.get(key) != encode_entry(entry):
                    check_key_encodable(key)
                    validate_entry(key, entry)
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.store_path!r} profile={self.profile.name}>"
