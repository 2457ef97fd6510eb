"""The records of the explorer: what one run is (:class:`RunSpec`), what it found
(:class:`RunResult`), and how many runs to make (:class:`ExploreOptions`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.engine._oracle import (
    Outcome,
    Violation,
)
from harness.engine._target import REFERENCE
from harness.faults._durability import PowerLossChoice
from harness.faults._faultfs import (
    FaultPlan,
    Operation,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_MAX_POINTS",
    "RECOVERY_DELAY_MS",
    "SEED_CLOCK_MS",
    "STORE_FOLDER",
    "STORE_NAME",
    "ExploreOptions",
    "RunResult",
    "RunSpec",
]


BACKENDS = ("fake", "real")
STORE_NAME = "sessions.json"
STORE_FOLDER = "store"
#: A store in a child process gets ``$TMPDIR`` here, beside its folder: whatever it
#: leaves there (``mkstemp`` files its writer forgot) is a leftover temp file.
CHILD_TMPDIR = "tmpdir"
SEED_CLOCK_MS = 1_700_000_000_000
RECOVERY_DELAY_MS = 600_000  # the restarted process starts 10 minutes later


@dataclass(frozen=True)
class RunSpec:
    scenario: str
    variant: str
    layout: str
    profile: str
    backend: str
    plan: FaultPlan = field(default_factory=FaultPlan)
    family: str = "baseline"
    power: PowerLossChoice | None = None
    seed: int = 0
    #: the store implementation under test (a registered name or ``module:attr``)
    target: str = REFERENCE.name
    #: file-name rules of the emulated OS (``harness.faults._foreignfs``)
    semantics: str = "linux"

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "layout": self.layout,
            "profile": self.profile,
            "backend": self.backend,
            "plan": self.plan.to_json(),
            "family": self.family,
            "power": None if self.power is None else self.power.to_json(),
            "seed": self.seed,
            "target": self.target,
            "fs_semantics": self.semantics,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> RunSpec:
        power = raw.get("power")
        return cls(
            scenario=raw["scenario"],
            variant=raw["variant"],
            layout=raw["layout"],
            profile=raw["profile"],
            backend=raw["backend"],
            plan=FaultPlan.from_json(raw["plan"]),
            family=raw.get("family", "baseline"),
            power=None if power is None else PowerLossChoice.from_json(power),
            seed=int(raw.get("seed", 0)),
            target=str(raw.get("target", REFERENCE.name)),
            semantics=str(raw.get("fs_semantics", "linux")),
        )

    def calls_may_fail(self) -> bool:
        """Whether this run's fault may make a call report an error (a baseline: no)."""
        return self.plan != FaultPlan() or self.power is not None

    def describe(self) -> str:
        power = f", power loss: {self.power.label}" if self.power else ""
        where = f", {self.semantics} file names" if self.semantics != "linux" else ""
        return f"{self.plan.describe()}{power}{where}"


@dataclass(frozen=True)
class RunResult:
    spec: RunSpec
    trace: tuple[Operation, ...]
    outcomes: tuple[Outcome, ...]
    violations: tuple[Violation, ...]
    found: Mapping[str, Any] | None
    expected: tuple[Mapping[str, Any], ...]
    files_after_fault: Mapping[str, int]  # relative path -> size, before recovery
    op_count: int
    write_sizes: tuple[tuple[int, int], ...] = ()  # (op number, bytes) of each write
    unsynced: tuple[str, ...] = ()


#: Fault points per fault family and configuration that ``explore``, ``gate`` and
#: ``report`` sample by default, so that one story holds for every command: a bounded
#: seeded sample on real folders, ``--full`` for every point.
DEFAULT_MAX_POINTS = 25


@dataclass(frozen=True)
class ExploreOptions:
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    seed: int = 0
    power_samples: int = 4
    #: bound on runs per family per configuration (0: no bound); beyond it, sampled.
    max_points: int = 0
    #: include heavy variants (1,000-entry stores); there ``max_points`` may raise their
    #: own bound, elsewhere a variant's own bound wins
    full: bool = False
    #: seconds a run may take before its process is killed and the run reported as
    #: ``hung`` (``harness.engine._contain``); the heaviest variants take seconds
    run_timeout: float = 120.0
