"""Mutants: the reference store with exactly one defect, to prove a check can fail.

A check that never failed proves nothing. A :class:`Mutant` is the ``hardened`` reference
store with one realistic bug, built in one of three ways, from least to most invasive:

* **a profile flag** flipped back to the seed's behaviour (``profile_changes``), when the
  bug is one of the seed's hazards (docs/spec.md);
* **a seam wrapper** (``seam``), when the bug is in *how* the store does its I/O (writing
  in place instead of tmp + rename, never fsyncing a folder): the wrapper sits between
  the store and the fault filesystem, so every operation it issues is still a crash point;
* **patches** of module attributes (``patches``: ``"module:attr"`` -> a function of the
  original), active only while a store call runs, when the bug is in the store's logic.

Patches are swapped in and out around each call, so a mutant must not run concurrently
with other stores in one process; the explorer runs one store per worker at a time, and
the gate's concurrency check races processes, one worker each.

A mutant remembers the module that built it (``origin``), so that a replay file naming
``mutant:<name>`` can be re-run from a fresh shell (``harness.engine._target_source``).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engine._target import StoreTarget, register_target
from harness.engine._target_source import record_origin
from reference_store import HARDENED, Profile, migrate, open_store
from reference_store.fs import FileSystem

__all__ = ["Mutant"]


@dataclass(frozen=True)
class Mutant:
    """One defect, and the scenarios that are expected to catch it."""

    name: str
    #: the bug, as a reviewer would describe it
    bug: str
    #: scenario names expected to catch it (each is asserted by the catalog's test)
    caught_by: tuple[str, ...]
    #: the promises it breaks (ids of ``harness.engine._promises``): each check of
    #: ``caught_by`` that judges one of them must report one of its kinds
    breaks: tuple[str, ...] = ()
    profile_changes: Mapping[str, object] = field(default_factory=dict)
    seam: Callable[[FileSystem], FileSystem] | None = None
    patches: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    #: the module whose import defines this mutant (default: the one that built it)
    origin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.origin:
            object.__setattr__(self, "origin", _caller_module())

    @property
    def target_name(self) -> str:
        return f"mutant:{self.name}"

    @property
    def profile(self) -> Profile:
        return HARDENED.with_changes(name=f"mutant:{self.name}", **self.profile_changes)

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """The patches in place (nothing to do for flag and seam mutants)."""
        undo: list[tuple[Any, str, Any]] = []
        try:
            for ref, make in self.patches.items():
                module_name, attr = ref.split(":")
                owner: Any = importlib.import_module(module_name)
                *path, last = attr.split(".")
                for part in path:
                    owner = getattr(owner, part)
                original = getattr(owner, last)
                undo.append((owner, last, original))
                setattr(owner, last, make(original))
            yield
        finally:
            for owner, last, original in reversed(undo):
                setattr(owner, last, original)

    def _fs(self, fs: FileSystem) -> FileSystem:
        return self.seam(fs) if self.seam is not None else fs

    def open(
        self, store_path: str, layout: str, _profile: str, fs: FileSystem, **kwargs: Any
    ) -> Any:
        with self.applied():
            store = open_store(store_path, layout, self.profile, self._fs(fs), **kwargs)
        return _Patched(store, self) if self.patches else store

    def migrate(self, store_path: str, _profile: str, fs: FileSystem, **kwargs: Any) -> bool:
        with self.applied():
            return migrate(store_path, self.profile, self._fs(fs), **kwargs)

    def target(self) -> StoreTarget:
        """This mutant as a store the explorer and the gate can drive (judged as hardened)."""
        record_origin(self.target_name, self.origin)
        return register_target(
            StoreTarget(
                name=self.target_name,
                open=self.open,
                migrate=self.migrate,
                profiles=("hardened",),
                description=self.bug,
            )
        )


def _caller_module() -> str:
    """The first module up the stack that is not this one (the dataclass ``__init__``
    runs with this module's globals)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back  # type: ignore[assignment]
    return str(frame.f_globals.get("__name__", "")) if frame is not None else ""


class _Patched:
    """A store whose every method runs with its mutant's patches in place."""

    def __init__(self, store: Any, mutant: Mutant) -> None:
        self._store = store
        self._mutant = mutant
        #: the unpatched store (the functools convention), for code that inspects it
        self.__wrapped__ = store

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._mutant.applied():
                # Looked up again with the patches in place: a patch of this very
                # method (``SessionStore.update_entry``) must take effect too.
                return getattr(self._store, name)(*args, **kwargs)

        return call
