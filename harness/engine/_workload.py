"""Workloads: declarative API calls, and the plain dict model of what each one does.

The model is written from docs/spec.md, not from the reference store's code, so that the
oracle can judge any implementation. Where the spec allows several answers (a tie on
``updatedAt`` between case variants), the model returns every allowed state.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_store.protocol import set_in_place

__all__ = [
    "LATER_MS",
    "Load",
    "Migrate",
    "ReadUpdatedAt",
    "Save",
    "Step",
    "Update",
    "UpdateEntry",
    "canonical",
    "model_apply",
    "normalize",
    "resolve_candidates",
    "set_in_place",
    "step_from_json",
]

StoreMap = dict[str, Any]


def normalize(key: str) -> str:
    return key.strip().lower()


def canonical(state: Mapping[str, Any]) -> str:
    """One string per logical state (key order does not matter)."""
    return json.dumps(state, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Step:
    """One API call of a workload."""

    op: str = field(init=False, default="")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        raise NotImplementedError

    def mutates(self) -> bool:
        return True

    def to_json(self) -> dict[str, Any]:
        body = {k: v for k, v in self.__dict__.items() if k != "op"}
        return {"op": self.op, **body}

    def describe(self) -> str:
        return self.op


@dataclass(frozen=True)
class Migrate(Step):
    op: str = field(init=False, default="migrate")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        return migrate()


@dataclass(frozen=True)
class Save(Step):
    mapping: Mapping[str, Any]
    op: str = field(init=False, default="save")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        store.save(copy.deepcopy(dict(self.mapping)))

    def describe(self) -> str:
        return f"save({len(self.mapping)} entries)"


@dataclass(frozen=True)
class Update(Step):
    """``store.update`` with a mutator that sets some keys, deletes others, and changes
    fields of existing entries in place (``in_place``: key -> ``set_in_place`` changes)."""

    set: Mapping[str, Any] = field(default_factory=dict)
    delete: tuple[str, ...] = ()
    in_place: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    op: str = field(init=False, default="update")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        def mutator(current: StoreMap) -> int:
            for key, changes in self.in_place.items():
                if key in current:
                    set_in_place(current[key], changes)
            current.update(copy.deepcopy(dict(self.set)))
            for key in self.delete:
                current.pop(key, None)
            return len(self.set) + len(self.delete) + len(self.in_place)

        return store.update(mutator)

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        if not self.in_place:
            body.pop("in_place")  # replay files of workloads without it stay as they were
        return body

    def describe(self) -> str:
        changed = f", in place {sorted(self.in_place)}" if self.in_place else ""
        return f"update(set {sorted(self.set)}, delete {list(self.delete)}{changed})"


#: 2100-01-01 in ms. ``update_entry`` stamps ``updatedAt = max(old, patch, now)`` (upstream's
#: mergeSessionEntry); a workload's patch sets at least this, after any clock a store runs
#: under, so the stamp is the patch's own value and the model stays exact.
LATER_MS = 4_102_444_800_000


@dataclass(frozen=True)
class UpdateEntry(Step):
    """``store.update_entry`` returning ``patch``, after its patch function changed its
    argument in place by ``in_place`` (``set_in_place`` changes); both must be kept."""

    key: str
    patch: Mapping[str, Any]
    in_place: Mapping[str, Any] = field(default_factory=dict)
    op: str = field(init=False, default="update_entry")

    def __post_init__(self) -> None:
        stamp = self.patch.get("updatedAt")
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < LATER_MS:
            raise ValueError(
                f"update_entry({self.key!r}): a workload patch sets updatedAt >= LATER_MS, "
                f"so the store's own stamp max(old, patch, now) keeps it; got {stamp!r}"
            )

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        patch = dict(self.patch)

        def patch_fn(entry: Any) -> Any:
            set_in_place(entry, self.in_place)
            return copy.deepcopy(patch)

        return store.update_entry(self.key, patch_fn)

    def to_json(self) -> dict[str, Any]:
        body = super().to_json()
        if not self.in_place:
            body.pop("in_place")
        return body

    def describe(self) -> str:
        changed = f", in place {sorted(self.in_place)}" if self.in_place else ""
        return f"update_entry({self.key!r}, {sorted(self.patch)}{changed})"


@dataclass(frozen=True)
class Load(Step):
    #: read through the store's cache (a stale cache shows up as a stale read)
    cached: bool = False
    op: str = field(init=False, default="load")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        return store.load(skip_cache=not self.cached)

    def describe(self) -> str:
        return "load(cached)" if self.cached else "load"

    def mutates(self) -> bool:
        return False


@dataclass(frozen=True)
class ReadUpdatedAt(Step):
    key: str
    op: str = field(init=False, default="read_updated_at")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        return store.read_updated_at(self.key)

    def mutates(self) -> bool:
        return False


_STEPS: dict[str, type[Step]] = {
    "migrate": Migrate,
    "save": Save,
    "update": Update,
    "update_entry": UpdateEntry,
    "load": Load,
    "read_updated_at": ReadUpdatedAt,
}


def step_from_json(raw: Mapping[str, Any]) -> Step:
    body = {k: v for k, v in raw.items() if k != "op"}
    if raw["op"] == "update":
        body["delete"] = tuple(body.get("delete", ()))
    return _STEPS[raw["op"]](**body)


# --- the model -------------------------------------------------------------------------------
def _updated_at(entry: Any) -> int | float:
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return 0
    return value


def _newest_variants(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Every variant that may win a newest-``updatedAt`` pick (all of a tie)."""
    best = max(_updated_at(e) for _k, e in items)
    return [(k, e) for k, e in items if _updated_at(e) == best]


def resolve_candidates(state: Mapping[str, Any], key: str) -> list[str]:
    """The stored keys a per-key call on ``key`` may mean: the newest ``updatedAt`` among
    every key of its normal form, so a newer case variant beats the normalized key; a tie
    that includes the normalized key keeps it, any other tie may go to any of its keys."""
    normalized = normalize(key)
    variants = [k for k in state if normalize(k) == normalized]
    if not variants:
        return []
    newest = [k for k, _e in _newest_variants([(k, state[k]) for k in variants])]
    return [normalized] if normalized in newest else newest


def _dedupe_all(state: StoreMap) -> list[StoreMap]:
    """Every allowed result of deduplicating case variants (ties: any of them)."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for key, entry in state.items():
        groups.setdefault(normalize(key), []).append((key, entry))
    results: list[StoreMap] = [{}]
    for normalized, members in groups.items():
        options = {canonical({"e": e}): e for _k, e in _newest_variants(members)}
        results = [{**r, normalized: e} for r in results for e in options.values()]
    return results


def model_apply(step: Step, state: StoreMap, *, legacy: StoreMap | None = None) -> list[StoreMap]:
    """Every state the store may hold after ``step`` succeeds on ``state``.

    ``legacy`` is the content of the legacy file for a ``Migrate`` step (``state`` is
    then what the directory layout held before, ``{}`` on a fresh migration).
    """
    if isinstance(step, Migrate):
        if legacy is None:
            return [state]
        results = []
        for deduped in _dedupe_all(legacy):
            merged = dict(state)
            present = {normalize(k) for k in state}
            for key, entry in deduped.items():
                if key not in present:  # existing entries win
                    merged[key] = entry
            results.append(merged)
        return results
    if isinstance(step, Save):
        return [copy.deepcopy(dict(step.mapping))]
    if isinstance(step, Update):
        new = dict(state)
        for key, changes in step.in_place.items():
            if key in new:
                new[key] = copy.deepcopy(new[key])
                set_in_place(new[key], changes)
        new.update(copy.deepcopy(dict(step.set)))
        for key in step.delete:
            new.pop(key, None)
        return [new]
    if isinstance(step, UpdateEntry):
        normalized = normalize(step.key)
        candidates = [(k, state[k]) for k in resolve_candidates(state, step.key)]
        if not candidates:
            return [state]
        results = []
        for _found, entry in candidates:
            new = {k: v for k, v in state.items() if normalize(k) != normalized}
            changed = copy.deepcopy(entry)
            set_in_place(changed, step.in_place)
            merged = {**changed, **dict(step.patch)}
            merged["updatedAt"] = max(_updated_at(entry), _updated_at(step.patch))
            new[normalized] = merged
            results.append(new)
        return results
    return [state]
