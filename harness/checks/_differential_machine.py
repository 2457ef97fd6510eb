"""The differential machine: the same calls on several layouts, every result and every
load compared (no model needed: the layouts must agree with each other).
"""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from harness._roots import make_root, remove_root
from harness.checks._machine_model import STEP_MS, MachineFailureError, StoreMap, _updated_at
from harness.checks._machine_world import (
    _BITS,
    MachineClock,
    NoSyncFileSystem,
    _cached_strategies,
    _draw_key,
    _short,
)
from harness.checks._strategies import (
    case_variant,
)
from harness.engine._workload import canonical, normalize
from reference_store import (
    SessionCache,
    StoreError,
    open_store,
)
from reference_store._runtime import SIMULATED_PID, Runtime
from reference_store.fs import OsFileSystem

__all__ = [
    "DifferentialMachine",
    "differential_machine",
]


# --- the differential machine ----------------------------------------------------------------
class DifferentialMachine(RuleBasedStateMachine):
    """The same calls on several layouts; every result and every load must be equal.

    No model: the layouts judge each other. ``sessionId``s minted by a route that
    creates an entry differ by nature, so they are pinned to one value right after.
    """

    layouts: ClassVar[tuple[str, ...]] = ("legacy", "directory", "sqlite")
    profile: ClassVar[str] = "hardened"
    entry_size: ClassVar[str] = "tiny"
    hostile_keys: ClassVar[bool] = True
    only_rules: ClassVar[frozenset[str] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.root = make_root("differential")
        self.clock = MachineClock()
        self.state: StoreMap = {}
        self.log: list[str] = []
        self._pins = itertools.count(1)
        self.stores: dict[str, Any] = {}
        for layout in self.layouts:
            os.mkdir(os.path.join(self.root, layout))
            self.stores[layout] = self._open(layout)

    def _open(self, layout: str) -> Any:
        tokens = itertools.count(1)
        runtime = Runtime(
            now_ms=self.clock.now_ms,
            new_token=lambda: f"d{next(tokens):08x}",
            pid=SIMULATED_PID,
            sleep=self.clock.sleep,
        )
        path = os.path.join(self.root, layout, "sessions.json")
        fs = None if layout == "sqlite" else NoSyncFileSystem(OsFileSystem())
        return open_store(path, layout, self.profile, fs, runtime=runtime, cache=SessionCache())

    def teardown(self) -> None:
        try:
            for store in self.stores.values():
                store.close()
        finally:
            remove_root(self.root)

    def _on(self, name: str) -> bool:
        return self.only_rules is None or name in self.only_rules

    def _key(self, data: st.DataObject) -> str:
        return _draw_key(data, sorted(self.state), self._strategy("keys"))

    def _strategy(self, name: str) -> st.SearchStrategy[Any]:
        return _cached_strategies(self.entry_size, self.hostile_keys)[name]

    def _entry(self, data: st.DataObject) -> StoreMap:
        entry: StoreMap = data.draw(self._strategy("entry"), label="entry")
        return entry

    def _all(
        self, call: str, fn: Callable[[Any], Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """Run ``fn`` on every layout; outcomes and results must agree."""
        self.clock.advance(STEP_MS)
        before = self.state
        results: dict[str, Any] = {}
        for layout, store in self.stores.items():
            start = self.clock.ms  # every layout sees the same time
            try:
                results[layout] = ("ok", fn(store))
            except (OSError, StoreError) as exc:
                results[layout] = ("failed", f"{type(exc).__name__}: {exc}")
            self.clock.ms = start
        self.log.append(f"{call} -> {results[self.layouts[0]][0]}")
        shown = {k: _mask(v) for k, v in results.items()}
        if len({canonical({"r": v}) for v in shown.values()}) > 1:
            self._diverged(call, key, before, "results", shown)
        return {k: v[1] for k, v in results.items()}

    def _diverged(
        self, call: str, key: str | None, before: StoreMap, what: str, per_layout: Mapping[str, Any]
    ) -> NoReturn:
        lines = [f"layouts disagree on the {what} of {call}:"]
        lines += [f"  {layout}: {_short(value, 300)}" for layout, value in per_layout.items()]
        kind = "divergence"
        if key is not None:
            normalized = normalize(key)
            variants = [k for k in before if normalize(k) == normalized]
            stamps = [_updated_at(before[k]) for k in variants]
            if (
                normalized not in before
                and key.strip() not in before
                and len(variants) > 1
                and stamps.count(max(stamps)) > 1
            ):
                kind = "order-dependent"
                tied = [k for k in variants if _updated_at(before[k]) == max(stamps)]
                lines.insert(
                    0,
                    f"input-order tie-break: case variants {tied} share updatedAt="
                    f"{max(stamps)}, and each layout picks the one it happens to list first",
                )
        lines.append("calls so far:")
        lines += [f"  {i:>3}. {s}" for i, s in enumerate(self.log, 1)]
        raise MachineFailureError(kind, "\n".join(lines))

    @initialize(data=st.data())
    def initial_store(self, data: st.DataObject) -> None:
        keys = data.draw(
            self._strategy("key_lists"),
            label="initial keys",
        )
        mapping = {k: self._entry(data) for k in keys}
        self._all(f"save({sorted(mapping)})", lambda s: s.save(copy.deepcopy(mapping)))

    @precondition(lambda self: self._on("save"))
    @rule(data=st.data())
    def save(self, data: st.DataObject) -> None:
        keys = data.draw(self._strategy("key_lists"), label="keys")
        mapping = {k: self._entry(data) for k in keys}
        self._all(f"save({sorted(mapping)})", lambda s: s.save(copy.deepcopy(mapping)))

    @precondition(lambda self: self._on("update"))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        sets = {self._key(data): self._entry(data) for _ in range(data.draw(st.integers(0, 3)))}
        deletes = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
            if self.state
            else st.just([])
        )

        def mutator(current: StoreMap) -> None:
            current.update(copy.deepcopy(sets))
            for key in deletes:
                current.pop(key, None)

        self._all(f"update(set {sorted(sets)}, delete {deletes})", lambda s: s.update(mutator))

    @precondition(lambda self: self._on("insert_case_variants") and bool(self.state))
    @rule(data=st.data())
    def insert_case_variants(self, data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(sorted(self.state)), label="original")
        tie = data.draw(st.booleans(), label="same updatedAt")
        replace = data.draw(st.booleans(), label="replace original")
        sets: StoreMap = {}
        for _ in range(data.draw(st.integers(1, 2), label="variants")):
            variant = case_variant(original, data.draw(_BITS, label="case bits"))
            if variant in self.state or variant in sets:
                continue
            entry = self._entry(data)
            if tie:
                entry["updatedAt"] = _updated_at(self.state[original])
            sets[variant] = entry

        def mutator(current: StoreMap) -> None:
            current.update(copy.deepcopy(sets))
            if replace:
                current.pop(original, None)

        self._all(
            f"insert variants {list(sets)} of {original!r}{' replacing it' if replace else ''}",
            lambda s: s.update(mutator),
        )

    @precondition(lambda self: self._on("update_entry"))
    @rule(data=st.data())
    def update_entry(self, data: st.DataObject) -> None:
        key = self._key(data)
        patch = data.draw(self._strategy("patch"), label="patch")
        self._all(
            f"update_entry({key!r}, {'None' if patch is None else sorted(patch)})",
            lambda s: s.update_entry(key, lambda _e: copy.deepcopy(patch)),
            key=key,
        )

    @precondition(lambda self: self._on("update_last_route"))
    @rule(data=st.data())
    def update_last_route(self, data: st.DataObject) -> None:
        key = self._key(data)
        route = data.draw(self._strategy("route"), label="route")
        results = self._all(
            f"update_last_route({key!r}, {route})",
            lambda s: s.update_last_route(key, **route),
            key=key,
        )
        minted = {r.get("sessionId") for r in results.values() if isinstance(r, dict)}
        if len(minted) > 1:
            pin = f"pinned-{next(self._pins)}"
            for store in self.stores.values():
                store.update_entry(key, lambda _e: {"sessionId": pin})

    @precondition(lambda self: self._on("read_updated_at"))
    @rule(data=st.data())
    def read_updated_at(self, data: st.DataObject) -> None:
        key = self._key(data)
        self._all(f"read_updated_at({key!r})", lambda s: s.read_updated_at(key))

    @precondition(lambda self: self._on("load"))
    @rule(skip=st.booleans())
    def load(self, skip: bool) -> None:
        self._all(f"load(skip_cache={skip})", lambda s: canonical(s.load(skip_cache=skip)))

    @precondition(lambda self: self._on("restart"))
    @rule()
    def restart(self) -> None:
        self.log.append("restart every store")
        for layout, store in self.stores.items():
            store.close()
            self.stores[layout] = self._open(layout)

    @invariant()
    def layouts_agree(self) -> None:
        loads = {layout: s.load(skip_cache=True) for layout, s in self.stores.items()}
        if len({canonical(v) for v in loads.values()}) > 1:
            self._diverged("the last call", None, self.state, "loaded state", loads)
        self.state = loads[self.layouts[0]]


def _mask(outcome: tuple[str, Any]) -> Any:
    """A result without what differs by nature (a freshly minted ``sessionId``)."""
    status, value = outcome
    if status == "failed":
        return status
    if isinstance(value, dict) and "sessionId" in value and "lastChannel" in value:
        return {k: v for k, v in value.items() if k != "sessionId"}
    return value


def differential_machine(profile: str, **overrides: Any) -> type[DifferentialMachine]:
    """A differential machine class for one profile (real folders: SQLite needs them)."""
    attrs: dict[str, Any] = {"profile": profile, "__module__": __name__, **overrides}
    return type(f"{profile.capitalize()}DifferentialMachine", (DifferentialMachine,), attrs)
