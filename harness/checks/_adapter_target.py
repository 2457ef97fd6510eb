"""A store behind ``--store-cmd`` as a :class:`StoreTarget`: every open is a new adapter
process, and the store API is asked as protocol requests.

Calls written as data (the machines' :class:`DataMutator` and :class:`DataPatch`) cross
the pipe as they are; a plain mutator function cannot, so it is run on a copy of a fresh
load and the difference is sent -- correct for one writer at a time (the explorer's setup
and recovery), not atomic against others, which is why every racing caller uses data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from harness.checks._kill_spec import StoreCommand
from harness.checks._machine_model import DataIncrement, DataMutator, DataPatch
from harness.engine._target import StoreTarget
from harness.foreign import AdapterClient, AdapterError
from reference_store import StoreError

__all__ = ["AdapterStore", "adapter_target", "command_target"]

_ABSENT = object()


class AdapterStore:
    """The store API of docs/spec.md over one adapter process."""

    def __init__(self, client: AdapterClient) -> None:
        self.client = client

    def load(self, skip_cache: bool = False) -> dict[str, Any]:
        return self.client.load(skip_cache=skip_cache)

    def save(self, mapping: Mapping[str, Any]) -> None:
        self.client.save(mapping)

    def update(self, mutator: Callable[[dict[str, Any]], Any]) -> Any:
        if isinstance(mutator, DataMutator):
            self.client.update(set=mutator.sets, delete=mutator.deletes, in_place=mutator.in_place)
            # ``update`` returns its mutator's value; that value is the caller's own.
            return mutator.result
        before = self.client.load(skip_cache=True)
        after = json.loads(json.dumps(before))
        result = mutator(after)
        changed = {k: v for k, v in after.items() if before.get(k, _ABSENT) != v}
        self.client.update(set=changed, delete=[k for k in before if k not in after])
        return result

    def update_entry(self, key: str, patch_fn: Callable[[Any], Any]) -> Any:
        if isinstance(patch_fn, DataIncrement):  # computed by the store, under its lock
            return self.client.update_entry(
                key, increment={"field": patch_fn.field, "by": patch_fn.by}
            )
        if not isinstance(patch_fn, DataPatch):
            raise TypeError("an adapter store takes update_entry's patch as data (DataPatch)")
        return self.client.update_entry(key, patch_fn.patch)

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> Any:
        return self.client.update_last_route(
            key, channel=channel, to=to, account_id=account_id, thread_id=thread_id
        )

    def read_updated_at(self, key: str) -> int | None:
        return self.client.read_updated_at(key)

    def close(self) -> None:
        self.client.close()


def adapter_target(
    command: StoreCommand, timeout: float, started: list[AdapterClient]
) -> StoreTarget:
    """A target whose every open is a new adapter process (recorded in ``started``: the
    explorer's recovery does not close a store whose load failed, so the caller kills
    whatever is left)."""

    def start(store_path: str, layout: str, profile: str) -> AdapterClient:
        client = command.start(store_path, layout, profile, timeout=timeout)
        started.append(client)
        try:
            if not command.opens_itself:
                client.open(store_path, layout, profile)
        except BaseException:
            client.kill()
            raise
        return client

    def open_(store_path: str, layout: str, profile: str, fs: Any, **_: Any) -> AdapterStore:
        return AdapterStore(start(store_path, layout, profile))

    def migrate(store_path: str, profile: str, fs: Any, **_: Any) -> bool:
        with start(store_path, "auto", profile) as client:
            return client.migrate(store_path, profile)

    return StoreTarget(
        name="store-cmd",
        open=open_,
        migrate=migrate,
        refusals=(StoreError, AdapterError),
        description=f"adapter: {command.template}",
        remote=True,
    )


def command_target(template: str, timeout: float = 30.0) -> StoreTarget:
    """:func:`adapter_target` of a ``--store-cmd`` template, for callers that close every
    store they open (the machines do: a process left over exits at the end of its stdin)."""
    return adapter_target(StoreCommand(template), timeout, [])
