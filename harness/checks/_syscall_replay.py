"""Replay files of ``--mode syscall`` runs: written per distinct violation, and re-run.

A file (format :data:`SYSCALL_REPLAY_FORMAT`) holds the run's :class:`SyscallSpec`
(scenario, variant, layout, profile, seed, ``--store-cmd``, the family, the call number
and its text, the power-loss choice), the recorded argv (the run's root written
``{root}``), the fault (a kill at call ``k``; or a power loss after call ``p`` with its
choice and the unsynced effects the choice's indices name), the violations, the
outcomes and the unmodelled calls. Replaying records the workload again and checks that
call ``k`` (or ``p``) is the same call and, for a power loss, that the unsynced effects
there are the recorded ones, before running the fault: a run that does not repeat the
recording concludes nothing (``store-harness replay`` exits 3).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness._errors import UsageError
from harness._roots import temp_root
from harness.checks._kill_spec import DEFAULT_TIMEOUT_S
from harness.checks._syscall_drive import Driven, answered_before
from harness.checks._syscall_explore import (
    FAMILY_KILL,
    FAMILY_POWER,
    SyscallExploration,
    SyscallOptions,
    SyscallSpec,
    _check_support,
    _Config,
    _kill_run,
    _label,
    _power_run,
    _text,
)
from harness.engine._oracle import Violation
from harness.engine._run_spec import RunResult
from harness.engine._scenario import Scenario
from harness.faults._syscall_power import state_at
from harness.faults._syscall_run import blank_random

__all__ = [
    "SYSCALL_REPLAY_FORMAT",
    "SyscallReplayRun",
    "is_syscall_replay",
    "replay_syscall",
    "syscall_replay_effects",
    "syscall_replay_spec",
    "write_syscall_replays",
]

SYSCALL_REPLAY_FORMAT = "store-harness.syscall-replay/1"


def is_syscall_replay(raw: Any) -> bool:
    return isinstance(raw, Mapping) and raw.get("format") == SYSCALL_REPLAY_FORMAT


def _file_name(spec: SyscallSpec, kind: str) -> str:
    words = [spec.scenario, spec.variant, spec.layout, spec.profile, spec.family, kind]
    words.append(f"call{spec.call}" if spec.call is not None else "run")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "syscall-" + "-".join(words)) + ".json"


def write_syscall_replays(directory: str, exploration: SyscallExploration) -> list[str]:
    """One replay file per distinct violation (configuration, family, kind): the first
    run that showed it. Returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    written: list[str] = []
    seen: set[tuple[str, str, str, str, str, str]] = set()
    for result in exploration.result.results:
        spec = result.spec
        if not isinstance(spec, SyscallSpec):
            continue
        label = _label(spec.scenario, spec.variant, spec.layout, spec.profile)
        for violation in result.violations:
            key = (
                spec.scenario,
                spec.variant,
                spec.layout,
                spec.profile,
                spec.family,
                violation.kind,
            )
            if key in seen:
                continue
            seen.add(key)
            payload = {
                "format": SYSCALL_REPLAY_FORMAT,
                "spec": spec.to_json(),
                "argv": exploration.argv.get(label, []),
                "fault": _fault_json(spec, result),
                "violation": violation.to_json(),
                "violations": [v.to_json() for v in result.violations],
                "outcomes": [o.to_json() for o in result.outcomes],
                "unmodelled": exploration.unmodelled.get(label, []),
            }
            path = os.path.join(directory, _file_name(spec, violation.kind))
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2, ensure_ascii=False)
                handle.write("\n")
            os.replace(tmp, path)
            written.append(path)
    return written


def _fault_json(spec: SyscallSpec, result: RunResult) -> dict[str, Any]:
    if spec.family == FAMILY_KILL:
        return {"kind": "kill", "call": spec.call, "text": spec.call_text}
    if spec.family == FAMILY_POWER:
        return {
            "kind": "power-loss",
            "after": spec.call,
            "text": spec.call_text,
            "choice": None if spec.power is None else spec.power.to_json(),
            "effects": list(result.unsynced),
        }
    return {"kind": "none"}


@dataclass(frozen=True)
class SyscallReplayRun:
    """A replayed run: its result, or why the recorded fault has no equivalent here."""

    result: RunResult | None
    why_not: str = ""


def _spec_of(path: str, raw: Mapping[str, Any]) -> SyscallSpec:
    spec = raw.get("spec")
    if not isinstance(spec, Mapping):
        raise UsageError(f"{path}: spec: missing or not an object")
    try:
        parsed = SyscallSpec.from_json(spec)
    except (KeyError, TypeError, ValueError, AssertionError) as exc:  # a field's type
        raise UsageError(f"{path}: spec: {exc!r}") from None
    if parsed.family not in ("baseline", FAMILY_KILL, FAMILY_POWER):
        raise UsageError(f"{path}: spec.family: {parsed.family!r} is not a syscall family")
    if parsed.family != "baseline" and parsed.call is None:
        raise UsageError(f"{path}: spec.call: missing")
    if parsed.family == FAMILY_POWER and parsed.power is None:
        raise UsageError(f"{path}: spec.power: missing (the power-loss choice)")
    return parsed


def syscall_replay_spec(path: str, raw: Mapping[str, Any]) -> SyscallSpec:
    """The spec of a syscall replay file, every field checked (:class:`UsageError`)."""
    return _spec_of(path, raw)


def syscall_replay_effects(path: str, raw: Mapping[str, Any]) -> list[str] | None:
    """The unsynced effects a power-loss replay file recorded (``None``: not one)."""
    fault = raw.get("fault")
    if not isinstance(fault, Mapping) or fault.get("kind") != "power-loss":
        return None
    effects = fault.get("effects")
    if not isinstance(effects, list) or not all(isinstance(e, str) for e in effects):
        raise UsageError(f"{path}: fault.effects: not a list of strings")
    return list(effects)


def replay_syscall(
    scenario: Scenario,
    spec: SyscallSpec,
    *,
    effects: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> SyscallReplayRun:
    """Run a replay file's spec again: record, then the same kill or power-loss state
    (``effects``: the unsynced effects the file recorded there, checked before the
    choice's indices are trusted)."""
    _check_support()
    opts = SyscallOptions(seed=spec.seed, store_cmd=spec.store_cmd, timeout=timeout)
    cfg = _Config(scenario, spec.variant, spec.layout, spec.profile, opts)
    try:
        return _replay_in(cfg, spec, effects)
    finally:
        cfg.close()


def _replay_in(cfg: _Config, spec: SyscallSpec, effects: Sequence[str] | None) -> SyscallReplayRun:
    with temp_root("syscall-record") as root:
        cfg.setup(root)
        recording = cfg.record(root)
        driven = recording.outcome
        if not isinstance(driven, Driven):
            return SyscallReplayRun(None, f"driving the adapter failed: {driven!r:.300}")
        if spec.family == "baseline":
            unexpected = list(driven.unexpected)
            if driven.died:
                unexpected.append(
                    Violation("unexpected-error", "the adapter died during the traced run")
                )
            calls = len(recording.trace.calls)
            return SyscallReplayRun(
                cfg.judge(spec, root, driven.outcomes, driven.results, unexpected, calls)
            )
    k = spec.call or 0
    trace = recording.trace
    if k > len(trace.calls):
        return SyscallReplayRun(
            None, f"this run makes {len(trace.calls)} calls on the root, not {k}"
        )
    here = _text(trace.call(k), trace) if k else ""
    if _shape_text(here) != _shape_text(spec.call_text):
        return SyscallReplayRun(None, f"call #{k} is now {here}, recorded as {spec.call_text}")
    if spec.family == FAMILY_KILL:
        result = _kill_run(cfg, recording, replace(spec, call_text=here), k)
        if isinstance(result, str):
            return SyscallReplayRun(None, result)
        return SyscallReplayRun(result)
    assert spec.power is not None
    state, now = state_at(trace, recording.start, k, spec.power)
    described = [e.describe() for e in now]
    if effects is not None and [blank_random(e) for e in effects] != [
        blank_random(e) for e in described
    ]:
        return SyscallReplayRun(
            None,
            f"the unsynced effects after call #{k} differ from the recorded ones "
            f"({len(described)} now, {len(effects)} recorded): the choice names other effects",
        )
    answered = answered_before(trace, recording.start)(k)
    return SyscallReplayRun(_power_run(cfg, recording, driven, state, answered))


def _shape_text(text: str) -> str:
    """A ``{root}``-relative call text without its result (a descriptor's number) and
    with a temp name's random part blanked (``_syscall_run._RANDOM_PART``)."""
    return blank_random(text).rsplit(" = ", 1)[0]
