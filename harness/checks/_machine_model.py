"""The model the session-store state machines check every step against.

THE MODEL (one place; every rule and the invariant rely on exactly this):

* The model is the map a fresh load must return, exact keys included (case variants
  are separate keys until a call resolves them). It is written from docs/spec.md, not from
  the reference store: ``save`` replaces the map, ``update`` sets and deletes keys,
  ``update_entry`` / ``update_last_route`` resolve a key (normalized, else trimmed, else
  the newest case variant -- *any* of a tie), store the result under the normalized key
  and drop the variants. Where the spec allows several results the model keeps all of them,
  and the next observation picks the one the store chose.
* Outcomes are Jepsen's: a call that returned is ``ok`` and must be visible entirely; one
  that raised a reported error (``reported_errors``) is ``failed``; one cut by a
  simulated crash is ``indeterminate``. A failed or indeterminate call may be visible
  or not, but only at the granularity the store promises (``atomicity``): ``"call"`` --
  all of it or nothing (legacy file, SQLite, hardened directory with its journal);
  ``"entry"`` -- each entry on its own (the seed directory: one rename per file).
* After every step the invariant loads the store through an *observer* (a separate
  store object with a cache of its own, ``load(skip_cache=True)``) and requires one of
  the states the model allows; the model then becomes exactly what was found.
* Several simulated processes (``processes``) each own a store object, a cache and a
  seam. A process's cache may legitimately be stale (docs/spec.md: TTL cache, invalidated by the
  process's own writes), so a *cached* read of process P may return any state the store
  held since P's last own write; a call that must read fresh (``update_entry``; in
  hardened also ``update_last_route``) may not, and its result is compared with the
  current model -- a result built from an older state is reported as a stale read.
* A crash (rule ``arm_crash``) cuts the next call of one process before operation k of
  that call (optionally after a torn prefix of a write), through
  :class:`~harness.faults._faultfs.FaultFileSystem`. The process is then dead: it restarts at
  once (new store object, new cache; the ``auto`` layout migrates first, as upstream's
  start-up does), and the observer must find the state the outcome rules allow.
* The clock is the machine's: it stands still during a call (moving only when the store
  sleeps) and advances between calls, so ``updatedAt`` of a route is predictable. It
  starts far in the future, so a lock file's real mtime is always older than the stale
  age (a crash can leave one).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.engine._oracle import check_kind
from harness.engine._workload import normalize, resolve_candidates, set_in_place

__all__ = [
    "FAILURE_ENV",
    "FAILURE_FORMAT",
    "RULES",
    "AnyString",
    "DataMutator",
    "DataPatch",
    "IntRange",
    "MachineFailureError",
    "StoreLike",
    "model_migrate",
    "model_route",
    "model_update_entry",
    "resolve",
]

StoreMap = dict[str, Any]
FAILURE_FORMAT = "store-harness.machine-failure/1"
#: Where failure files go unless ``STORE_HARNESS_MACHINE_FAILURES`` names a folder.
FAILURE_ENV = "STORE_HARNESS_MACHINE_FAILURES"
CLOCK_START_MS = 4_000_000_000_000  # year 2096: see THE MODEL, last point
STEP_MS = 1_000
RESTART_MS = 60_000  # longer than the 30 s lock stale age: a dead process's lock expires
#: The rules of :class:`SessionStoreMachine`, by name (for ``only_rules``/``skip_rules``).
RULES = frozenset(
    [
        "save",
        "update",
        "update_entry",
        "update_last_route",
        "read_updated_at",
        "load",
        "migrate",
        "restart",
        "arm_crash",
        "corrupt_file",
        "refused_update",
        "insert_case_variants",
    ]
)


class StoreLike(Protocol):
    """The API of docs/spec.md that the machines drive (``close`` is optional)."""

    def load(self, skip_cache: bool = False) -> StoreMap: ...

    def save(self, mapping: StoreMap) -> None: ...

    def update(self, mutator: Callable[[StoreMap], Any]) -> Any: ...

    def update_entry(
        self, key: str, patch_fn: Callable[[StoreMap], StoreMap | None]
    ) -> StoreMap | None: ...

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> StoreMap: ...

    def read_updated_at(self, key: str) -> int | None: ...


class MachineFailureError(AssertionError):
    """A machine found the store breaking a promise; ``kind`` names which one."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = check_kind(kind)


# --- values the model cannot know exactly -------------------------------------------------
@dataclass(frozen=True)
class AnyString:
    """Any string: the ``sessionId`` a store mints for a route that creates an entry."""

    def __repr__(self) -> str:
        return "<any string>"


@dataclass(frozen=True)
class IntRange:
    """An integer in ``[lo, hi]``: ``updatedAt`` when the clock moved during the call."""

    lo: int
    hi: int | None

    def __repr__(self) -> str:
        return f"<int {self.lo}..{'' if self.hi is None else self.hi}>"


_MISSING = object()


def _conforms(found: Any, want: Any) -> bool:
    if isinstance(want, AnyString):
        return isinstance(found, str)
    if isinstance(want, IntRange):
        return (
            isinstance(found, int)
            and not isinstance(found, bool)
            and found >= want.lo
            and (want.hi is None or found <= want.hi)
        )
    if isinstance(want, dict):
        return (
            isinstance(found, dict)
            and found.keys() == want.keys()
            and all(_conforms(found[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(found, list)
            and len(found) == len(want)
            and all(_conforms(f, w) for f, w in zip(found, want, strict=True))
        )
    return bool(found == want) and type(found) is type(want)


def _settle(want: Any, found: Any) -> Any:
    """``want`` with each wildcard replaced by ``found``'s value where that conforms."""
    if isinstance(want, (AnyString, IntRange)):
        return found if _conforms(found, want) else repr(want)
    if isinstance(want, dict) and isinstance(found, dict):
        return {k: _settle(v, found.get(k, _MISSING)) for k, v in want.items()}
    return want


# --- the model ----------------------------------------------------------------------------
def _updated_at(entry: Any) -> int:
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def resolve(state: Mapping[str, Any], key: str) -> list[str]:
    """Stored keys a call on ``key`` may mean (docs/spec.md key resolution; all of a tie)."""
    return resolve_candidates(state, key)


def _store_resolved(state: Mapping[str, Any], key: str, entry: Any) -> StoreMap:
    normalized = normalize(key)
    new = {k: v for k, v in state.items() if normalize(k) != normalized}
    new[normalized] = entry
    return new


def model_update_entry(
    state: Mapping[str, Any], key: str, patch: Mapping[str, Any] | None, now: IntRange
) -> list[tuple[StoreMap, Any]]:
    """(state after, value returned) for each result the spec allows: the patch merged
    shallowly, ``updatedAt`` stamped to ``max(old, patch, now)`` and a missing
    ``sessionId`` kept or minted (upstream's mergeSessionEntry)."""
    found = resolve(state, key)
    if not found:
        return [(dict(state), None)]
    results: list[tuple[StoreMap, Any]] = []
    for stored in found:
        entry = state[stored]
        if patch is None:
            results.append((dict(state), copy.deepcopy(entry)))
            continue
        merged = {**entry, **copy.deepcopy(dict(patch))}
        base = max(_updated_at(entry), _updated_at(patch))
        lo = max(base, now.lo)
        hi = None if now.hi is None else max(base, now.hi)
        merged["updatedAt"] = lo if hi == lo else IntRange(lo, hi)
        if merged.get("sessionId") is None:
            kept = entry.get("sessionId") if isinstance(entry, dict) else None
            merged["sessionId"] = AnyString() if kept is None else kept
        results.append((_store_resolved(state, key, merged), merged))
    return results


def model_route(
    state: Mapping[str, Any], key: str, route: Mapping[str, Any], now: IntRange
) -> list[tuple[StoreMap, Any]]:
    found: list[str | None] = list(resolve(state, key)) or [None]
    results: list[tuple[StoreMap, Any]] = []
    for stored in found:
        existing = state.get(stored) if stored is not None else None
        entry: dict[str, Any] = (
            copy.deepcopy(existing)
            if isinstance(existing, dict)
            else {"sessionId": AnyString(), "updatedAt": 0}
        )
        channel, to = route["channel"], route["to"]
        account, thread = route.get("account_id"), route.get("thread_id")
        entry["lastChannel"] = channel
        entry["lastTo"] = to
        if account is not None:
            entry["lastAccountId"] = account
        if thread is not None:
            entry["lastThreadId"] = thread
        entry["deliveryContext"] = {
            "channel": channel,
            "to": to,
            "accountId": account,
            "threadId": thread,
        }
        old = _updated_at(existing)
        lo = max(old, now.lo)
        hi = None if now.hi is None else max(old, now.hi)
        entry["updatedAt"] = lo if hi == lo else IntRange(lo, hi)
        results.append((_store_resolved(state, key, entry), entry))
    return results


def model_migrate(state: Mapping[str, Any]) -> list[StoreMap]:
    """Deduplicated by normal form, newest ``updatedAt`` wins (any of a tie)."""
    groups: dict[str, list[str]] = {}
    for key in state:
        groups.setdefault(normalize(key), []).append(key)
    results: list[StoreMap] = [{}]
    for normalized, members in groups.items():
        best = max(_updated_at(state[k]) for k in members)
        options = {
            # repr for wildcards: an uncertain route may have minted an unknown sessionId.
            json.dumps(state[k], sort_keys=True, default=repr): state[k]
            for k in members
            if _updated_at(state[k]) == best
        }
        results = [{**r, normalized: e} for r in results for e in options.values()]
    return results


@dataclass
class Expectation:
    """What the observer may find after one call."""

    call: str
    before: list[StoreMap]
    after: list[StoreMap]
    certain: bool = True  # False: failed or indeterminate
    mix: bool = False  # per-entry granularity for an uncertain call

    def options(self) -> list[StoreMap]:
        return self.after if self.certain else [*self.before, *self.after]

    def admits(self, found: Mapping[str, Any]) -> bool:
        if any(_conforms(dict(found), s) for s in self.options()):
            return True
        if self.certain or not self.mix:
            return False
        for b, a in itertools.product(self.before, self.after):
            keys = set(found) | set(b) | set(a)
            if all(
                _conforms(found.get(k, _MISSING), b.get(k, _MISSING))
                or _conforms(found.get(k, _MISSING), a.get(k, _MISSING))
                for k in keys
            ):
                return True
        return False


def _is_mix(found: Mapping[str, Any], exp: Expectation) -> bool:
    return not exp.certain and Expectation(exp.call, exp.before, exp.after, False, True).admits(
        found
    )


# --- calls as data --------------------------------------------------------------------------
@dataclass(frozen=True)
class DataMutator:
    """The mutator of an ``update`` call, written as data, so a store in another process
    can be asked the same (``set``, ``delete``, ``in_place`` of the adapter protocol).

    Called in process, it changes the map in the protocol's order -- ``in_place`` into the
    existing entries, then ``sets``, then ``deletes`` -- and returns ``result``, the value
    the store's ``update`` must hand back (its mutator's return value, whatever store).
    """

    sets: Mapping[str, Any]
    deletes: tuple[str, ...] = ()
    in_place: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    result: Any = None

    def __call__(self, current: StoreMap) -> Any:
        for key, changes in self.in_place.items():
            if key in current:
                set_in_place(current[key], changes)
        current.update(copy.deepcopy(dict(self.sets)))
        for key in self.deletes:
            current.pop(key, None)
        return self.result


@dataclass(frozen=True)
class DataPatch:
    """The ``patch_fn`` of an ``update_entry`` call, written as data: it returns a copy of
    ``patch`` (``None``: change nothing) whatever entry it is given."""

    patch: Mapping[str, Any] | None

    def __call__(self, _entry: Any) -> StoreMap | None:
        return None if self.patch is None else copy.deepcopy(dict(self.patch))


@dataclass(frozen=True)
class DataIncrement:
    """The ``patch_fn`` of an increment, written as data (the protocol's ``increment``):
    add ``by`` to the number in ``field`` of the entry read under the store's lock."""

    field: str
    by: int = 1

    def __call__(self, entry: Any) -> StoreMap:
        current = entry.get(self.field, 0) if isinstance(entry, dict) else 0
        return {self.field: int(current) + self.by}
