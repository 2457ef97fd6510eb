"""What a gate run will do: its configurations (scenario x variants x layout x backend),
the gate's own checks, the promise profiles that decide what counts, and shards. Pure
functions of the catalog, the store and the options (the promises are in ``_run``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from harness._errors import UsageError
from harness.engine._oracle import VIOLATION_KINDS
from harness.engine._scenario import Scenario
from harness.engine._target import StoreTarget

__all__ = [
    "CHECKS",
    "CHECK_BACKEND",
    "CHECK_LAYOUTS",
    "CHECK_VARIANT",
    "CONCURRENCY_CHECK",
    "GATE_LAYOUTS",
    "KILL_BACKEND",
    "MACHINE_CHECK",
    "PROMISE_PROFILES",
    "CheckOptions",
    "Configuration",
    "NotExplored",
    "PromiseProfile",
    "Shard",
    "plan_checks",
    "plan_gate",
    "plan_run",
    "promise_profile",
    "select_checks",
    "select_scenarios",
]

#: The layouts the seam-level explorer can crash (SQLite does its own I/O).
GATE_LAYOUTS = ("legacy", "directory", "auto")
#: The backend of a store behind the adapter protocol: its process is SIGKILLed for real
#: (``harness.checks._realkill``), which is the real version of the ``crash`` family only.
KILL_BACKEND = "kill"
#: The gate's own checks, beside the scenario catalog (selected by name like scenarios).
MACHINE_CHECK = "machine"
CONCURRENCY_CHECK = "concurrency"
CHECKS = (MACHINE_CHECK, CONCURRENCY_CHECK)
#: Where each check runs: always on real temp folders (the machine's crashes are in
#: process, the concurrency check needs real processes and a real lock).
CHECK_BACKEND = "real"
CHECK_LAYOUTS = {
    MACHINE_CHECK: ("legacy", "directory", "auto"),
    CONCURRENCY_CHECK: ("legacy", "directory"),
}
CHECK_VARIANT = {MACHINE_CHECK: "stateful", CONCURRENCY_CHECK: "processes"}


@dataclass(frozen=True)
class CheckOptions:
    """Bounds of the gate's own checks (a fast default: seconds per layout)."""

    #: run the state machine at all
    machines: bool = True
    #: Hypothesis examples per layout, and steps (rule calls) per example
    machine_examples: int = 20
    machine_steps: int = 25
    #: seconds one machine configuration may take before its process is killed and the
    #: store reported as ``hung`` (``harness.engine._contain``)
    machine_timeout: float = 900.0
    #: run the concurrency check at all
    concurrency: bool = True
    #: calls per worker process
    concurrency_rounds: int = 12

    def __post_init__(self) -> None:
        if self.machine_examples < 1 or self.machine_steps < 1 or self.concurrency_rounds < 1:
            raise UsageError("machine examples, machine steps and concurrency rounds must be >= 1")

    def enabled(self, check: str) -> bool:
        return self.machines if check == MACHINE_CHECK else self.concurrency


# --- promises --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromiseProfile:
    """The promises a store claims, as what the gate leaves out of its verdict."""

    name: str
    description: str
    #: fault families not explored at all (``power-loss``, ``enospc``, ``error:EIO``, ...)
    skip_faults: frozenset[str] = frozenset()
    #: violation kinds reported but not failing the gate
    waived_kinds: frozenset[str] = frozenset()

    def with_waived(self, kinds: Iterable[str]) -> PromiseProfile:
        extra = frozenset(kinds)
        unknown = sorted(extra - set(VIOLATION_KINDS))
        if unknown:
            raise UsageError(
                f"unknown violation kind(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(VIOLATION_KINDS))}"
            )
        if not extra:
            return self
        waived = self.waived_kinds | extra
        return replace(
            self, name=f"{self.name}+waive:{','.join(sorted(extra))}", waived_kinds=waived
        )


PROMISE_PROFILES: dict[str, PromiseProfile] = {
    p.name: p
    for p in (
        PromiseProfile("hardened", "every promise of harness.engine._promises.PROMISES"),
        PromiseProfile(
            "no-power-loss",
            "every promise but durability after power loss (a store without fsync)",
            skip_faults=frozenset({"power-loss"}),
        ),
        PromiseProfile(
            "process-crash",
            "only what survives a killed process: no power loss, no disk-full or I/O-error "
            "handling",
            skip_faults=frozenset(
                {
                    "power-loss",
                    "enospc",
                    "enospc-close",
                    "error:EIO",
                    "error:EACCES",
                    "error:EXDEV",
                    "error:ENOSPC",
                }
            ),
        ),
    )
}


def promise_profile(promises: str | PromiseProfile) -> PromiseProfile:
    if isinstance(promises, PromiseProfile):
        return promises
    try:
        return PROMISE_PROFILES[promises]
    except KeyError:
        known = ", ".join(PROMISE_PROFILES)
        raise UsageError(f"unknown promise profile {promises!r}; choose one of {known}") from None


# --- configurations and shards ---------------------------------------------------------------
@dataclass(frozen=True)
class Configuration:
    """The unit of sharding and of reporting: one JUnit test case, one pytest item.

    Variants the scenario compares with each other (``same_result_groups``: the same
    entries in another order) stay together in one configuration, since the check needs
    all of them.
    """

    scenario: str
    variants: tuple[str, ...]
    layout: str
    backend: str

    @property
    def name(self) -> str:
        return f"{'+'.join(self.variants)}-{self.layout}-{self.backend}"

    @property
    def id(self) -> str:
        return f"{self.scenario}[{self.name}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario": self.scenario,
            "variants": list(self.variants),
            "layout": self.layout,
            "backend": self.backend,
        }


@dataclass(frozen=True)
class NotExplored(Configuration):
    """A configuration of the plan that does not run, and why (for the reports: what a
    gate leaves out must be said, or a store that takes nothing passes everything)."""

    reason: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "reason": self.reason}


_Config = TypeVar("_Config", bound=Configuration)


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based, as CI matrices count) of ``count``."""

    index: int = 1
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise UsageError(f"shard {self.index}/{self.count}: need 1 <= i <= n")

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise UsageError(f"shard {text!r} is not i/n (e.g. 2/4)")
        return cls(int(match.group(1)), int(match.group(2)))

    def select(self, configurations: Sequence[_Config]) -> list[_Config]:
        # Round robin rather than contiguous blocks: neighbours in the catalog are often
        # variants of one heavy scenario, so striding spreads the cost over the shards.
        return [c for i, c in enumerate(configurations) if i % self.count == self.index - 1]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _variant_groups(scenario: Scenario, layout: str, full: bool) -> list[tuple[str, ...]]:
    present = [
        v.name for v, lay in scenario.configurations() if lay == layout and (full or not v.heavy)
    ]
    groups: list[tuple[str, ...]] = []
    grouped: set[str] = set()
    for name in present:
        if name in grouped:
            continue
        together = next((g for g in scenario.same_result_groups if name in g), (name,))
        members = tuple(v for v in present if v in together)
        grouped.update(members)
        groups.append(members)
    return groups


def _in_process_only(scenario: Scenario, group: tuple[str, ...]) -> str | None:
    reasons = [r for r in (scenario.variant(v).in_process_only for v in group) if r]
    return reasons[0] if reasons else None


def _claimed_faults(scenario: Scenario, promises: PromiseProfile) -> tuple[str, ...]:
    return tuple(f for f in scenario.faults if f not in promises.skip_faults)


def _unexplored_reason(
    scenario: Scenario, layout: str, backend: str, target: StoreTarget, promises: PromiseProfile
) -> str | None:
    """Why a scenario's configuration does not run; ``None`` when it does."""
    faults = _claimed_faults(scenario, promises)
    if layout not in GATE_LAYOUTS:
        return f"the gate cannot crash the {layout} layout (it does its own I/O)"
    unsupported = target.unsupported(layout)
    if unsupported is not None:
        return unsupported
    if backend == KILL_BACKEND:
        if "crash" in faults:
            return None
        return (
            "a --store-cmd store is SIGKILLed for real, which reproduces the crash fault "
            f"only; this scenario has none (its faults: {', '.join(scenario.faults)})"
        )
    if not faults:
        return f"promises {promises.name} claim none of its faults ({', '.join(scenario.faults)})"
    return None


def plan_gate(
    scenarios: Sequence[Scenario],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    backends: Sequence[str] = ("real",),
    promises: PromiseProfile,
    full: bool = False,
) -> tuple[list[Configuration], list[NotExplored]]:
    """Every configuration of a gate run in catalog order: (to run, not explored).

    Not explored, each with its reason: the store's promises leave none of the
    scenario's faults to explore (on the ``kill`` backend: no ``crash`` fault, the only
    one a real kill reproduces), or the store cannot take the layout (``auto`` without
    ``migrate``, a layout its :class:`StoreTarget` leaves out). Layouts left out with
    ``layouts`` are the caller's choice and are not listed.
    """
    claimed: list[Configuration] = []
    unclaimed: list[NotExplored] = []
    for scenario in scenarios:
        for layout in dict.fromkeys(lay for _v, lay in scenario.configurations()):
            if layouts is not None and layout not in layouts:
                continue
            for group in _variant_groups(scenario, layout, full):
                for backend in backends:
                    why = _unexplored_reason(scenario, layout, backend, target, promises)
                    if why is None and backend == KILL_BACKEND:
                        why = _in_process_only(scenario, group)
                    if why is None:
                        claimed.append(Configuration(scenario.name, group, layout, backend))
                    else:
                        unclaimed.append(NotExplored(scenario.name, group, layout, backend, why))
    return claimed, unclaimed


def plan_checks(
    checks: Sequence[str],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    options: CheckOptions | None = None,
) -> tuple[list[Configuration], list[NotExplored]]:
    """The configurations of the gate's own checks: (to run, cannot run).

    Each check runs once per layout the store supports, on real temp folders (a store in
    another process through adapter processes); a layout the store does not support is
    returned as cannot-run, with the reason; a check switched off is left out.
    """
    opts = options or CheckOptions()
    run: list[Configuration] = []
    cannot: list[NotExplored] = []
    for check in CHECKS:
        if check not in checks or not opts.enabled(check):
            continue
        for layout in CHECK_LAYOUTS[check]:
            if layouts is not None and layout not in layouts:
                continue
            fields = (check, (CHECK_VARIANT[check],), layout, CHECK_BACKEND)
            why = target.unsupported(layout)
            if why is None:
                run.append(Configuration(*fields))
            else:
                cannot.append(NotExplored(*fields, reason=why))
    return run, cannot


def plan_run(
    names: Sequence[str | Scenario],
    *,
    target: StoreTarget,
    layouts: Sequence[str] | None = None,
    backends: Sequence[str] = ("real",),
    promises: PromiseProfile,
    full: bool = False,
    checks: CheckOptions | None = None,
) -> tuple[list[Configuration], list[NotExplored]]:
    """The whole plan of a gate run over ``names`` (scenario names or globs, check names,
    ``all``): (to run, not explored -- each with its reason), scenarios in catalog
    order, then the checks."""
    claimed, unclaimed = plan_gate(
        select_scenarios(names),
        target=target,
        layouts=layouts,
        backends=backends,
        promises=promises,
        full=full,
    )
    runnable, not_runnable = plan_checks(
        select_checks(names),
        target=target,
        layouts=layouts,
        options=checks,
    )
    return claimed + runnable, unclaimed + not_runnable


def select_checks(names: Sequence[str | Scenario]) -> list[str]:
    """The gate's own checks that ``names`` select (``all`` selects every one)."""
    return [
        check
        for check in CHECKS
        if any(isinstance(n, str) and (n == "all" or fnmatch.fnmatchcase(check, n)) for n in names)
    ]


def select_scenarios(names: Sequence[str | Scenario]) -> list[Scenario]:
    """The scenarios ``names`` select; a name that selects only a check is no error."""
    import scenarios as catalog

    chosen: list[Scenario] = []
    for item in names:
        if isinstance(item, Scenario):
            found = [item]
        elif (
            item != "all"
            and select_checks([item])
            and not any(fnmatch.fnmatchcase(n, item) for n in catalog.names())
        ):
            continue
        else:
            found = catalog.select([item])
        for scenario in found:
            if scenario.name not in {s.name for s in chosen}:
                chosen.append(scenario)
    return chosen
