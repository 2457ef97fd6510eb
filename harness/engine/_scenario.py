"""What a scenario is: a named, parameterised workload plus the faults to explore.

The catalogue lives in the top-level ``scenarios`` package; the core only knows this type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engine._oracle import Outcome, Violation
from harness.engine._workload import Step
from harness.faults._planting import Planting

__all__ = [
    "FAULT_KINDS",
    "CheckContext",
    "Scenario",
    "Setup",
    "Variant",
    "Workload",
]

#: Fault families the explorer knows how to enumerate.
FAULT_KINDS = {
    "crash": "crash before every operation, one at a time",
    "torn": "crash inside every write, after half of its bytes",
    "enospc": "disk full at every byte budget that matters (raised at the write)",
    "enospc-close": "disk full charged at close/fsync (delayed allocation)",
    "non-atomic": "rename made non-atomic, then a crash at every operation",
    "enoent-then-crash": "ENOENT at each rename (the seed's fallback), then a crash at "
    "every later operation",
    "power-loss": "power loss after each call: unsynced effects dropped or torn",
    "error:EIO": "EIO at each chosen operation",
    "error:EACCES": "EACCES at each chosen operation",
    "error:EXDEV": "EXDEV at each chosen operation",
    "error:ENOSPC": "ENOSPC at each chosen operation",
}


@dataclass(frozen=True)
class Setup:
    """Files on disk before the workload (written untraced, through the plain seam).

    ``legacy``: the legacy file's map, written in this key order; ``legacy_raw``: its bytes
    verbatim instead; ``directory``: entries saved first in the directory layout by a
    clean store of the same profile; ``files``: extra files by path relative to the store
    folder (corrupt entries, stale staging folders, ...); ``shapes``: links, FIFOs,
    folders and modes planted at the store's own paths after all that, and again before
    recovery (``harness.faults._planting``; the explorer's recovery says what it judges).
    """

    legacy: Mapping[str, Any] | None = None
    legacy_raw: bytes | None = None
    directory: Mapping[str, Any] | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    shapes: tuple[Planting, ...] = ()


@dataclass(frozen=True)
class Workload:
    setup: Setup
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Variant:
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    #: restricts the variant to some of the scenario's layouts (``None``: all of them)
    layouts: tuple[str, ...] | None = None
    #: bound on fault points per fault family (0: every one); sampled with the seed
    max_points: int = 0
    #: slow (a 1,000-entry store): left out of quick runs
    heavy: bool = False
    #: why the variant cannot run against a store in another process (``None``: it can);
    #: e.g. a shape planted when the store first touches a name, which only the
    #: in-process seam sees
    in_process_only: str | None = None


@dataclass(frozen=True)
class CheckContext:
    """What a scenario's own check sees after recovery."""

    store_dir: str
    files: Mapping[str, bytes]  # relative path -> content, after recovery
    found: Mapping[str, Any]
    workload: Workload
    layout: str
    profile: str
    #: what became of each call of the workload
    outcomes: tuple[Outcome, ...] = ()
    #: whether a fault of the run may make a call report an error (injected errors, disk
    #: full, a crash or power loss in process); a kill only cuts calls short, so a real
    #: kill run is ``False``: any call it saw fail, failed on its own
    calls_may_fail: bool = True
    #: the emulated file-name rules of the run (``harness.faults._foreignfs``)
    semantics: str = "linux"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    #: the hazards (docs/spec.md) it is meant to catch, for the docs and the mutation table
    catches: tuple[str, ...]
    build: Callable[[Mapping[str, Any], str], Workload]
    faults: tuple[str, ...]
    layouts: tuple[str, ...] = ("legacy", "directory")
    variants: tuple[Variant, ...] = (Variant("default"),)
    #: seam operation names at which ``error:*`` faults are injected
    error_ops: tuple[str, ...] = ("read", "write", "replace", "unlink", "open_write")
    check: Callable[[CheckContext], list[Violation]] | None = None
    #: variants that must reach the same state (e.g. the same keys in another order)
    same_result_groups: tuple[tuple[str, ...], ...] = ()
    #: a start-up, call or recovery failing with an ``OSError`` that is none of the
    #: store's refusals is a violation (``bare-os-error``): where the faults inject no
    #: I/O error, every such error comes from the disk's shape, and a store must say
    #: what is wrong and what to do
    explain_errors: bool = False

    def configurations(self) -> list[tuple[Variant, str]]:
        """Every (variant, layout) pair this scenario runs."""
        return [
            (v, layout)
            for v in self.variants
            for layout in self.layouts
            if v.layouts is None or layout in v.layouts
        ]

    def variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        known = ", ".join(v.name for v in self.variants)
        raise KeyError(f"scenario {self.name!r} has no variant {name!r} (known: {known})")
