"""The store API over an adapter process: the calls of docs/spec.md with data arguments.

:class:`AdapterClient` offers the store API with data arguments, so the harness can run
the same workloads against a foreign store as against an in-process
:class:`reference_store.SessionStore`::

    with AdapterClient(reference_command(path, profile="hardened")) as store:
        store.save({"agent:main:main": {"sessionId": "s1", "updatedAt": 1}})
        store.update_entry("agent:main:main", increment={"field": "turns", "by": 1})

The process, its threads and how failures surface are :mod:`harness.foreign._process`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from harness.foreign._errors import (
    AdapterViolationError,
)
from harness.foreign._process import AdapterProcess
from reference_store.protocol import (
    PROTOCOL_VERSION,
    Json,
)

__all__ = [
    "AdapterClient",
]


class AdapterClient(AdapterProcess):
    """A store in a child process, reached through the JSON-lines adapter protocol."""

    # --- the store API, with data arguments ---------------------------------------------------
    def ping(self) -> dict[str, Json]:
        """The adapter's identity; checks it speaks protocol version 1."""
        result = self.request("ping")
        if not isinstance(result, dict) or result.get("pong") is not True:
            raise AdapterViolationError(f"ping answered {result!r:.200}")
        if result.get("protocol") != PROTOCOL_VERSION:
            raise AdapterViolationError(
                f"adapter speaks protocol {result.get('protocol')!r}, "
                f"this client speaks {PROTOCOL_VERSION}"
            )
        return result

    def open(
        self, store_path: str | os.PathLike[str], layout: str = "auto", profile: str = "seed"
    ) -> dict[str, Json]:
        """(Re)open the adapter's store."""
        args = {"store_path": os.fspath(store_path), "layout": layout, "profile": profile}
        result: dict[str, Json] = self.request("open", args)
        return result

    def load(self, skip_cache: bool = False) -> dict[str, Json]:
        result: dict[str, Json] = self.request("load", {"skip_cache": skip_cache})
        return result

    def save(self, mapping: Mapping[str, Json]) -> None:
        self.request("save", {"mapping": dict(mapping)})

    def update(
        self,
        mutator: object = None,
        *,
        set: Mapping[str, Json] | None = None,
        delete: Iterable[str] = (),
        patch: Mapping[str, Mapping[str, Json]] | None = None,
        in_place: Mapping[str, Mapping[str, Json]] | None = None,
    ) -> int:
        """One ``store.update``: change ``in_place`` fields of existing entries, ``set``
        entries, ``delete`` keys, then shallow-merge ``patch`` partials into existing
        entries; returns how many keys changed.

        A mutator function cannot cross a process boundary: pass the change as data.
        """
        if mutator is not None:
            raise TypeError(
                "an adapter store cannot run a mutator function in its process; "
                "describe the change as update(set=..., delete=..., patch=...)"
            )
        args: dict[str, Json] = {}
        if set:
            args["set"] = dict(set)
        deletes = list(delete)
        if deletes:
            args["delete"] = deletes
        if patch:
            args["patch"] = {k: dict(v) for k, v in patch.items()}
        if in_place:
            args["in_place"] = {k: dict(v) for k, v in in_place.items()}
        result: int = self.request("update", args)
        return result

    def update_entry(
        self,
        key: str,
        patch: Mapping[str, Json] | None = None,
        *,
        increment: Mapping[str, Json] | None = None,
        in_place: Mapping[str, Json] | None = None,
    ) -> dict[str, Json] | None:
        """Shallow-merge ``patch`` into the entry ``key`` resolves to, and/or add
        ``increment["by"]`` to its numeric field ``increment["field"]`` -- both computed
        from the entry read under the store's lock. ``None`` when the key is missing."""
        if callable(patch):
            raise TypeError(
                "an adapter store cannot run a patch function in its process; "
                "pass the patch as a dict (or increment={'field': ..., 'by': ...})"
            )
        args: dict[str, Json] = {"key": key}
        if patch is not None:
            args["patch"] = dict(patch)
        if increment is not None:
            args["increment"] = dict(increment)
        if in_place:
            args["in_place"] = dict(in_place)
        result: dict[str, Json] | None = self.request("update_entry", args)
        return result

    def update_last_route(
        self,
        key: str,
        *,
        channel: str,
        to: str,
        account_id: str | None = None,
        thread_id: str | None = None,
    ) -> dict[str, Json]:
        args = {
            "key": key,
            "channel": channel,
            "to": to,
            "account_id": account_id,
            "thread_id": thread_id,
        }
        result: dict[str, Json] = self.request("update_last_route", args)
        return result

    def read_updated_at(self, key: str) -> int | None:
        result: int | None = self.request("read_updated_at", {"key": key})
        return result

    def migrate(
        self, store_path: str | os.PathLike[str] | None = None, profile: str | None = None
    ) -> bool:
        """Migrate legacy -> directory (defaults: the open store's path and profile)."""
        args: dict[str, Json] = {}
        if store_path is not None:
            args["store_path"] = os.fspath(store_path)
        if profile is not None:
            args["profile"] = profile
        result: bool = self.request("migrate", args)
        return result
