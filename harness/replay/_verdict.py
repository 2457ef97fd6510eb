"""What a re-run of a replay file may conclude, and the exit status that says it.

The promise (docs/gate.md): a replay exits 0 -- "fixed" -- only when it ran the same fault
as the recorded run and the oracle saw no violation. Two things can stop a re-run from
running the same fault, and each has an exit status of its own, never 0:

* the fault did not fire: the plan crashes before operation *k* and the run has fewer
  operations, an injected error names an operation of a kind the run no longer reaches,
  a kill at an operation the child never announces (the store changed under the replay,
  or the file was edited);
* the recorded fault is a moment in time, not a place: a SIGKILL as a call starts or
  after a random delay lands wherever the child happened to be. Such a run is replayed at
  the places it landed -- its recorded trace says the last operation the child announced,
  *m*, so the kill fell after the announcement of *m* and before that of *m + 1*: the
  state is that of a kill before operation *m* or before *m + 1* -- and both are re-run as
  deterministic operation kills. Only when the operations of this run up to *m* are those
  of the recording are the two the same fault.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.checks._kill_spec import KillPoint, RealSpec
from harness.engine._run_spec import RunResult, RunSpec
from harness.faults._faultfs import FaultPlan, Operation

_RANDOM = re.compile(r"[0-9a-fA-F]{8,}|[0-9]+")

__all__ = [
    "EXIT_FIXED",
    "EXIT_NOT_SAME_FAULT",
    "EXIT_REPRODUCES",
    "fault_fired",
    "first_difference",
    "landing_kills",
    "last_announced",
    "timing_kill",
]

EXIT_FIXED = 0
EXIT_REPRODUCES = 1
#: The re-run could not run the recorded fault (it did not fire, or the recorded kill
#: point has no equivalent in this run); nothing is concluded.
EXIT_NOT_SAME_FAULT = 3

#: Kill kinds whose moment depends on timing (``KILL_KINDS`` of ``_kill_spec``).
_TIMING_KILLS = ("request", "random")


@dataclass(frozen=True)
class Fired:
    """Whether a run met its fault, and if not, why (for the one line the replay prints)."""

    fired: bool
    why: str = ""


def timing_kill(spec: RunSpec) -> bool:
    """Whether ``spec`` kills at a moment rather than at a place."""
    return isinstance(spec, RealSpec) and spec.kill.kind in _TIMING_KILLS


def last_announced(recorded: Sequence[Mapping[str, Any]]) -> int:
    """The last operation the recorded child announced (0: none)."""
    return max((int(op.get("n", 0)) for op in recorded), default=0)


def landing_kills(spec: RealSpec, recorded: Sequence[Mapping[str, Any]]) -> list[RealSpec]:
    """The deterministic operation kills a timing kill may have been: before the last
    operation the recorded child announced, and before the one after it."""
    last = last_announced(recorded)
    points = [last, last + 1] if last >= 1 else [1]
    return [replace(spec, kill=KillPoint("op", at=n)) for n in points]


def fault_fired(spec: RunSpec, result: RunResult) -> Fired:
    """Whether the fault ``spec`` names happened in ``result`` (a baseline always 'fires')."""
    trace = result.trace
    if isinstance(spec, RealSpec):
        if spec.kill.kind == "op":
            if any(op.outcome == "killed" for op in trace):
                return Fired(True)
            return Fired(
                False,
                f"the child never reached seam operation #{spec.kill.at} "
                f"(it announced {len(trace)} operations)",
            )
        return Fired(True)
    return _plan_fired(spec.plan, trace)


def _plan_fired(plan: FaultPlan, trace: Sequence[Operation]) -> Fired:
    if plan == FaultPlan():
        return Fired(True)
    outcomes = [op.outcome for op in trace]
    if plan.crash_at is not None and not any(
        o in ("crash", "blocks") or o.startswith("torn:") for o in outcomes
    ):
        return Fired(
            False,
            f"the plan crashes before operation #{plan.crash_at}, "
            f"but the run has only {len(trace)} operations",
        )
    if plan.errors and not any(o.startswith("error:") for o in outcomes):
        wanted = ", ".join(f"{errno} at #{n}" for n, errno in plan.errors)
        return Fired(False, f"no injected error fired ({wanted}): the run no longer does them")
    if plan.enospc_budget is not None and not any(o.startswith("enospc") for o in outcomes):
        return Fired(
            False, f"the run never wrote past the {plan.enospc_budget}-byte disk-full budget"
        )
    if plan.non_atomic_replace and not any(op.name == "replace" for op in trace):
        return Fired(False, "the run renames nothing, so a non-atomic rename cannot happen")
    return Fired(True)


def first_difference(
    recorded: Sequence[Mapping[str, Any]], trace: Sequence[Operation], upto: int
) -> int | None:
    """The first operation number <= ``upto`` whose name or paths differ between the
    recording and this run (``None``: the same operations). Paths are compared by shape:
    runs of digits and of hex are one symbol, so the pids, counters and random suffixes
    of a foreign store's temp names do not make every run differ."""
    mine = {op.n: (op.name, _shape(op.path), _shape(op.path2)) for op in trace}
    theirs = {
        int(op.get("n", 0)): (op.get("name"), _shape(op.get("path")), _shape(op.get("path2")))
        for op in recorded
    }
    for n in range(1, upto + 1):
        if mine.get(n) != theirs.get(n):
            return n
    return None


def _shape(path: object) -> str | None:
    return None if path is None else _RANDOM.sub("#", str(path))
