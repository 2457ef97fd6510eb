"""Workloads: declarative API calls, and the plain dict model of what each one does.

The model is written from SPEC.md, not from the reference store's code, so that the
oracle can judge any implementation. Where SPEC allows several answers (a tie on
``updatedAt`` between case variants), the model returns every allowed state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
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
    """``store.update`` with a mutator that sets some keys and deletes others."""

    set: Mapping[str, Any] = field(default_factory=dict)
    delete: tuple[str, ...] = ()
    op: str = field(init=False, default="update")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        def mutator(current: StoreMap) -> int:
            current.update(copy.deepcopy(dict(self.set)))
            for key in self.delete:
                current.pop(key, None)
            return len(self.set) + len(self.delete)

        return store.update(mutator)

    def describe(self) -> str:
        return f"update(set {sorted(self.set)}, delete {list(self.delete)})"


@dataclass(frozen=True)
class UpdateEntry(Step):
    key: str
    patch: Mapping[str, Any]
    op: str = field(init=False, default="update_entry")

    def run(self, store: Any, migrate: Callable[[], bool]) -> Any:
        patch = dict(self.patch)
        return store.update_entry(self.key, lambda _entry: copy.deepcopy(patch))

    def describe(self) -> str:
        return f"update_entry({self.key!r}, {sorted(self.patch)})"


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
def _updated_at(entry: Any) -> int:
    value = entry.get("updatedAt") if isinstance(entry, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _newest_variants(items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Every variant that may win a newest-``updatedAt`` pick (all of a tie)."""
    best = max(_updated_at(e) for _k, e in items)
    return [(k, e) for k, e in items if _updated_at(e) == best]


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
        new.update(copy.deepcopy(dict(step.set)))
        for key in step.delete:
            new.pop(key, None)
        return [new]
    if isinstance(step, UpdateEntry):
        normalized, trimmed = normalize(step.key), step.key.strip()
        variants = [(k, e) for k, e in state.items() if normalize(k) == normalized]
        if normalized in state:
            candidates = [(normalized, state[normalized])]
        elif trimmed in state:
            candidates = [(trimmed, state[trimmed])]
        elif variants:
            candidates = _newest_variants(variants)
        else:
            return [state]
        results = []
        for _found, entry in candidates:
            new = {k: v for k, v in state.items() if normalize(k) != normalized}
            new[normalized] = {**entry, **dict(step.patch)}
            results.append(new)
        return results
    return [state]
