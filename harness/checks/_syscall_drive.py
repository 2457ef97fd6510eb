"""Driving a workload through an adapter under strace, and which requests were answered
at each point of the recorded trace (for ``harness.checks._syscall_explore``).

* The driver sends the steps one at a time -- never pipelined: the next request leaves
  only after the previous answer -- so the calls made while serving request ``i`` lie
  between the answers of ``i-1`` and ``i``. A SIGKILL shows as the adapter's end: the
  step in flight is indeterminate, the later ones not run (kill mode's outcomes).
* A response is a line on the adapter's stdout; the trace holds it as a write to the
  stream (``RootTrace.stdout``) at a place among the numbered calls, and names its
  request by ``id``. For a power loss at crash point ``p`` the disk is the same until the
  next call that changes the model, so a step counts as answered when its response was
  written before that call: the strictest judgment the trace allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks._kill_run import _request
from harness.engine._oracle import Outcome, Violation
from harness.engine._run_once import _describe_error
from harness.engine._workload import Step
from harness.faults._syscall_power import TreeState, change_points
from harness.faults._syscall_run import Driver
from harness.faults._syscall_trace import RootTrace
from harness.foreign import AdapterClient, AdapterCrashed, AdapterError, AdapterStoreError
from reference_store import StoreError

__all__ = ["Driven", "answered_before", "driver", "power_outcomes"]


# --- driving the workload -------------------------------------------------------------------
@dataclass
class Driven:
    #: request id of the start-up ping and the ``open`` (when sent), answered before step 0
    opening_ids: list[int]
    ids: list[int | None]  # the request id of each step (None: never sent)
    outcomes: list[Outcome]
    results: list[Any]
    unexpected: list[Violation]
    died: bool = False  # the adapter died (killed, or by itself) before the end


def _drive(
    client: AdapterClient, steps: Sequence[Step], opening: Mapping[str, str] | None
) -> Driven:
    driven = Driven([], [], [], [], [])
    alive = True
    try:
        for op, args in (("ping", None), *((("open", opening),) if opening else ())):
            rid = client.send(op, args)
            driven.opening_ids.append(rid)
            client.receive(rid)
    except AdapterCrashed:
        alive = False
        driven.died = True
    except (OSError, StoreError, AdapterStoreError) as exc:
        # The store cannot be opened: nothing runs (as in-process and in kill mode).
        alive = False
        driven.unexpected.append(
            Violation("unexpected-error", f"opening the store failed: {_describe_error(exc)}")
        )
    for index, step in enumerate(steps):
        call = step.describe()
        if not alive:
            driven.ids.append(None)
            driven.outcomes.append(Outcome(index, call, "not-run"))
            driven.results.append(None)
            continue
        op, args = _request(step)
        result: Any = None
        try:
            rid = client.send(op, args)
        except AdapterCrashed:
            alive, driven.died = False, True
            driven.ids.append(None)
            driven.outcomes.append(Outcome(index, call, "not-run"))
            driven.results.append(None)
            continue
        driven.ids.append(rid)
        try:
            result = client.receive(rid)
            outcome = Outcome(index, call, "ok")
        except (OSError, StoreError) as exc:
            outcome = Outcome(index, call, "failed", _describe_error(exc))
        except AdapterCrashed:
            alive, driven.died = False, True
            outcome = Outcome(index, call, "indeterminate", "SIGKILL")
        except AdapterStoreError as exc:
            # An internal error of the store: what the call did is unknown (as in-process).
            outcome = Outcome(index, call, "indeterminate", str(exc))
            driven.unexpected.append(Violation("unexpected-error", f"{call} raised {exc}"))
        driven.outcomes.append(outcome)
        driven.results.append(result)
    if alive:
        try:
            client.close()
        except AdapterError:
            driven.died = True  # killed while closing: every step was answered already
    return driven


def driver(steps: Sequence[Step], opening: Mapping[str, str] | None, timeout: float) -> Driver:
    def drive(command: list[str], env: dict[str, str]) -> Driven:
        client = AdapterClient(command, env=env, timeout=timeout)
        try:
            return _drive(client, steps, opening)
        finally:
            client.kill()  # a no-op once it exited; never leave strace or a child behind

    return drive


# --- which requests were answered when ------------------------------------------------------
def _answers(trace: RootTrace) -> list[tuple[int, int]]:
    """(seq of the write that ended the line, request id) of each response line the
    adapter wrote to its stdout, in order."""
    found: list[tuple[int, int]] = []
    pending = b""
    for seq, data in trace.stdout:
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue  # not a protocol line (a store printing to stdout breaks the protocol)
            if isinstance(message, dict) and isinstance(message.get("id"), int):
                found.append((seq, message["id"]))
    return found


def power_outcomes(driven: Driven, answered: set[int]) -> tuple[list[Outcome], list[Any]]:
    """Outcomes of the steps for a crash that only the ``answered`` requests saw answered."""
    outcomes: list[Outcome] = []
    results: list[Any] = []
    sent = all(rid in answered for rid in driven.opening_ids)
    for index, recorded in enumerate(driven.outcomes):
        rid = driven.ids[index]
        if sent and rid is not None and rid in answered:
            outcomes.append(recorded)
            results.append(driven.results[index])
        elif sent and rid is not None:
            outcomes.append(Outcome(index, recorded.call, "indeterminate", "power loss"))
            results.append(None)
            sent = False  # the next request is sent only after this answer
        else:
            outcomes.append(Outcome(index, recorded.call, "not-run"))
            results.append(None)
            sent = False
    return outcomes, results


def answered_before(trace: RootTrace, start: TreeState) -> Callable[[int], set[int]]:
    """For crash point ``p``: the requests answered before the next call after ``p``
    that changes the model (the disk is the same until then)."""
    points = change_points(trace, start)
    answers = _answers(trace)
    bounds: dict[int, float] = {}
    for i, point in enumerate(points):
        nxt = points[i + 1] if i + 1 < len(points) else None
        bounds[point] = float("inf") if nxt is None else trace.call(nxt).call.seq

    def answered(point: int) -> set[int]:
        bound = bounds.get(point)
        if bound is None:  # not a change point: the disk lasts until the next change
            later = [p for p in points if p > point]
            bound = trace.call(later[0]).call.seq if later else float("inf")
        return {rid for seq, rid in answers if seq < bound}

    return answered
