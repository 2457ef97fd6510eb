"""The machine base is usable by outsiders: a tiny in-memory store joins by subclassing
:class:`SessionStoreMachine` and implementing ``open_store``; the machine passes it when
it is correct and catches it when one handle writes from a stale copy (a lost update).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from conftest import finding_settings, machine_settings
from hypothesis.stateful import run_state_machine_as_test

from harness.machines import MachineFailureError, SessionStoreMachine, StoreContext, resolve
from reference_store import Runtime, normalize_key

Entry = dict[str, Any]


class MemoryDisk:
    """What all handles share: the "files"."""

    def __init__(self) -> None:
        self.data: dict[str, Entry] = {}


class MemoryStore:
    """A session store in memory with a per-handle cache (as a process has one)."""

    def __init__(self, disk: MemoryDisk, runtime: Runtime, *, lost_update_bug: bool) -> None:
        self.disk = disk
        self.runtime = runtime
        self.bug = lost_update_bug
        self.cached: dict[str, Entry] | None = None

    def load(self, skip_cache: bool = False) -> dict[str, Entry]:
        if not skip_cache and self.cached is not None:
            return copy.deepcopy(self.cached)
        self.cached = copy.deepcopy(self.disk.data)
        return copy.deepcopy(self.cached)

    def _fresh(self) -> dict[str, Entry]:
        return copy.deepcopy(self.disk.data)

    def _write(self, data: dict[str, Entry]) -> None:
        self.disk.data = copy.deepcopy(data)
        self.cached = None

    def save(self, mapping: dict[str, Entry]) -> None:
        self._write(mapping)

    def update(self, mutator: Callable[[dict[str, Entry]], Any]) -> Any:
        data = self._fresh()
        result = mutator(data)
        self._write(data)
        return result

    def _store(self, data: dict[str, Entry], key: str, entry: Entry) -> None:
        normalized = normalize_key(key)
        for other in [k for k in data if normalize_key(k) == normalized]:
            del data[other]
        data[normalized] = entry

    def update_entry(self, key: str, patch_fn: Callable[[Entry], Entry | None]) -> Entry | None:
        # The deliberate bug: the read-modify-write starts from this handle's cache.
        data = self.load() if self.bug else self._fresh()
        found = resolve(data, key)
        if not found:
            return None
        entry = data[found[0]]
        patch = patch_fn(copy.deepcopy(entry))
        if patch is None:
            return entry
        merged = {**entry, **patch}
        # The API stamps: updatedAt = max(old, patch, now) (docs/spec.md).
        merged["updatedAt"] = max(
            int(entry.get("updatedAt", 0)), int(patch.get("updatedAt", 0)), self.runtime.now_ms()
        )
        self._store(data, key, merged)
        self._write(data)
        return copy.deepcopy(merged)

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> Entry:
        data = self._fresh()
        found = resolve(data, key)
        now = self.runtime.now_ms()
        entry = (
            dict(data[found[0]])
            if found
            else {"sessionId": self.runtime.new_token(), "updatedAt": now}
        )
        entry.update(lastChannel=channel, lastTo=to)
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
        entry["updatedAt"] = max(int(entry.get("updatedAt", 0)), now)
        self._store(data, key, entry)
        self._write(data)
        return copy.deepcopy(entry)

    def read_updated_at(self, key: str) -> int | None:
        data = self._fresh()
        found = resolve(data, key)
        return int(data[found[0]]["updatedAt"]) if found else None


class MemoryStoreMachine(SessionStoreMachine):
    """All an outsider writes: where the data lives, and how to open a handle."""

    lost_update_bug: ClassVar[bool] = False

    def __init__(self) -> None:
        self.disk = MemoryDisk()
        super().__init__()

    def make_root(self) -> str:
        return "memory"  # no files: crash and corrupt rules stay off by default

    def remove_root(self, root: str) -> None:
        return None

    def open_store(self, ctx: StoreContext) -> MemoryStore:
        return MemoryStore(self.disk, ctx.runtime, lost_update_bug=self.lost_update_bug)


class BuggyMemoryStoreMachine(MemoryStoreMachine):
    lost_update_bug = True


def test_a_correct_custom_store_passes() -> None:
    run_state_machine_as_test(MemoryStoreMachine, settings=machine_settings())


def test_the_machine_catches_a_lost_update_in_a_custom_store() -> None:
    with pytest.raises(MachineFailureError) as caught:
        run_state_machine_as_test(
            BuggyMemoryStoreMachine, settings=finding_settings(examples=1000, steps=10)
        )
    assert caught.value.kind == "stale-read"
    message = str(caught.value)
    assert message.splitlines()[0].startswith("stale-read: update_entry(")
    assert "lost update" in message
