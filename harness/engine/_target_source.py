"""Where a store target comes from, so that a fresh process can build it again.

A replay file names its target (``RunSpec.target``). ``reference`` always exists and a
``module:attr`` name imports itself, but a target built in memory -- a mutant of the
seeded-bug catalog, ``mutant:<name>`` -- exists only in a process that imported the
module defining it. Such targets record that module here when they are built
(:func:`record_origin`); the gate writes it into each replay file
(:meth:`TargetSource.to_json`), and ``store-harness replay`` imports it again
(:func:`load_target`) with the folder it was imported from on ``sys.path``.

Promise: :func:`load_target` either leaves the target resolvable by its name
(``harness.engine._target.resolve_target``) or raises :class:`UsageError` saying what to pass.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness._errors import UsageError
from harness.engine._target import StoreTarget, register_target, resolve_target

__all__ = ["TargetSource", "load_target", "record_origin", "source_of"]

#: target name -> the module whose import defines it (filled as targets are built)
_ORIGINS: dict[str, str] = {}


@dataclass(frozen=True)
class TargetSource:
    """The module that defines a target, and the folder it is imported from."""

    module: str
    #: the ``sys.path`` entry the module was imported from: relative to ``ran_in`` when
    #: inside it (a checkout moved elsewhere still works), else absolute
    sys_path: str | None = None
    #: the working folder of the process that wrote the replay
    ran_in: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"module": self.module, "sys_path": self.sys_path, "ran_in": self.ran_in}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TargetSource:
        return cls(str(raw["module"]), raw.get("sys_path"), raw.get("ran_in"))

    def folders(self) -> list[str]:
        """Candidate ``sys.path`` entries, best first: the current folder's view of the
        recorded one, then the recorded one where the writer ran."""
        found: list[str] = []
        entry = self.sys_path
        for base in (os.getcwd(), self.ran_in):
            if base is None:
                continue
            if entry is None:
                found.append(base)
            else:
                found.append(os.path.normpath(os.path.join(base, entry)))
        return [f for f in dict.fromkeys(found) if os.path.isdir(f)]


def record_origin(target_name: str, module: str) -> None:
    """Note that importing ``module`` defines the target ``target_name``."""
    _ORIGINS[target_name] = module


def source_of(target_name: str) -> TargetSource | None:
    """How to build ``target_name`` again in a fresh process (``None``: nothing to do or
    nothing known, e.g. ``reference``)."""
    module = _ORIGINS.get(target_name)
    if module is None:
        name, sep, _attr = target_name.partition(":")
        if not sep or name not in sys.modules:
            return None
        module = name
    loaded = sys.modules.get(module)
    file = getattr(loaded, "__file__", None)
    if file is None:
        return TargetSource(module, None, os.getcwd())
    # From the module's folder, strip one folder per dotted part, and one more for a
    # package (its __init__.py sits in a folder of its own name), to reach the sys.path
    # entry the module was found under: a/b.py -> ., a/b/__init__.py -> . too.
    root = os.path.dirname(os.path.abspath(file))
    depth = module.count(".") + (1 if os.path.basename(file).startswith("__init__.") else 0)
    for _ in range(depth):
        root = os.path.dirname(root)
    cwd = os.getcwd()
    inside = os.path.commonpath([root, cwd]) == cwd
    return TargetSource(module, os.path.relpath(root, cwd) if inside else root, cwd)


def _candidates(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, (tuple, list)):
        yield from value
    elif isinstance(value, Mapping):
        yield from value.values()


def load_target(name: str, source: TargetSource | None, *, hint: str) -> StoreTarget:
    """The target ``name``, importing ``source`` first when it is given.

    ``hint`` ends the error: what the caller can pass to name the module instead.
    """
    if source is None:
        try:
            return resolve_target(name)
        except UsageError as exc:
            raise UsageError(
                f"store target {name!r} is unknown in this process and the replay file "
                f"does not say which module defines it ({exc}); {hint}"
            ) from None
    for folder in reversed([os.getcwd(), *source.folders()]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module = importlib.import_module(source.module)
    except ImportError as exc:
        where = (
            f"run from the folder the gate ran in ({source.ran_in}), or " if source.ran_in else ""
        )
        raise UsageError(
            f"store target {name!r} is defined in module {source.module!r}, which does not "
            f"import here ({exc}; searched {', '.join(source.folders()) or 'nothing'}): "
            f"{where}{hint}"
        ) from None
    # A mutant-like object (``target_name`` and ``target()``) builds and registers it.
    for value in list(vars(module).values()):
        for item in _candidates(value):
            if getattr(item, "target_name", None) == name and callable(
                getattr(item, "target", None)
            ):
                built = item.target()
                if isinstance(built, StoreTarget):
                    return register_target(built)
    try:
        return resolve_target(name)
    except UsageError:
        raise UsageError(
            f"module {source.module!r} imports, but defines no store target {name!r}; {hint}"
        ) from None
