"""What the harness drives: a store implementation, reduced to two callables.

The explorer, the gate and the pytest plugin never import a store directly; they hold a
:class:`StoreTarget`. The reference store is one target, each catalogued mutant is one
more, and a user's store is named ``module:attr`` on the command line.

The contract is the API of docs/spec.md:

* ``open(store_path, layout, profile, fs, *, runtime, cache)`` returns a store with
  ``load``/``save``/``update``/``update_entry``/``update_last_route``/``read_updated_at``/
  ``close``. ``fs`` is the seam every byte of I/O must pass through (that is where the
  faults are injected); ``runtime`` and ``cache`` make runs deterministic and a restart
  real. A store that ignores ``fs`` can still be crash-tested in a child process.
* ``migrate(store_path, profile, fs, *, runtime)`` runs the start-up migration and
  returns whether it migrated. Without it the ``auto`` layout is not explored.
* A call the store refuses raises one of ``refusals`` (or an ``OSError``); the oracle
  counts it as *failed*, which promises nothing changed at the layout's granularity.

``profile`` names the promises the store claims (``hardened``: every promise of docs/spec.md;
``seed``: the proposal's); a foreign store may ignore the argument.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness._errors import UsageError
from reference_store import StoreError, migrate, open_store

__all__ = ["REFERENCE", "StoreTarget", "register_target", "resolve_target"]


@dataclass(frozen=True)
class StoreTarget:
    """A store implementation the harness can open, migrate and judge."""

    name: str
    open: Callable[..., Any]
    migrate: Callable[..., Any] | None = None
    #: exceptions that mean "the store refused this call" rather than "the store broke"
    refusals: tuple[type[BaseException], ...] = (StoreError,)
    #: layouts the implementation provides
    layouts: tuple[str, ...] = ("legacy", "directory", "auto", "sqlite")
    #: the promise profiles it can be judged by; the first is the default
    profiles: tuple[str, ...] = ("seed", "hardened")
    description: str = ""
    #: whether ``profiles`` is what the store declared; a plain factory (``module:attr``
    #: naming a function) declares none and may take any profile it knows itself
    declares_profiles: bool = True
    #: driven in other processes through the adapter protocol: the in-process seam and
    #: clock do not reach it, so nothing that needs them (simulated crashes, exact clocks,
    #: knowing which file holds a key) is asked of it
    remote: bool = False

    def supports(self, layout: str) -> bool:
        return self.unsupported(layout) is None

    def unsupported(self, layout: str) -> str | None:
        """Why this store cannot be run in ``layout``, for a reader; ``None`` if it can."""
        if layout == "auto" and self.migrate is None:
            return "the store has no migrate(): the auto layout needs its start-up migration"
        if layout not in self.layouts:
            return f"the store declares the layouts {', '.join(self.layouts)} only"
        return None


REFERENCE = StoreTarget(
    name="reference",
    open=open_store,
    migrate=migrate,
    description="the reference store (reference_store), seed and hardened profiles",
)

_REGISTRY: dict[str, StoreTarget] = {REFERENCE.name: REFERENCE}


def register_target(target: StoreTarget) -> StoreTarget:
    """Make ``target`` resolvable by its name (worker processes inherit it via fork)."""
    _REGISTRY[target.name] = target
    return target


def resolve_target(ref: str | StoreTarget) -> StoreTarget:
    """A target by registered name or ``module:attr``.

    ``attr`` is a :class:`StoreTarget`, or a callable with ``open_store``'s signature, in
    which case the module's ``migrate`` (if any) is its start-up migration.
    """
    if isinstance(ref, StoreTarget):
        return register_target(ref)
    if ref in _REGISTRY:
        return _REGISTRY[ref]
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        known = ", ".join(sorted(_REGISTRY))
        raise UsageError(f"store {ref!r} is neither a known target ({known}) nor module:attr")
    # Like pytest and uvicorn: a store in the current folder is importable by name.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r} for store {ref!r}: {exc}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no attribute {attr!r}") from None
    if isinstance(obj, StoreTarget):
        target = StoreTarget(
            name=ref,
            open=obj.open,
            migrate=obj.migrate,
            refusals=obj.refusals,
            layouts=obj.layouts,
            profiles=obj.profiles,
            description=obj.description or obj.name,
            declares_profiles=obj.declares_profiles,
        )
    elif callable(obj):
        target = StoreTarget(
            name=ref,
            open=obj,
            migrate=getattr(module, "migrate", None),
            refusals=tuple(getattr(module, "STORE_ERRORS", (StoreError,))),
            description=(obj.__doc__ or "").strip().splitlines()[0] if obj.__doc__ else "",
            declares_profiles=False,
        )
    else:
        raise UsageError(f"{ref!r} is neither a StoreTarget nor a callable")
    return register_target(target)
