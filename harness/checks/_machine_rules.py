"""The rules of the session-store state machine: one Hypothesis rule per store call.

Each rule draws its arguments, runs the call in one simulated process, and states what
the model allows afterwards; the invariant of ``_machine_base`` then checks it.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    precondition,
    rule,
)

from harness.checks._machine_base import MachineBase
from harness.checks._machine_model import (
    RESTART_MS,
    DataMutator,
    DataPatch,
    Expectation,
    IntRange,
    StoreMap,
    _conforms,
    _updated_at,
    model_migrate,
    model_route,
    model_update_entry,
    resolve,
)
from harness.checks._machine_world import _BITS, _on, _Process, _short
from harness.checks._strategies import (
    case_variant,
)
from harness.engine._workload import set_in_place
from harness.faults._faultfs import FaultPlan

__all__ = [
    "CallerRefusedError",
    "SessionStoreMachine",
]


class CallerRefusedError(Exception):
    """What a refusing mutator raises: the caller's own error, which the store must pass
    on unchanged (it is neither a store error nor an ``OSError``)."""


class _RefusingMutator:
    """Changes the map as ``inner`` does, then refuses."""

    def __init__(self, inner: DataMutator) -> None:
        self.inner = inner

    def __call__(self, current: StoreMap) -> Any:
        self.inner(current)
        raise CallerRefusedError("the caller refused the change after making it")


class SessionStoreMachine(MachineBase):
    """Model-based test of one session store; subclass it and implement :meth:`open_store`.

    Class attributes say what the store promises and which rules apply; hooks say how
    to open, migrate and find its files. See the module docstring for the model.
    """

    # --- rules -------------------------------------------------------------------------------
    @initialize(data=st.data())
    def initial_store(self, data: st.DataObject) -> None:
        keys = data.draw(
            self._strategy("key_lists"),
            label="initial keys",
        )
        if not keys:
            return
        mapping = {k: self._entry(data) for k in keys}
        proc = self.procs[0]
        self._mutate(
            proc,
            f"save({sorted(mapping)}) [initial]",
            lambda s: s.save(copy.deepcopy(mapping)),
            lambda _state, _now: [(copy.deepcopy(mapping), None)],
        )

    @precondition(_on("save"))
    @rule(data=st.data())
    def save(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        keep = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), unique=True)
            if self.state
            else st.just([]),
            label="keep",
        )
        fresh = data.draw(
            self._strategy("key_lists"),
            label="new keys",
        )
        mapping = {k: self.state[k] for k in keep}
        mapping.update({k: self._entry(data) for k in fresh})
        self._mutate(
            proc,
            f"save({sorted(mapping)})",
            lambda s: s.save(copy.deepcopy(mapping)),
            lambda _state, _now: [(copy.deepcopy(mapping), None)],
        )

    @precondition(_on("update"))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        count = data.draw(st.integers(0, 3), label="sets")
        sets = {self._key(data): self._entry(data) for _ in range(count)}
        deletes = data.draw(
            st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
            if self.state
            else st.just([]),
            label="deletes",
        )
        # Entries changed in place, top level and nested, as callers do: a store that
        # diffs objects shared with the mutator's map never sees these changes.
        in_place = {
            key: {
                "inPlace": data.draw(st.integers(0, 10**6), label="in-place value"),
                "deliveryContext.to": data.draw(st.text(max_size=5), label="nested value"),
            }
            for key in data.draw(
                st.lists(st.sampled_from(sorted(self.state)), max_size=2, unique=True)
                if self.state
                else st.just([]),
                label="changed in place",
            )
        }
        if not sets and not deletes and not in_place:
            sets = {self._key(data): self._entry(data)}
        touched = len(sets) + len(deletes) + len(in_place)

        mutator = DataMutator(sets, tuple(deletes), in_place, touched)

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            new = dict(state)
            for key, changes in in_place.items():
                if key in new:
                    new[key] = copy.deepcopy(new[key])
                    set_in_place(new[key], changes)
            new.update(copy.deepcopy(sets))
            for key in deletes:
                new.pop(key, None)
            return [(new, touched)]

        changed = f", in place {sorted(in_place)}" if in_place else ""
        self._mutate(
            proc,
            f"update(set {sorted(sets)}, delete {deletes}{changed})",
            lambda s: s.update(mutator),
            model,
        )

    @precondition(lambda self: self._rule_on("refused_update") and bool(self.state))
    @rule(data=st.data())
    def refused_update(self, data: st.DataObject) -> None:
        """P-refused-changes-nothing: the mutator changes an entry in place, adds one, and
        then raises. The caller's exception must come back out, and nothing be stored --
        nor held: a lock the refused call kept makes the next call of another process
        time out, which the machine reports as an error on a valid call."""
        proc = self._proc(data)
        key = data.draw(st.sampled_from(sorted(self.state)), label="changed, then refused")
        added = self._key(data)
        mutator = _RefusingMutator(
            DataMutator({added: self._entry(data)}, in_place={key: {"refused": True}})
        )

        def call(store: Any) -> str:
            try:
                store.update(mutator)
            except CallerRefusedError:
                return "refused"
            return "returned"

        def check(result: Any, outcomes: list[tuple[StoreMap, Any]]) -> list[StoreMap]:
            if result != "refused":
                self._fail(
                    "wrong-result",
                    "update returned although its mutator raised: the caller's exception "
                    "was swallowed",
                )
            return [s for s, _r in outcomes]

        self._mutate(
            proc,
            f"update(change {key!r} in place, set {added!r}, then raise)",
            call,
            lambda state, _now: [(copy.deepcopy(state), "refused")],
            check_result=check,
        )

    @precondition(_on("update_entry"))
    @rule(data=st.data())
    def update_entry(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        patch = data.draw(self._strategy("patch"), label="patch")
        call = f"update_entry({key!r}, {'None' if patch is None else sorted(patch)})"
        self._mutate(
            proc,
            call,
            lambda s: s.update_entry(key, DataPatch(patch)),
            lambda state, now: model_update_entry(state, key, patch, now),
            check_result=self._pick_result(
                proc, call, lambda state: model_update_entry(state, key, patch, IntRange(0, None))
            ),
        )

    @precondition(_on("update_last_route"))
    @rule(data=st.data())
    def update_last_route(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        route = data.draw(self._strategy("route"), label="route")
        call = f"update_last_route({key!r}, {route})"
        loose = IntRange(0, None)
        self._mutate(
            proc,
            call,
            lambda s: s.update_last_route(key, **route),
            lambda state, now: model_route(state, key, route, now),
            check_result=self._pick_result(
                proc, call, lambda state: model_route(state, key, route, loose)
            ),
        )

    @precondition(_on("insert_case_variants"))
    @rule(data=st.data())
    def insert_case_variants(self, data: st.DataObject) -> None:
        """What an older gateway left: variants of a key beside it (or instead of it)."""
        cased = sorted(k for k in self.state if k.lower() != k.upper())
        if not cased:
            return
        proc = self._proc(data)
        original = data.draw(st.sampled_from(cased), label="original")
        count = data.draw(st.integers(1, 2), label="variants")
        tie = data.draw(st.booleans(), label="same updatedAt")
        replace = data.draw(st.booleans(), label="replace original")
        sets: StoreMap = {}
        for _ in range(count):
            variant = case_variant(original, data.draw(_BITS, label="case bits"))
            if variant in self.state or variant in sets:
                continue
            entry = self._entry(data)
            if tie:
                entry["updatedAt"] = _updated_at(self.state[original])
            sets[variant] = entry
        if not sets:
            return
        deletes = [original] if replace else []

        mutator = DataMutator(sets, tuple(deletes))

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            new = {**state, **copy.deepcopy(sets)}
            for key in deletes:
                new.pop(key, None)
            return [(new, None)]

        self._mutate(
            proc,
            f"insert variants {list(sets)} of {original!r}{' replacing it' if replace else ''}",
            lambda s: s.update(mutator),
            model,
        )

    @precondition(_on("read_updated_at"))
    @rule(data=st.data())
    def read_updated_at(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        key = self._key(data)
        call = f"read_updated_at({key!r})"
        status, result = self._run(proc, call, lambda s: s.read_updated_at(key))
        self._after_read(proc, call, status, result)
        if status != "ok":
            return

        def value(state: StoreMap) -> int | None:
            found = resolve(state, key)
            return _updated_at(state[found[0]]) if found else None

        # A cached read (legacy) may see any state since this process's last write.
        allowed = [value(s) for s in proc.window]
        if result not in allowed:
            hint = ""
            exact = self.state.get(key.strip())
            if result is None and exact is None and value(self.state) is not None:
                hint = " (the entry is stored under a case variant only: it is invisible)"
            self._fail(
                "wrong-read",
                f"{call} returned {result!r}, expected {allowed[-1]!r}{hint}",
            )

    @precondition(_on("load"))
    @rule(data=st.data())
    def load(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        skip = data.draw(st.booleans(), label="skip_cache")
        call = f"load(skip_cache={skip})"
        status, result = self._run(proc, call, lambda s: s.load(skip_cache=skip))
        self._after_read(proc, call, status, result)
        if status != "ok":
            return
        if skip:
            if _conforms(result, self.state):
                return
            self._fail(
                "wrong-read", f"{call} returned {_short(result)}, expected {_short(self.state)}"
            )
        for index, state in enumerate(proc.window):
            if _conforms(result, state):
                # The cache now holds this state: older ones cannot come back.
                proc.window = proc.window[index:]
                return
        self._fail(
            "stale-read",
            f"{call} returned {_short(result)}, a state the store never held since this "
            f"process last wrote; expected {_short(self.state)}",
        )

    def _after_read(self, proc: _Process, call: str, status: str, result: Any) -> None:
        self.log.append(f"P{proc.index} {call} -> {status}{self._short_result(result)}")
        if status == "indeterminate":
            self._expect = Expectation(call, [self.state], [self.state])
            self._recover(proc)

    @precondition(_on("migrate"))
    @rule(data=st.data())
    def migrate(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        ctx = self._context(proc.index, proc.seam, proc.cache)
        was_legacy = self.legacy_mode and bool(self.state)

        def model(state: StoreMap, _now: IntRange) -> list[tuple[StoreMap, Any]]:
            if not was_legacy:
                return [(state, False)]
            return [(m, True) for m in model_migrate(state)]

        def check(result: Any, outcomes: list[tuple[StoreMap, Any]]) -> list[StoreMap]:
            if result is not was_legacy:
                self._fail("wrong-result", f"migrate returned {result!r}, expected {was_legacy}")
            return [s for s, _r in outcomes]

        self._mutate(
            proc, "migrate()", lambda _s: self.migrate_store(ctx), model, check_result=check
        )
        if was_legacy and self._expect is not None and self._expect.certain:
            self.legacy_mode = False

    @precondition(_on("restart"))
    @rule(data=st.data())
    def restart(self, data: st.DataObject) -> None:
        proc = self._proc(data)
        self.log.append(f"P{proc.index} restart")
        self._close(proc.store)
        self.clock.advance(RESTART_MS)
        try:
            self._start(proc)
        except self.reported_errors as exc:
            self._fail("unloadable", f"restart failed: {exc!r}")
        self._migrated_by_restart()
        self._reset_windows.add(proc.index)

    @precondition(
        lambda self: self._rule_on("arm_crash") and any(p.armed is None for p in self.procs)
    )
    @rule(data=st.data())
    def arm_crash(self, data: st.DataObject) -> None:
        """The next call of one process dies before its k-th I/O operation."""
        proc = self._proc(data)
        # Half the draws fall within a short call's operations (a single-key write
        # is about a dozen): a point past the end of the call crashes nothing.
        at = data.draw(
            st.one_of(st.integers(1, 12), st.integers(1, self.crash_ops)),
            label="crash before operation",
        )
        torn = data.draw(st.one_of(st.none(), st.integers(1, 64)), label="torn bytes")
        proc.armed = FaultPlan(crash_at=at, torn_bytes=torn)
        self.log.append(f"P{proc.index} arm crash: {proc.armed.describe()} of its next call")

    @precondition(lambda self: self._rule_on("corrupt_file") and bool(self.state))
    @rule(data=st.data())
    def corrupt_file(self, data: st.DataObject) -> None:
        """Someone (a crash of another program, a disk) damages the file of one key."""
        key = data.draw(st.sampled_from(sorted(self.state)), label="key")
        path = self.file_of(self.observer, key)
        if path is None or not self.plain.exists(path):
            return
        n = len(self.corrupt_blobs) + 1
        blob = data.draw(
            st.sampled_from(
                [
                    b"",
                    b'{"sessionId": "torn-%d' % n,
                    b"\x00\xff garbage %d" % n,
                    b'["corrupt %d"]' % n,
                ]
            ),
            label="garbage",
        )
        lost = [k for k in self.state if self.file_of(self.observer, k) == path]
        # 0600, as the store would have made it: the harness plants content, not a mode
        self.plain.write_file(path, blob, mode=0o600)
        if blob:
            self.corrupt_blobs.append(blob)
        self.log.append(f"corrupt {os.path.relpath(path, self.root)} (holds {lost})")
        after = {k: v for k, v in self.state.items() if k not in lost}
        self._expect = Expectation(f"corrupt file of {key!r}", [self.state], [after])
