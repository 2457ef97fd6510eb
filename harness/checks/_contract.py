"""What a store behind ``--store-cmd`` says about itself, asked once before a gate plans.

The adapter answers ``ping`` with the layouts it implements and the profiles it can be
opened with (``docs/adapter-protocol.md``). The gate plans only those: a layout the store
does not declare is reported as not explored, with the reason, instead of being run and
failing in every configuration. An adapter that does not answer ``ping`` is a usage
error (exit 2), never a verdict on the store.

``ping``'s ``contract`` says what the store does on purpose. ``normalizes: true``: it
rewrites what it writes, and serves that rewrite as the ``normalize`` op; the oracle then
expects the rewritten states (:class:`StoreNormalizer`), so a declared rewrite is no
violation and an undeclared one still is.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness._errors import UsageError
from harness._roots import make_root, remove_root, temp_root
from harness.checks._kill_spec import StoreCommand
from harness.foreign import AdapterClient, AdapterError
from reference_store import LAYOUTS

__all__ = ["Declared", "StoreNormalizer", "declared_by", "normalizer_for"]


@dataclass(frozen=True)
class Declared:
    """What ``ping`` declared: who answers, the layouts to plan, the profiles to open with."""

    implementation: str
    layouts: tuple[str, ...]
    profiles: tuple[str, ...]


def _start_in(
    root: str, command: StoreCommand, timeout_s: float, layout: str, profile: str
) -> AdapterClient:
    """An adapter of ``command`` on an empty store folder inside ``root``."""
    store_path = os.path.join(root, "store", "sessions.json")
    os.makedirs(os.path.dirname(store_path))
    return command.start(store_path, layout, profile, timeout=timeout_s)


def declared_by(template: str, timeout_s: float) -> Declared:
    """Start the adapter once on an empty folder and read its ``ping``."""
    with temp_root("declare") as root:
        try:
            with _start_in(root, StoreCommand(template), timeout_s, "auto", "hardened") as client:
                answer = client.ping()
        except (AdapterError, OSError) as exc:
            raise UsageError(f"--store-cmd: the adapter did not answer ping: {exc}") from None
    return Declared(
        implementation=str(answer.get("implementation") or "an adapter"),
        layouts=_names(answer, "layouts", LAYOUTS, known=LAYOUTS),
        profiles=_names(answer, "profiles", ("hardened",), known=None),
    )


def _names(
    answer: dict[str, object], field: str, default: tuple[str, ...], known: tuple[str, ...] | None
) -> tuple[str, ...]:
    raw = answer.get(field)
    if raw is None:
        return default
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise UsageError(
            f"--store-cmd: ping's {field!r} must be a non-empty list of names, got {raw!r:.80}"
        )
    names = tuple(dict.fromkeys(raw))
    if known is not None:
        names = tuple(n for n in names if n in known)
        if not names:
            raise UsageError(
                f"--store-cmd: the adapter declares no layout the harness knows "
                f"({', '.join(raw)}; known: {', '.join(known)})"
            )
    return names


class StoreNormalizer:
    """The rewrite a store declares (``contract.normalizes`` in ``ping``), asked of an
    adapter process of its own: ``normalize`` requests, one per distinct state, cached.

    One process serves every run of a template (it needs no store and does no I/O); it is
    closed at exit, and would end anyway when the harness's end of its stdin closes.
    """

    def __init__(self, template: str, timeout_s: float, layout: str, profile: str) -> None:
        self._root = make_root("normalize")
        command = StoreCommand(template)
        self._client = _start_in(self._root, command, timeout_s, layout, profile)
        if not command.opens_itself:
            self._client.open(os.path.join(self._root, "store", "sessions.json"), layout, profile)
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] = {}
        answer = self._client.ping()
        contract = answer.get("contract")
        self.normalizes = isinstance(contract, dict) and contract.get("normalizes") is True

    def __call__(self, state: Mapping[str, Any]) -> dict[str, Any]:
        key = json.dumps(state, sort_keys=True)
        with self._lock:
            if key not in self._cache:
                result = self._client.request("normalize", {"mapping": dict(state)})
                if not isinstance(result, dict):
                    raise AdapterError(f"normalize answered {result!r:.80}, not a map")
                self._cache[key] = result
            return copy.deepcopy(self._cache[key])

    def close(self) -> None:
        with contextlib.suppress(AdapterError, OSError):
            self._client.close()
        remove_root(self._root)


_NORMALIZERS: dict[tuple[str, str, str], StoreNormalizer | None] = {}
_NORMALIZERS_LOCK = threading.Lock()


def normalizer_for(
    template: str, timeout_s: float, layout: str, profile: str
) -> StoreNormalizer | None:
    """The declared rewrite of the store behind ``template`` in ``layout`` and ``profile``
    (a store may rewrite differently in each); ``None`` if it declares none."""
    key = (template, layout, profile)
    with _NORMALIZERS_LOCK:
        if key not in _NORMALIZERS:
            normalizer = StoreNormalizer(template, timeout_s, layout, profile)
            if not normalizer.normalizes:
                normalizer.close()
                _NORMALIZERS[key] = None
            else:
                _NORMALIZERS[key] = normalizer
                atexit.register(normalizer.close)
        return _NORMALIZERS[key]
